/**
 * Listener `messages_quota` (rate-limits.ts createMessageQuota, hooks.ts authorizePublish): past
 * the quota an MQTT 5 client gets PUBACK / PUBREC 0x97 (QoS 0: dropped) and keeps its
 * connection; a 3.1.1 client is disconnected. Nothing refused is routed; every refusal counts.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { harness, publishPacket, stopAll } from '../../test/broker-harness.js';

afterEach(stopAll);

const listener = (messages_quota: string) => ({
  listeners: { memory: { type: 'tcp' as const, bind: '127.0.0.1', port: 0, messages_quota } },
});

async function withSubscriber(h: Awaited<ReturnType<typeof harness>>) {
  const { client: sub } = await h.connectClient('sub');
  sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'q/#', qos: 2 }] });
  await sub.next('suback');
  return sub;
}

describe('messages_quota', () => {
  it('MQTT 5 QoS 1: PUBACK 0x00, 0x00, then 0x97; the refused one is not routed; the connection stays', async () => {
    const h = await harness(listener('2/m'));
    const sub = await withSubscriber(h);
    const { client: pub } = await h.connectClient('pub');
    pub.send(
      publishPacket('q/1', 'a', 1, 1),
      publishPacket('q/1', 'b', 1, 2),
      publishPacket('q/1', 'c', 1, 3),
    );
    const acks = [await pub.next('puback'), await pub.next('puback'), await pub.next('puback')];
    expect(acks.map((a) => [a.messageId, a.reasonCode ?? 0])).toEqual([
      [1, 0],
      [2, 0],
      [3, 0x97],
    ]);
    await vi.waitFor(() => expect(h.of('message.publish')).toHaveLength(2));
    expect(h.of('message.publish').map((c) => String(c['payload']))).toEqual(['a', 'b']);
    await sub.next('publish');
    await sub.next('publish');
    await new Promise((r) => setTimeout(r, 50));
    expect(sub.pending('publish')).toHaveLength(0);
    expect(h.broker.metrics().quota_exceeded).toBe(1);
    pub.send({ cmd: 'pingreq' });
    await pub.next('pingresp');
    expect(pub.isClosed).toBe(false);
  });

  it('MQTT 5 QoS 2 gets PUBREC 0x97, QoS 0 past the quota is dropped; both counted', async () => {
    const h = await harness(listener('1/m'));
    const sub = await withSubscriber(h);
    const { client: pub } = await h.connectClient('pub');
    pub.send(publishPacket('q/2', 'ok', 2, 5));
    expect((await pub.next('pubrec')).reasonCode ?? 0).toBe(0);
    pub.send({ cmd: 'pubrel', messageId: 5 });
    await pub.next('pubcomp');
    pub.send(publishPacket('q/2', 'over', 2, 6), publishPacket('q/0', 'zero', 0));
    expect((await pub.next('pubrec')).reasonCode).toBe(0x97);
    await vi.waitFor(() => expect(h.broker.metrics().quota_exceeded).toBe(2));
    expect((await sub.next('publish')).payload.toString()).toBe('ok');
    await new Promise((r) => setTimeout(r, 50));
    expect(sub.pending('publish')).toHaveLength(0);
    expect(h.of('message.publish')).toHaveLength(1);
  });

  it('the bucket refills: after the period the client publishes again', async () => {
    let t = 1_000_000;
    const h = await harness(listener('1/10s'), { now: () => t });
    const { client: pub } = await h.connectClient('pub');
    pub.send(publishPacket('q/r', 'a', 1, 1), publishPacket('q/r', 'b', 1, 2));
    expect((await pub.next('puback')).reasonCode ?? 0).toBe(0);
    expect((await pub.next('puback')).reasonCode).toBe(0x97);
    t += 10_000;
    pub.send(publishPacket('q/r', 'c', 1, 3));
    const ack = await pub.next('puback');
    expect([ack.messageId, ack.reasonCode ?? 0]).toEqual([3, 0]);
  });

  it('MQTT 3.1.1: past the quota the connection is closed (reason quota_exceeded), nothing routed', async () => {
    const h = await harness(listener('1/m'));
    const { client: pub } = await h.connectClient('pub4', { protocolVersion: 4 });
    pub.send(publishPacket('q/4', 'a', 1, 1));
    expect((await pub.next('puback')).messageId).toBe(1);
    await vi.waitFor(() => expect(h.of('message.publish')).toHaveLength(1));
    pub.send(publishPacket('q/4', 'b', 1, 2));
    await pub.closed;
    expect(pub.pending('puback')).toHaveLength(0);
    await vi.waitFor(() => expect(h.of('client.disconnected')).toHaveLength(1));
    expect(h.of('client.disconnected')[0]!['reason']).toBe('quota_exceeded');
    expect(h.of('message.publish')).toHaveLength(1);
    expect(h.broker.metrics().quota_exceeded).toBe(1);
  });

  it('the default (infinity) refuses nothing', async () => {
    const h = await harness();
    const { client: pub } = await h.connectClient('pub');
    pub.send(...Array.from({ length: 200 }, (_, i) => publishPacket('q/i', String(i), 1, i + 1)));
    for (let i = 0; i < 200; i++) expect((await pub.next('puback')).reasonCode ?? 0).toBe(0);
    expect(h.broker.metrics().quota_exceeded).toBe(0);
  });
});
