/**
 * MQTT conformance, area retained messages (MQTT 3.1.1 §3.3.1.3, [MQTT-3.1.2-7], [MQTT-3.8.4-3]),
 * with paho-mqtt 2 and MQTT.js over TCP. Statement → test map: docs/mqtt-conformance.md.
 * Covered elsewhere: a retained message sent at min(QoS, granted) [MQTT-3.8.4-6]
 * (src/broker/broker.test.ts), retained messages surviving a restart (broker-persist.test.ts),
 * MQTT 5 Retain Handling / Retain As Published (src/broker/mqtt5.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep, startConformance, uid, type Conformance, type PahoStep } from '../conformance.js';

let b: Conformance;
beforeAll(async () => {
  b = await startConformance();
});
afterAll(async () => b?.stop());

/** Publish with MQTT.js (QoS 1 unless told), awaiting each PUBACK. */
async function publish(
  ...msgs: { topic: string; payload: string; retain: boolean; qos?: 0 | 1 | 2 }[]
): Promise<void> {
  const pub = await b.mqttjs({ clientId: uid('pub') });
  for (const m of msgs)
    await pub.publishAsync(m.topic, m.payload, { qos: m.qos ?? 1, retain: m.retain });
  await pub.endAsync();
}

/** A paho client subscribing to `filter` and collecting for `s` seconds. */
const pahoSubscribe = (filter: string, qos = 1, s = 0.4, extra: PahoStep[] = []) =>
  b.paho({
    client_id: uid('paho'),
    steps: [
      { op: 'connect' },
      { op: 'subscribe', filters: [[filter, qos]] },
      ...extra,
      { op: 'sleep', s },
      { op: 'disconnect' },
    ],
  });

describe('retained messages', () => {
  it('[MQTT-3.3.1-5] [MQTT-3.3.1-6] [MQTT-3.3.1-8] paho: a new subscription gets the last retained message of every matching topic, with RETAIN 1 and its QoS', async () => {
    const t = uid('ret');
    await publish(
      { topic: `${t}/a`, payload: 'a-old', retain: true },
      { topic: `${t}/a`, payload: 'a', retain: true, qos: 2 },
      { topic: `${t}/b`, payload: 'b', retain: true, qos: 1 },
    );
    const r = await pahoSubscribe(`${t}/+`, 2);
    const got = r.messages.map((m) => [m.topic, m.payload, m.qos, m.retain]).sort();
    expect(got).toEqual([
      [`${t}/a`, 'a', 2, true],
      [`${t}/b`, 'b', 1, true],
    ]);
  });

  it('[MQTT-3.3.1-9] a message matching an established subscription goes out with RETAIN 0, even when published retained', async () => {
    const t = uid('live');
    const sub = await b.mqttjs({ clientId: uid('sub') });
    await sub.subscribeAsync(t, { qos: 1 });
    const flags: boolean[] = [];
    sub.on('message', (_t, _p, packet) => flags.push(packet.retain));
    await publish({ topic: t, payload: 'x', retain: true });
    await sleep(200);
    expect(flags).toEqual([false]);
  });

  it('[MQTT-3.3.1-7] a QoS 0 retained message replaces the one retained before', async () => {
    const t = uid('q0');
    await publish(
      { topic: t, payload: 'qos1', retain: true, qos: 1 },
      { topic: t, payload: 'qos0', retain: true, qos: 0 },
    );
    await sleep(100); // QoS 0 has no acknowledgement to wait for
    const r = await pahoSubscribe(t);
    expect(r.messages.map((m) => [m.payload, m.qos])).toEqual([['qos0', 0]]);
  });

  it('[MQTT-3.3.1-10] [MQTT-3.3.1-11] a zero-byte retained PUBLISH is delivered to current subscribers and removes the retained message', async () => {
    const t = uid('clear');
    await publish({ topic: t, payload: 'keep?', retain: true });
    const sub = await b.mqttjs({ clientId: uid('sub') });
    const live: number[] = [];
    await sub.subscribeAsync(t, { qos: 1 });
    sub.on('message', (_t, p) => live.push(p.length));
    await sleep(100);
    await publish({ topic: t, payload: '', retain: true });
    await sleep(200);
    expect(live).toEqual([5, 0]); // the retained one on subscribe, then the empty one live
    const later = await pahoSubscribe(t);
    expect(later.messages).toEqual([]);
  });

  it('[MQTT-3.3.1-12] a PUBLISH with RETAIN 0 neither stores nor replaces the retained message', async () => {
    const t = uid('noretain');
    await publish(
      { topic: t, payload: 'retained', retain: true },
      { topic: t, payload: 'plain', retain: false },
      { topic: `${t}/fresh`, payload: 'plain', retain: false },
    );
    const r = await pahoSubscribe(`${t}/#`);
    expect(r.messages.map((m) => [m.topic, m.payload, m.retain])).toEqual([[t, 'retained', true]]);
  });

  it('[MQTT-3.1.2-7] retained messages outlive the session of their publisher (clean session ended)', async () => {
    const t = uid('outlive');
    const id = uid('gone');
    await b.paho({
      client_id: id,
      steps: [
        { op: 'connect' },
        { op: 'publish', topic: t, payload: 'still here', qos: 1, retain: true },
        { op: 'disconnect' },
      ],
    });
    const r = await pahoSubscribe(t);
    expect(r.messages.map((m) => [m.payload, m.retain])).toEqual([['still here', true]]);
  });

  it('[MQTT-3.8.4-3] re-subscribing to the same filter sends the retained messages again', async () => {
    const t = uid('resub');
    await publish({ topic: t, payload: 'r', retain: true });
    const r = await pahoSubscribe(t, 1, 0.3, [
      { op: 'expect', count: 1 },
      { op: 'subscribe', filters: [[t, 0]] },
      { op: 'expect', count: 2 },
    ]);
    expect(r.messages.map((m) => [m.payload, m.retain, m.qos])).toEqual([
      ['r', true, 1],
      ['r', true, 0],
    ]);
  });
});
