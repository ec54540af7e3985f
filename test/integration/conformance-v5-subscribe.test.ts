/**
 * MQTT 5 conformance, area SUBSCRIBE / SUBACK / UNSUBSCRIBE / UNSUBACK and subscription options
 * (MQTT 5.0 §3.8–§3.11, §3.3.1.3 retained handling, §3.3.4 subscription identifiers), with
 * MQTT.js v5 and paho-mqtt 2 MQTTv5 over TCP; raw v5 packets for what a library will not send.
 * Statement numbers are the MQTT 5.0 ones. Statement → test map: docs/mqtt-conformance.md.
 */
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
  b = await startConformance({}, { max_subscriptions: 3 });
});
afterAll(async () => {
  await clients.closeAll();
  await b?.stop();
});

/** Every PUBLISH packet `c` receives, in order. */
const packets = publishesOf;

describe('subscription options', () => {
  it('[MQTT-3.8.3-3] No Local: MQTT.js v5 and paho v5 do not get their own messages on a No Local subscription; another client’s message arrives', async () => {
    const t = uid('nl');
    const js = await v5();
    const got = packets(js);
    await js.subscribeAsync(t, { qos: 1, nl: true });
    await js.publishAsync(t, 'own', { qos: 1 });
    const other = await v5();
    await other.publishAsync(t, 'other', { qos: 1 });
    await waitFor(() => got.length >= 1, 'other copy');
    await sleep(150);
    expect(got.map((p) => p.payload.toString())).toEqual(['other']);
    const r = await b.paho(
      {
        client_id: uid('paho5'),
        version: 5,
        steps: [
          { op: 'connect' },
          { op: 'subscribe', filters: [[t, 1, { nl: true }]] },
          { op: 'publish', topic: t, payload: 'paho-own', qos: 1 },
          { op: 'signal', name: 'own-sent' },
          { op: 'await' },
          { op: 'expect', count: 1, timeout: 3 },
          { op: 'sleep', s: 0.2 },
          { op: 'disconnect' },
        ],
      },
      { onSignal: async () => void (await other.publishAsync(t, 'from-js', { qos: 1 })) },
    );
    expect(r.messages.map((m) => m.payload)).toEqual(['from-js']);
  });

  it('[MQTT-3.3.1-12] [MQTT-3.3.1-13] Retain As Published: a live retained message keeps RETAIN 1 on a RAP subscription and has RETAIN 0 on the other (MQTT.js v5, paho v5)', async () => {
    const t = uid('rap');
    const js = await v5();
    const got = packets(js);
    await js.subscribeAsync(`${t}/+`, { qos: 1, rap: true });
    await js.subscribeAsync(`${t}/#`, { qos: 1, rap: false, rh: 2 });
    const plain = await v5();
    const gotPlain = packets(plain);
    await plain.subscribeAsync(t, { qos: 1 });
    const r = await b.paho(
      {
        client_id: uid('paho5'),
        version: 5,
        steps: [
          { op: 'connect' },
          { op: 'subscribe', filters: [[t, 1, { rap: true }]] },
          { op: 'signal', name: 'ready' },
          { op: 'await' },
          { op: 'expect', count: 2, timeout: 3 },
          { op: 'disconnect' },
        ],
      },
      {
        onSignal: async () => {
          const pub = await v5();
          await pub.publishAsync(t, 'retained-live', { qos: 1, retain: true });
          await pub.publishAsync(`${t}/x`, 'retained-live-x', { qos: 1, retain: true });
          await pub.publishAsync(t, '', { qos: 1, retain: true }); // clear it again
          await pub.publishAsync(`${t}/x`, '', { qos: 1, retain: true });
        },
      },
    );
    expect(r.messages.slice(0, 1).map((m) => [m.payload, m.retain])).toEqual([
      ['retained-live', true],
    ]);
    await waitFor(() => gotPlain.length >= 1 && got.length >= 1, 'live copies');
    expect(gotPlain[0]!.retain).toBe(false); // default: RAP 0
    // One copy for the two overlapping subscriptions of js; RAP 1 on one of them keeps the flag
    // only if that subscription's copy is the one sent: check both filters' effect separately.
    const rapOnly = await v5();
    const gotRap = packets(rapOnly);
    await rapOnly.subscribeAsync(`${t}/+`, { qos: 1, rap: true });
    const noRap = await v5();
    const gotNoRap = packets(noRap);
    await noRap.subscribeAsync(`${t}/+`, { qos: 1, rap: false });
    const pub = await v5();
    await pub.publishAsync(`${t}/y`, 'r', { qos: 1, retain: true });
    await waitFor(() => gotRap.length >= 1 && gotNoRap.length >= 1, 'copies');
    expect([gotRap[0]!.retain, gotNoRap[0]!.retain]).toEqual([true, false]);
    await pub.publishAsync(`${t}/y`, '', { qos: 1, retain: true });
  });

  it('[MQTT-3.3.1-9] [MQTT-3.3.1-10] [MQTT-3.3.1-11] Retain Handling (paho v5): 0 sends retained messages on every SUBSCRIBE, 1 only when the subscription is new, 2 never', async () => {
    const t = uid('rh');
    const pub = await v5();
    await pub.publishAsync(t, 'kept', { qos: 1, retain: true });
    const run = async (rh: 0 | 1 | 2) =>
      b.paho({
        client_id: uid(`rh${rh}`),
        version: 5,
        steps: [
          { op: 'connect' },
          { op: 'subscribe', filters: [[t, 1, { rh }]] },
          { op: 'subscribe', filters: [[t, 1, { rh }]] },
          { op: 'expect', count: 3, timeout: 0.6 },
          { op: 'disconnect' },
        ],
      });
    const counts = [];
    for (const rh of [0, 1, 2] as const) {
      const r = await run(rh);
      expect(r.messages.every((m) => m.retain && m.payload === 'kept')).toBe(true);
      counts.push(r.messages.length);
    }
    expect(counts).toEqual([2, 1, 0]);
    await pub.publishAsync(t, '', { qos: 1, retain: true });
  });
});

