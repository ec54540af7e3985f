/**
 * MQTT 5 conformance, area sessions: Clean Start and Session Expiry Interval (MQTT 5.0
 * §3.1.2.4, §3.1.2.11.2, §3.2.2.1.1, §3.14.2.2.2, §4.1), with MQTT.js v5 and paho-mqtt 2
 * MQTTv5 over TCP; raw v5 packets for the DISCONNECT a library will not send. Statement numbers
 * are the MQTT 5.0 ones. Statement → test map: docs/mqtt-conformance.md.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { IPublishPacket, Packet } from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connectPacket,
  sleep,
  startConformance,
  uid,
  waitFor,
  type Conformance,
  mqttV5Clients,
} from '../conformance.js';

let b: Conformance;
const clients = mqttV5Clients(() => b.url);
const v5 = clients.connect;
beforeAll(async () => {
  b = await startConformance();
});
afterAll(async () => {
  await clients.closeAll();
  await b?.stop();
});

/** Connect `id` with Clean Start 0 and these CONNECT properties; its CONNACK and what it gets. */
async function resume(
  id: string,
  properties: IClientOptions['properties'] = {},
): Promise<{ c: MqttClient; present: boolean; got: IPublishPacket[] }> {
  const got: IPublishPacket[] = [];
  let present = false;
  const c = mqtt.connect(b.url, {
    reconnectPeriod: 0,
    connectTimeout: 5000,
    protocolVersion: 5,
    clientId: id,
    clean: false,
    properties,
  });
  clients.track(c);
  c.on('message', (_t, _p, packet) => got.push(packet));
  await new Promise<void>((resolve, reject) => {
    c.once('connect', (ack) => {
      present = ack.sessionPresent;
      resolve();
    });
    c.once('error', reject);
  });
  return { c, present, got };
}

/** A session for `id` with one QoS 1 subscription to `t`, left with `expiry`; one message queued. */
async function leaveSession(id: string, t: string, expiry: number | undefined): Promise<void> {
  const first = await v5({
    clientId: id,
    clean: false,
    properties: expiry === undefined ? {} : { sessionExpiryInterval: expiry },
  });
  await first.subscribeAsync(t, { qos: 1 });
  await first.endAsync();
  const pub = await v5();
  await pub.publishAsync(t, 'while-away', { qos: 1 });
}

describe('Session Expiry Interval', () => {
  it('[MQTT-3.1.2-23] Session Expiry absent (0): the session ends with the connection; Clean Start 0 then finds none (session present 0, no subscription, nothing queued) (MQTT.js v5)', async () => {
    const id = uid('sei0');
    const t = uid('sei0-t');
    await leaveSession(id, t, undefined);
    const back = await resume(id);
    expect(back.present).toBe(false);
    const pub = await v5();
    await pub.publishAsync(t, 'after', { qos: 1 });
    await sleep(200);
    expect(back.got).toEqual([]);
  });

  it('[MQTT-3.1.2-23] [MQTT-3.1.2-5] [MQTT-3.2.2-3] Session Expiry 10 s: Clean Start 0 resumes it (session present 1), the queued QoS 1 message arrives and the subscription is live (MQTT.js v5; paho v5 likewise)', async () => {
    const id = uid('sei10');
    const t = uid('sei10-t');
    await leaveSession(id, t, 10);
    const back = await resume(id, { sessionExpiryInterval: 10 });
    expect(back.present).toBe(true);
    await waitFor(() => back.got.length === 1, 'queued message');
    expect(back.got[0]!.payload.toString()).toBe('while-away');
    const pid = uid('paho5-sei10');
    const pt = uid('sei10-paho');
    const steps = (first: boolean) => ({
      client_id: pid,
      version: 5 as const,
      clean: false,
      properties: { SessionExpiryInterval: 10 },
      steps: first
        ? [
            { op: 'connect' as const },
            { op: 'subscribe' as const, filters: [[pt, 1]] as [string, number][] },
            { op: 'disconnect' as const },
          ]
        : [
            { op: 'connect' as const },
            { op: 'expect' as const, count: 1, timeout: 3 },
            { op: 'disconnect' as const },
          ],
    });
    await b.paho(steps(true));
    const pub = await v5();
    await pub.publishAsync(pt, 'paho-away', { qos: 1 });
    const r = await b.paho(steps(false));
    expect(r.connack).toEqual([{ rc: 0, session_present: true }]);
    expect(r.messages.map((m) => m.payload)).toEqual(['paho-away']);
  });

  it('[MQTT-3.1.2-23] Session Expiry 1 s: after the interval the session is gone (session present 0, the queued message dropped) (MQTT.js v5)', async () => {
    const id = uid('sei1');
    const t = uid('sei1-t');
    await leaveSession(id, t, 1);
    await sleep(1400);
    const back = await resume(id, { sessionExpiryInterval: 1 });
    expect(back.present).toBe(false);
    await sleep(200);
    expect(back.got).toEqual([]);
  });

  it('[MQTT-3.1.2-23] Session Expiry 0xFFFFFFFF does not expire: kept, CONNACK without a changed Session Expiry Interval (paho v5)', async () => {
    const id = uid('paho5-never');
    const t = uid('never-t');
    const first = await b.paho({
      client_id: id,
      version: 5,
      clean: false,
      properties: { SessionExpiryInterval: 0xffffffff },
      steps: [{ op: 'connect' }, { op: 'subscribe', filters: [[t, 1]] }, { op: 'disconnect' }],
    });
    expect(first.connack_props![0]!['SessionExpiryInterval']).toBeUndefined();
    await sleep(1100);
    const pub = await v5();
    await pub.publishAsync(t, 'kept', { qos: 1 });
    const back = await b.paho({
      client_id: id,
      version: 5,
      clean: false,
      properties: { SessionExpiryInterval: 0xffffffff },
      steps: [{ op: 'connect' }, { op: 'expect', count: 1, timeout: 3 }, { op: 'disconnect' }],
    });
    expect(back.connack[0]!.session_present).toBe(true);
    expect(back.messages.map((m) => m.payload)).toEqual(['kept']);
  });

  it('[MQTT-3.1.2-4] [MQTT-3.2.2-2] Clean Start 1 discards a stored session (Session Expiry 10 s): session present 0, its subscription and queued message are gone (MQTT.js v5)', async () => {
    const id = uid('clean1');
    const t = uid('clean1-t');
    await leaveSession(id, t, 10);
    const got: IPublishPacket[] = [];
    const c = await v5({ clientId: id, clean: true, properties: { sessionExpiryInterval: 10 } });
    c.on('message', (_t, _p, packet) => got.push(packet));
    const pub = await v5();
    await pub.publishAsync(t, 'after', { qos: 1 });
    await sleep(250);
    expect(got).toEqual([]);
  });
});

