/**
 * Subscription QoS end to end with real mqtt.js clients over TCP (127.0.0.1, port 0):
 * a copy is delivered at min(published QoS, granted QoS) for wildcard filters too
 * [MQTT-3.8.4-6]. The protocol-level cases (retained, overlapping filters, no listeners) are in
 * src/broker/broker.test.ts.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/index.js';
import { createBroker, type Broker } from '../../src/broker/index.js';

let broker: Broker;
let url: string;
const clients: MqttClient[] = [];

beforeAll(async () => {
  broker = createBroker(
    { logger: silentLogger },
    { listeners: { tcp: { type: 'tcp', bind: '127.0.0.1', port: 0 } } },
  );
  const [addr] = await broker.start();
  url = `mqtt://127.0.0.1:${addr!.port}`;
});

afterAll(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  await broker.stop();
});

async function client(clientId: string): Promise<MqttClient> {
  const c = await mqtt.connectAsync(url, { clientId, reconnectPeriod: 0, connectTimeout: 5000 });
  clients.push(c);
  return c;
}

/** The QoS of the first message `sub` receives on `topic` after `pub` publishes it at QoS 2. */
async function receivedQos(filter: string, granted: 0 | 1 | 2, topic: string): Promise<number> {
  const sub = await client(`sub-${filter}-${granted}`);
  const [g] = await sub.subscribeAsync(filter, { qos: granted });
  expect(g!.qos).toBe(granted);
  const got = new Promise<number>((resolve) =>
    sub.once('message', (_t, _p, packet) => resolve(packet.qos)),
  );
  const pub = await client(`pub-${filter}-${granted}`);
  await pub.publishAsync(topic, 'x', { qos: 2 });
  return got;
}

describe('broker: subscription QoS with mqtt.js', () => {
  it('[MQTT-3.8.4-6] a/# at QoS 1, a/b published at QoS 2 → received at QoS 1', async () => {
    expect(await receivedQos('a/#', 1, 'a/b')).toBe(1);
  });

  it('[MQTT-3.8.4-6] c/+ at QoS 0, c/b published at QoS 2 → received at QoS 0', async () => {
    expect(await receivedQos('c/+', 0, 'c/b')).toBe(0);
  });

  it('[MQTT-3.8.4-6] e/# at QoS 2 keeps QoS 2', async () => {
    expect(await receivedQos('e/#', 2, 'e/f/g')).toBe(2);
  });
});