describe('Subscription Identifiers', () => {
  it('[MQTT-3.3.4-3] [MQTT-3.3.4-4] the identifier of the matching subscription comes with each copy (paho v5 and MQTT.js v5); one copy for overlapping subscriptions carries all their identifiers', async () => {
    const t = uid('sid');
    const js = await v5();
    const got = packets(js);
    await js.subscribeAsync(`${t}/a`, { qos: 1, properties: { subscriptionIdentifier: 7 } });
    await js.subscribeAsync(`${t}/+`, { qos: 1, properties: { subscriptionIdentifier: 9 } });
    await js.subscribeAsync(`${t}/#`, { qos: 0 }); // no identifier
    const r = await b.paho(
      {
        client_id: uid('paho5'),
        version: 5,
        steps: [
          { op: 'connect' },
          { op: 'subscribe', filters: [[`${t}/a`, 1]], properties: { SubscriptionIdentifier: 42 } },
          { op: 'signal', name: 'ready' },
          { op: 'await' },
          { op: 'expect', count: 1, timeout: 3 },
          { op: 'disconnect' },
        ],
      },
      {
        onSignal: async () => {
          const pub = await v5();
          await pub.publishAsync(`${t}/a`, 'both', { qos: 1 });
          await pub.publishAsync(`${t}/b`, 'plus-only', { qos: 1 });
        },
      },
    );
    expect(r.messages[0]!.props).toMatchObject({ SubscriptionIdentifier: [42] });
    await waitFor(() => got.length >= 2, 'two copies');
    await sleep(150);
    expect(got).toHaveLength(2); // one copy per message [MQTT-3.3.5-1]
    const ids = (p: IPublishPacket) => {
      const s = p.properties?.subscriptionIdentifier;
      return (Array.isArray(s) ? s : s === undefined ? [] : [s]).slice().sort();
    };
    expect(got.map((p) => [p.payload.toString(), ids(p)])).toEqual([
      ['both', [7, 9]],
      ['plus-only', [9]],
    ]);
  });
});

describe('SUBACK and UNSUBACK reason codes', () => {
  it('[MQTT-3.8.4-6] [MQTT-3.9.3-1] [MQTT-3.9.3-2] one SUBSCRIBE, several filters (paho v5, raw v5): granted QoS per filter in order, a failure code (≥ 0x80, from the SUBACK table) past max_subscriptions; an invalid filter closes the connection', async () => {
    const p = uid('codes');
    const r = await b.paho({
      client_id: uid('paho5'),
      version: 5,
      steps: [
        { op: 'connect' },
        {
          op: 'subscribe',
          filters: [
            [`${p}/q2`, 2],
            [`${p}/q0`, 0],
            [`${p}/q1`, 1],
            [`${p}/four`, 1], // the 4th filter: max_subscriptions is 3
          ],
        },
        { op: 'disconnect' },
      ],
    });
    const SUBACK_FAILURES = [0x80, 0x83, 0x87, 0x8f, 0x91, 0x97, 0x9e, 0xa1, 0xa2];
    const g = r.granted[0]!;
    expect(g.slice(0, 3)).toEqual([2, 0, 1]);
    expect(SUBACK_FAILURES).toContain(g[3]);
    // paho will not send an invalid filter: raw v5, `+` not alone in its level. Over MQTT 5
    // Aedes treats it as a malformed SUBSCRIBE: the connection is closed, no SUBACK (allowed
    // by [MQTT-4.13.1-1]; 3.1.1 gets SUBACK 0x80 for it, conformance-subscribe).
    const raw = await b.rawConnected(uid('raw5'), { protocolVersion: 5 });
    raw.send({
      cmd: 'subscribe',
      messageId: 4,
      subscriptions: [
        { topic: `${p}/r/a`, qos: 1 },
        { topic: `${p}/r/a+b`, qos: 1 },
      ],
    } as Packet);
    expect(await raw.closedWithin()).toBe(true);
    expect(raw.log.map((x) => x.cmd)).toEqual(['connack']);
  });

  it('[MQTT-3.11.3-1] [MQTT-3.11.3-2] UNSUBACK has a reason code per filter, in order: 0x00 for a removed subscription, 0x11 for one that did not exist (MQTT.js v5)', async () => {
    const t = uid('unsub');
    const js = await v5();
    await js.subscribeAsync(`${t}/a`, { qos: 1 });
    const unsuback = new Promise<Packet>((resolve) =>
      js.on('packetreceive', (p) => p.cmd === 'unsuback' && resolve(p)),
    );
    await js.unsubscribeAsync([`${t}/none`, `${t}/a`]);
    expect(((await unsuback) as { granted?: number[] }).granted).toEqual([0x11, 0x00]);
  });
});
