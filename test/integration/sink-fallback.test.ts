/**
 * Fallback actions through the engine (issue #12 item 3): a sink that refuses records hands them
 * to its fallback sinks — a memory sink and a republish sink — with `fallback_from` and
 * `fallback_reason` attached — also from a sink in a worker thread, whose given-up records come
 * back to the main thread with their event columns; the config loader refuses unknown names and
 * cycles.
 */
import { afterEach, describe, expect, it } from 'vitest';

import { createServer } from 'node:net';

import { silentLogger } from '../../src/core/index.js';
import { startStandInServer } from '../hstream-server/server.js';
import type { SinkRecord } from '../../src/core/index.js';
import { createEngine } from '../../src/engine/index.js';
import type { Engine } from '../../src/engine/index.js';
import type { MemorySink } from '../../src/sinks/memory/index.js';

async function waitFor(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

let engine: Engine | undefined;
afterEach(async () => {
  await engine?.stop({ drainMs: 100 });
  engine = undefined;
});

const sinks = {
  primary: {
    type: 'memory',
    linger: 0,
    retry: { initial_backoff: 10, max_backoff: 10, max_attempts: 2 },
    fallback_actions: ['dead', 'alert'],
  },
  dead: { type: 'memory', linger: 0 },
  alert: {
    type: 'republish',
    linger: 0,
    topic: 'fallback/${fallback_from}',
    payload: '${fallback_reason} ${payload}',
  },
};

describe('fallback actions', () => {
  it('hands records a failing sink gives up on to its fallback sinks, with the reason', async () => {
    engine = createEngine(
      {
        broker: { listeners: {} },
        sinks,
        rules: [{ id: 'r', sql: 'SELECT payload, clientid FROM "t/#"', actions: ['primary'] }],
      },
      { logger: silentLogger },
    );
    await engine.start();
    const primary = engine.sink('primary') as MemorySink;
    const dead = engine.sink('dead') as MemorySink;
    const alerts: string[] = [];
    await engine.broker.subscribe('fallback/#', (m) =>
      alerts.push(`${m.topic} ${m.payload.toString()}`),
    );

    // 1: refused for good; 2: retriable failures until max_attempts; 3: written.
    primary.failNext(1, { retriable: false });
    await engine.broker.publish({ topic: 't/1', payload: Buffer.from('one') });
    await waitFor(() => dead.records.length === 1, 'the first fallback record');
    primary.failNext(2);
    await engine.broker.publish({ topic: 't/2', payload: Buffer.from('two') });
    await waitFor(() => dead.records.length === 2, 'the second fallback record');
    await engine.broker.publish({ topic: 't/3', payload: Buffer.from('three') });
    await waitFor(() => primary.records.length === 1, 'the written record');
    await waitFor(() => alerts.length === 2, 'the republished fallback records');

    const ctx = (r: SinkRecord) => [
      String(r.data['payload']),
      r.context?.['fallback_from'],
      r.context?.['fallback_reason'],
    ];
    expect(dead.records.map(ctx)).toEqual([
      ['one', 'primary', 'memory_injected_failure'],
      ['two', 'primary', 'memory_injected_failure'],
    ]);
    expect(primary.records.map((r) => String(r.data['payload']))).toEqual(['three']);
    expect(alerts.sort()).toEqual([
      'fallback/primary memory_injected_failure one',
      'fallback/primary memory_injected_failure two',
    ]);
    const m = engine.metrics().sinks;
    expect(m['primary']).toMatchObject({ failed: 2, fallback: 2, success: 1 });
    expect(m['dead']).toMatchObject({ matched: 2, success: 2 });
  });

  it('drains a sink before its fallback sinks, so what it loses at shutdown reaches them', async () => {
    engine = createEngine(
      {
        broker: { listeners: {} },
        sinks: {
          primary: { type: 'memory', linger: 0, fallback_actions: ['dead'] },
          dead: { type: 'memory', linger: 0 },
        },
        rules: [{ id: 'r', sql: 'SELECT payload FROM "t/#"', actions: ['primary'] }],
      },
      { logger: silentLogger },
    );
    await engine.start();
    const primary = engine.sink('primary') as MemorySink;
    const dead = engine.sink('dead') as MemorySink;
    primary.hold(); // never acknowledges: both records are still in flight at the deadline
    await engine.broker.publish({ topic: 't/1', payload: Buffer.from('a') });
    await engine.broker.publish({ topic: 't/2', payload: Buffer.from('b') });
    await waitFor(() => engine!.metrics().sinks['primary']!.inflightRecords === 2, 'in flight');
    const e = engine;
    engine = undefined;
    const { dropped } = await e.stop({ drainMs: 50 });
    expect(dropped).toBe(2);
    expect(
      dead.records.map((r) => [String(r.data['payload']), r.context?.['fallback_reason']]),
    ).toEqual([
      ['a', 'shutdown'],
      ['b', 'shutdown'],
    ]);
  });

  it("brings the records a sink thread gives up on back to the main thread's fallback sinks", async () => {
    // An hstreamdb sink in a worker thread that can never connect (nothing listens on the
    // port): at each failed connect attempt its records older than request_ttl expire.
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    await new Promise<void>((r) => srv.close(() => r()));
    engine = createEngine(
      {
        broker: { listeners: {} },
        sinks: {
          hs: {
            type: 'hstreamdb',
            url: `hstream://127.0.0.1:${port}`,
            stream: 'never',
            thread: 'worker',
            linger: 0,
            request_ttl: 50,
            retry: { initial_backoff: 20, max_backoff: 50 },
            fallback_actions: ['dead'],
          },
          dead: { type: 'memory', linger: 0 },
        },
        // topic and the payload bytes are not selected as such and the hstreamdb sink's templates name neither:
        // they still come back from the thread, for the fallback sink.
        rules: [{ id: 'r', sql: 'SELECT payload FROM "t/#"', actions: ['hs'] }],
      },
      { logger: silentLogger },
    );
    await engine.start();
    const dead = engine.sink('dead') as MemorySink;
    expect(engine.sink('hs')).toBeUndefined(); // it really runs in a thread
    for (let i = 0; i < 20; i++)
      await engine.broker.publish({ topic: `t/${i}`, payload: Buffer.from(`p${i}`) });
    await waitFor(() => dead.records.length === 20, 'the expired records in the fallback sink');
    expect(
      dead.records
        .map((r) => [
          String(r.data['payload']),
          String(r.context?.['topic']),
          Buffer.isBuffer(r.context?.['payload']),
          r.context?.['fallback_from'],
          r.context?.['fallback_reason'],
        ])
        .sort((a, b) => Number(String(a[0]).slice(1)) - Number(String(b[0]).slice(1))),
    ).toEqual(Array.from({ length: 20 }, (_, i) => [`p${i}`, `t/${i}`, true, 'hs', 'expired']));
    await waitFor(
      () => engine!.metrics().sinks['hs']!.fallback === 20,
      "the thread's fallback counter",
    );
    const m = engine.metrics().sinks['hs']!;
    expect(m.droppedBy).toMatchObject({ expired: 20 });
    expect(m.matched).toBe(m.queued + m.inflightRecords + m.success + m.failed + m.dropped);
  });

  it("a sink thread's give-ups at the drain deadline reach the fallback sink before it stops", async () => {
    const server = await startStandInServer();
    try {
      server.faults.holdAppends = true; // connected, but no append is ever answered
      engine = createEngine(
        {
          broker: { listeners: {} },
          sinks: {
            hs: {
              type: 'hstreamdb',
              url: `hstream://127.0.0.1:${server.port}`,
              stream: 'held',
              auto_create: { enable: true, shard_count: 1 },
              thread: 'worker',
              linger: 0,
              fallback_actions: ['dead'],
            },
            dead: { type: 'memory', linger: 0 },
          },
          rules: [{ id: 'r', sql: 'SELECT payload FROM "t/#"', actions: ['hs'] }],
        },
        { logger: silentLogger },
      );
      await engine.start();
      const dead = engine.sink('dead') as MemorySink;
      for (let i = 0; i < 5; i++)
        await engine.broker.publish({ topic: 't/x', payload: Buffer.from(`d${i}`) });
      await waitFor(
        () => engine!.metrics().sinks['hs']!.inflightRecords === 5,
        'the records in flight in the thread',
      );
      const e = engine;
      engine = undefined;
      const { dropped } = await e.stop({ drainMs: 100 });
      expect(dropped).toBe(5);
      expect(
        dead.records.map((r) => [String(r.data['payload']), r.context?.['fallback_reason']]),
      ).toEqual([0, 1, 2, 3, 4].map((i) => [`d${i}`, 'shutdown']));
    } finally {
      server.faults.holdAppends = false;
      await server.stop();
    }
  });

  it('refuses unknown fallback sinks and cycles at config time, allows sink threads', () => {
    const bad = (extra: Record<string, { type: string } & Record<string, unknown>>) => () =>
      createEngine({ broker: { listeners: {} }, sinks: extra }, { logger: silentLogger });
    expect(bad({ a: { type: 'memory', fallback_actions: ['nope'] } })).toThrow(
      /config_fallback_invalid.*"nope" is not a configured sink/,
    );
    expect(
      bad({
        a: { type: 'memory', fallback_actions: ['b'] },
        b: { type: 'memory', fallback_actions: ['a'] },
      }),
    ).toThrow(/fallback cycle: a -> b -> a/);
    expect(
      bad({
        a: { type: 'console', thread: 'worker', fallback_actions: ['b'] },
        b: { type: 'memory' },
      }),
    ).not.toThrow();
  });
});
