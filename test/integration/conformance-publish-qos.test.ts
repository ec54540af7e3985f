/**
 * MQTT conformance, area PUBLISH and the QoS flows (MQTT 3.1.1 §3.3–§3.7, §4.3, §4.6), with
 * MQTT.js and paho-mqtt 2 over TCP; raw packets where a client library will not misbehave on
 * purpose (bad QoS, wildcards in a topic name, a resent packet id, DUP set).
 * Statement → test map: docs/mqtt-conformance.md. Covered elsewhere: overlapping subscriptions
 * [MQTT-3.3.5-1] (src/broker/broker.test.ts), granted QoS with MQTT.js [MQTT-3.8.4-6]
 * (broker-qos.test.ts), UTF-8 in the topic [MQTT-1.5.3-1/2] (broker-protocol.test.ts).
 */
import type { Packet } from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  mqttString,
  rawPacket,
  sleep,
  startConformance,
  uid,
  waitFor,
  type Conformance,
} from '../conformance.js';
import { publishPacket } from '../broker-harness.js';

let b: Conformance;
beforeAll(async () => {
  b = await startConformance();
});
afterAll(async () => b?.stop());

const publish = (topic: string, payload: string, qos: 0 | 1 | 2, messageId?: number, dup = false) =>
  publishPacket(topic, payload, qos, messageId, { dup });

/** An MQTT.js subscriber of `topic` at `qos`, collecting [payload, qos, dup] of what arrives. */
async function subscriber(topic: string, qos: 0 | 1 | 2 = 2) {
  const sub = await b.mqttjs({ clientId: uid('sub') });
  await sub.subscribeAsync(topic, { qos });
  const got: { payload: string; qos: number; dup: boolean; messageId?: number }[] = [];
  sub.on('message', (_t, p, packet) =>
    got.push({
      payload: p.toString(),
      qos: packet.qos,
      dup: packet.dup,
      ...(packet.messageId === undefined ? {} : { messageId: packet.messageId }),
    }),
  );
  return got;
}

describe('acknowledgements by QoS', () => {
  it('[MQTT-3.3.4-1] [MQTT-2.3.1-6] [MQTT-4.3.2-2] [MQTT-4.3.3-2] QoS 0 → nothing, QoS 1 → PUBACK, QoS 2 → PUBREC, PUBREL → PUBCOMP, each with the packet id', async () => {
    const t = uid('acks');
    const got = await subscriber(t);
    const r = await b.rawConnected(uid('pub'));
    r.send(publish(t, 'q0', 0), publish(t, 'q1', 1, 11), publish(t, 'q2', 2, 12));
    expect((await r.next('puback')).messageId).toBe(11);
    expect((await r.next('pubrec')).messageId).toBe(12);
    r.send({ cmd: 'pubrel', messageId: 12 } as Packet);
    expect((await r.next('pubcomp')).messageId).toBe(12);
    await waitFor(() => got.length === 3, 'three messages');
    expect(r.log.map((p) => p.cmd)).toEqual(['connack', 'puback', 'pubrec', 'pubcomp']);
  });

  it('[MQTT-4.3.2-2] after PUBACK, a QoS 1 PUBLISH reusing the packet id is a new message', async () => {
    const t = uid('reuse1');
    const got = await subscriber(t);
    const r = await b.rawConnected(uid('pub'));
    r.send(publish(t, 'first', 1, 5));
    await r.next('puback');
    r.send(publish(t, 'second', 1, 5));
    await r.next('puback');
    await waitFor(() => got.length === 2, 'two messages');
    expect(got.map((m) => m.payload)).toEqual(['first', 'second']);
  });

  it('[MQTT-4.3.3-2] QoS 2: a resent PUBLISH before PUBREL is PUBRECed again and not delivered twice; after PUBCOMP the id is new', async () => {
    const t = uid('exactly-once');
    const got = await subscriber(t);
    const r = await b.rawConnected(uid('pub'));
    r.send(publish(t, 'once', 2, 7));
    expect((await r.next('pubrec')).messageId).toBe(7);
    r.send(publish(t, 'once', 2, 7, true));
    expect((await r.next('pubrec')).messageId).toBe(7);
    r.send({ cmd: 'pubrel', messageId: 7 } as Packet);
    await r.next('pubcomp');
    await sleep(200);
    expect(got.map((m) => m.payload)).toEqual(['once']);
    r.send(publish(t, 'again', 2, 7));
    await r.next('pubrec');
    r.send({ cmd: 'pubrel', messageId: 7 } as Packet);
    await r.next('pubcomp');
    await waitFor(() => got.length === 2, 'second message');
    expect(got.map((m) => m.payload)).toEqual(['once', 'again']);
  });

  it('[MQTT-3.6.1-1] PUBREL with fixed-header flags other than 0010 closes the connection', async () => {
    const r = await b.rawConnected(uid('pubrel'));
    r.bytes(rawPacket(0x60, [0, 1]));
    expect(await r.closedWithin()).toBe(true);
  });
});

