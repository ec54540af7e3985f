/**
 * Outbound topic aliases at every QoS (mqtt5-forward.ts, persistence-wrap.ts withFullTopic):
 * a v5 subscriber with Topic Alias Maximum gets QoS 1/2 copies aliased too; aliases never
 * outlive the connection, so a copy re-sent after a reconnect (DUP 1) carries the full topic
 * [MQTT-3.3.2-10] [MQTT-3.3.2-12], and the stored session keeps full topics.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Packet } from 'mqtt-packet';
import { harness, publishPacket, stopAll, type TestClient } from '../../test/broker-harness.js';
import { withFullTopic } from './persistence-wrap.js';
import { FULL_TOPIC } from './mqtt5-forward.js';

afterEach(stopAll);

type Pub = Extract<Packet, { cmd: 'publish' }>;

/** What the client makes of the PUBLISHes in arrival order: each must resolve [MQTT-3.3.2-12]. */
function resolve(pubs: Pub[]): string[] {
  const map = new Map<number, string>();
  return pubs.map((p) => {
    const alias = p.properties?.topicAlias;
    if (p.topic !== '') {
      if (alias !== undefined) map.set(alias, p.topic);
      return p.topic;
    }
    const t = alias === undefined ? undefined : map.get(alias);
    if (t === undefined) throw new Error(`alias ${alias} used before it was set`);
    return t;
  });
}

async function take(c: TestClient, n: number): Promise<Pub[]> {
  const out: Pub[] = [];
  for (let i = 0; i < n; i++) out.push(await c.next('publish'));
  return out;
}

describe('outbound topic aliases for QoS 1 and 2', () => {
  it.each([1, 2] as const)(
    'QoS %i copies: topic + alias first, alias only after; acknowledgements still match',
    async (qos) => {
      const h = await harness();
      const { client: sub } = await h.connectClient('sub', {
        properties: { topicAliasMaximum: 4 },
      });
      sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a/#', qos }] });
      await sub.next('suback');
      const { client: pub } = await h.connectClient('pub');
      pub.send(
        publishPacket('a/one', '1', qos, 1),
        publishPacket('a/one', '2', qos, 2),
        publishPacket('a/two', '3', qos, 3),
      );
      const got = await take(sub, 3);
      expect(got.map((p) => [p.topic, p.properties?.topicAlias, p.payload.toString()])).toEqual([
        ['a/one', 1, '1'],
        ['', 1, '2'],
        ['a/two', 2, '3'],
      ]);
      expect(got.every((p) => p.qos === qos)).toBe(true);
      for (const p of got) {
        if (qos === 1) sub.send({ cmd: 'puback', messageId: p.messageId! });
        else {
          sub.send({ cmd: 'pubrec', messageId: p.messageId! });
          await sub.next('pubrel');
          sub.send({ cmd: 'pubcomp', messageId: p.messageId! });
        }
      }
      await expect.poll(() => h.broker.metrics().messages_acked).toBe(3);
    },
  );

  it('QoS 0 and QoS 1 copies of the same topics interleaved: every alias is set before it is used', async () => {
    const h = await harness({
      listeners: { memory: { type: 'tcp', bind: '127.0.0.1', port: 0, max_inflight: 2 } },
    });
    const { client: sub } = await h.connectClient('sub', { properties: { topicAliasMaximum: 2 } });
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'm/#', qos: 1 }] });
    await sub.next('suback');
    const { client: pub } = await h.connectClient('pub');
    const sent: Packet[] = [];
    for (let i = 0; i < 30; i++)
      sent.push(publishPacket(`m/${i % 3}`, String(i), (i % 2) as 0 | 1, i + 1));
    pub.send(...sent);
    const got: Pub[] = [];
    while (got.length < 30) {
      const p = await sub.next('publish');
      got.push(p);
      if (p.qos === 1) sub.send({ cmd: 'puback', messageId: p.messageId! });
    }
    // Three topics, two aliases: m/2 always goes with its topic.
    expect(resolve(got).sort()).toEqual(sent.map((p) => (p as Pub).topic).sort());
    expect(got.some((p) => p.qos === 1 && p.topic === '')).toBe(true);
  });

  it('a copy re-sent after a reconnect is DUP 1 with the full topic and no alias; the store kept the topic', async () => {
    const h = await harness();
    const props = { topicAliasMaximum: 5, sessionExpiryInterval: 60 };
    const { client: sub } = await h.connectClient('keep', { clean: false, properties: props });
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'r/#', qos: 1 }] });
    await sub.next('suback');
    const { client: pub } = await h.connectClient('pub');
    pub.send(publishPacket('r/x', '1', 1, 1), publishPacket('r/x', '2', 1, 2));
    const first = await take(sub, 2);
    expect(first.map((p) => [p.topic, p.properties?.topicAlias])).toEqual([
      ['r/x', 1],
      ['', 1],
    ]);
    // Leave without acknowledging; a third message is queued while offline.
    sub.stream.destroy();
    await sub.closed;
    await new Promise((r) => setTimeout(r, 20));
    pub.send(publishPacket('r/x', '3', 1, 3));
    await pub.next('puback');
    const { client: back, connack } = await h.connectClient('keep', {
      clean: false,
      properties: props,
    });
    expect(connack.sessionPresent).toBe(true);
    const again = await take(back, 3);
    expect(
      again.map((p) => [p.topic, p.properties?.topicAlias, p.dup, p.payload.toString()]),
    ).toEqual([
      ['r/x', undefined, true, '1'],
      ['r/x', undefined, true, '2'],
      ['r/x', undefined, false, '3'],
    ]);
  });

  it('withFullTopic: an aliased copy is stored with its topic and without the alias; others unchanged', () => {
    const aliased = {
      cmd: 'publish',
      topic: '',
      messageId: 4,
      properties: { topicAlias: 3, userProperties: { k: 'v' }, [FULL_TOPIC]: 's/t' },
    };
    const stored = withFullTopic(aliased);
    expect(stored).toEqual({
      cmd: 'publish',
      topic: 's/t',
      messageId: 4,
      properties: { userProperties: { k: 'v' } },
    });
    expect(Object.getOwnPropertySymbols(stored.properties)).toEqual([]);
    const plain = { cmd: 'publish', topic: 's/t', properties: { topicAlias: 3 } };
    expect(withFullTopic(plain)).toBe(plain);
  });

  it('a 3.1.1 subscriber and a v5 one without Topic Alias Maximum get full topics at QoS 1', async () => {
    const h = await harness();
    const { client: v4 } = await h.connectClient('v4', { protocolVersion: 4 });
    const { client: v5 } = await h.connectClient('v5');
    for (const c of [v4, v5]) {
      c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'n/#', qos: 1 }] });
      await c.next('suback');
    }
    const { client: pub } = await h.connectClient('pub');
    pub.send(publishPacket('n/a', '1', 1, 1), publishPacket('n/a', '2', 1, 2));
    for (const c of [v4, v5])
      expect((await take(c, 2)).map((p) => [p.topic, p.properties?.topicAlias])).toEqual([
        ['n/a', undefined],
        ['n/a', undefined],
      ]);
  });
});
