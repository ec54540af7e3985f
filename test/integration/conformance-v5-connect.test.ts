/**
 * MQTT 5 conformance, area CONNECT / CONNACK / DISCONNECT and flow control (MQTT 5.0 §3.1,
 * §3.2, §3.14, §4.9, §4.12), with two independent v5 clients over TCP: MQTT.js
 * (`protocolVersion: 5`) and paho-mqtt 2 (MQTTv5, fixtures/paho-conformance.py); raw packets
 * only where a library will not misbehave on request. Statement numbers are the MQTT 5.0 ones.
 * Statement → test map: docs/mqtt-conformance.md (MQTT 5 section).
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { IConnackPacket, Packet } from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/broker/index.js';
import {
  connectPacket,
  sleep,
  startConformance,
  uid,
  waitFor,
  type Conformance,
} from '../conformance.js';

const MAX_PACKET = 2048;
const ALIAS_MAX = 8;
let b: Conformance;
beforeAll(async () => {
  b = await startConformance(
    { max_topic_alias: ALIAS_MAX, response_information: 'reply/' },
    { max_packet_size: MAX_PACKET },
  );
});
afterAll(async () => b?.stop());

/** An MQTT.js v5 client and the CONNACK it got (ended in afterAll). */
async function v5(opts: IClientOptions = {}): Promise<{ c: MqttClient; connack: IConnackPacket }> {
  const c = mqtt.connect(b.url, {
    reconnectPeriod: 0,
    connectTimeout: 5000,
    protocolVersion: 5,
    ...opts,
  });
  const connack = await new Promise<IConnackPacket>((resolve, reject) => {
    c.once('connect', resolve);
    c.once('error', reject);
  });
  after.push(() => c.endAsync(true));
  return { c, connack };
}
const after: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  await Promise.all(after.splice(0).map((f) => f()));
});

describe('CONNACK', () => {
  it('[MQTT-3.1.4-5] [MQTT-3.2.2-2] [MQTT-3.2.2-15] [MQTT-4.12.0-6] MQTT.js v5 and paho v5: reason 0, session present 0, Maximum Packet Size = the listener’s limit, Topic Alias Maximum; no Authentication Method, no Response Information unasked [MQTT-3.1.2-28]', async () => {
    const { connack } = await v5({ clientId: uid('js5') });
    expect(connack.reasonCode).toBe(0);
    expect(connack.sessionPresent).toBe(false);
    expect(connack.properties).toMatchObject({
      maximumPacketSize: MAX_PACKET,
      topicAliasMaximum: ALIAS_MAX,
      receiveMaximum: 100, // max_awaiting_rel's default
    });
    // Absent means available (§3.2.2.3.11, .12, .13, .18): never advertised as unavailable.
    for (const k of [
      'authenticationMethod',
      'responseInformation',
      'wildcardSubscriptionAvailable',
      'subscriptionIdentifiersAvailable',
      'sharedSubscriptionAvailable',
      'retainAvailable',
    ])
      expect(connack.properties ?? {}, k).not.toHaveProperty(k);
    const r = await b.paho({
      client_id: uid('paho5'),
      version: 5,
      steps: [{ op: 'connect' }, { op: 'disconnect' }],
    });
    expect(r.connack).toEqual([{ rc: 0, session_present: false }]);
    expect(r.connack_props![0]).toMatchObject({
      MaximumPacketSize: MAX_PACKET,
      TopicAliasMaximum: ALIAS_MAX,
      ReceiveMaximum: 100,
    });
    expect(r.connack_props![0]).not.toHaveProperty('ResponseInformation');
  });

  it('[MQTT-3.1.2-28] paho v5 asking for Response Information gets it; asking 0 gets none', async () => {
    const ask = async (v: number) =>
      (
        await b.paho({
          client_id: uid('rri'),
          version: 5,
          properties: { RequestResponseInformation: v },
          steps: [{ op: 'connect' }, { op: 'disconnect' }],
        })
      ).connack_props![0]!;
    expect(await ask(1)).toMatchObject({ ResponseInformation: 'reply/' });
    expect(await ask(0)).not.toHaveProperty('ResponseInformation');
  });

  it('[MQTT-3.2.2-16] [MQTT-3.1.3-6] an empty client id (paho v5, MQTT.js v5): CONNACK carries an Assigned Client Identifier, unique, used for the session', async () => {
    const r = await b.paho({
      client_id: '',
      version: 5,
      steps: [{ op: 'connect' }, { op: 'sleep', s: 0.2 }, { op: 'disconnect' }],
    });
    const pahoId = r.connack_props![0]!['AssignedClientIdentifier'] as string;
    const { connack } = await v5({ clientId: '' });
    const jsId = connack.properties?.assignedClientIdentifier;
    for (const id of [pahoId, jsId]) {
      expect(typeof id).toBe('string');
      expect(id).not.toBe('');
      await waitFor(() => b.of('client.connected', id).length === 1, `${id} connected`);
    }
    expect(pahoId).not.toBe(jsId);
  });
});

