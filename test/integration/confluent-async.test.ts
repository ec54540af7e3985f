/**
 * A Confluent schema-id cache miss does not block the event loop (decision 0014): the stand-in
 * registry runs on the *same* thread as the engine (a blocking fetch could never be answered),
 * holds or fails requests on command, and counts them. Checked: the loop keeps turning and
 * other rules go on while a fetch is held; the waiting messages of two rules share one fetch
 * per id and come out in order; a failed fetch fails the messages with the registry's code,
 * is remembered for failure_cache_ttl (no new request), then tried again; a registry that does
 * not answer times out after request_timeout.
 */
import { createServer } from 'node:http';
import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createApiServer } from '../../src/api/index.js';
import { silentLogger } from '../../src/core/index.js';
import type { RuleOutcome } from '../../src/core/index.js';
import { createEngine } from '../../src/engine/index.js';
import type { Engine } from '../../src/engine/index.js';
import { compileAvro } from '../../src/schema-registry/avro.js';

const SCHEMA = JSON.stringify({
  type: 'record',
  name: 'Reading',
  fields: [{ name: 'n', type: 'int' }],
});
const codec = compileAvro('t', SCHEMA);
const tagged = (id: number, n: number): Buffer => {
  const h = Buffer.alloc(5);
  h.writeUInt32BE(id, 1);
  return Buffer.concat([h, codec.encode({ n }, []) as Buffer]);
};

