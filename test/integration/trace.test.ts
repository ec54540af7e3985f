/**
 * Per-message tracing end to end (docs/api.md "Traces"): a real engine (embedded broker on
 * 127.0.0.1, memory sinks), the API on port 0, MQTT.js publishers. Asserts the exact steps of a
 * message that passes WHERE, one that fails it (with the deciding value), one dropped by a full
 * sink buffer, and the Server-Sent Events stream resumed with Last-Event-ID, then ended by DELETE.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { IncomingMessage } from 'node:http';

import mqtt from 'mqtt';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createApiServer } from '../../src/api/index.js';
import { main } from '../../src/cli/main.js';
import type { ApiServer } from '../../src/api/index.js';
import { silentLogger } from '../../src/core/index.js';
import { createEngine } from '../../src/engine/index.js';
import type { Engine } from '../../src/engine/index.js';
import type { MemorySink } from '../../src/sinks/memory/index.js';

interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
}

function call(
  base: string,
  method: string,
  p: string,
  body?: unknown,
  auth?: string,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${base}${p}`,
      {
        method,
        headers: {
          ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
          ...(auth !== undefined
            ? { Authorization: `Basic ${Buffer.from(auth).toString('base64')}` }
            : {}),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            json: text ? JSON.parse(text) : undefined,
          }),
        );
      },
    );
    req.on('error', reject);
    if (body !== undefined) req.write(JSON.stringify(body));
    req.end();
  });
}

async function waitFor<T>(get: () => Promise<T>, ok: (v: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const v = await get();
    if (ok(v)) return v;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Step = Record<string, any>;

/** A step without the fields that vary per run (ts, seq, trace id, message id). */
function shape(s: Step): Step {
  const { ts: _ts, seq: _seq, trace_id: _t, msg_id: _m, ...rest } = s;
  return rest;
}

function byMessage(steps: readonly Step[]): Step[][] {
  const groups = new Map<string, Step[]>();
  for (const s of steps) {
    const g = groups.get(s['msg_id']) ?? [];
    g.push(s);
    groups.set(s['msg_id'], g);
  }
  return [...groups.values()];
}

const YAML_CONFIG = {
  broker: { listeners: { tcp: { type: 'tcp', bind: '127.0.0.1', port: 0 } } },
  sinks: {
    mem: { type: 'memory', linger: 0 },
    primary: { type: 'memory', linger: 0, fallback_actions: ['dead'] },
    dead: { type: 'memory', linger: 0 },
    slow: {
      type: 'memory',
      linger: 0,
      batch_size: 1,
      max_inflight: 1,
      delay: '400ms',
      buffer: { max_records: 1, overflow: 'drop_newest' },
    },
  },
  rules: [
    {
      id: 'hot',
      sql: 'SELECT payload.temp AS t, clientid FROM "sensors/+/temp" WHERE payload.temp > 30',
      actions: ['mem'],
    },
    { id: 'flood', sql: 'SELECT payload.n AS n FROM "flood/x"', actions: ['slow'] },
    { id: 'fb', sql: 'SELECT payload.n AS n FROM "fb/x"', actions: ['primary'] },
    { id: 'cli', sql: 'SELECT payload.v AS v FROM "cli/#" WHERE payload.v > 1', actions: ['mem'] },
  ],
};

