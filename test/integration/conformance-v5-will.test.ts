/**
 * MQTT 5 conformance, area Will Message (MQTT 5.0 §3.1.2.5, §3.1.3.2 Will Properties, §3.14
 * DISCONNECT reason codes), with MQTT.js v5 and paho-mqtt 2 MQTTv5 over TCP. Statement
 * numbers are the MQTT 5.0 ones. Statement → test map: docs/mqtt-conformance.md.
 *
 * Will Delay Intervals are 1 s (the smallest the protocol has) so the file stays fast.
 */
import { type IClientOptions, type MqttClient } from 'mqtt';
import type { IPublishPacket } from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
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

/** A subscriber on `topic`: every PUBLISH it gets, with its arrival time. */
async function watch(topic: string): Promise<{ got: IPublishPacket[]; at: number[] }> {
  const s = await v5();
  const got: IPublishPacket[] = [];
  const at: number[] = [];
  s.on('message', (_t, _p, packet) => {
    got.push(packet);
    at.push(Date.now());
  });
  await s.subscribeAsync(topic, { qos: 1 });
  return { got, at };
}

/** Drop `c`'s socket without DISCONNECT (a network failure). */
function drop(c: MqttClient): void {
  c.stream.destroy();
}

describe('Will Delay Interval', () => {
  it('[MQTT-3.1.2-8] paho v5 with Will Delay 1 s and Session Expiry 10 s drops its connection: the will is not sent at once, it is sent after the delay', async () => {
    const t = uid('wd');
    const w = await watch(t);
    let droppedAt = 0;
    await b.paho(
      {
        client_id: uid('paho5'),
        version: 5,
        properties: { SessionExpiryInterval: 10 },
        will: { topic: t, payload: 'late', qos: 1, properties: { WillDelayInterval: 1 } },
        steps: [
          { op: 'connect' },
          { op: 'drop' },
          { op: 'signal', name: 'dropped' },
          { op: 'await' },
        ],
      },
      { onSignal: () => void (droppedAt = Date.now()) },
    );
    await sleep(500);
    expect(w.got).toEqual([]); // not yet: the delay runs
    await waitFor(() => w.got.length === 1, 'delayed will', 4000);
    expect(w.got[0]!.payload.toString()).toBe('late');
    expect(w.at[0]! - droppedAt).toBeGreaterThanOrEqual(900);
  });

  it('[MQTT-3.1.3-9] MQTT.js v5 reconnects (Clean Start 0) within its Will Delay: the will is never sent', async () => {
    const t = uid('wd-back');
    const w = await watch(t);
    const id = uid('js5-back');
    const opts: IClientOptions = {
      clientId: id,
      clean: false,
      properties: { sessionExpiryInterval: 10 },
      will: {
        topic: t,
        payload: Buffer.from('must-not'),
        qos: 1,
        retain: false,
        properties: { willDelayInterval: 1 },
      },
    };
    const first = await v5(opts);
    drop(first);
    await waitFor(() => b.of('client.disconnected', id).length === 1, 'drop seen');
    const back = await v5(opts);
    expect(back.connected).toBe(true);
    await sleep(1600); // past the delay
    expect(w.got).toEqual([]);
    // The new connection's will is armed again: dropping it now does send one, after the delay.
    drop(back);
    await waitFor(() => w.got.length === 1, 'will of the second connection', 4000);
    expect(w.got[0]!.payload.toString()).toBe('must-not');
  });

  it('[MQTT-3.1.2-8] the will is sent when the session ends if that comes first: Session Expiry 1 s with Will Delay 30 s (MQTT.js v5), Session Expiry 0 with Will Delay 30 s at once (paho v5)', async () => {
    const t = uid('wd-sess');
    const w = await watch(t);
    const js = await v5({
      properties: { sessionExpiryInterval: 1 },
      will: {
        topic: t,
        payload: Buffer.from('session-ended'),
        qos: 1,
        retain: false,
        properties: { willDelayInterval: 30 },
      },
    });
    const dropped = Date.now();
    drop(js);
    await waitFor(() => w.got.length === 1, 'will at session end', 4000);
    expect(w.at[0]! - dropped).toBeGreaterThanOrEqual(900);
    expect(w.at[0]! - dropped).toBeLessThan(5000);
    let droppedAt = 0;
    await b.paho(
      {
        client_id: uid('paho5'),
        version: 5,
        will: { topic: t, payload: 'now', qos: 1, properties: { WillDelayInterval: 30 } },
        steps: [
          { op: 'connect' },
          { op: 'drop' },
          { op: 'signal', name: 'dropped' },
          { op: 'await' },
        ],
      },
      { onSignal: () => void (droppedAt = Date.now()) },
    );
    await waitFor(() => w.got.length === 2, 'will at once (expiry 0)', 3000);
    expect(w.got[1]!.payload.toString()).toBe('now');
    expect(w.at[1]! - droppedAt).toBeLessThan(900);
  });
});

