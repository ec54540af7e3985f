/**
 * MQTT 5 conformance, area PUBLISH / QoS and retained messages (MQTT 5.0 §3.3, §3.4, §4.3),
 * with MQTT.js v5 and paho-mqtt 2 MQTTv5 over TCP, mosquitto_sub -V mqttv5 as a third
 * subscriber for the properties; raw v5 packets only for what a library will not send
 * (Topic Alias 0, a Subscription Identifier from a client). Statement numbers are the MQTT 5.0
 * ones. Statement → test map: docs/mqtt-conformance.md.
 */
import { spawn } from 'node:child_process';
import type { IPublishPacket, Packet } from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  sleep,
  startConformance,
  uid,
  waitFor,
  type Conformance,
  mqttV5Clients,
  publishesOf,
} from '../conformance.js';

let b: Conformance;
const clients = mqttV5Clients(() => b.url);
const v5 = clients.connect;
beforeAll(async () => {
  b = await startConformance(
    {},
    {},
    {
      authorizers: [
        {
          name: 'deny-prefix',
          authorize: (r) =>
            r.action === 'publish' && r.topic.startsWith('denied/') ? 'deny' : 'ignore',
        },
      ],
    },
  );
});
afterAll(async () => {
  await clients.closeAll();
  await b?.stop();
});

const packets = publishesOf;

// A repeated key and keys out of alphabetical order. Interleaved repeats (z, a, z) come out
// regrouped (z, z, a): mqtt-packet decodes user properties into an object, a known deviation
// from [MQTT-3.3.2-18] listed in docs/mqtt-conformance.md.
const USER = [
  ['z', '1'],
  ['z', '3'],
  ['a', '2'],
];

describe('PUBLISH properties reach subscribers unaltered', () => {
  it('[MQTT-3.3.2-4] [MQTT-3.3.2-15] [MQTT-3.3.2-16] [MQTT-3.3.2-17] [MQTT-3.3.2-18] [MQTT-3.3.2-20] paho v5 publishes with Payload Format Indicator, Content Type, Response Topic, Correlation Data and user properties: MQTT.js v5 and mosquitto_sub v5 get them as sent, user properties in order', async () => {
    const t = uid('props');
    const js = await v5();
    const got = packets(js);
    await js.subscribeAsync(t, { qos: 1 });
    const mosq = spawn('mosquitto_sub', [
      '-V',
      'mqttv5',
      '-h',
      '127.0.0.1',
      '-p',
      String(b.port),
      '-t',
      t,
      '-q',
      '1',
      '-C',
      '1',
      '-W',
      '10',
      '-F',
      '%t|%p|%C|%R|%D|%P',
    ]);
    let mosqOut = '';
    mosq.stdout.on('data', (d: Buffer) => (mosqOut += d.toString()));
    const mosqDone = new Promise<number | null>((r) => mosq.on('close', r));
    await waitFor(
      () => b.of('session.subscribed').filter((x) => x['topic'] === t).length === 2,
      'mosquitto_sub subscribed',
    );
    const r = await b.paho({
      client_id: uid('paho5'),
      version: 5,
      steps: [
        { op: 'connect' },
        {
          op: 'publish',
          topic: t,
          payload: '{"v":1}',
          qos: 1,
          properties: {
            PayloadFormatIndicator: 1,
            ContentType: 'application/json',
            ResponseTopic: `${t}/reply`,
            CorrelationData: 'corr-42',
            UserProperty: USER,
          },
        },
        { op: 'disconnect' },
      ],
    });
    expect(r.acks).toEqual([0]); // PUBACK 0x00 [MQTT-3.4.2-1]
    await waitFor(() => got.length === 1, 'MQTT.js copy');
    const p = got[0]!.properties!;
    expect(p.payloadFormatIndicator).toBe(true);
    expect(p.contentType).toBe('application/json');
    expect(p.responseTopic).toBe(`${t}/reply`);
    expect(Buffer.from(p.correlationData!).toString()).toBe('corr-42');
    // MQTT.js folds user properties into an object (repeated keys → an array, in order).
    expect(p.userProperties).toEqual({ z: ['1', '3'], a: '2' });
    expect(await mosqDone).toBe(0);
    // mosquitto_sub: %C content type, %R response topic, %D correlation data, %P user properties
    expect(mosqOut.trim().split('|')).toEqual([
      t,
      '{"v":1}',
      'application/json',
      `${t}/reply`,
      'corr-42',
      'z:1 z:3 a:2',
    ]);
  });

  it('[MQTT-3.3.2-17] [MQTT-3.3.2-18] MQTT.js v5 publishes user properties: paho v5 gets every pair, in order', async () => {
    const t = uid('order');
    const r = await b.paho(
      {
        client_id: uid('paho5'),
        version: 5,
        steps: [
          { op: 'connect' },
          { op: 'subscribe', filters: [[t, 1]] },
          { op: 'signal', name: 'ready' },
          { op: 'await' },
          { op: 'expect', count: 1, timeout: 3 },
          { op: 'disconnect' },
        ],
      },
      {
        onSignal: async () => {
          const js = await v5();
          await js.publishAsync(t, 'x', {
            qos: 1,
            properties: { userProperties: { k1: ['b', 'a'], k0: 'c' }, contentType: 'text/plain' },
          });
        },
      },
    );
    expect(r.messages[0]!.props).toMatchObject({
      ContentType: 'text/plain',
      UserProperty: [
        ['k1', 'b'],
        ['k1', 'a'],
        ['k0', 'c'],
      ],
    });
  });
});