describe('Session Expiry Interval on DISCONNECT', () => {
  it('§3.14.2.2.2 CONNECT with 60 s, DISCONNECT with 0: the session ends at once (MQTT.js v5); CONNECT with 1 s, DISCONNECT with 60 s: kept past the 1 s (paho v5)', async () => {
    const id = uid('disc-0');
    const t = uid('disc-0-t');
    const first = await v5({
      clientId: id,
      clean: false,
      properties: { sessionExpiryInterval: 60 },
    });
    await first.subscribeAsync(t, { qos: 1 });
    await first.endAsync(false, { reasonCode: 0, properties: { sessionExpiryInterval: 0 } });
    const back = await resume(id, { sessionExpiryInterval: 60 });
    expect(back.present).toBe(false);

    const pid = uid('paho5-disc-60');
    const pt = uid('disc-60-t');
    await b.paho({
      client_id: pid,
      version: 5,
      clean: false,
      properties: { SessionExpiryInterval: 1 },
      steps: [
        { op: 'connect' },
        { op: 'subscribe', filters: [[pt, 1]] },
        { op: 'disconnect', rc: 0, properties: { SessionExpiryInterval: 60 } },
      ],
    });
    await sleep(1400);
    const pub = await v5();
    await pub.publishAsync(pt, 'still-here', { qos: 1 });
    const r = await b.paho({
      client_id: pid,
      version: 5,
      clean: false,
      properties: { SessionExpiryInterval: 0 },
      steps: [{ op: 'connect' }, { op: 'expect', count: 1, timeout: 3 }, { op: 'disconnect' }],
    });
    expect(r.connack[0]!.session_present).toBe(true);
    expect(r.messages.map((m) => m.payload)).toEqual(['still-here']);
  });

  it('§3.14.2.2.2 [MQTT-3.1.2-8] CONNECT with Session Expiry 0, DISCONNECT with 60 s is a protocol error (raw v5): closed as a protocol error, so the will is published and the session ends with the connection', async () => {
    const id = uid('raw-disc');
    const t = uid('raw-disc-will');
    const watcher = await v5();
    const wills: string[] = [];
    watcher.on('message', (_t, p) => wills.push(p.toString()));
    await watcher.subscribeAsync(t, { qos: 1 });
    const r = await b.raw(5);
    r.send({
      ...connectPacket(id, 5),
      clean: false,
      will: { topic: t, payload: Buffer.from('protocol-error'), qos: 1, retain: false },
    } as Packet);
    expect((await r.next('connack')).reasonCode).toBe(0);
    r.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: `${t}/s`, qos: 1 }] });
    await r.next('suback');
    r.send({
      cmd: 'disconnect',
      reasonCode: 0,
      properties: { sessionExpiryInterval: 60 },
    } as Packet);
    expect(await r.closedWithin(3000)).toBe(true);
    await waitFor(() => wills.length === 1, 'will of the protocol error');
    expect(wills).toEqual(['protocol-error']);
    await waitFor(
      () => b.of('client.disconnected', id).some((e) => e['reason'] === 'protocol_error'),
      'disconnected as protocol_error',
    );
    const back = await resume(id);
    expect(back.present).toBe(false); // the 60 s were not taken
  });
});
