/**
 * `thread: worker` end to end: real MQTT clients (mqtt.js over TCP) → rule → an hstreamdb sink
 * running in its own worker thread → the HStreamDB stand-in. Checks that records cross the
 * thread boundary intact (payload bytes, keys rendered from event columns the rule did not
 * select, per-key order), that the main thread's metrics follow the thread's runner, that
 * back-pressure from the thread's buffer pauses the publishers and loses nothing, and that
 * stop drains the thread.
 */
import mqtt from 'mqtt';
import type { MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { silentLogger } from '../../src/core/index.js';
import { createEngine } from '../../src/engine/index.js';
import type { Engine } from '../../src/engine/index.js';
import { uniqueStream } from '../hstream-server/helpers.js';
import { startStandInServer } from '../hstream-server/server.js';
import type { StandInServer } from '../hstream-server/server.js';

async function waitFor(cond: () => boolean, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

let server: StandInServer;
let engine: Engine | undefined;
const clients: MqttClient[] = [];
beforeAll(async () => {
  server = await startStandInServer();
});
afterAll(async () => {
  await server.stop();
});
afterEach(async () => {
  server.faults.appendDelayMs = 0;
  server.faults.holdAppends = false;
  for (const c of clients.splice(0)) await c.endAsync(true);
  await engine?.stop({ drainMs: 2000 });
  engine = undefined;
});

async function start(stream: string, buffer: Record<string, unknown> = {}): Promise<number> {
  engine = createEngine(
    {
      broker: { listeners: { tcp: { type: 'tcp', bind: '127.0.0.1', port: 0 } } },
      sinks: {
        hs: {
          type: 'hstreamdb',
          url: `hstream://127.0.0.1:${server.port}`,
          stream,
          partition_key: '${clientid}',
          auto_create: { enable: true, shard_count: 2 },
          batch_size: 100,
          linger: '2ms',
          thread: 'worker',
          buffer,
        },
      },
      // clientid is not selected: the key comes from the event columns sent along.
      rules: [{ id: 'r', sql: 'SELECT payload, qos FROM "t/#"', actions: ['hs'] }],
    },
    { logger: silentLogger },
  );
  const [addr] = await engine.start();
  return addr!.port;
}

async function client(port: number, id: string): Promise<MqttClient> {
  const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
    clientId: id,
    reconnectPeriod: 0,
  });
  clients.push(c);
  return c;
}

function stored(stream: string): { key: string; value: { payload: string; qos: number } }[] {
  return server.records(stream).map((r) => ({
    key: r.key,
    value: JSON.parse(r.payload.toString('utf8')) as { payload: string; qos: number },
  }));
}

describe('sink thread (thread: worker)', () => {
  it('delivers every record intact, keyed by an event column the rule did not select', async () => {
    const stream = uniqueStream('thr');
    const port = await start(stream);
    const a = await client(port, 'thread-a');
    const b = await client(port, 'thread-b');
    const N = 300;
    for (let i = 0; i < N; i++) {
      // Non-ASCII text: bytes must cross the thread boundary unchanged.
      await a.publishAsync(`t/a`, JSON.stringify({ seq: i, s: 'é→✓' }), { qos: 1 });
      b.publish(`t/b`, JSON.stringify({ seq: i, s: 'b' }), { qos: 0 });
    }
    await waitFor(() => engine!.metrics().sinks['hs']!.success === 2 * N, 'every record acked');
    const out = stored(stream);
    expect(out).toHaveLength(2 * N);
    for (const key of ['thread-a', 'thread-b']) {
      const mine = out.filter((r) => r.key === key);
      expect(mine).toHaveLength(N);
      // Per-key order survives the batches across the thread boundary.
      expect(mine.map((r) => (JSON.parse(r.value.payload) as { seq: number }).seq)).toEqual(
        Array.from({ length: N }, (_, i) => i),
      );
    }
    const first = out.find((r) => r.key === 'thread-a')!;
    expect(JSON.parse(first.value.payload)).toEqual({ seq: 0, s: 'é→✓' });
    expect(first.value.qos).toBe(1);
    const m = engine!.metrics().sinks['hs']!;
    expect(m).toMatchObject({ status: 'connected', matched: 2 * N, failed: 0, dropped: 0 });
    expect(m.latency.count).toBe(2 * N);
    // A thread-hosted sink has no main-thread instance.
    expect(engine!.sink('hs')).toBeUndefined();
  });

  it("pauses the publishers while the thread's buffer is full and loses nothing", async () => {
    const stream = uniqueStream('thrbp');
    const MAX = 300;
    const HEADROOM = 100;
    const port = await start(stream, {
      max_records: MAX,
      overflow: 'block',
      headroom: HEADROOM,
      low_watermark: 0.5,
    });
    server.faults.holdAppends = true; // appends hang until released: the buffer fills up
    const c = await client(port, 'thread-bp');
    const N = 2000;
    let acked = 0;
    const errors: string[] = [];
    for (let i = 0; i < N; i++)
      c.publish('t/x', JSON.stringify({ seq: i }), { qos: 1 }, (err) => {
        if (err) errors.push(err.message);
        else acked++;
      });
    await waitFor(() => engine!.metrics().sinks['hs']!.pressure, "the thread's buffer full");
    await waitFor(() => engine!.metrics().broker.clients_paused === 1, 'the publisher paused');
    await new Promise((r) => setTimeout(r, 200));
    let maxQueued = 0;
    for (let k = 0; k < 30; k++) {
      maxQueued = Math.max(maxQueued, engine!.metrics().sinks['hs']!.queued);
      await new Promise((r) => setTimeout(r, 10));
    }
    // Bounded: the thread's buffer (max_records + headroom) + at most `headroom` in transit.
    expect(maxQueued).toBeLessThanOrEqual(MAX + 2 * HEADROOM);
    expect(engine!.metrics().sinks['hs']!.pressure).toBe(true);
    // PUBACKs are not asserted here: Aedes writes a QoS 1 PUBACK before routing, so every
    // packet of the socket read in progress when the pause begins is acknowledged — and this
    // burst may arrive in one read. back-pressure.test.ts floods beyond one read and checks
    // that PUBACKs stop; acknowledging only after the hand-off is issue #12.
    expect(errors).toEqual([]);
    expect(engine!.metrics().broker.clients_paused).toBe(1);
    server.faults.holdAppends = false;
    await waitFor(() => engine!.metrics().sinks['hs']!.success === N, 'every record acked');
    expect(engine!.metrics().sinks['hs']!.dropped).toBe(0);
    await waitFor(() => acked === N, 'every PUBACK');
    const seqs = stored(stream).map((r) => (JSON.parse(r.value.payload) as { seq: number }).seq);
    expect(seqs).toEqual(Array.from({ length: N }, (_, i) => i));
  });

  it('stop drains what the thread holds', async () => {
    const stream = uniqueStream('thrdrain');
    const port = await start(stream);
    const c = await client(port, 'thread-drain');
    for (let i = 0; i < 200; i++)
      await c.publishAsync('t/x', JSON.stringify({ seq: i }), { qos: 1 });
    const e = engine!;
    engine = undefined;
    await e.stop({ drainMs: 5000 });
    expect(stored(stream)).toHaveLength(200);
  });
});
