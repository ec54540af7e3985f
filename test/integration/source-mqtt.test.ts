/**
 * The `mqtt` source against Debian's Mosquitto 2 (MQTT 5, shared subscriptions): the PUBACK
 * is withheld until the sink acknowledged the message's records (a withheld message comes back
 * to the restarted session), the columns a subscriber can fill, republish back to that broker,
 * and three worker processes splitting the load with one SIGKILLed mid-stream and restarted:
 * no message lost, duplicates counted.
 */
import mqtt from 'mqtt';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { silentLogger } from '../../src/core/index.js';
import { createEngine } from '../../src/engine/index.js';
import type { Engine } from '../../src/engine/index.js';
import type { MemorySink } from '../../src/sinks/memory/index.js';
import { startMosquitto } from './mosquitto.js';
import type { Mosquitto } from './mosquitto.js';
import { startWorker } from './source-workers.js';
import type { Worker } from './source-workers.js';

let broker: Mosquitto;

beforeAll(async () => {
  broker = await startMosquitto();
  console.log(`[source-mqtt] ${broker.version} on ${broker.url}`);
});
afterAll(async () => {
  await broker?.stop();
});

const until = async (cond: () => boolean, ms: number, what: string): Promise<void> => {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
};

async function client(id: string, opts: mqtt.IClientOptions = {}): Promise<MqttClient> {
  const c = await mqtt.connectAsync(broker.url, {
    clientId: id,
    protocolVersion: 5,
    reconnectPeriod: 200,
    ...opts,
  });
  return c;
}

function engineWith(clientId: string, sql: string, group = 'g1'): Engine {
  return createEngine(
    {
      node: clientId,
      log: { level: 'silent' },
      sources: {
        mode: 'mqtt',
        mqtt: { url: broker.url, client_id: clientId, share_group: group, clientid_topic_level: 2 },
      },
      sinks: { m: { type: 'memory', linger: 0 } },
      rules: [{ id: 'r', sql, actions: ['m'] }],
    },
    { logger: silentLogger, watch: false },
  );
}

