/**
 * MQTT conformance, area limits: the listener's max_packet_size, max_topic_levels and
 * max_subscriptions as real clients meet them (paho-mqtt 2, MQTT.js v5), and the MQTT 5 size
 * and flow-control statements ([MQTT-3.2.2-15], [MQTT-3.1.2-24/25] of MQTT 5). Statement → test
 * map: docs/mqtt-conformance.md. Every limit with raw sockets, the rates, max_inflight and
 * max_mqueue_len: broker-limits.test.ts; Receive Maximum [MQTT-3.3.4-9]: src/broker/mqtt5.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep, startConformance, uid, waitFor, type Conformance } from '../conformance.js';

let b: Conformance;
beforeAll(async () => {
  b = await startConformance(
    {},
    { max_packet_size: 2048, max_topic_levels: 4, max_subscriptions: 3 },
  );
});
afterAll(async () => b?.stop());

describe('listener limits with real clients', () => {
  it('[MQTT-3.2.2-15] (MQTT 5) MQTT.js v5: CONNACK announces Maximum Packet Size; a bigger PUBLISH gets DISCONNECT 0x95', async () => {
    const id = uid('js5');
    const js = await b.mqttjs({ clientId: id, protocolVersion: 5 });
    // connectAsync resolved on the CONNACK; MQTT.js keeps the packet.
    const connack = (
      js as unknown as { connackPacket: { properties?: { maximumPacketSize?: number } } }
    ).connackPacket;
    expect(connack.properties?.maximumPacketSize).toBe(2048);
    const disconnect = new Promise<number | undefined>((resolve) =>
      js.once('disconnect', (p) => resolve(p.reasonCode)),
    );
    js.publish(uid('big'), Buffer.alloc(4096), { qos: 1 });
    expect(await disconnect).toBe(0x95);
    await waitFor(() => b.of('client.disconnected', id).length === 1, 'closed');
  });

  it('paho (3.1.1): a PUBLISH over max_packet_size closes the connection; one under it is delivered', async () => {
    const t = uid('size');
    const sub = await b.mqttjs({ clientId: uid('sub') });
    await sub.subscribeAsync(t, { qos: 1 });
    const got: number[] = [];
    sub.on('message', (_t, p) => got.push(p.length));
    const r = await b.paho({
      client_id: uid('paho'),
      steps: [
        { op: 'connect' },
        { op: 'publish', topic: t, payload: 'x'.repeat(1000), qos: 1 },
        { op: 'publish', topic: t, payload: 'y'.repeat(3000), qos: 0 },
        { op: 'sleep', s: 0.5 },
      ],
    });
    expect(r.closed_by_server).toBe(true);
    await sleep(100);
    expect(got).toEqual([1000]);
  });

  it('paho: a filter deeper than max_topic_levels and one past max_subscriptions get 0x80 in the same SUBACK', async () => {
    const p = uid('lim');
    const r = await b.paho({
      client_id: uid('paho'),
      steps: [
        { op: 'connect' },
        {
          op: 'subscribe',
          filters: [
            [`${p}/a/b/c/d`, 1], // 5 levels > 4
            [`${p}/1`, 1],
            [`${p}/2`, 1],
            [`${p}/3`, 1],
            [`${p}/4`, 1], // the 4th granted filter > 3
          ],
        },
        { op: 'disconnect' },
      ],
    });
    expect(r.granted).toEqual([[0x80, 1, 1, 1, 0x80]]);
  });

  it('[MQTT-3.1.2-24] [MQTT-3.1.2-25] (MQTT 5) a copy larger than the Maximum Packet Size MQTT.js declared is not sent; the next one is', async () => {
    const t = uid('client-max');
    const js = await b.mqttjs({
      clientId: uid('small'),
      protocolVersion: 5,
      properties: { maximumPacketSize: 256 },
    });
    await js.subscribeAsync(t, { qos: 1 });
    const got: number[] = [];
    js.on('message', (_t, p) => got.push(p.length));
    const pub = await b.mqttjs({ clientId: uid('pub') });
    await pub.publishAsync(t, Buffer.alloc(1000), { qos: 1 });
    await pub.publishAsync(t, Buffer.alloc(10), { qos: 1 });
    await waitFor(() => got.length === 1, 'small one');
    await sleep(100);
    expect(got).toEqual([10]);
    expect(js.connected).toBe(true);
  });
});
