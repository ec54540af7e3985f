/**
 * Protocol strictness over real TCP sockets on 127.0.0.1 (port 0), end to end: ill-formed
 * UTF-8 / U+0000 in a PUBLISH topic [MQTT-1.5.3-1] [MQTT-1.5.3-2], an unsupported protocol
 * level [MQTT-3.1.2-2], and a half-sent packet on a keepalive-0 connection (packet_timeout).
 * The in-memory unit tests (src/broker/protocol-check.test.ts) cover every field and case.
 */
import net from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/index.js';
import { createBroker, type Broker } from '../../src/broker/index.js';

const brokers: Broker[] = [];
const sockets: net.Socket[] = [];
const clients: MqttClient[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  await Promise.all(brokers.splice(0).map((b) => b.stop()));
});

async function start(packet_timeout?: number): Promise<{ broker: Broker; port: number }> {
  const broker = createBroker(
    { logger: silentLogger },
    {
      listeners: {
        tcp: {
          type: 'tcp',
          bind: '127.0.0.1',
          port: 0,
          ...(packet_timeout === undefined ? {} : { packet_timeout }),
        },
      },
    },
  );
  brokers.push(broker);
  const [addr] = await broker.start();
  return { broker, port: addr!.port };
}

async function raw(
  port: number,
): Promise<{ s: net.Socket; closed: Promise<void>; data: Buffer[] }> {
  const s = net.connect(port, '127.0.0.1');
  sockets.push(s);
  const data: Buffer[] = [];
  s.on('data', (b) => data.push(b));
  s.on('error', () => {});
  const closed = new Promise<void>((resolve) => s.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    s.once('connect', resolve);
    s.once('error', reject);
  });
  return { s, closed, data };
}

const str = (b: Buffer) => Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
const packet = (first: number, body: Buffer) => {
  if (body.length > 127) throw new Error('test packets are short');
  return Buffer.concat([Buffer.from([first, body.length]), body]);
};
const connect = (level: number, clientId: string) =>
  packet(
    0x10,
    Buffer.concat([
      str(Buffer.from('MQTT')),
      Buffer.from([level, 0x02, 0, 0]),
      str(Buffer.from(clientId)),
    ]),
  );
const publishQos1 = (topic: Buffer) =>
  packet(0x32, Buffer.concat([str(topic), Buffer.from([0, 1]), Buffer.from('x')]));

async function connected(port: number, id: string) {
  const r = await raw(port);
  r.s.write(connect(4, id));
  await expect
    .poll(() => Buffer.concat(r.data).subarray(0, 4))
    .toEqual(Buffer.from([0x20, 2, 0, 0]));
  r.data.length = 0;
  return r;
}

describe('broker protocol strictness over TCP', () => {
  it('[MQTT-1.5.3-1] [MQTT-1.5.3-2] a PUBLISH topic with ill-formed UTF-8 or U+0000 closes the socket; no PUBACK, a subscriber gets nothing', async () => {
    const { broker, port } = await start();
    const sub = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: 'sub' });
    clients.push(sub);
    const got: string[] = [];
    sub.on('message', (t) => got.push(t));
    await sub.subscribeAsync('#', { qos: 1 });
    for (const topic of [Buffer.from([0x61, 0x2f, 0xff]), Buffer.from([0x61, 0x00])]) {
      const r = await connected(port, `bad${topic[1]}`);
      r.s.write(publishQos1(topic));
      await r.closed;
      expect(r.data).toEqual([]); // no PUBACK
    }
    // A good publish after them is delivered, so the subscriber was listening.
    const pub = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: 'good' });
    clients.push(pub);
    await pub.publishAsync('ok/ü', 'x', { qos: 1 });
    await expect.poll(() => got).toEqual(['ok/ü']);
    expect(broker.metrics()).toMatchObject({
      protocol_malformed_utf8: 1,
      protocol_null_character: 1,
    });
  });

  it('[MQTT-3.1.2-2] protocol level 7 gets CONNACK 0x01 on the wire, then the socket is closed', async () => {
    const { broker, port } = await start();
    const r = await raw(port);
    r.s.write(connect(7, 'seven'));
    await r.closed;
    expect(Buffer.concat(r.data)).toEqual(Buffer.from([0x20, 0x02, 0x00, 0x01]));
    expect(broker.metrics().protocol_unsupported_level).toBe(1);
  });

  it('packet_timeout: a half-sent PUBLISH on a keepalive-0 connection is closed', async () => {
    const { broker, port } = await start(300);
    const r = await connected(port, 'slow');
    const p = publishQos1(Buffer.from('slow/t'));
    r.s.write(p.subarray(0, p.length - 2));
    await r.closed;
    expect(r.data).toEqual([]);
    expect(broker.metrics().refused_packet_timeout).toBe(1);
  });
});
