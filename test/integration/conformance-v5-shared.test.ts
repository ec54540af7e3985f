/**
 * MQTT 5 conformance, area shared subscriptions (MQTT 5.0 §4.8.2, §3.8.3.1, §3.8.4, §3.2.2.3.12
 * Shared Subscription Available), with MQTT.js v5 and paho-mqtt 2 MQTTv5 over TCP. Statement
 * numbers are the MQTT 5.0 ones. Statement → test map: docs/mqtt-conformance.md. (The 3.1.1 /
 * raw v5 shared checks, [MQTT-4.8.2-6] among them, are in conformance-shared.test.ts.)
 */
import mqtt from 'mqtt';
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
  b = await startConformance({ shared_subscription_strategy: 'round_robin' });
});
afterAll(async () => {
  await clients.closeAll();
  await b?.stop();
});

const packets = publishesOf;

describe('MQTT 5 shared subscriptions', () => {
  it('§3.2.2.3.12 §3.8.4 shared subscriptions are supported: CONNACK does not say Shared Subscription Available 0, and a $share SUBSCRIBE is granted (not 0x9E) to MQTT.js v5 and paho v5', async () => {
    const t = uid('sh-ok');
    const js = mqtt.connect(b.url, {
      reconnectPeriod: 0,
      protocolVersion: 5,
      clientId: uid('js5'),
    });
    clients.track(js);
    const connack = await new Promise<{ properties?: Record<string, unknown> }>((resolve) =>
      js.once('connect', resolve),
    );
    // Absent means available (§3.2.2.3.12); 0 / false would mean "not supported".
    expect(connack.properties?.['sharedSubscriptionAvailable']).not.toBe(false);
    const granted = await js.subscribeAsync(`$share/g/${t}`, { qos: 1 });
    expect(granted.map((g) => g.qos)).toEqual([1]);
    const r = await b.paho({
      client_id: uid('paho5'),
      version: 5,
      steps: [
        { op: 'connect' },
        {
          op: 'subscribe',
          filters: [
            [`$share/g/${t}`, 2],
            [`$share/h/${t}/#`, 0],
          ],
        },
        { op: 'disconnect' },
      ],
    });
    expect(r.connack_props![0]!['SharedSubscriptionAvailable']).not.toBe(0);
    expect(r.granted).toEqual([[2, 0]]);
  });

  it('[MQTT-4.8.2-3] one group, an MQTT.js v5 member (QoS 1) and a paho v5 member (QoS 0): each message goes to exactly one of them, at that member’s granted QoS', async () => {
    const t = uid('sh-one');
    const js = await v5();
    const got = packets(js);
    await js.subscribeAsync(`$share/grp/${t}`, { qos: 1 });
    const pub = await v5();
    const r = await b.paho(
      {
        client_id: uid('paho5'),
        version: 5,
        steps: [
          { op: 'connect' },
          { op: 'subscribe', filters: [[`$share/grp/${t}`, 0]] },
          { op: 'signal', name: 'ready' },
          { op: 'await' },
          { op: 'sleep', s: 0.4 },
          { op: 'disconnect' },
        ],
      },
      {
        onSignal: async () => {
          for (let i = 0; i < 8; i++) await pub.publishAsync(t, `m${i}`, { qos: 1 });
        },
      },
    );
    await sleep(100);
    const all = [...got.map((p) => p.payload.toString()), ...r.messages.map((m) => m.payload)];
    expect(all.sort()).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7']);
    expect(got.length).toBeGreaterThan(0); // round_robin: both members get some
    expect(r.messages.length).toBeGreaterThan(0);
    expect(got.every((p) => p.qos === 1)).toBe(true);
    expect(r.messages.every((m) => m.qos === 0)).toBe(true);
  });

  it('§3.8.2.1.2 [MQTT-3.3.4-3] a shared copy carries the Subscription Identifier of the member’s $share subscription (MQTT.js v5 and paho v5 members of different groups)', async () => {
    const t = uid('sh-id');
    const js = await v5();
    const got = packets(js);
    await js.subscribeAsync(`$share/a/${t}`, {
      qos: 1,
      properties: { subscriptionIdentifier: 41 },
    });
    const pub = await v5();
    const r = await b.paho(
      {
        client_id: uid('paho5'),
        version: 5,
        steps: [
          { op: 'connect' },
          {
            op: 'subscribe',
            filters: [[`$share/b/${t}`, 1]],
            properties: { SubscriptionIdentifier: 42 },
          },
          { op: 'signal', name: 'ready' },
          { op: 'await' },
          { op: 'expect', count: 1, timeout: 3 },
          { op: 'disconnect' },
        ],
      },
      { onSignal: async () => void (await pub.publishAsync(t, 'x', { qos: 1 })) },
    );
    await waitFor(() => got.length === 1, 'js copy');
    expect(got[0]!.properties?.subscriptionIdentifier).toBe(41);
    expect(r.messages.map((m) => m.props?.['SubscriptionIdentifier'])).toEqual([[42]]);
  });

  it('§3.3.1.3 §4.8.2 retained messages are not sent when a $share subscription is made (MQTT.js v5, paho v5); a non-shared subscription on the same filter gets it', async () => {
    const t = uid('sh-ret');
    const pub = await v5();
    await pub.publishAsync(t, 'kept', { qos: 1, retain: true });
    const js = await v5();
    const got = packets(js);
    await js.subscribeAsync(`$share/r/${t}`, { qos: 1 });
    const r = await b.paho({
      client_id: uid('paho5'),
      version: 5,
      steps: [
        { op: 'connect' },
        { op: 'subscribe', filters: [[`$share/r2/${t}`, 1]] },
        { op: 'expect', count: 1, timeout: 0.4 },
        { op: 'disconnect' },
      ],
    });
    expect(r.messages).toEqual([]);
    expect(got).toEqual([]);
    const plain = await v5();
    const gotPlain = packets(plain);
    await plain.subscribeAsync(t, { qos: 1 });
    await waitFor(() => gotPlain.length === 1, 'retained on the plain subscription');
    expect(got).toEqual([]);
    await pub.publishAsync(t, '', { qos: 1, retain: true });
  });

  it('[MQTT-3.8.3-4] MQTT.js v5 asking No Local on a $share subscription is a protocol error: no SUBACK, the connection is closed', async () => {
    const js = await v5();
    const closed = new Promise<void>((resolve) => js.once('close', () => resolve()));
    let suback = false;
    js.subscribe(`$share/g/${uid('sh-nl')}`, { qos: 1, nl: true }, (err) => {
      if (!err) suback = true;
    });
    await closed;
    expect(suback).toBe(false);
    expect(js.connected).toBe(false);
  });
});
