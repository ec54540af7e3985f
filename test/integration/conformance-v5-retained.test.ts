/**
 * MQTT 5 conformance, area retained messages (MQTT 5.0 §3.3.1.3 RETAIN, §3.8.3.1 Retain As
 * Published / Retain Handling, §3.3.2.3 properties, §3.3.2.3.3 expiry), with MQTT.js v5 and
 * paho-mqtt 2 MQTTv5 over TCP. Statement numbers are the MQTT 5.0 ones. Statement → test map:
 * docs/mqtt-conformance.md. (Retain Handling with paho and RAP on live copies are also in
 * conformance-v5-subscribe.test.ts; the expired retained message in conformance-v5-publish.)
 */
import type { IPublishPacket } from 'mqtt-packet';
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
  b = await startConformance();
});
afterAll(async () => {
  await clients.closeAll();
  await b?.stop();
});

const packets = publishesOf;

const view = (p: IPublishPacket) => [p.topic, p.payload.toString(), p.retain];

describe('RETAIN flag on what a subscriber gets', () => {
  it('§3.3.1.3 [MQTT-3.3.1-12] [MQTT-3.3.1-13] a retained message sent because of a new subscription has RETAIN 1 whatever Retain As Published; a live retained PUBLISH has RETAIN 0 without RAP and 1 with it (MQTT.js v5; paho v5 without RAP)', async () => {
    const t = uid('rflag');
    const pub = await v5();
    await pub.publishAsync(t, 'stored', { qos: 1, retain: true });
    const noRap = await v5();
    const gotNoRap = packets(noRap);
    await noRap.subscribeAsync(t, { qos: 1, rap: false });
    const rap = await v5();
    const gotRap = packets(rap);
    await rap.subscribeAsync(t, { qos: 1, rap: true });
    await waitFor(() => gotNoRap.length === 1 && gotRap.length === 1, 'retained on subscribe');
    expect([view(gotNoRap[0]!), view(gotRap[0]!)]).toEqual([
      [t, 'stored', true],
      [t, 'stored', true],
    ]);
    const r = await b.paho({
      client_id: uid('paho5'),
      version: 5,
      steps: [
        { op: 'connect' },
        { op: 'subscribe', filters: [[t, 1, { rap: false }]] },
        { op: 'expect', count: 1, timeout: 3 },
        { op: 'disconnect' },
      ],
    });
    expect(r.messages.map((m) => [m.payload, m.retain])).toEqual([['stored', true]]);
    await pub.publishAsync(t, 'live', { qos: 1, retain: true });
    await waitFor(() => gotNoRap.length === 2 && gotRap.length === 2, 'live copies');
    expect(gotNoRap[1]!.retain).toBe(false);
    expect(gotRap[1]!.retain).toBe(true);
    await pub.publishAsync(t, '', { qos: 1, retain: true });
  });

  it('[MQTT-3.3.1-9] [MQTT-3.3.1-10] [MQTT-3.3.1-11] Retain Handling with MQTT.js v5: 0 sends the retained message on every SUBSCRIBE, 1 only when the subscription is new, 2 never', async () => {
    const t = uid('rh');
    const pub = await v5();
    await pub.publishAsync(t, 'r', { qos: 1, retain: true });
    const counts: number[] = [];
    for (const rh of [0, 1, 2] as const) {
      const c = await v5();
      const got = packets(c);
      await c.subscribeAsync(t, { qos: 1, rh });
      await c.subscribeAsync(t, { qos: 1, rh }); // the same filter again: an existing subscription
      await sleep(rh === 2 ? 250 : 0);
      await waitFor(() => got.length >= [2, 1, 0][rh]!, `rh ${rh}`);
      await sleep(100);
      counts.push(got.filter((p) => p.retain).length);
    }
    expect(counts).toEqual([2, 1, 0]);
    await pub.publishAsync(t, '', { qos: 1, retain: true });
  });

  it('[MQTT-3.3.1-5] [MQTT-3.3.1-6] [MQTT-3.3.1-7] [MQTT-3.3.1-8] (MQTT 5) RETAIN 1 replaces the stored message; RETAIN 0 neither stores nor replaces; a zero-byte retained PUBLISH removes it and is not stored (MQTT.js v5, paho v5 subscribers)', async () => {
    const t = uid('rrepl');
    const pub = await v5();
    await pub.publishAsync(t, 'first', { qos: 1, retain: true });
    await pub.publishAsync(t, 'second', { qos: 1, retain: true });
    await pub.publishAsync(t, 'not-retained', { qos: 1, retain: false });
    const s1 = await v5();
    const got1 = packets(s1);
    await s1.subscribeAsync(t, { qos: 1 });
    await waitFor(() => got1.length === 1, 'retained');
    await sleep(100);
    expect(got1.map(view)).toEqual([[t, 'second', true]]);
    await pub.publishAsync(t, '', { qos: 1, retain: true });
    const r = await b.paho({
      client_id: uid('paho5'),
      version: 5,
      steps: [
        { op: 'connect' },
        { op: 'subscribe', filters: [[t, 1]] },
        { op: 'expect', count: 1, timeout: 0.4 },
        { op: 'disconnect' },
      ],
    });
    expect(r.messages).toEqual([]);
    // The zero-byte one reached the live subscriber as an ordinary message.
    await waitFor(() => got1.length === 2, 'zero-byte copy');
    expect(got1[1]!.payload.length).toBe(0);
  });
});