describe('Message Expiry Interval', () => {
  it('[MQTT-3.3.2-5] [MQTT-3.3.2-6] a queued copy whose interval passes is deleted; a live one carries the interval minus its wait (paho v5 offline session, MQTT.js v5 publisher)', async () => {
    const t = uid('expiry');
    const id = uid('paho-exp');
    const first = await b.paho({
      client_id: id,
      version: 5,
      clean: true,
      properties: { SessionExpiryInterval: 60 },
      steps: [{ op: 'connect' }, { op: 'subscribe', filters: [[t, 1]] }, { op: 'disconnect' }],
    });
    expect(first.connack[0]!.rc).toBe(0);
    await waitFor(() => b.of('client.disconnected', id).length === 1, 'offline');
    const js = await v5();
    await js.publishAsync(t, 'short', { qos: 1, properties: { messageExpiryInterval: 1 } });
    await js.publishAsync(t, 'long', { qos: 1, properties: { messageExpiryInterval: 60 } });
    await js.publishAsync(t, 'forever', { qos: 1 });
    await sleep(2100);
    const back = await b.paho({
      client_id: id,
      version: 5,
      clean: false,
      properties: { SessionExpiryInterval: 0 }, // resumes all the same [MQTT-3.1.2-5]
      steps: [{ op: 'connect' }, { op: 'expect', count: 3, timeout: 1 }, { op: 'disconnect' }],
    });
    expect(back.connack[0]).toEqual({ rc: 0, session_present: true });
    expect(back.messages.map((m) => m.payload)).toEqual(['long', 'forever']);
    const left = back.messages[0]!.props!['MessageExpiryInterval'] as number;
    expect(left).toBeGreaterThanOrEqual(55);
    expect(left).toBeLessThanOrEqual(58); // 60 minus the ≥ 2 s it waited
    expect(back.messages[1]!.props).not.toHaveProperty('MessageExpiryInterval');
    expect(b.of('delivery.dropped', id).map((d) => d['reason'])).toEqual(['expired']);
  });

  it('[MQTT-3.3.2-5] a retained message with a Message Expiry Interval is not sent to a subscriber that comes after it expired (MQTT.js v5, paho v5)', async () => {
    const t = uid('ret-exp');
    const js = await v5();
    await js.publishAsync(`${t}/gone`, 'old', {
      qos: 1,
      retain: true,
      properties: { messageExpiryInterval: 1 },
    });
    await js.publishAsync(`${t}/kept`, 'fresh', {
      qos: 1,
      retain: true,
      properties: { messageExpiryInterval: 120 },
    });
    await sleep(1600);
    const r = await b.paho({
      client_id: uid('paho5'),
      version: 5,
      steps: [
        { op: 'connect' },
        { op: 'subscribe', filters: [[`${t}/+`, 1]] },
        { op: 'expect', count: 2, timeout: 0.8 },
        { op: 'disconnect' },
      ],
    });
    expect(r.messages.map((m) => [m.topic, m.retain])).toEqual([[`${t}/kept`, true]]);
    expect(r.messages[0]!.props!['MessageExpiryInterval']).toBeLessThanOrEqual(119);
    await js.publishAsync(`${t}/kept`, '', { qos: 1, retain: true });
  });
});

