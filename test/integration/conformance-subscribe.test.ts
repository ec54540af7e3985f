/**
 * MQTT conformance, area SUBSCRIBE / SUBACK / UNSUBSCRIBE / UNSUBACK and topic filters (MQTT
 * 3.1.1 §3.8–§3.11, §4.7), with MQTT.js and paho-mqtt 2 over TCP; raw packets only for what a
 * client library will not send. Statement → test map: docs/mqtt-conformance.md. Covered
 * elsewhere: granted-QoS downgrade [MQTT-3.8.4-6] (broker-qos.test.ts, src/broker/broker.test.ts),
 * UTF-8 in filters [MQTT-3.8.3-1] [MQTT-3.10.3-1] (src/broker/protocol-check.test.ts), MQTT 5
 * subscription options (src/broker/mqtt5.test.ts).
 */
import type { Packet } from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connectPacket,
  mqttString,
  rawPacket,
  sleep,
  startConformance,
  uid,
  waitFor,
  type Conformance,
} from '../conformance.js';

let b: Conformance;
beforeAll(async () => {
  b = await startConformance();
});
afterAll(async () => b?.stop());

const publish = (topic: string, qos: 0 | 1 | 2 = 0, messageId?: number): Packet =>
  ({
    cmd: 'publish',
    topic,
    payload: Buffer.from(topic),
    qos,
    retain: false,
    dup: false,
    ...(messageId === undefined ? {} : { messageId }),
  }) as Packet;

/** Topics `sub` receives within `ms` after the awaited publishes. */
async function collect(sub: { on: (e: 'message', f: (t: string) => void) => void }) {
  const got: string[] = [];
  sub.on('message', (t) => got.push(t));
  return got;
}

describe('SUBACK', () => {
  it('[MQTT-3.8.4-1] [MQTT-3.8.4-2] [MQTT-2.3.1-7] every SUBSCRIBE gets a SUBACK with its packet id', async () => {
    const r = await b.rawConnected(uid('subid'));
    r.send(
      { cmd: 'subscribe', messageId: 7, subscriptions: [{ topic: 's/a', qos: 0 }] } as Packet,
      { cmd: 'subscribe', messageId: 65535, subscriptions: [{ topic: 's/b', qos: 1 }] } as Packet,
    );
    const acks = [await r.next('suback'), await r.next('suback')];
    expect(acks.map((a) => a.messageId ?? -1).sort((x, y) => x - y)).toEqual([7, 65535]);
  });

  it('[MQTT-3.8.4-4] [MQTT-3.8.4-5] [MQTT-3.9.3-1] [MQTT-3.9.3-2] paho: four filters in one SUBSCRIBE, one SUBACK, a code per filter in order', async () => {
    const p = uid('multi');
    const r = await b.paho({
      client_id: uid('paho'),
      steps: [
        { op: 'connect' },
        {
          op: 'subscribe',
          filters: [
            [`${p}/q2`, 2],
            [`$share//${p}/x`, 1], // an empty share name: refused, the others granted
            [`${p}/q0`, 0],
            [`${p}/q1`, 1],
          ],
        },
        { op: 'disconnect' },
      ],
    });
    expect(r.granted).toEqual([[2, 0x80, 0, 1]]);
  });

  it('[MQTT-4.7.1-3] a + that does not fill its level (a+/b, a/+b, +x) gets 0x80; the valid filters of the same SUBSCRIBE are granted', async () => {
    const r = await b.rawConnected(uid('raw'));
    r.send({
      cmd: 'subscribe',
      messageId: 3,
      subscriptions: [
        { topic: 'a+/b', qos: 1 },
        { topic: 'a/+b', qos: 1 },
        { topic: '+x', qos: 1 },
        { topic: '+/+/#', qos: 1 },
        { topic: '+', qos: 0 },
      ],
    } as Packet);
    expect((await r.next('suback')).granted).toEqual([0x80, 0x80, 0x80, 1, 0]);
    expect(r.isClosed).toBe(false);
  });

  it('[MQTT-4.7.1-2] [MQTT-4.7.3-1] [MQTT-4.8.0-1] a # that is not last (a/#/b, a/b#) or an empty filter: the connection is closed', async () => {
    for (const topic of ['a/#/b', 'a/b#', '']) {
      const r = await b.rawConnected(uid('raw'));
      r.send({ cmd: 'subscribe', messageId: 3, subscriptions: [{ topic, qos: 1 }] } as Packet);
      expect(await r.closedWithin(), JSON.stringify(topic)).toBe(true);
      expect(r.log.map((p) => p.cmd)).toEqual(['connack']);
    }
  });
});