describe('PUBLISH malformed: the connection is closed, nothing is routed', () => {
  it('[MQTT-3.3.1-4] QoS 3 (both QoS bits set)', async () => {
    const t = uid('qos3');
    const got = await subscriber(t);
    const r = await b.rawConnected(uid('pub'));
    r.bytes(rawPacket(0x36, mqttString(t), [0, 1], Buffer.from('x')));
    expect(await r.closedWithin()).toBe(true);
    await sleep(100);
    expect(got).toEqual([]);
  });

  it('[MQTT-3.3.2-2] [MQTT-4.7.1-1] a topic name containing + or #', async () => {
    const sub = await b.mqttjs({ clientId: uid('sub') });
    const got: string[] = [];
    await sub.subscribeAsync('#');
    sub.on('message', (t) => got.push(t));
    for (const topic of [`${uid('w')}/+`, `${uid('w')}/#`, `${uid('w')}/a+b`]) {
      const r = await b.rawConnected(uid('pub'));
      r.send(publish(topic, 'x', 1, 1));
      expect(await r.closedWithin(), topic).toBe(true);
      expect(r.log.map((p) => p.cmd)).toEqual(['connack']);
    }
    await sleep(100);
    expect(got.filter((t) => t.includes('+') || t.includes('#'))).toEqual([]);
  });

  it('[MQTT-2.3.1-1] a QoS 1 PUBLISH with packet id 0', async () => {
    const t = uid('id0');
    const got = await subscriber(t);
    const r = await b.rawConnected(uid('pub'));
    r.bytes(rawPacket(0x32, mqttString(t), [0, 0], Buffer.from('x')));
    expect(await r.closedWithin()).toBe(true);
    expect(r.log.map((p) => p.cmd)).toEqual(['connack']);
    await sleep(100);
    expect(got).toEqual([]);
  });

  it('[MQTT-4.7.3-1] an empty topic name (3.1.1 has no topic alias)', async () => {
    const r = await b.rawConnected(uid('empty'));
    r.bytes(rawPacket(0x30, mqttString(''), Buffer.from('x')));
    expect(await r.closedWithin()).toBe(true);
  });
});