async function waitFor(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('non-blocking Confluent fetch on a cache miss', () => {
  let server: Server;
  let engine: Engine;
  const hits: Record<string, number> = {};
  /** Requests held until released (path → responses waiting). */
  const held = new Map<string, ServerResponse[]>();
  const holdPaths = new Set<string>();
  const failPaths = new Set<string>();
  const outcomes: { rule: string; outcome: RuleOutcome }[] = [];
  const of = (rule: string) => outcomes.filter((o) => o.rule === rule).map((o) => o.outcome);
  const answer = (res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'application/vnd.schemaregistry.v1+json' });
    res.end(JSON.stringify({ schema: SCHEMA }));
  };
  const release = (p: string) => {
    holdPaths.delete(p);
    for (const res of held.get(p) ?? []) answer(res);
    held.delete(p);
  };

  beforeAll(async () => {
    server = createServer((req, res) => {
      const p = req.url ?? '';
      hits[p] = (hits[p] ?? 0) + 1;
      if (failPaths.has(p)) {
        res.writeHead(503);
        return res.end('{"error_code":50302,"message":"down"}');
      }
      if (holdPaths.has(p)) return void (held.get(p) ?? held.set(p, []).get(p)!).push(res);
      if (/^\/schemas\/ids\/\d+$/.test(p)) return answer(res);
      res.writeHead(404);
      res.end('{"error_code":40403}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    engine = createEngine(
      {
        broker: { listeners: {} },
        sinks: { out: { type: 'memory', linger: 0 } },
        schema_registry: {
          external: {
            reg: { type: 'confluent', url, request_timeout: 400, failure_cache_ttl: 500 },
          },
        },
        rules: [
          {
            id: 'r1',
            sql: 'SELECT avro_decode(\'reg\', payload) AS d FROM "a/#"',
            actions: ['out'],
          },
          {
            id: 'r2',
            sql: 'SELECT avro_decode(\'reg\', payload) AS d FROM "a/#"',
            actions: ['out'],
          },
          { id: 'plain', sql: 'SELECT payload FROM "b/#"', actions: ['out'] },
        ],
      },
      { logger: silentLogger },
    );
    expect(engine.startupIssues).toEqual([]);
    engine.results$.subscribe((r) => outcomes.push({ rule: r.ruleId, outcome: r.outcome }));
    await engine.start();
  });

  afterAll(async () => {
    for (const p of [...held.keys()]) release(p);
    await engine?.stop({ drainMs: 500 });
    await new Promise((r) => server.close(r));
  });

  it('while id 5 is fetched the loop turns and other rules go on; 2 rules x 20 messages share one fetch and keep their order', async () => {
    holdPaths.add('/schemas/ids/5');
    let ticks = 0;
    const probe = setInterval(() => ticks++, 5);
    try {
      for (let n = 0; n < 20; n++)
        await engine.broker.publish({ topic: 'a/x', payload: tagged(5, n), qos: 0 });
      await waitFor(() => (held.get('/schemas/ids/5')?.length ?? 0) === 1, 'the held request');
      await engine.broker.publish({ topic: 'b/1', payload: Buffer.from('other'), qos: 0 });
      await waitFor(() => of('plain').length === 1, 'the other rule');
      const t0 = ticks;
      await new Promise((r) => setTimeout(r, 100));
      expect(ticks - t0).toBeGreaterThanOrEqual(5); // the loop was not blocked
      expect(of('r1')).toEqual([]); // still waiting for the schema
      expect(engine.schemas.externalMetrics()['reg']).toMatchObject({ inflight: 1, fetches: 1 });
    } finally {
      clearInterval(probe);
    }
    release('/schemas/ids/5');
    await waitFor(() => of('r1').length === 20 && of('r2').length === 20, '40 outcomes');
    for (const rule of ['r1', 'r2'])
      expect(
        of(rule).map((o) => (o.kind === 'passed' ? (o.outputs[0] as { d: { n: number } }).d.n : o)),
      ).toEqual([...Array(20).keys()]);
    expect(hits['/schemas/ids/5']).toBe(1);
    const m = engine.schemas.externalMetrics()['reg']!;
    expect(m).toMatchObject({ fetches: 1, fetch_failures: 0, inflight: 0, cached_ids: 1 });
    expect(m.waits).toBe(2); // one suspended message per rule; the others queued behind it
    // cached now: no wait, no request
    await engine.broker.publish({ topic: 'a/x', payload: tagged(5, 99), qos: 0 });
    await waitFor(() => of('r1').length === 21, 'cached decode');
    expect(hits['/schemas/ids/5']).toBe(1);
  });

  it('a failed fetch fails the waiting messages with its code, is remembered for failure_cache_ttl, then retried', async () => {
    failPaths.add('/schemas/ids/6');
    const base = of('r1').length;
    await engine.broker.publish({ topic: 'a/y', payload: tagged(6, 1), qos: 0 });
    await waitFor(() => of('r1').length === base + 1, 'failed outcome');
    expect(of('r1')[base]).toMatchObject({ kind: 'failed', code: 'external_registry_unavailable' });
    expect((of('r1')[base] as { reason: string }).reason).toContain('503');
    expect(hits['/schemas/ids/6']).toBe(1);
    // within failure_cache_ttl: fails at once, no request
    await engine.broker.publish({ topic: 'a/y', payload: tagged(6, 2), qos: 0 });
    await waitFor(() => of('r1').length === base + 2, 'remembered failure');
    expect(of('r1')[base + 1]).toMatchObject({ code: 'external_registry_unavailable' });
    expect(hits['/schemas/ids/6']).toBe(1);
    expect(engine.schemas.externalMetrics()['reg']!.failure_cache_hits).toBeGreaterThanOrEqual(2);
    const failed = (engine.metrics().rules['r1'] as unknown as Record<string, number>)[
      'failed.exception'
    ];
    expect(failed).toBeGreaterThanOrEqual(2);
    // after the ttl, and with the registry back, the next message fetches and passes
    failPaths.delete('/schemas/ids/6');
    await new Promise((r) => setTimeout(r, 550));
    await engine.broker.publish({ topic: 'a/y', payload: tagged(6, 3), qos: 0 });
    await waitFor(() => of('r1').length === base + 3, 'retried');
    expect(of('r1')[base + 2]).toMatchObject({ kind: 'passed', outputs: [{ d: { n: 3 } }] });
    expect(hits['/schemas/ids/6']).toBe(2);
  });

  it('a registry that does not answer times out after request_timeout; the rule fails, the loop never stalls', async () => {
    holdPaths.add('/schemas/ids/7');
    const base = of('r2').length;
    const t0 = performance.now();
    await engine.broker.publish({ topic: 'a/z', payload: tagged(7, 1), qos: 0 });
    await waitFor(() => of('r2').length === base + 1, 'timed-out outcome');
    const took = performance.now() - t0;
    expect(took).toBeGreaterThanOrEqual(350);
    expect(of('r2')[base]).toMatchObject({ kind: 'failed', code: 'external_registry_unavailable' });
    expect((of('r2')[base] as { reason: string }).reason).toContain('timeout');
  });

  it('GET /metrics exposes the fetch / cache counters per registry', async () => {
    const api = createApiServer({ engine, logger: silentLogger }, { bind: '127.0.0.1', port: 0 });
    try {
      const text = await (await fetch(`${(await api.start()).url}/metrics`)).text();
      const m = engine.schemas.externalMetrics()['reg']!;
      expect(text).toContain(
        `sluice_schema_registry_external_fetches_total{registry="reg"} ${m.fetches}`,
      );
      expect(text).toContain(
        `sluice_schema_registry_external_waits_total{registry="reg"} ${m.waits}`,
      );
      expect(text).toContain('sluice_schema_registry_external_inflight{registry="reg"} 0');
      expect(m.fetch_failures).toBeGreaterThanOrEqual(2);
    } finally {
      await api.stop();
    }
  });
});