describe('SUBSCRIBE malformed: the connection is closed', () => {
  it('[MQTT-3.8.1-1] [MQTT-2.2.2-2] SUBSCRIBE fixed-header flags other than 0010', async () => {
    const r = await b.rawConnected(uid('flags'));
    r.bytes(rawPacket(0x80, [0, 1], mqttString('f/x'), [0]));
    expect(await r.closedWithin()).toBe(true);
    expect(r.log.map((p) => p.cmd)).toEqual(['connack']);
  });

  it('[MQTT-3.8.3-3] a SUBSCRIBE with no topic filter', async () => {
    const r = await b.rawConnected(uid('empty'));
    r.bytes(rawPacket(0x82, [0, 1]));
    expect(await r.closedWithin()).toBe(true);
    expect(r.log.map((p) => p.cmd)).toEqual(['connack']);
  });

  it('[MQTT-3-8.3-4] requested QoS 3, or reserved bits set in the options byte', async () => {
    for (const options of [3, 0x41]) {
      const r = await b.rawConnected(uid('q3'));
      r.bytes(rawPacket(0x82, [0, 1], mqttString('f/x'), [options]));
      expect(await r.closedWithin(), `options 0x${options.toString(16)}`).toBe(true);
      expect(r.log.map((p) => p.cmd)).toEqual(['connack']);
    }
  });

  it('[MQTT-2.3.1-1] a SUBSCRIBE with packet identifier 0', async () => {
    const r = await b.rawConnected(uid('id0'));
    r.bytes(rawPacket(0x82, [0, 0], mqttString('f/x'), [0]));
    expect(await r.closedWithin()).toBe(true);
    expect(r.log.map((p) => p.cmd)).toEqual(['connack']);
  });
});

describe('subscriptions', () => {
  it('[MQTT-3.8.4-3] a second SUBSCRIBE to the same filter replaces the first: one copy, at the new QoS', async () => {
    const t = uid('replace');
    const sub = await b.mqttjs({ clientId: uid('sub') });
    await sub.subscribeAsync(t, { qos: 0 });
    await sub.subscribeAsync(t, { qos: 1 });
    const qos: number[] = [];
    sub.on('message', (_t, _p, packet) => qos.push(packet.qos));
    const pub = await b.mqttjs({ clientId: uid('pub') });
    await pub.publishAsync(t, 'x', { qos: 1 });
    await sleep(200);
    expect(qos).toEqual([1]);
  });

  it('[MQTT-3.3.2-3] [MQTT-4.7.1-2] [MQTT-4.7.1-3] paho: wildcard filters match by level; the topic name sent is the one published', async () => {
    const p = uid('wild');
    const r = await b.paho(
      {
        client_id: uid('paho'),
        steps: [
          { op: 'connect' },
          {
            op: 'subscribe',
            filters: [
              [`${p}/+/temp`, 0],
              [`${p}/room/#`, 0],
            ],
          },
          { op: 'signal', name: 'subscribed' },
          { op: 'await' },
          { op: 'expect', count: 4, timeout: 5 },
          { op: 'sleep', s: 0.2 },
          { op: 'disconnect' },
        ],
      },
      {
        onSignal: async () => {
          const pub = await b.mqttjs({ clientId: uid('pub') });
          for (const t of [
            `${p}/hall/temp`, // +/temp
            `${p}/room`, // # matches the parent level too
            `${p}/room/a/b`, // #
            `${p}/hall/temp/x`, // neither
            `${p}/room/temp`, // both filters: one copy
          ])
            await pub.publishAsync(t, 'x', { qos: 1 });
        },
      },
    );
    expect(r.messages.map((m) => m.topic).sort()).toEqual(
      [`${p}/hall/temp`, `${p}/room`, `${p}/room/a/b`, `${p}/room/temp`].sort(),
    );
  });

  it('[MQTT-4.7.2-1] # and +/… do not match topics beginning with $; an explicit $ filter does', async () => {
    const sub = await b.mqttjs({ clientId: uid('dollar') });
    const got = await collect(sub);
    await sub.subscribeAsync({ '#': { qos: 0 }, '+/conf': { qos: 0 }, '$ext/conf': { qos: 0 } });
    const pub = await b.mqttjs({ clientId: uid('pub') });
    await pub.publishAsync('$ext/conf', 'x', { qos: 1 });
    await sleep(200);
    expect(got).toEqual(['$ext/conf']); // one copy: the $ext/conf filter, not # or +/conf
  });

  it('[MQTT-4.7.3-4] topic matching does no normalisation: case, empty levels and trailing / count', async () => {
    const t = uid('Norm');
    const sub = await b.mqttjs({ clientId: uid('sub') });
    const got = await collect(sub);
    await sub.subscribeAsync(`${t}/a/b`, { qos: 1 });
    const pub = await b.mqttjs({ clientId: uid('pub') });
    for (const topic of [
      `${t}/A/b`,
      `${t}/a//b`,
      `${t}/a/b/`,
      `${t.toLowerCase()}/a/b`,
      `${t}/a/b`,
    ])
      await pub.publishAsync(topic, 'x', { qos: 1 });
    await sleep(200);
    expect(got).toEqual([`${t}/a/b`]);
  });
});

