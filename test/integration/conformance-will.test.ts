/**
 * MQTT conformance, area will messages (MQTT 3.1.1 §3.1.2.5–§3.1.2.7, [MQTT-3.14.4-3]), with
 * paho-mqtt 2 and MQTT.js over TCP; raw packets for the endings a client library will not
 * produce (a protocol violation, a silent keepalive). Statement → test map:
 * docs/mqtt-conformance.md. Covered elsewhere: malformed will flags [MQTT-3.1.2-13/14/15]
 * (conformance-connect.test.ts), MQTT 5 Will Delay Interval (src/broker/mqtt5.test.ts), the
 * will's clientid column (broker.test.ts).
 */
import type { Packet } from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connectPacket,
  mqttString,
  rawPacket,
  sleep,
  startConformance,
  uid,
  waitFor,
  type Conformance,
  type PahoResult,
} from '../conformance.js';

let b: Conformance;
beforeAll(async () => {
  b = await startConformance();
});
afterAll(async () => b?.stop());

interface Got {
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
}

/** An MQTT.js watcher of `filter` (QoS 2), collecting what arrives. */
async function watch(filter: string): Promise<Got[]> {
  const sub = await b.mqttjs({ clientId: uid('watch') });
  await sub.subscribeAsync(filter, { qos: 2 });
  const got: Got[] = [];
  sub.on('message', (topic, p, packet) =>
    got.push({ topic, payload: p.toString(), qos: packet.qos, retain: packet.retain }),
  );
  return got;
}

/** What a paho subscriber arriving now finds retained on `topic`. */
const retainedOn = (topic: string): Promise<PahoResult> =>
  b.paho({
    client_id: uid('late'),
    steps: [
      { op: 'connect' },
      { op: 'subscribe', filters: [[topic, 2]] },
      { op: 'sleep', s: 0.3 },
      { op: 'disconnect' },
    ],
  });

const willConnect = (id: string, topic: string, retain = false, keepalive = 0): Packet =>
  ({
    ...connectPacket(id),
    keepalive,
    will: { topic, payload: Buffer.from('gone'), qos: 1, retain },
  }) as Packet;

describe('the will is published when the connection ends without DISCONNECT', () => {
  it('[MQTT-3.1.2-8] [MQTT-3.1.2-16] paho drops its socket: the will goes out at its QoS, not retained', async () => {
    const t = uid('will');
    const got = await watch(t);
    await b.paho({
      client_id: uid('paho'),
      will: { topic: t, payload: 'bye', qos: 1, retain: false },
      steps: [{ op: 'connect' }, { op: 'drop' }],
    });
    await waitFor(() => got.length === 1, 'will');
    expect(got).toEqual([{ topic: t, payload: 'bye', qos: 1, retain: false }]);
    expect((await retainedOn(t)).messages).toEqual([]);
  });

  it('[MQTT-3.1.2-17] will retain 1: the will is published retained, a later subscriber gets it', async () => {
    const t = uid('will-ret');
    await b.paho({
      client_id: uid('paho'),
      will: { topic: t, payload: 'last words', qos: 2, retain: true },
      steps: [{ op: 'connect' }, { op: 'drop' }],
    });
    await waitFor(() => b.of('message.publish').some((c) => c['topic'] === t), 'will routed');
    const r = await retainedOn(t);
    expect(r.messages).toEqual([
      { topic: t, payload: 'last words', qos: 2, retain: true, dup: false },
    ]);
  });

  it('[MQTT-3.1.2-8] [MQTT-4.8.0-1] a protocol violation (QoS 3 PUBLISH) closes the connection and publishes the will', async () => {
    const t = uid('will-violation');
    const got = await watch(t);
    const r = await b.raw();
    r.send(willConnect(uid('bad'), t));
    await r.next('connack');
    r.bytes(rawPacket(0x36, mqttString('x'), [0, 1]));
    expect(await r.closedWithin()).toBe(true);
    await waitFor(() => got.length === 1, 'will');
    expect(got[0]).toMatchObject({ topic: t, payload: 'gone', qos: 1 });
  });

  it('[MQTT-3.1.2-8] [MQTT-3.1.2-24] a client silent past 1.5 × keepalive is closed and its will published', async () => {
    const t = uid('will-keepalive');
    const got = await watch(t);
    const r = await b.raw();
    r.send(willConnect(uid('silent'), t, false, 1));
    await r.next('connack');
    await r.closed;
    await waitFor(() => got.length === 1, 'will');
    expect(got[0]).toMatchObject({ topic: t, payload: 'gone' });
  });

  it('[MQTT-3.1.2-8] [MQTT-3.1.4-2] a connection taken over by a new one with the same client id: the will of the old one is published', async () => {
    const t = uid('will-takeover');
    const got = await watch(t);
    const id = uid('twin');
    const old = await b.raw();
    old.send(willConnect(id, t));
    await old.next('connack');
    await b.paho({ client_id: id, steps: [{ op: 'connect' }, { op: 'disconnect' }] });
    expect(await old.closedWithin()).toBe(true);
    await waitFor(() => got.length === 1, 'will');
    expect(got[0]).toMatchObject({ topic: t, payload: 'gone' });
  });
});

describe('no will', () => {
  it('[MQTT-3.1.2-10] [MQTT-3.14.4-3] paho sends DISCONNECT: its will is discarded', async () => {
    const t = uid('will-discarded');
    const got = await watch(t);
    await b.paho({
      client_id: uid('paho'),
      will: { topic: t, payload: 'never', qos: 1, retain: true },
      steps: [{ op: 'connect' }, { op: 'disconnect' }],
    });
    await sleep(300);
    expect(got).toEqual([]);
    expect((await retainedOn(t)).messages).toEqual([]);
  });

  it('[MQTT-3.1.2-12] will flag 0: an MQTT.js connection destroyed mid-session publishes nothing', async () => {
    const id = uid('nowill');
    const got = await watch('#');
    const js = await b.mqttjs({ clientId: id });
    js.stream.destroy();
    await waitFor(() => b.of('client.disconnected', id).length === 1, 'disconnected');
    await sleep(200);
    expect(got.filter((m) => !m.retain)).toEqual([]); // retained wills of earlier tests aside
  });
});
