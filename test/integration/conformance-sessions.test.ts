/**
 * MQTT conformance, area sessions (MQTT 3.1.1 §3.1.2.4, §3.2.2.2, §4.1, §4.4), with paho-mqtt 2
 * (clean_session False) and raw clients where a library would acknowledge on its own (a client
 * that must leave a QoS 1/2 flow unfinished). Statement → test map: docs/mqtt-conformance.md.
 * Covered elsewhere: persistent sessions across a broker restart (broker-persist.test.ts),
 * offline queue limits (broker-limits.test.ts), MQTT 5 Session Expiry (src/broker/mqtt5.test.ts).
 */
import type { Packet } from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connectPacket,
  sleep,
  startConformance,
  uid,
  waitFor,
  type Conformance,
  type PahoStep,
} from '../conformance.js';

let b: Conformance;
beforeAll(async () => {
  b = await startConformance();
});
afterAll(async () => b?.stop());

const session = (client_id: string, clean: boolean, steps: PahoStep[]) =>
  b.paho({ client_id, clean, steps: [{ op: 'connect' }, ...steps] });

async function publish(topic: string, payloads: string[], qos: 0 | 1 | 2 = 1): Promise<void> {
  const pub = await b.mqttjs({ clientId: uid('pub') });
  for (const p of payloads) await pub.publishAsync(topic, p, { qos });
  await pub.endAsync();
}

/** A raw persistent-session connection (clean session 0) that got CONNACK 0. */
async function rawSession(id: string) {
  const r = await b.raw();
  r.send({ ...connectPacket(id), clean: false } as Packet);
  const ack = await r.next('connack');
  expect(ack.returnCode).toBe(0);
  return { r, sessionPresent: ack.sessionPresent };
}

describe('clean session 0', () => {
  it('[MQTT-3.1.2-4] [MQTT-3.1.2-5] [MQTT-3.2.2-2] [MQTT-3.2.2-3] paho: session present 0, then 1; subscriptions and QoS 1/2 messages queued while offline survive', async () => {
    const id = uid('persist');
    const t = uid('queued');
    const first = await session(id, false, [
      { op: 'subscribe', filters: [[t, 2]] },
      { op: 'disconnect' },
    ]);
    expect(first.connack).toEqual([{ rc: 0, session_present: false }]);
    await waitFor(() => b.of('client.disconnected', id).length === 1, 'offline');
    await publish(t, ['q1-a', 'q1-b'], 1);
    await publish(t, ['q2'], 2);
    const back = await session(id, false, [{ op: 'expect', count: 3 }, { op: 'disconnect' }]);
    expect(back.connack).toEqual([{ rc: 0, session_present: true }]);
    expect(back.messages.map((m) => [m.payload, m.qos, m.dup])).toEqual([
      ['q1-a', 1, false], // first attempts: DUP 0 [MQTT-3.3.1-1]
      ['q1-b', 1, false],
      ['q2', 2, false],
    ]);
  });

  it('[MQTT-3.1.3-2] the session belongs to its client id: another id gets session present 0 and nothing', async () => {
    const id = uid('owner');
    const t = uid('mine');
    await session(id, false, [{ op: 'subscribe', filters: [[t, 1]] }, { op: 'disconnect' }]);
    await publish(t, ['for-owner']);
    const other = await session(uid('other'), false, [
      { op: 'sleep', s: 0.3 },
      { op: 'disconnect' },
    ]);
    expect(other.connack).toEqual([{ rc: 0, session_present: false }]);
    expect(other.messages).toEqual([]);
  });

  it('[MQTT-3.1.2-6] clean session 1 discards the stored session, and it is not reused afterwards', async () => {
    const id = uid('discard');
    const t = uid('dropped');
    await session(id, false, [{ op: 'subscribe', filters: [[t, 1]] }, { op: 'disconnect' }]);
    await publish(t, ['while-away']);
    const clean = await session(id, true, [{ op: 'sleep', s: 0.3 }, { op: 'disconnect' }]);
    expect(clean.connack).toEqual([{ rc: 0, session_present: false }]);
    expect(clean.messages).toEqual([]);
    await publish(t, ['after-clean']);
    const again = await session(id, false, [{ op: 'sleep', s: 0.3 }, { op: 'disconnect' }]);
    expect(again.connack).toEqual([{ rc: 0, session_present: false }]);
    expect(again.messages).toEqual([]);
  });
});

describe('unfinished QoS flows are resumed on reconnect [MQTT-4.4.0-1]', () => {
  it('[MQTT-4.4.0-1] [MQTT-3.3.1-1] an unacknowledged QoS 1 PUBLISH is re-sent with its packet id and DUP 1', async () => {
    const id = uid('unacked');
    const t = uid('resend');
    const { r } = await rawSession(id);
    r.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: t, qos: 1 }] } as Packet);
    await r.next('suback');
    await publish(t, ['needs-ack']);
    const sent = await r.next('publish');
    expect(sent.dup).toBe(false);
    r.socket.destroy(); // no PUBACK
    await waitFor(() => b.of('client.disconnected', id).length === 1, 'offline');
    const again = await rawSession(id);
    expect(again.sessionPresent).toBe(true);
    const resent = await again.r.next('publish');
    expect(resent.payload.toString()).toBe('needs-ack');
    expect(resent.messageId).toBe(sent.messageId);
    expect(resent.dup).toBe(true);
    again.r.send({ cmd: 'puback', messageId: resent.messageId! } as Packet);
  });

  it('[MQTT-4.4.0-1] a QoS 2 delivery left after PUBREC is resumed with PUBREL (same packet id), not a second PUBLISH', async () => {
    const id = uid('pubrel');
    const t = uid('q2');
    const { r } = await rawSession(id);
    r.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: t, qos: 2 }] } as Packet);
    await r.next('suback');
    await publish(t, ['exactly-once'], 2);
    const sent = await r.next('publish');
    r.send({ cmd: 'pubrec', messageId: sent.messageId! } as Packet);
    await r.next('pubrel');
    r.socket.destroy(); // no PUBCOMP
    await waitFor(() => b.of('client.disconnected', id).length === 1, 'offline');
    const again = await rawSession(id);
    const rel = await again.r.next('pubrel');
    expect(rel.messageId).toBe(sent.messageId);
    again.r.send({ cmd: 'pubcomp', messageId: rel.messageId! } as Packet);
    await sleep(200);
    expect(again.r.publishes()).toEqual([]);
  });

  it('[MQTT-4.3.3-2] an inbound QoS 2 message PUBRECed before the publisher dropped is released once by its PUBREL after reconnect', async () => {
    const id = uid('inbound');
    const t = uid('in-q2');
    const watcher = await b.mqttjs({ clientId: uid('watch') });
    await watcher.subscribeAsync(t, { qos: 2 });
    const got: string[] = [];
    watcher.on('message', (_t, p) => got.push(p.toString()));
    const { r } = await rawSession(id);
    r.send({
      cmd: 'publish',
      topic: t,
      payload: Buffer.from('held'),
      qos: 2,
      messageId: 42,
      retain: false,
      dup: false,
    } as Packet);
    await r.next('pubrec');
    r.socket.destroy(); // no PUBREL yet
    await waitFor(() => b.of('client.disconnected', id).length === 1, 'offline');
    const again = await rawSession(id);
    again.r.send({ cmd: 'pubrel', messageId: 42 } as Packet);
    expect((await again.r.next('pubcomp')).messageId).toBe(42);
    await waitFor(() => got.length >= 1, 'released');
    await sleep(200);
    expect(got).toEqual(['held']);
  });
});