describe('topic aliases from the client', () => {
  it('[MQTT-3.3.2-7] [MQTT-3.3.2-12] MQTT.js v5 with autoAssignTopicAlias: the broker resolves its aliases, subscribers get the topic (and no alias of the publisher’s); aliases do not outlive the connection', async () => {
    const t = uid('alias');
    const sub = await b.paho(
      {
        client_id: uid('paho5'),
        version: 5,
        steps: [
          { op: 'connect' },
          { op: 'subscribe', filters: [[`${t}/#`, 1]] },
          { op: 'signal', name: 'ready' },
          { op: 'await' },
          { op: 'expect', count: 3, timeout: 3 },
          { op: 'disconnect' },
        ],
      },
      {
        onSignal: async () => {
          const js = await v5({ autoAssignTopicAlias: true });
          const sent: Packet[] = [];
          js.on('packetsend', (p) => sent.push(p));
          for (const n of [1, 2, 3]) await js.publishAsync(`${t}/a`, String(n), { qos: 1 });
          // MQTT.js really used an alias: the later PUBLISHes went with an empty topic.
          const pubs = sent.filter((p) => p.cmd === 'publish') as IPublishPacket[];
          expect(pubs.some((p) => p.topic === '' && p.properties?.topicAlias !== undefined)).toBe(
            true,
          );
        },
      },
    );
    expect(sub.messages.map((m) => [m.topic, m.payload])).toEqual([
      [`${t}/a`, '1'],
      [`${t}/a`, '2'],
      [`${t}/a`, '3'],
    ]);
    for (const m of sub.messages) expect(m.props).not.toHaveProperty('TopicAlias');
    // A new connection that uses alias 1 without setting it first: the mapping is gone,
    // DISCONNECT 0x94 (raw: MQTT.js will not do this).
    const r = await b.rawConnected(uid('raw5'), { protocolVersion: 5 });
    r.send({
      cmd: 'publish',
      topic: '',
      payload: Buffer.from('x'),
      qos: 0,
      retain: false,
      dup: false,
      properties: { topicAlias: 1 },
    } as Packet);
    expect((await r.next('disconnect')).reasonCode).toBe(0x94);
    expect(await r.closedWithin()).toBe(true);
  });

  it('[MQTT-3.3.2-8] Topic Alias 0 is a protocol error: DISCONNECT 0x94, closed; the message is not delivered (raw v5)', async () => {
    const t = uid('alias0');
    const js = await v5();
    const got = packets(js);
    await js.subscribeAsync(t, { qos: 0 });
    const r = await b.rawConnected(uid('raw5'), { protocolVersion: 5 });
    r.send({
      cmd: 'publish',
      topic: t,
      payload: Buffer.from('x'),
      qos: 0,
      retain: false,
      dup: false,
      properties: { topicAlias: 0 },
    } as Packet);
    const d = await Promise.race([r.next('disconnect'), r.closed.then(() => undefined)]);
    expect(d?.reasonCode ?? 'closed').toSatisfy((x) => x === 0x94 || x === 0x82 || x === 'closed');
    expect(await r.closedWithin()).toBe(true);
    await sleep(100);
    expect(got).toEqual([]);
  });
});

