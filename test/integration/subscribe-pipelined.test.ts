/**
 * A big SUBSCRIBE or UNSUBSCRIBE sent right behind its CONNECT, before the CONNACK (allowed:
 * MQTT 5 §3.1.4 lets a client send further packets at once; MQTT 3.1.1 brokers queue them).
 * Aedes queues such packets until the connection is accepted; a SUBSCRIBE of more than one
 * slice of filters (src/broker/subscribe-slices.ts) used to leave the connection holding every
 * later packet forever: no PUBACK, no delivery, no UNSUBACK, until the client gave up.
 * Everything here is written in ONE socket write, so the broker parses it all before it answers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate, type Packet } from 'mqtt-packet';

import { silentLogger } from '../../src/core/index.js';
import { createBroker } from '../../src/broker/index.js';
import type { Broker } from '../../src/broker/types.js';
import { connectPacket, RawClient, uid } from '../conformance.js';

let broker: Broker;
let port: number;
const raws: RawClient[] = [];

beforeAll(async () => {
  broker = createBroker(
    { logger: silentLogger },
    { listeners: { tcp: { type: 'tcp', bind: '127.0.0.1', port: 0, max_subscriptions: 10_000 } } },
  );
  const [addr] = await broker.start();
  port = addr!.port;
});
afterAll(async () => {
  for (const r of raws) r.socket.destroy();
  await broker.stop();
});

const filters = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => ({ topic: `${prefix}/${i}/+`, qos: 1 as const }));

/** Open a raw client and write `packets` (CONNECT first) in one write. */
async function pipelined(version: 4 | 5, packets: Packet[]): Promise<RawClient> {
  const r = await RawClient.open(port, version);
  raws.push(r);
  r.autoAck = true;
  r.bytes(...packets.map((p) => generate(p, { protocolVersion: version })));
  return r;
}

const cmds = (r: RawClient) =>
  r.log.map((p) =>
    p.cmd === 'publish' ? `publish:${p.topic}` : `${p.cmd}:${'messageId' in p ? p.messageId : ''}`,
  );

describe('packets pipelined behind CONNECT, with a multi-slice SUBSCRIBE among them', () => {
  for (const version of [4, 5] as const) {
    it(`MQTT ${version}: SUBSCRIBE of 1,200 filters, then PUBLISH to one of them, then UNSUBSCRIBE: all answered, in order`, async () => {
      const p = uid(`pipe${version}`);
      const id = uid('pipe');
      const r = await pipelined(version, [
        { ...connectPacket(id, version) } as Packet,
        {
          cmd: 'subscribe',
          messageId: 1,
          subscriptions: [{ topic: `${p}/first`, qos: 1 }],
        } as Packet,
        { cmd: 'subscribe', messageId: 2, subscriptions: filters(p, 1200) } as Packet,
        {
          cmd: 'publish',
          messageId: 3,
          qos: 1,
          topic: `${p}/1199/x`,
          payload: Buffer.from('after the big SUBSCRIBE'),
          retain: false,
          dup: false,
        } as Packet,
        { cmd: 'unsubscribe', messageId: 4, unsubscriptions: [`${p}/first`] } as Packet,
      ]);
      await r.next('unsuback');
      const suback = r.log.find((x) => x.cmd === 'suback' && x.messageId === 2);
      expect(suback && suback.cmd === 'suback' && suback.granted).toEqual(
        Array.from({ length: 1200 }, () => 1),
      );
      // Wait for the delivery of its own message (it subscribed the topic; v5 No Local is off).
      const until = Date.now() + 3000;
      while (!r.publishes().length && Date.now() < until)
        await new Promise((res) => setTimeout(res, 10));
      const seen = cmds(r);
      expect(seen[0]).toBe('connack:');
      // SUBACK 1, SUBACK 2 (after all 1,200 filters), then the PUBLISH is handled: its PUBACK and
      // its delivery come after the big SUBACK, the UNSUBACK last of the answers.
      const at = (s: string) => seen.indexOf(s);
      expect(at('suback:1')).toBeGreaterThan(0);
      expect(at('suback:2')).toBeGreaterThan(at('suback:1'));
      expect(at('puback:3')).toBeGreaterThan(at('suback:2'));
      expect(at(`publish:${p}/1199/x`)).toBeGreaterThan(at('suback:2'));
      expect(at('unsuback:4')).toBeGreaterThan(at('puback:3'));
      // The client list (API /clients subscriptions_cnt) counts 1 + 1,200 − 1 filters.
      expect(broker.clients().find((x) => x.clientid === id)?.subscriptions).toBe(1200);
    });
  }

  it('a 1,200-filter UNSUBSCRIBE pipelined behind CONNECT is answered and later packets are handled', async () => {
    const p = uid('pipeu');
    const r = await pipelined(4, [
      { ...connectPacket(uid('pipeu')) } as Packet,
      { cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: `${p}/keep`, qos: 1 }] } as Packet,
      {
        cmd: 'unsubscribe',
        messageId: 2,
        unsubscriptions: filters(p, 1200).map((f) => f.topic),
      } as Packet,
      {
        cmd: 'publish',
        messageId: 3,
        qos: 1,
        topic: `${p}/keep`,
        payload: Buffer.from('x'),
        retain: false,
        dup: false,
      } as Packet,
    ]);
    await r.next('puback');
    const until = Date.now() + 3000;
    while (!r.publishes().length && Date.now() < until)
      await new Promise((res) => setTimeout(res, 10));
    const seen = cmds(r);
    expect(seen.indexOf('unsuback:2')).toBeGreaterThan(seen.indexOf('suback:1'));
    expect(seen.indexOf('puback:3')).toBeGreaterThan(seen.indexOf('unsuback:2'));
    expect(r.publishes().map((x) => x.topic)).toEqual([`${p}/keep`]);
  });

  it('a client refused at CONNECT with a big SUBSCRIBE behind it is closed and leaves no subscription', async () => {
    const p = uid('piper');
    const r = await RawClient.open(port, 4);
    raws.push(r);
    // Protocol level 7 (byte 8 of this CONNECT): CONNACK 0x01 and the close [MQTT-3.1.2-2].
    const connect = generate(connectPacket(uid('piper')));
    connect[8] = 7;
    r.bytes(
      connect,
      generate({ cmd: 'subscribe', messageId: 1, subscriptions: filters(p, 1200) } as Packet),
    );
    expect((await r.next('connack')).returnCode).toBe(1);
    expect(await r.closedWithin(3000)).toBe(true);
    expect(r.log.some((x) => x.cmd === 'suback')).toBe(false);
  });
});