describe('a retained message keeps its properties', () => {
  it('[MQTT-3.3.2-4] [MQTT-3.3.2-15] [MQTT-3.3.2-16] [MQTT-3.3.2-17] [MQTT-3.3.2-18] [MQTT-3.3.2-20] paho v5 retains a message with Payload Format Indicator, Content Type, Response Topic, Correlation Data and user properties: a later MQTT.js v5 subscriber and a later paho v5 subscriber get them with the stored message', async () => {
    const t = uid('rprops');
    await b.paho({
      client_id: uid('paho5'),
      version: 5,
      steps: [
        { op: 'connect' },
        {
          op: 'publish',
          topic: t,
          payload: 'with-props',
          qos: 1,
          retain: true,
          properties: {
            PayloadFormatIndicator: 1,
            ContentType: 'application/json',
            ResponseTopic: `${t}/re`,
            CorrelationData: 'c-7',
            UserProperty: [
              ['k2', 'v2'],
              ['k1', 'v1'],
            ],
          },
        },
        { op: 'disconnect' },
      ],
    });
    const js = await v5();
    const got = packets(js);
    await js.subscribeAsync(t, { qos: 1 });
    await waitFor(() => got.length === 1, 'retained');
    const p = got[0]!.properties!;
    expect(got[0]!.retain).toBe(true);
    expect(p.payloadFormatIndicator).toBe(true);
    expect(p.contentType).toBe('application/json');
    expect(p.responseTopic).toBe(`${t}/re`);
    expect(Buffer.from(p.correlationData!).toString()).toBe('c-7');
    expect(Object.entries(p.userProperties!)).toEqual([
      ['k2', 'v2'],
      ['k1', 'v1'],
    ]);
    const r = await b.paho({
      client_id: uid('paho5'),
      version: 5,
      steps: [
        { op: 'connect' },
        { op: 'subscribe', filters: [[t, 1]] },
        { op: 'expect', count: 1, timeout: 3 },
        { op: 'disconnect' },
      ],
    });
    const m = r.messages[0]!;
    expect(m.retain).toBe(true);
    expect(m.props).toMatchObject({
      PayloadFormatIndicator: 1,
      ContentType: 'application/json',
      ResponseTopic: `${t}/re`,
      CorrelationData: Buffer.from('c-7').toString('hex'),
      UserProperty: [
        ['k2', 'v2'],
        ['k1', 'v1'],
      ],
    });
    await js.publishAsync(t, '', { qos: 1, retain: true });
  });

  it('[MQTT-3.3.2-6] a retained message with Message Expiry 60 s, sent 1 s later because of a new subscription, carries the interval less the time it was held (MQTT.js v5 publisher, paho v5 subscriber)', async () => {
    const t = uid('rexp');
    const pub = await v5();
    await pub.publishAsync(t, 'aging', {
      qos: 1,
      retain: true,
      properties: { messageExpiryInterval: 60 },
    });
    await sleep(1100);
    const r = await b.paho({
      client_id: uid('paho5'),
      version: 5,
      steps: [
        { op: 'connect' },
        { op: 'subscribe', filters: [[t, 1]] },
        { op: 'expect', count: 1, timeout: 3 },
        { op: 'disconnect' },
      ],
    });
    const left = r.messages[0]!.props!['MessageExpiryInterval'] as number;
    expect(left).toBeLessThanOrEqual(59);
    expect(left).toBeGreaterThanOrEqual(57);
    await pub.publishAsync(t, '', { qos: 1, retain: true });
  });
});