describe('what subscribers receive', () => {
  it('[MQTT-3.3.1-3] [MQTT-3.3.1-2] [MQTT-4.3.1-1] DUP of an incoming PUBLISH is not propagated; a QoS 0 copy has DUP 0 and no packet id', async () => {
    const t = uid('dup');
    const r0 = await b.rawConnected(uid('sub'));
    r0.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: t, qos: 2 }] } as Packet);
    await r0.next('suback');
    const pub = await b.rawConnected(uid('pub'));
    pub.send(publish(t, 'dup1', 1, 3, true), publish(t, 'q0', 0));
    const first = await r0.next('publish');
    const second = await r0.next('publish');
    const byPayload = new Map([first, second].map((p) => [p.payload.toString(), p]));
    expect(byPayload.get('dup1')).toMatchObject({ qos: 1, dup: false });
    expect(byPayload.get('dup1')!.messageId).toBeGreaterThan(0); // [MQTT-2.3.1-4]
    expect(byPayload.get('q0')).toMatchObject({ qos: 0, dup: false });
    expect(byPayload.get('q0')!.messageId).toBeUndefined(); // [MQTT-2.3.1-5]
  });

  it('[MQTT-3.8.4-6] paho: a QoS 2 publish reaches a QoS 1 subscription at QoS 1 and a QoS 0 one at QoS 0', async () => {
    const t = uid('paho-qos');
    const r = await b.paho(
      {
        client_id: uid('paho'),
        steps: [
          { op: 'connect' },
          {
            op: 'subscribe',
            filters: [
              [`${t}/one`, 1],
              [`${t}/zero/#`, 0],
            ],
          },
          { op: 'signal', name: 'ready' },
          { op: 'await' },
          { op: 'expect', count: 2 },
          { op: 'disconnect' },
        ],
      },
      {
        onSignal: async () => {
          const pub = await b.mqttjs({ clientId: uid('pub') });
          await pub.publishAsync(`${t}/one`, '1', { qos: 2 });
          await pub.publishAsync(`${t}/zero/x`, '0', { qos: 2 });
        },
      },
    );
    expect(r.granted).toEqual([[1, 0]]);
    expect(r.messages.map((m) => [m.topic, m.qos]).sort()).toEqual([
      [`${t}/one`, 1],
      [`${t}/zero/x`, 0],
    ]);
  });

  it('[MQTT-4.6.0-5] [MQTT-4.6.0-6] ordered topic: 60 messages of mixed QoS from one paho publisher go out to a subscriber in order', async () => {
    const t = uid('order');
    // The wire order (MQTT.js, like paho, hands a QoS 2 message to the app only at PUBREL).
    const sub = await b.rawConnected(uid('sub'));
    sub.autoAck = true;
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: t, qos: 2 }] } as Packet);
    await sub.next('suback');
    const steps = Array.from({ length: 60 }, (_, i) => ({
      op: 'publish' as const,
      topic: t,
      payload: String(i),
      qos: [0, 1, 2][i % 3]!,
    }));
    const r = await b.paho({
      client_id: uid('paho-pub'),
      steps: [{ op: 'connect' }, ...steps, { op: 'disconnect' }],
    });
    expect(r.published).toBe(60);
    await waitFor(() => sub.publishes().length === 60, '60 messages');
    expect(sub.publishes().map((m) => Number(m.payload.toString()))).toEqual(
      Array.from({ length: 60 }, (_, i) => i),
    );
    expect(sub.publishes().map((m) => m.qos)).toEqual(steps.map((s) => s.qos));
  });

  it('[MQTT-4.5.0-1] [MQTT-3.3.2-3] paho publishes QoS 0/1/2, MQTT.js and paho subscribers both get every message with its topic name', async () => {
    const t = uid('fanout');
    const js = await subscriber(`${t}/#`, 2);
    const r = await b.paho(
      {
        client_id: uid('paho-sub'),
        steps: [
          { op: 'connect' },
          { op: 'subscribe', filters: [[`${t}/+`, 2]] },
          { op: 'signal', name: 'ready' },
          { op: 'await' },
          { op: 'expect', count: 3 },
          { op: 'disconnect' },
        ],
      },
      {
        onSignal: () =>
          b
            .paho({
              client_id: uid('paho-pub'),
              steps: [
                { op: 'connect' },
                { op: 'publish', topic: `${t}/a`, payload: 'a', qos: 0 },
                { op: 'publish', topic: `${t}/b`, payload: 'b', qos: 1 },
                { op: 'publish', topic: `${t}/c`, payload: 'c', qos: 2 },
                { op: 'sleep', s: 0.1 },
                { op: 'disconnect' },
              ],
            })
            .then(() => undefined),
      },
    );
    expect(r.messages.map((m) => [m.topic, m.payload, m.qos])).toEqual([
      [`${t}/a`, 'a', 0],
      [`${t}/b`, 'b', 1],
      [`${t}/c`, 'c', 2],
    ]);
    await waitFor(() => js.length === 3, 'MQTT.js got three');
    expect(js.map((m) => [m.payload, m.qos])).toEqual([
      ['a', 0],
      ['b', 1],
      ['c', 2],
    ]);
  });
});