describe('U+FEFF in strings', () => {
  it('[MQTT-1.5.3-3] [MQTT-4.7.3-4] 0xEF 0xBB 0xBF is U+FEFF wherever it is, never stripped: a BOM topic reaches only the BOM filter (paho publishes, MQTT.js and raw subscribe), and a BOM client id is its own client', async () => {
    const t = uid('bom');
    const bomTopic = `\uFEFF${t}/x\uFEFF`;
    const withBom = await b.mqttjs({ clientId: uid('sub-bom') });
    const plain = await b.mqttjs({ clientId: uid('sub-plain') });
    const gotBom = await collect(withBom);
    const gotPlain = await collect(plain);
    await withBom.subscribeAsync(bomTopic, { qos: 1 });
    await plain.subscribeAsync(`${t}/x`, { qos: 1 });
    const raw = await b.rawConnected(uid('raw'));
    raw.send({
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: [{ topic: `\uFEFF${t}/+`, qos: 0 }],
    } as Packet);
    await raw.next('suback');
    const wire: Buffer[] = [];
    raw.socket.on('data', (d: Buffer) => wire.push(d));
    const r = await b.paho({
      client_id: uid('paho'),
      steps: [
        { op: 'connect' },
        { op: 'publish', topic: bomTopic, payload: 'bom', qos: 1 },
        { op: 'publish', topic: `${t}/x`, payload: 'plain', qos: 1 },
        { op: 'disconnect' },
      ],
    });
    expect(r.published).toBe(2);
    await waitFor(() => gotBom.length === 1 && gotPlain.length === 1, 'one copy each');
    const onWire = await raw.next('publish');
    await sleep(150);
    expect(gotBom).toEqual([bomTopic]);
    expect(gotPlain).toEqual([`${t}/x`]);
    // The raw subscriber's copy: the topic's bytes on the wire are the published ones, BOMs
    // included (length-prefixed: 2 + 3 + … + 3 bytes).
    const topicBytes = Buffer.from(bomTopic, 'utf8');
    expect(topicBytes.subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
    const prefixed = Buffer.concat([Buffer.from([0, topicBytes.length]), topicBytes]);
    expect(Buffer.concat(wire).includes(prefixed)).toBe(true);
    expect(onWire.topic).toBe(bomTopic);
    expect(raw.publishes()).toHaveLength(1); // the plain topic does not match \uFEFF…/+
    expect(b.of('message.publish').filter((m) => m['topic'] === bomTopic)).toHaveLength(1);
    // A client id with a leading BOM is not the same client as the id without it.
    const id = uid('bomid');
    await b.mqttjs({ clientId: id });
    await b.mqttjs({ clientId: `\uFEFF${id}` });
    await waitFor(() => b.of('client.connected', `\uFEFF${id}`).length === 1, 'BOM id connected');
    await sleep(100);
    expect(b.of('client.disconnected', id)).toEqual([]); // no takeover
  });
});

describe('UNSUBSCRIBE', () => {
  it('[MQTT-3.10.4-4] [MQTT-3.10.4-5] [MQTT-3.10.4-6] UNSUBACK with the packet id, also when no filter matched', async () => {
    const r = await b.rawConnected(uid('unsub'));
    r.send({ cmd: 'unsubscribe', messageId: 9, unsubscriptions: ['never/subscribed'] } as Packet);
    expect((await r.next('unsuback')).messageId).toBe(9);
  });

  it('[MQTT-3.10.4-1] [MQTT-3.10.4-2] filters compare character by character: a/+ does not remove a/b; a/b stops delivery', async () => {
    const t = uid('un');
    const sub = await b.mqttjs({ clientId: uid('sub') });
    const got = await collect(sub);
    await sub.subscribeAsync(`${t}/b`, { qos: 1 });
    await sub.unsubscribeAsync(`${t}/+`);
    const pub = await b.mqttjs({ clientId: uid('pub') });
    await pub.publishAsync(`${t}/b`, '1', { qos: 1 });
    await sleep(150);
    expect(got).toEqual([`${t}/b`]);
    await sub.unsubscribeAsync(`${t}/b`);
    await pub.publishAsync(`${t}/b`, '2', { qos: 1 });
    await sleep(150);
    expect(got).toEqual([`${t}/b`]);
  });

  it('[MQTT-3.10.4-2] paho: after UNSUBSCRIBE no new message arrives', async () => {
    const t = uid('paho-un');
    const r = await b.paho(
      {
        client_id: uid('paho'),
        steps: [
          { op: 'connect' },
          { op: 'subscribe', filters: [[t, 1]] },
          { op: 'unsubscribe', filters: [t] },
          { op: 'signal', name: 'unsubscribed' },
          { op: 'await' },
          { op: 'sleep', s: 0.3 },
          { op: 'disconnect' },
        ],
      },
      {
        onSignal: async () => {
          const pub = await b.mqttjs({ clientId: uid('pub') });
          await pub.publishAsync(t, 'x', { qos: 1 });
        },
      },
    );
    expect(r.messages).toEqual([]);
  });

  it('[MQTT-3.10.4-3] a QoS 2 delivery started before UNSUBSCRIBE is completed after it: PUBREC gets PUBREL, PUBCOMP acknowledges it; nothing new is sent', async () => {
    const t = uid('inflight2');
    const id = uid('raw');
    const r = await b.rawConnected(id);
    r.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: t, qos: 2 }] } as Packet);
    await r.next('suback');
    const pub = await b.mqttjs({ clientId: uid('pub') });
    await pub.publishAsync(t, 'started', { qos: 2 });
    const copy = await r.next('publish');
    expect(copy.qos).toBe(2);
    r.send({ cmd: 'unsubscribe', messageId: 2, unsubscriptions: [t] } as Packet);
    await r.next('unsuback');
    r.send({ cmd: 'pubrec', messageId: copy.messageId! });
    expect((await r.next('pubrel')).messageId).toBe(copy.messageId);
    r.send({ cmd: 'pubcomp', messageId: copy.messageId! });
    await waitFor(() => b.of('message.acked', id).length === 1, 'acked');
    expect(b.of('message.acked', id)[0]).toMatchObject({ topic: t, qos: 2 });
    await pub.publishAsync(t, 'after', { qos: 2 }); // [MQTT-3.10.4-2]
    await sleep(200);
    expect(r.publishes().map((p) => p.payload.toString())).toEqual(['started']);
  });

  it('[MQTT-3.10.4-3] a QoS 1 delivery started before UNSUBSCRIBE is completed: unacknowledged when the client drops, it is re-sent (DUP 1, same id) to the returning session and then acknowledged', async () => {
    const t = uid('inflight1');
    const id = uid('raw');
    const open = async () => {
      const r = await b.raw();
      r.send({ ...connectPacket(id), clean: false } as Packet);
      expect((await r.next('connack')).returnCode).toBe(0);
      return r;
    };
    const first = await open();
    first.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: t, qos: 1 }] } as Packet);
    await first.next('suback');
    const pub = await b.mqttjs({ clientId: uid('pub') });
    await pub.publishAsync(t, 'started', { qos: 1 });
    const copy = await first.next('publish');
    first.send({ cmd: 'unsubscribe', messageId: 2, unsubscriptions: [t] } as Packet);
    await first.next('unsuback');
    first.socket.destroy(); // no PUBACK
    await waitFor(() => b.of('client.disconnected', id).length === 1, 'offline');
    await pub.publishAsync(t, 'after-unsubscribe', { qos: 1 }); // [MQTT-3.10.4-2]
    const back = await open();
    const again = await back.next('publish');
    expect([again.payload.toString(), again.messageId, again.dup]).toEqual([
      'started',
      copy.messageId,
      true,
    ]);
    back.send({ cmd: 'puback', messageId: again.messageId! });
    await waitFor(() => b.of('message.acked', id).length === 1, 'acked');
    await sleep(200);
    expect(back.publishes().map((p) => p.payload.toString())).toEqual(['started']);
  });

  it('[MQTT-3.10.1-1] [MQTT-3.10.3-2] UNSUBSCRIBE with flags other than 0010, or with no filter, closes the connection', async () => {
    for (const bytes of [rawPacket(0xa0, [0, 1], mqttString('u/x')), rawPacket(0xa2, [0, 1])]) {
      const r = await b.rawConnected(uid('unbad'));
      r.bytes(bytes);
      expect(await r.closedWithin(), bytes.toString('hex')).toBe(true);
      expect(r.log.map((p) => p.cmd)).toEqual(['connack']);
    }
  });
});

// Keep the helper referenced for future raw PUBLISH cases in this file.
void publish;