describe('per-message tracing over the API', () => {
  let engine: Engine;
  let api: ApiServer;
  let base: string;
  let mqttUrl: string;
  const clients: MqttClient[] = [];
  const client = async (id: string): Promise<MqttClient> => {
    const c = await mqtt.connectAsync(mqttUrl, { clientId: id, reconnectPeriod: 0 });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    engine = createEngine(YAML_CONFIG, { logger: silentLogger, env: {}, watch: false });
    expect(engine.startupIssues).toEqual([]);
    const addrs = await engine.start();
    mqttUrl = `mqtt://127.0.0.1:${addrs[0]?.port}`;
    api = createApiServer({ engine, logger: silentLogger }, { bind: '127.0.0.1', port: 0 });
    base = (await api.start()).url;
  });

  afterAll(async () => {
    for (const c of clients) await c.endAsync();
    await api?.stop();
    await engine?.stop({ drainMs: 2000 });
  });

  it('needs the administrator role for every trace route, GET included', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sluice-trace-'));
    const file = path.join(dir, 'bootstrap');
    writeFileSync(file, 'boss:s3cret-boss:administrator\nwatcher:s3cret-watch:viewer\n');
    const secured = createApiServer(
      { engine, logger: silentLogger },
      { bind: '127.0.0.1', port: 0, bootstrapFile: file },
    );
    try {
      const url = (await secured.start()).url;
      const viewer = await call(url, 'GET', '/api/v5/traces', undefined, 'watcher:s3cret-watch');
      expect(viewer.status).toBe(403);
      expect(viewer.json.code).toBe('api_forbidden');
      // The viewer may still read what it could before.
      expect(
        (await call(url, 'GET', '/api/v5/rules', undefined, 'watcher:s3cret-watch')).status,
      ).toBe(200);
      const admin = await call(url, 'GET', '/api/v5/traces', undefined, 'boss:s3cret-boss');
      expect(admin.status).toBe(200);
      expect((await call(url, 'GET', '/api/v5/traces')).status).toBe(401);
    } finally {
      await secured.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses bad filters with trace_invalid', async () => {
    for (const body of [
      { filter: { topic: 'sensors/#/x' } },
      { filter: {} },
      {},
      { filter: { topic: 'a' }, duration_s: 0 },
      { filter: { topic: 'a' }, max_messages: 100_001 },
      { filter: { rule_id: 'nope' } },
      { filter: { topic: 'a', qos: 1 } },
    ]) {
      const r = await call(base, 'POST', '/api/v5/traces', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json.code).toBe('trace_invalid');
    }
    expect((await call(base, 'GET', '/api/v5/traces/none')).status).toBe(404);
    expect((await call(base, 'DELETE', '/api/v5/traces/none')).json.code).toBe('trace_not_found');
  });

  it('records each step of a message that passes WHERE and of one that fails it', async () => {
    const created = await call(base, 'POST', '/api/v5/traces', {
      name: 'sensors',
      filter: { topic: 'sensors/#' },
      duration_s: 120,
      max_messages: 10,
    });
    expect(created.status).toBe(201);
    const t = created.json;
    expect(t).toMatchObject({
      name: 'sensors',
      filter: { topic: 'sensors/#' },
      state: 'running',
      max_messages: 10,
      messages: 0,
    });
    expect(Date.parse(t.ends_at) - Date.parse(t.started_at)).toBe(120_000);
    expect(
      (await call(base, 'GET', '/api/v5/traces')).json.data.map((x: Step) => x['id']),
    ).toContain(t.id);

    const c = await client('dev-1');
    await c.publishAsync('sensors/a/temp', JSON.stringify({ temp: 35 }), { qos: 1 });
    await c.publishAsync('sensors/a/temp', JSON.stringify({ temp: 10 }), { qos: 1 });
    await c.publishAsync('other/topic', 'x', { qos: 1 }); // not selected by the trace
    const got = await waitFor(
      () => call(base, 'GET', `/api/v5/traces/${t.id}`),
      (r) => r.json.steps.some((s: Step) => s['step'] === 'ack') && r.json.messages === 2,
      'the ack of the first message',
    );
    const steps: Step[] = got.json.steps;
    expect(steps.map((s) => s['seq'])).toEqual(steps.map((_, i) => i + 1));
    expect(steps.every((s) => s['trace_id'] === t.id && typeof s['ts'] === 'number')).toBe(true);
    const [first, second] = byMessage(steps);
    const common = { clientid: 'dev-1', topic: 'sensors/a/temp' };
    const ack = first?.find((s) => s['step'] === 'ack');
    expect(ack?.['detail'].latency_ms).toBeGreaterThanOrEqual(0);
    expect(first?.map(shape)).toEqual([
      { step: 'received', ...common, detail: { rules: 1 } },
      { step: 'rule_matched', rule_id: 'hot', ...common, detail: {} },
      {
        step: 'where',
        rule_id: 'hot',
        ...common,
        detail: { result: true, value: 35, expr: 'payload.temp > 30' },
      },
      {
        step: 'select',
        rule_id: 'hot',
        ...common,
        detail: { output: { t: 35, clientid: 'dev-1' } },
      },
      {
        step: 'action_render',
        rule_id: 'hot',
        action: 'mem',
        ...common,
        detail: { data: { t: 35, clientid: 'dev-1' } },
      },
      {
        step: 'buffered',
        rule_id: 'hot',
        action: 'mem',
        ...common,
        detail: { queued: 1, mode: 'memory' },
      },
      { step: 'send_attempt', rule_id: 'hot', action: 'mem', ...common, detail: { attempt: 1 } },
      { step: 'ack', rule_id: 'hot', action: 'mem', ...common, detail: ack?.['detail'] },
    ]);
    expect(second?.map(shape)).toEqual([
      { step: 'received', ...common, detail: { rules: 1 } },
      { step: 'rule_matched', rule_id: 'hot', ...common, detail: {} },
      {
        step: 'where',
        rule_id: 'hot',
        ...common,
        detail: { result: false, value: 10, expr: 'payload.temp > 30' },
      },
    ]);
    expect(got.json.messages).toBe(2);
    expect((await call(base, 'DELETE', `/api/v5/traces/${t.id}`)).status).toBe(204);
    expect((await call(base, 'GET', `/api/v5/traces/${t.id}`)).status).toBe(404);
  });

  it('records the drop of a message the sink buffer has no room for', async () => {
    const t = (await call(base, 'POST', '/api/v5/traces', { filter: { rule_id: 'flood' } })).json;
    const c = await client('dev-2');
    // batch_size 1, max_inflight 1, a 400 ms write and room for one record: a burst of 5
    // leaves at most 2 held (one in flight, one queued); the others are dropped queue_full.
    for (let n = 1; n <= 5; n++) c.publish('flood/x', JSON.stringify({ n }), { qos: 0 });
    const got = await waitFor(
      () => call(base, 'GET', `/api/v5/traces/${t.id}`),
      (r) =>
        r.json.messages === 5 && r.json.steps.filter((s: Step) => s['step'] === 'ack').length >= 1,
      'five messages and an ack',
    );
    const groups = byMessage(got.json.steps);
    expect(groups).toHaveLength(5);
    const common = { rule_id: 'flood', clientid: 'dev-2', topic: 'flood/x' };
    const dropped = groups.filter((g) => g.some((s) => s['step'] === 'drop'));
    expect(dropped.length).toBeGreaterThanOrEqual(3);
    for (const g of dropped) {
      const n = g[2]?.['detail'].output.n;
      expect(g.map(shape)).toEqual([
        { step: 'received', clientid: 'dev-2', topic: 'flood/x', detail: { rules: 1 } },
        { step: 'rule_matched', ...common, detail: {} },
        { step: 'select', ...common, detail: { output: { n } } },
        { step: 'action_render', ...common, action: 'slow', detail: { data: { n } } },
        {
          step: 'drop',
          ...common,
          action: 'slow',
          detail: { reason: 'queue_full', counted: 'dropped' },
        },
      ]);
    }
    expect(engine.metrics().sinks['slow']?.droppedBy['queue_full']).toBe(dropped.length);
    await call(base, 'DELETE', `/api/v5/traces/${t.id}`);
  });

  it('follows a record its sink gives up on into the fallback sink', async () => {
    const t = (await call(base, 'POST', '/api/v5/traces', { filter: { rule_id: 'fb' } })).json;
    (engine.sink('primary') as MemorySink).failNext(1, { retriable: false });
    const c = await client('dev-fb');
    await c.publishAsync('fb/x', JSON.stringify({ n: 1 }), { qos: 1 });
    const got = await waitFor(
      () => call(base, 'GET', `/api/v5/traces/${t.id}`),
      (r) => r.json.steps.some((s: Step) => s['step'] === 'ack'),
      'the ack of the fallback sink',
    );
    const common = { rule_id: 'fb', clientid: 'dev-fb', topic: 'fb/x' };
    const error = 'memory_injected_failure: injected write failure';
    expect(
      got.json.steps.map(shape).map((s: Step) => (s['step'] === 'ack' ? { ...s, detail: {} } : s)),
    ).toEqual([
      { step: 'received', clientid: 'dev-fb', topic: 'fb/x', detail: { rules: 1 } },
      { step: 'rule_matched', ...common, detail: {} },
      { step: 'select', ...common, detail: { output: { n: 1 } } },
      { step: 'action_render', ...common, action: 'primary', detail: { data: { n: 1 } } },
      { step: 'buffered', ...common, action: 'primary', detail: { queued: 1, mode: 'memory' } },
      { step: 'send_attempt', ...common, action: 'primary', detail: { attempt: 1, error } },
      {
        step: 'drop',
        ...common,
        action: 'primary',
        detail: { reason: 'memory_injected_failure', counted: 'failed' },
      },
      {
        step: 'fallback',
        ...common,
        action: 'dead',
        detail: { from: 'primary', reason: 'memory_injected_failure' },
      },
      { step: 'buffered', ...common, action: 'dead', detail: { queued: 1, mode: 'memory' } },
      { step: 'send_attempt', ...common, action: 'dead', detail: { attempt: 1 } },
      { step: 'ack', ...common, action: 'dead', detail: {} },
    ]);
    expect((engine.sink('dead') as MemorySink).records.map((r) => r.data)).toEqual([{ n: 1 }]);
    await call(base, 'DELETE', `/api/v5/traces/${t.id}`);
  });

  it('streams steps as Server-Sent Events, resuming after Last-Event-ID, ending on DELETE', async () => {
    const t = (await call(base, 'POST', '/api/v5/traces', { filter: { clientid: 'dev-3' } })).json;
    const c = await client('dev-3');
    await c.publishAsync('sensors/b/temp', JSON.stringify({ temp: 5 }), { qos: 1 });
    const before = await waitFor(
      () => call(base, 'GET', `/api/v5/traces/${t.id}`),
      (r) => r.json.steps.length === 3,
      'three steps',
    );
    expect(before.json.steps.map((s: Step) => s['step'])).toEqual([
      'received',
      'rule_matched',
      'where',
    ]);

    // Resume after step 1: steps 2 and 3 come from the ring, then live ones.
    let text = '';
    let res: IncomingMessage | undefined;
    const ended = new Promise<void>((resolve, reject) => {
      const req = httpRequest(`${base}/api/v5/traces/${t.id}/stream`, {
        headers: { 'Last-Event-ID': '1', Accept: 'text/event-stream' },
      });
      req.on('response', (r) => {
        res = r;
        r.setEncoding('utf8');
        r.on('data', (d: string) => (text += d));
        r.on('end', () => resolve());
      });
      req.on('error', reject);
      req.end();
    });
    const events = (): { id?: string; event?: string; data?: string }[] =>
      text
        .split('\n\n')
        .filter((b) => b !== '' && !b.startsWith(':'))
        .map((b) =>
          Object.fromEntries(
            b.split('\n').map((l) => [l.slice(0, l.indexOf(': ')), l.slice(l.indexOf(': ') + 2)]),
          ),
        );
    await waitFor(
      async () => events().length,
      (n) => n >= 2,
      'the replayed steps',
    );
    expect(res?.statusCode).toBe(200);
    expect(res?.headers['content-type']).toMatch(/^text\/event-stream/);
    await c.publishAsync('sensors/b/temp', JSON.stringify({ temp: 50 }), { qos: 1 });
    await waitFor(
      async () => events(),
      (e) => e.some((x) => x.data?.includes('"step":"ack"') === true),
      'the live ack',
    );
    expect((await call(base, 'DELETE', `/api/v5/traces/${t.id}`)).status).toBe(204);
    await ended;
    const ev = events();
    const steps = ev.filter((e) => e.event === 'step');
    expect(steps.map((e) => Number(e.id))).toEqual(steps.map((_, i) => i + 2));
    for (const e of steps) expect(JSON.parse(e.data as string).seq).toBe(Number(e.id));
    expect(steps.map((e) => JSON.parse(e.data as string).step)).toEqual([
      'rule_matched',
      'where',
      'received',
      'rule_matched',
      'where',
      'select',
      'action_render',
      'buffered',
      'send_attempt',
      'ack',
    ]);
    expect(ev.at(-1)).toEqual({ event: 'end', data: '{"reason":"deleted"}' });
  });

  it('sluice trace prints the steps of each message, one line each, and deletes the trace on Ctrl-C', async () => {
    const out: string[] = [];
    const err: string[] = [];
    let stop!: (s: string) => void;
    const stopSignal = new Promise<string>((r) => (stop = r));
    const done = main(['trace', '--url', base, '--topic', 'cli/#', '--duration', '30'], {
      out: (l) => out.push(l),
      err: (l) => err.push(l),
      stopSignal,
    });
    await waitFor(
      async () => (await call(base, 'GET', '/api/v5/traces')).json.data,
      (d: Step[]) => d.some((t) => t['filter'].topic === 'cli/#' && t['state'] === 'running'),
      'the CLI trace',
    );
    // Give the stream a moment to attach before publishing: steps recorded before it are
    // replayed from the ring anyway (the stream starts at Last-Event-ID 0).
    const c = await client('dev-cli');
    await c.publishAsync('cli/a', JSON.stringify({ v: 0 }), { qos: 1 });
    await c.publishAsync('cli/b', JSON.stringify({ v: 7 }), { qos: 1 });
    await waitFor(
      async () => out,
      (o) => o.some((l) => l.includes(' ack ')),
      'the ack line',
    );
    stop('SIGINT');
    expect(await done).toBe(0);
    const T = String.raw`  \d\d:\d\d:\d\d\.\d{3}  `;
    const patterns = [
      /^message \S+ {2}cli\/a from dev-cli$/,
      new RegExp(`^${T}received       1 rule\\(s\\) match FROM$`),
      new RegExp(`^${T}rule_matched   cli$`),
      new RegExp(`^${T}where          cli  false  payload.v > 1 ← 0$`),
      /^message \S+ {2}cli\/b from dev-cli$/,
      new RegExp(`^${T}received       1 rule\\(s\\) match FROM$`),
      new RegExp(`^${T}rule_matched   cli$`),
      new RegExp(`^${T}where          cli  true  payload.v > 1 ← 7$`),
      new RegExp(`^${T}select         cli  \\{"v":7\\}$`),
      new RegExp(`^${T}action_render  cli → mem  \\{"v":7\\}$`),
      new RegExp(`^${T}buffered       cli → mem  queued=1$`),
      new RegExp(`^${T}send_attempt   cli → mem  attempt 1$`),
      new RegExp(`^${T}ack            cli → mem  acknowledged after \\d+ ms$`),
    ];
    expect(out).toHaveLength(patterns.length);
    out.forEach((line, i) => expect(line).toMatch(patterns[i] as RegExp));
    expect(err[0]).toMatch(/^tracing \{"topic":"cli\/#"\} until /);
    expect(err.at(-1)).toMatch(/ended \(interrupted\)$/);
    const left = (await call(base, 'GET', '/api/v5/traces')).json.data as Step[];
    expect(left.some((t) => t['filter'].topic === 'cli/#')).toBe(false);
  });
});