describe('acknowledgements', () => {
  it('[MQTT-3.4.2-1] [MQTT-3.5.2-1] [MQTT-3.3.4-1] PUBACK / PUBREC reason codes: paho v5 gets 0x00 for accepted QoS 1 / 2 messages and 0x87 for a denied QoS 1 one, the connection stays; a denied QoS 2 PUBLISH gets PUBREC 0x87 and its packet id is then free [MQTT-4.3.3-9] (raw v5)', async () => {
    const r = await b.paho({
      client_id: uid('paho5'),
      version: 5,
      steps: [
        { op: 'connect' },
        { op: 'publish', topic: uid('ok'), payload: 'a', qos: 1 },
        { op: 'publish', topic: uid('ok'), payload: 'b', qos: 2 },
        { op: 'publish', topic: `denied/${uid('x')}`, payload: 'c', qos: 1 },
        { op: 'publish', topic: uid('ok'), payload: 'e', qos: 1 },
        { op: 'disconnect' },
      ],
    });
    expect(r.acks).toEqual([0, 0, 0x87, 0]);
    expect(r.closed_by_server).toBe(false);
    // paho reports a QoS 2 outcome from the PUBCOMP, so the PUBREC code is checked raw.
    const t = uid('q2');
    const js = await v5();
    const got = packets(js);
    await js.subscribeAsync(t, { qos: 2 });
    const raw = await b.rawConnected(uid('raw5'), { protocolVersion: 5 });
    const q2 = (topic: string, payload: string) =>
      ({
        cmd: 'publish',
        topic,
        payload: Buffer.from(payload),
        qos: 2,
        messageId: 9,
        retain: false,
        dup: false,
      }) as Packet;
    raw.send(q2(`denied/${t}`, 'no'));
    const rec = await raw.next('pubrec');
    expect([rec.messageId, rec.reasonCode]).toEqual([9, 0x87]);
    raw.send(q2(t, 'yes')); // the same id, no PUBREL in between: a new message
    const rec2 = await raw.next('pubrec');
    expect([rec2.messageId, rec2.reasonCode ?? 0]).toEqual([9, 0]);
    raw.send({ cmd: 'pubrel', messageId: 9 } as Packet);
    await raw.next('pubcomp');
    await waitFor(() => got.length === 1, 'delivered');
    expect(got.map((p) => p.payload.toString())).toEqual(['yes']);
    expect(raw.isClosed).toBe(false);
  });

  it('[MQTT-4.3.3-4] a v5 subscriber answering a QoS 2 copy with PUBREC 0x80 ends the flow: no PUBREL, and the message is not re-sent (raw v5; MQTT.js v5 publishes)', async () => {
    const t = uid('pubrec80');
    const r = await b.rawConnected(uid('raw5'), { protocolVersion: 5 });
    r.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: t, qos: 2 }] } as Packet);
    await r.next('suback');
    const js = await v5();
    await js.publishAsync(t, 'nack', { qos: 2 });
    const copy = await r.next('publish');
    r.send({ cmd: 'pubrec', messageId: copy.messageId!, reasonCode: 0x80 } as Packet);
    await sleep(300);
    expect(r.log.filter((p) => p.cmd === 'pubrel')).toEqual([]);
    await js.publishAsync(t, 'next', { qos: 2 });
    r.autoAck = true;
    await waitFor(() => r.publishes().length === 2, 'the next message');
    expect(r.publishes().map((p) => p.payload.toString())).toEqual(['nack', 'next']);
  });

  it('[MQTT-3.3.4-6] a PUBLISH from a client carrying a Subscription Identifier is a protocol error: closed, not delivered (raw v5)', async () => {
    const t = uid('sid-in');
    const js = await v5();
    const got = packets(js);
    await js.subscribeAsync(t, { qos: 0 });
    const r = await b.rawConnected(uid('raw5'), { protocolVersion: 5 });
    r.send({
      cmd: 'publish',
      topic: t,
      payload: Buffer.from('x'),
      qos: 1,
      messageId: 3,
      retain: false,
      dup: false,
      properties: { subscriptionIdentifier: 5 },
    } as Packet);
    expect(await r.closedWithin()).toBe(true);
    expect(r.log.filter((p) => p.cmd === 'puback')).toEqual([]);
    await sleep(100);
    expect(got).toEqual([]);
  });
});