describe('CONNECT refused', () => {
  it('[MQTT-3.2.2-6] [MQTT-3.2.2-7] [MQTT-3.14.0-1] MQTT.js v5 and raw v5 with a wrong password get CONNACK 0x86, MQTT.js v5 and paho v5 without credentials 0x87; session present 0, no DISCONNECT before or after, closed', async () => {
    const locked = await startConformance({
      allow_anonymous: false,
      users: [{ username: 'u', password_hash: hashPassword('pw', { N: 1024 }) }],
    });
    try {
      const refused = async (opts: IClientOptions) => {
        const c = mqtt.connect(locked.url, { reconnectPeriod: 0, protocolVersion: 5, ...opts });
        const seen: string[] = [];
        c.on('packetreceive', (p) => seen.push(p.cmd));
        const err = await new Promise<{ code?: number }>((resolve) =>
          c.once('error', (e) => resolve(e as { code?: number })),
        );
        await new Promise<void>((resolve) =>
          c.connected ? resolve() : c.once('close', () => resolve()),
        );
        c.end(true);
        return { code: err.code, seen };
      };
      expect(await refused({ clientId: uid('bad'), username: 'u', password: 'nope' })).toEqual({
        code: 0x86,
        seen: ['connack'],
      });
      expect(await refused({ clientId: uid('anon') })).toEqual({ code: 0x87, seen: ['connack'] });
      const raw = await locked.raw(5);
      raw.send({
        ...connectPacket(uid('rawbad'), 5),
        username: 'u',
        password: Buffer.from('x'),
      } as Packet);
      const ack = await raw.next('connack');
      expect([ack.reasonCode, ack.sessionPresent]).toEqual([0x86, false]);
      expect(await raw.closedWithin()).toBe(true);
      expect(raw.log.map((p) => p.cmd)).toEqual(['connack']);
      const p = await locked
        .paho({
          client_id: uid('paho-bad'),
          version: 5,
          steps: [{ op: 'connect' }],
        })
        .then(
          (res) => res.connack[0]!.rc,
          (e: Error) => e.message,
        );
      expect(p).toBe(0x87);
    } finally {
      await locked.stop();
    }
  });

  it('[MQTT-4.12.0-1] an Authentication Method (enhanced authentication) the server does not support: CONNACK 0x8C, closed (MQTT.js v5)', async () => {
    const c = mqtt.connect(b.url, {
      reconnectPeriod: 0,
      protocolVersion: 5,
      clientId: uid('auth'),
      properties: { authenticationMethod: 'SCRAM-SHA-1' },
    });
    const err = await new Promise<{ code?: number }>((resolve) =>
      c.once('error', (e) => resolve(e as { code?: number })),
    );
    c.end(true);
    expect(err.code).toBe(0x8c);
  });
});

describe('DISCONNECT from the server', () => {
  it('[MQTT-3.1.4-3] [MQTT-3.14.2-2] paho v5 takes over an MQTT.js v5 connection: the old one gets DISCONNECT 0x8E (no Session Expiry Interval in it), then is closed', async () => {
    const id = uid('takeover5');
    const { c } = await v5({ clientId: id });
    const disconnect = new Promise<Packet>((resolve) => c.once('disconnect', resolve));
    const closed = new Promise<void>((resolve) => c.once('close', () => resolve()));
    const r = await b.paho({
      client_id: id,
      version: 5,
      steps: [{ op: 'connect' }, { op: 'sleep', s: 0.2 }, { op: 'disconnect' }],
    });
    expect(r.connack[0]!.rc).toBe(0);
    const d = (await disconnect) as { reasonCode?: number; properties?: Record<string, unknown> };
    expect(d.reasonCode).toBe(0x8e);
    expect(d.properties ?? {}).not.toHaveProperty('sessionExpiryInterval');
    await closed;
  });

  it('[MQTT-3.2.2-15] [MQTT-4.13.1-1] paho v5 sending a packet over the CONNACK Maximum Packet Size gets DISCONNECT 0x95 and is closed; the packet is not delivered', async () => {
    const t = uid('big');
    const { c: sub } = await v5({ clientId: uid('sub') });
    await sub.subscribeAsync(t, { qos: 0 });
    const got: number[] = [];
    sub.on('message', (_t, p) => got.push(p.length));
    const r = await b.paho({
      client_id: uid('paho-big'),
      version: 5,
      steps: [
        { op: 'connect' },
        { op: 'publish', topic: t, payload: 'x'.repeat(MAX_PACKET + 10), qos: 0 },
        { op: 'sleep', s: 0.5 },
      ],
    });
    expect(r.closed_by_server).toBe(true);
    expect(r.disconnect_rc).toBe(0x95);
    await sleep(100);
    expect(got).toEqual([]);
  });
});