describe('mqtt source (Mosquitto 2)', () => {
  it('holds the PUBACK until the sink acknowledged; a withheld message returns to the restarted session', async () => {
    const e1 = engineWith('hold-1', 'SELECT payload FROM "hold/#"', 'gh');
    await e1.start();
    const sink = e1.sink('m') as MemorySink;
    sink.hold();
    const pub = await client('hold-pub');
    await pub.publishAsync('hold/a', 'one', { qos: 1 });
    await until(() => sink.stats.inflight === 1, 5000, 'the write in flight');
    expect(e1.metrics().source).toMatchObject({ received: 1, acked: 0, pending: 1 });
    // Stop with the write still held: the message was never acknowledged to Mosquitto.
    await e1.stop({ drainMs: 50 });
    sink.release();

    const e2 = engineWith('hold-1', 'SELECT payload FROM "hold/#"', 'gh');
    await e2.start();
    const sink2 = e2.sink('m') as MemorySink;
    await until(() => sink2.records.length === 1, 10_000, 'the redelivered message');
    expect(String(sink2.records[0]!.data['payload'])).toBe('one');
    expect(sink2.records[0]!.context?.['flags']).toEqual({ dup: true, retain: false });
    await until(() => e2.metrics().source!.acked === 1, 5000, 'the PUBACK');
    expect(e2.metrics().source).toMatchObject({ received: 1, redelivered: 1, pending: 0 });
    // Acknowledged now: a third session gets nothing back.
    await e2.stop();
    const e3 = engineWith('hold-1', 'SELECT payload FROM "hold/#"', 'gh');
    await e3.start();
    await new Promise((r) => setTimeout(r, 500));
    expect((e3.sink('m') as MemorySink).records).toHaveLength(0);
    await e3.stop();
    await pub.endAsync();
  });

  it('fills the publish columns a subscriber can know (user properties, topic level) and follows rule changes', async () => {
    const e = engineWith(
      'cols-1',
      'SELECT clientid, username, topic, qos, payload, pub_props, peerhost FROM "cols/#"',
    );
    await e.start();
    const sink = e.sink('m') as MemorySink;
    const pub = await client('cols-pub');
    await pub.publishAsync('cols/dev7/t', '{"x":1}', {
      qos: 1,
      properties: {
        userProperties: { clientid: 'orig-client', username: 'alice' },
        contentType: 'application/json',
      },
    });
    await pub.publishAsync('cols/dev8/t', 'raw', { qos: 0 });
    await until(() => sink.records.length === 2, 5000, 'two records');
    const byTopic = Object.fromEntries(sink.records.map((r) => [r.data['topic'], r.data]));
    expect(byTopic['cols/dev7/t']).toMatchObject({
      clientid: 'orig-client',
      username: 'alice',
      qos: 1,
      payload: Buffer.from('{"x":1}'),
      pub_props: {
        'Content-Type': 'application/json',
        'User-Property': { clientid: 'orig-client', username: 'alice' },
      },
    });
    expect(byTopic['cols/dev7/t']!['peerhost']).toBeUndefined();
    // No user property: the client id comes from topic level 2.
    expect(byTopic['cols/dev8/t']).toMatchObject({
      clientid: 'dev8',
      qos: 0,
      payload: Buffer.from('raw'),
    });

    // A rule on another filter: the source subscribes it; removing the rule unsubscribes.
    e.addRule({ id: 'r2', sql: 'SELECT topic FROM "other/+"', actions: ['m'] });
    await new Promise((r) => setTimeout(r, 300));
    await pub.publishAsync('other/x', 'y', { qos: 1 });
    await until(() => sink.records.some((r) => r.ruleId === 'r2'), 5000, 'the new rule’s record');
    e.removeRule('r2');
    await new Promise((r) => setTimeout(r, 300));
    const before = e.metrics().source!.received;
    await pub.publishAsync('other/x', 'z', { qos: 1 });
    await new Promise((r) => setTimeout(r, 300));
    expect(e.metrics().source!.received).toBe(before);
    await e.stop();
    await pub.endAsync();
  });

  it('three workers split the load; one SIGKILLed mid-stream and restarted loses nothing', async () => {
    const N = 3000;
    const group = 'scale';
    const cfg = (name: string): Record<string, unknown> => ({
      node: name,
      log: { level: 'warn', format: 'json' },
      sources: {
        mode: 'mqtt',
        mqtt: { url: broker.url, client_id: name, share_group: group, session_expiry: '10m' },
      },
      sinks: {
        out: { type: 'republish', topic: 'out/${node}', payload: '${seq}', qos: 1, linger: 5 },
      },
      rules: [{ id: 'fwd', sql: 'SELECT payload.seq AS seq, node FROM "in/#"', actions: ['out'] }],
    });
    const seen = new Map<number, number>();
    const byWorker = new Map<string, number>();
    const checker = await client('checker', {
      clean: false,
      properties: { sessionExpiryInterval: 600 },
    });
    checker.on('message', (topic, payload) => {
      const seq = Number(payload.toString());
      seen.set(seq, (seen.get(seq) ?? 0) + 1);
      const w = topic.slice('out/'.length);
      byWorker.set(w, (byWorker.get(w) ?? 0) + 1);
    });
    await checker.subscribeAsync('out/#', { qos: 1 });

    const workers: Worker[] = await Promise.all(
      ['w1', 'w2', 'w3'].map((n) => startWorker(n, cfg(n))),
    );
    const pub = await client('publisher');
    try {
      let restarted: Worker | undefined;
      for (let i = 0; i < N; i += 50) {
        await Promise.all(
          Array.from({ length: 50 }, (_, k) =>
            pub.publishAsync(`in/dev${(i + k) % 17}`, JSON.stringify({ seq: i + k }), { qos: 1 }),
          ),
        );
        if (i === 1000) await workers[1]!.kill(); // SIGKILL mid-stream, work in flight
        if (i === 2000) restarted = await startWorker('w2', cfg('w2')); // same client id: same session
      }
      await until(() => seen.size === N, 60_000, `all ${N} messages (have ${seen.size})`);
      await new Promise((r) => setTimeout(r, 500)); // late duplicates
      const missing = Array.from({ length: N }, (_, i) => i).filter((i) => !seen.has(i));
      expect(missing).toEqual([]);
      const total = [...seen.values()].reduce((a, c) => a + c, 0);
      const duplicates = total - N;
      console.log(
        `[source-mqtt] ${N} messages, ${duplicates} duplicates; per worker ${JSON.stringify(Object.fromEntries(byWorker))}`,
      );
      for (const w of ['w1', 'w2', 'w3']) expect(byWorker.get(w) ?? 0).toBeGreaterThan(N / 10);
      const m = await restarted!.metrics();
      console.log(`[source-mqtt] restarted w2 source metrics ${JSON.stringify(m.source)}`);
      expect(m.source!['connected']).toBe(true);
      for (const w of [workers[0]!, workers[2]!, restarted!]) expect(await w.stop()).toBe(0);
    } finally {
      for (const w of workers) await w.kill();
      await pub.endAsync();
      await checker.endAsync();
    }
  }, 120_000);
});
