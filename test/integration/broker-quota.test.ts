/**
 * Listener `messages_quota` with real clients over TCP: MQTT.js v5 sees PUBACK 0x97 (quota
 * exceeded) on the publish past the quota and keeps its connection; MQTT.js 3.1.1 is
 * disconnected. Also outbound topic aliases at QoS 1 to an MQTT.js v5 subscriber (which
 * resolves them itself).
 */
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger, type BrokerEvent } from '../../src/core/index.js';
import { createBroker, type Broker } from '../../src/broker/index.js';

let broker: Broker;
let port: number;
const events: BrokerEvent[] = [];

beforeAll(async () => {
  broker = createBroker(
    { logger: silentLogger, node: 'sluice@quota' },
    { listeners: { tcp: { type: 'tcp', bind: '127.0.0.1', port: 0, messages_quota: '3/m' } } },
  );
  broker.onEvent((e) => events.push(e));
  const [a] = await broker.start();
  port = a!.port;
});

afterAll(() => broker.stop());

describe('messages_quota with MQTT.js', () => {
  it('v5: the 4th QoS 1 publish within a minute is refused with 0x97; the connection stays', async () => {
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
      protocolVersion: 5,
      reconnectPeriod: 0,
      clientId: `quota5-${process.pid}`,
    });
    for (let i = 0; i < 3; i++) await c.publishAsync('quota/5', String(i), { qos: 1 });
    const err = await c.publishAsync('quota/5', 'over', { qos: 1 }).then(
      () => undefined,
      (e: Error & { code?: number }) => e,
    );
    expect(err?.code).toBe(0x97);
    expect(c.connected).toBe(true);
    await c.endAsync();
    const routed = events.filter(
      (e) => e.name === 'message.publish' && e.columns['topic'] === 'quota/5',
    );
    expect(routed.map((e) => String(e.columns['payload']))).toEqual(['0', '1', '2']);
    expect(broker.metrics().quota_exceeded).toBe(1);
  });

  it('3.1.1: the publish past the quota closes the connection', async () => {
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
      protocolVersion: 4,
      reconnectPeriod: 0,
      clientId: `quota4-${process.pid}`,
    });
    for (let i = 0; i < 3; i++) await c.publishAsync('quota/4', String(i), { qos: 1 });
    const closed = new Promise<void>((r) => c.once('close', () => r()));
    c.publish('quota/4', 'over', { qos: 1 });
    await closed;
    c.end(true);
    expect(broker.metrics().quota_exceeded).toBe(2);
  });
});

describe('outbound topic aliases at QoS 1 with MQTT.js v5', () => {
  it('the subscriber gets alias-only QoS 1 copies and resolves every one to its topic', async () => {
    const sub = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
      protocolVersion: 5,
      reconnectPeriod: 0,
      clientId: `alias-sub-${process.pid}`,
      properties: { topicAliasMaximum: 4 },
    });
    await sub.subscribeAsync('alias/#', { qos: 1 });
    const wire: [string, number | undefined][] = [];
    sub.on('packetreceive', (p) => {
      if (p.cmd === 'publish') wire.push([p.topic, p.properties?.topicAlias]);
    });
    const got: [string, string, number][] = [];
    const all = new Promise<void>((r) =>
      sub.on('message', (topic, payload, packet) => {
        got.push([topic, payload.toString(), packet.qos]);
        if (got.length === 3) r();
      }),
    );
    // Broker.publish: not counted against the listener's messages_quota.
    for (const [t, m] of [
      ['alias/a', '1'],
      ['alias/a', '2'],
      ['alias/b', '3'],
    ])
      await broker.publish({ topic: t!, payload: Buffer.from(m!), qos: 1 });
    await all;
    expect(got).toEqual([
      ['alias/a', '1', 1],
      ['alias/a', '2', 1],
      ['alias/b', '3', 1],
    ]);
    expect(wire).toEqual([
      ['alias/a', 1],
      ['', 1],
      ['alias/b', 2],
    ]);
    await sub.endAsync();
  });
});