describe('flow control and the client’s limits', () => {
  it('§3.2.2.3.3 §3.3.4 the server’s Receive Maximum is max_awaiting_rel (3): CONNACK says so (MQTT.js v5, paho v5); a raw v5 client with 3 QoS 2 PUBLISHes awaiting PUBREL keeps its connection, a 4th, over the advertised maximum, gets DISCONNECT 0x93', async () => {
    const small = await startConformance({ max_awaiting_rel: 3 });
    try {
      const js = mqtt.connect(small.url, { reconnectPeriod: 0, protocolVersion: 5 });
      const ack = await new Promise<IConnackPacket>((resolve) => js.once('connect', resolve));
      await js.endAsync(true);
      expect(ack.properties?.receiveMaximum).toBe(3);
      const paho = await small.paho({
        client_id: uid('paho-rm'),
        version: 5,
        steps: [{ op: 'connect' }, { op: 'disconnect' }],
      });
      expect(paho.connack_props![0]).toMatchObject({ ReceiveMaximum: 3 });
      const r = await small.rawConnected(uid('rm'), { protocolVersion: 5 });
      const qos2 = (id: number) =>
        ({ cmd: 'publish', topic: 'rm/t', payload: 'x', qos: 2, messageId: id }) as Packet;
      r.send(qos2(1), qos2(2), qos2(3));
      for (let i = 0; i < 3; i++) await r.next('pubrec');
      await sleep(100);
      expect(r.isClosed).toBe(false);
      r.send(qos2(4));
      expect((await r.next('disconnect')).reasonCode).toBe(0x93);
      expect(await r.closedWithin()).toBe(true);
    } finally {
      await small.stop();
    }
  });

  it('[MQTT-3.3.4-9] [MQTT-4.9.0-2] Receive Maximum 2 and PUBACKs withheld (raw v5: MQTT.js and paho read no further until they ack): at most 2 QoS 1 copies in flight, the rest follow as PUBACKs come; paho v5 with Receive Maximum 1 gets all, in order', async () => {
    const t = uid('rxmax');
    const r = await b.rawConnected(uid('rx'), {
      protocolVersion: 5,
      properties: { receiveMaximum: 2 },
    });
    r.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: t, qos: 1 }] } as Packet);
    await r.next('suback');
    const { c: pub } = await v5({ clientId: uid('pub') });
    for (let i = 0; i < 6; i++) await pub.publishAsync(t, String(i), { qos: 1 });
    await waitFor(() => r.publishes().length >= 2, 'two in flight');
    await sleep(300);
    expect(r.publishes().map((p) => p.payload.toString())).toEqual(['0', '1']);
    r.send({ cmd: 'puback', messageId: r.publishes()[0]!.messageId! } as Packet);
    await waitFor(() => r.publishes().length >= 3, 'a third after one PUBACK');
    await sleep(150);
    expect(r.publishes()).toHaveLength(3);
    r.autoAck = true;
    for (const p of r.publishes().slice(1))
      r.send({ cmd: 'puback', messageId: p.messageId! } as Packet);
    await waitFor(() => r.publishes().length === 6, 'all six');
    expect(r.publishes().map((p) => p.payload.toString())).toEqual(['0', '1', '2', '3', '4', '5']);
    const t2 = uid('rx1');
    const paho = await b.paho(
      {
        client_id: uid('paho-rx'),
        version: 5,
        properties: { ReceiveMaximum: 1 },
        steps: [
          { op: 'connect' },
          { op: 'subscribe', filters: [[t2, 1]] },
          { op: 'signal', name: 'ready' },
          { op: 'await' },
          { op: 'expect', count: 5, timeout: 5 },
          { op: 'disconnect' },
        ],
      },
      {
        onSignal: async () => {
          for (let i = 0; i < 5; i++) await pub.publishAsync(t2, String(i), { qos: 1 });
        },
      },
    );
    expect(paho.messages.map((m) => m.payload)).toEqual(['0', '1', '2', '3', '4']);
  });

  it('[MQTT-3.1.2-24] [MQTT-3.1.2-25] paho v5 with Maximum Packet Size 256: a bigger copy is not sent (counted as dropped too_large), the next small one is', async () => {
    const t = uid('clientmax');
    const before = b.broker.metrics().dropped_too_large;
    const r = await b.paho(
      {
        client_id: uid('paho-max'),
        version: 5,
        properties: { MaximumPacketSize: 256 },
        steps: [
          { op: 'connect' },
          { op: 'subscribe', filters: [[t, 1]] },
          { op: 'signal', name: 'ready' },
          { op: 'await' },
          { op: 'expect', count: 1, timeout: 3 },
          { op: 'sleep', s: 0.2 },
          { op: 'disconnect' },
        ],
      },
      {
        onSignal: async () => {
          const { c: pub } = await v5({ clientId: uid('pub') });
          await pub.publishAsync(t, 'L'.repeat(400), { qos: 1 });
          await pub.publishAsync(t, 'small', { qos: 1 });
        },
      },
    );
    expect(r.messages.map((m) => m.payload)).toEqual(['small']);
    expect(b.broker.metrics().dropped_too_large).toBe(before + 1);
  });
});
