/**
 * Back-pressure end to end with real MQTT clients (mqtt.js over TCP, 127.0.0.1): a sink with
 * `overflow: block` that stops acknowledging pauses exactly the connections whose messages feed
 * it; its buffer stays within `max_records + headroom` however long the publishers keep
 * sending; QoS 1 publishers get no PUBACK while paused; once the sink recovers every message
 * arrives, in order per publisher, and nothing is dropped. Publishers feeding other sinks are
 * not slowed.
 */
import mqtt from 'mqtt';
import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';

import { silentLogger } from '../../src/core/index.js';
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

const MAX = 200;
const HEADROOM = 50;

let engine: Engine | undefined;
const clients: MqttClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.endAsync(true);
  await engine?.stop({ drainMs: 100 });
  engine = undefined;
});

async function setup(): Promise<{ port: number; slow: MemorySink; fast: MemorySink }> {
  engine = createEngine(
    {
      broker: { listeners: { tcp: { type: 'tcp', bind: '127.0.0.1', port: 0 } } },
      sinks: {
        slow: {
          type: 'memory',
          batch_size: 50,
          linger: 0,
          max_inflight: 1,
          buffer: { max_records: MAX, overflow: 'block', headroom: HEADROOM, low_watermark: 0.5 },
        },
        fast: { type: 'memory', linger: 0 },
      },
      rules: [
        { id: 'to_slow', sql: 'SELECT payload, clientid FROM "slow/#"', actions: ['slow'] },
        { id: 'to_fast', sql: 'SELECT payload, clientid FROM "fast/#"', actions: ['fast'] },
      ],
    },
    { logger: silentLogger },
  );
  const [addr] = await engine.start();
  return {
    port: addr!.port,
    slow: engine.sink('slow') as MemorySink,
    fast: engine.sink('fast') as MemorySink,
  };
}

async function client(port: number, id: string): Promise<MqttClient> {
  const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
    clientId: id,
    reconnectPeriod: 0,
  });
  clients.push(c);
  return c;
}

/** Publish `n` messages as fast as the client lets us; resolves when all are acknowledged/sent. */
function flood(c: MqttClient, topic: string, n: number, qos: 0 | 1, acked: { n: number }) {
  return Promise.all(
    Array.from(
      { length: n },
      (_, i) =>
        new Promise<void>((resolve, reject) =>
          c.publish(topic, JSON.stringify({ seq: i }), { qos }, (err) => {
            if (err) return reject(err);
            acked.n++;
            resolve();
          }),
        ),
    ),
  );
}

describe('back-pressure (overflow: block)', () => {
  it('a stalled sink pauses its QoS 1 publisher, stays bounded, then delivers everything in order', async () => {
    const { port, slow } = await setup();
    slow.hold();
    const pub = await client(port, 'pub-slow');
    const N = 5000;
    const acked = { n: 0 };
    const done = flood(pub, 'slow/a', N, 1, acked);
    await waitFor(() => engine!.metrics().broker.clients_paused === 1, 'the publisher paused');
    // Keep the publisher pushing for a while: nothing moves, memory stays bounded, and the
    // publisher gets no more PUBACKs (Aedes acknowledges a QoS 1 packet before routing it, so
    // the packets of the read that was in progress when the pause began are acknowledged).
    await new Promise((r) => setTimeout(r, 200));
    const ackedWhilePaused = acked.n;
    let maxQueued = 0;
    for (let i = 0; i < 50; i++) {
      await new Promise((r) => setTimeout(r, 20));
      maxQueued = Math.max(maxQueued, engine!.metrics().sinks['slow']!.queued);
    }
    const m = engine!.metrics();
    expect(m.sinks['slow']!.pressure).toBe(true);
    expect(m.sinks['slow']!.pausedClients).toBe(1);
    expect(maxQueued).toBeLessThanOrEqual(MAX + HEADROOM);
    expect(m.sinks['slow']!.dropped).toBe(0);
    expect(acked.n).toBe(ackedWhilePaused);
    expect(acked.n).toBeLessThan(N / 2);
    slow.release();
    await done;
    await waitFor(() => slow.records.length === N, 'every record delivered');
    const seqs = slow.records.map(
      (r) => (JSON.parse(String(r.data['payload'])) as { seq: number }).seq,
    );
    expect(seqs).toEqual(Array.from({ length: N }, (_, i) => i));
    const after = engine!.metrics();
    expect(after.sinks['slow']!.dropped).toBe(0);
    expect(after.sinks['slow']!.pressure).toBe(false);
    expect(after.broker.clients_paused).toBe(0);
    expect(after.sinks['slow']!.pressureEvents).toBeGreaterThanOrEqual(1);
  });

  it('QoS 0: TCP flow control bounds the buffer; a publisher feeding another sink is not slowed', async () => {
    const { port, slow, fast } = await setup();
    slow.hold();
    const pSlow = await client(port, 'q0-slow');
    const pFast = await client(port, 'q0-fast');
    const slowDone = flood(pSlow, 'slow/b', 20_000, 0, { n: 0 });
    await waitFor(() => engine!.metrics().broker.clients_paused === 1, 'the slow publisher paused');
    await flood(pFast, 'fast/x', 2000, 1, { n: 0 });
    await waitFor(() => fast.records.length === 2000, 'the fast sink got everything');
    const m = engine!.metrics();
    expect(m.sinks['slow']!.queued).toBeLessThanOrEqual(MAX + HEADROOM);
    expect(m.sinks['fast']!.pausedClients).toBe(0);
    slow.release();
    await slowDone;
    await waitFor(() => slow.records.length === 20_000, 'every QoS 0 record delivered');
    expect(engine!.metrics().sinks['slow']!.dropped).toBe(0);
  });

  it('a paused client that hangs up: what the broker read is delivered once the sink recovers', async () => {
    const { port, slow } = await setup();
    slow.hold();
    const pub = await client(port, 'leaver');
    void flood(pub, 'slow/c', 3000, 1, { n: 0 }).catch(() => {});
    await waitFor(() => engine!.metrics().broker.clients_paused === 1, 'the publisher paused');
    expect(engine!.metrics().broker.publishes_held).toBeGreaterThan(0);
    pub.end(true);
    // The FIN sits behind unread data: the broker sees the hang-up once it reads again.
    await new Promise((r) => setTimeout(r, 200));
    slow.release();
    await waitFor(() => engine!.metrics().broker.connections === 0, 'the hang-up seen');
    await waitFor(
      () => slow.records.length === engine!.metrics().broker.messages_in,
      'everything the broker took in delivered',
    );
    const m = engine!.metrics();
    expect(m.broker.messages_in).toBeGreaterThan(MAX + HEADROOM);
    expect([m.broker.publishes_held, m.broker.clients_paused]).toEqual([0, 0]);
    expect(m.sinks['slow']!.dropped).toBe(0);
  });
});