describe('Will Properties', () => {
  it('[MQTT-3.1.3-10] paho v5 will with Payload Format Indicator, Content Type, Response Topic, Correlation Data, Message Expiry and user properties: MQTT.js v5 receives them all, user properties in order', async () => {
    const t = uid('wprops');
    const w = await watch(t);
    await b.paho({
      client_id: uid('paho5'),
      version: 5,
      will: {
        topic: t,
        payload: 'gone',
        qos: 1,
        properties: {
          PayloadFormatIndicator: 1,
          ContentType: 'text/plain',
          ResponseTopic: `${t}/reply`,
          CorrelationData: 'corr-1',
          MessageExpiryInterval: 120,
          UserProperty: [
            ['z', '1'],
            ['a', '2'],
          ],
        },
      },
      steps: [{ op: 'connect' }, { op: 'drop' }],
    });
    await waitFor(() => w.got.length === 1, 'will');
    const p = w.got[0]!.properties!;
    expect(w.got[0]!.payload.toString()).toBe('gone');
    expect(p.payloadFormatIndicator).toBe(true);
    expect(p.contentType).toBe('text/plain');
    expect(p.responseTopic).toBe(`${t}/reply`);
    expect(Buffer.from(p.correlationData!).toString()).toBe('corr-1');
    // Sent as the publication's expiry, less the time it waited (none here) [MQTT-3.3.2-6].
    expect(p.messageExpiryInterval).toBeGreaterThanOrEqual(119);
    expect(p.messageExpiryInterval).toBeLessThanOrEqual(120);
    expect(Object.entries(p.userProperties!)).toEqual([
      ['z', '1'],
      ['a', '2'],
    ]);
  });

  it('[MQTT-3.3.2-5] a retained will with Message Expiry 1 s is not sent to a subscriber that comes after it expired; one that comes before gets it (MQTT.js v5 will, paho v5 subscribers)', async () => {
    const t = uid('wexp');
    const js = await v5({
      will: {
        topic: t,
        payload: Buffer.from('short-lived'),
        qos: 1,
        retain: true,
        properties: { messageExpiryInterval: 1 },
      },
    });
    drop(js);
    await waitFor(() => b.of('message.publish').some((m) => m['topic'] === t), 'will published');
    const early = await b.paho({
      client_id: uid('paho5'),
      version: 5,
      steps: [
        { op: 'connect' },
        { op: 'subscribe', filters: [[t, 1]] },
        { op: 'expect', count: 1, timeout: 3 },
        { op: 'disconnect' },
      ],
    });
    expect(early.messages.map((m) => [m.payload, m.retain])).toEqual([['short-lived', true]]);
    await sleep(1300);
    const late = await b.paho({
      client_id: uid('paho5'),
      version: 5,
      steps: [
        { op: 'connect' },
        { op: 'subscribe', filters: [[t, 1]] },
        { op: 'expect', count: 1, timeout: 0.5 },
        { op: 'disconnect' },
      ],
    });
    expect(late.messages).toEqual([]);
  });
});

describe('DISCONNECT and the will', () => {
  it('[MQTT-3.14.4-3] [MQTT-3.1.2-10] DISCONNECT 0x00 discards the will (MQTT.js v5, paho v5); DISCONNECT 0x04 "Disconnect with Will Message" publishes it (MQTT.js v5, paho v5)', async () => {
    const t = uid('wdisc');
    const w = await watch(t);
    const will = (payload: string) => ({
      topic: t,
      payload: Buffer.from(payload),
      qos: 1 as const,
      retain: false,
    });
    const normal = await v5({ will: will('js-00') });
    await normal.endAsync(false, { reasonCode: 0 });
    const withWill = await v5({ will: will('js-04') });
    await withWill.endAsync(false, { reasonCode: 4 });
    const pahoWill = (payload: string) => ({ topic: t, payload, qos: 1 });
    await b.paho({
      client_id: uid('paho5'),
      version: 5,
      will: pahoWill('paho-00'),
      steps: [{ op: 'connect' }, { op: 'disconnect', rc: 0 }],
    });
    await b.paho({
      client_id: uid('paho5'),
      version: 5,
      will: pahoWill('paho-04'),
      steps: [{ op: 'connect' }, { op: 'disconnect', rc: 4 }],
    });
    await waitFor(() => w.got.length >= 2, 'two wills');
    await sleep(200);
    expect(w.got.map((p) => p.payload.toString()).sort()).toEqual(['js-04', 'paho-04']);
  });
});
