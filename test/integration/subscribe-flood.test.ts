/**
 * A SUBSCRIBE with 50,000 filters over TCP (issue #19; decision 0017, src/broker/subscribe-slices.ts):
 * it is handled in slices while other clients are served, its SUBACK carries every code in
 * filter order, its retained messages come after the SUBACK in filter order, and the packets its
 * client sent after it are handled after it. Not timed: the assertions are on the order in which
 * packets arrive.
 *
 * The close of a client holding 50,000 subscriptions (decision 0021): its session ends at once
 * (client.disconnected, will, the client id free) and its matcher entries are removed a slice per
 * turn afterwards, while other clients are served; a reconnect with the same client id during
 * that clean-up keeps its own subscriptions and receives nothing through the old ones. A big
 * UNSUBSCRIBE is sliced too, its client's later packets handled after it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Packet } from 'mqtt-packet';

import { silentLogger, type BrokerEvent } from '../../src/core/index.js';
import { createBroker } from '../../src/broker/index.js';
import type { Authorizer } from '../../src/broker/auth.js';
import type { Broker } from '../../src/broker/types.js';
import { connectPacket, RawClient, sleep, uid, waitFor } from '../conformance.js';

const N = 50_000;
let broker: Broker;
let port: number;
/**
 * Called by the authorizer with each filter it sees (the test's hook into "the SUBSCRIBE is being
 * handled"); it denies filters containing `/deny/`.
 */
let onFilter: (topic: string) => void = () => {};
const spy: Authorizer = {
  name: 'spy',
  authorize(req) {
    if (req.action !== 'subscribe') return 'ignore';
    onFilter(req.topic);
    return req.topic.includes('/deny/') ? 'deny' : 'ignore';
  },
};
const raws: RawClient[] = [];

beforeAll(async () => {
  broker = createBroker(
    { logger: silentLogger, authorizers: [spy] },
    {
      listeners: {
        tcp: {
          type: 'tcp',
          bind: '127.0.0.1',
          port: 0,
          max_subscriptions: 2 * N,
          // 50,000 filters of ~20 bytes: over the 1 MB default
          max_packet_size: '4MB',
        },
      },
    },
  );
  const [addr] = await broker.start();
  port = addr!.port;
});
afterAll(async () => {
  for (const r of raws) r.socket.destroy();
  await broker.stop();
});

async function connected(id: string, clean = true): Promise<RawClient> {
  const r = await RawClient.open(port, 4);
  raws.push(r);
  r.send({ ...connectPacket(id), clean } as Packet);
  expect((await r.next('connack')).returnCode).toBe(0);
  return r;
}

/** Every packet the clients receive, in the order they are parsed here, tagged by client. */
function arrivals(...clients: [string, RawClient][]): string[] {
  const seen: string[] = [];
  for (const [name, c] of clients) {
    const push = c.log.push.bind(c.log);
    c.log.push = (...ps: Packet[]) => {
      for (const p of ps) seen.push(`${name}:${p.cmd}${p.cmd === 'publish' ? `:${p.topic}` : ''}`);
      return push(...ps);
    };
  }
  return seen;
}

const floodPacket = (prefix: string, messageId: number, extra: string[] = []): Packet => ({
  cmd: 'subscribe',
  messageId,
  subscriptions: [
    ...Array.from({ length: N }, (_, i) => ({
      // i = 10 and 30,000: denied by the spy authorizer → 0x80
      topic: i === 10 || i === 30_000 ? `${prefix}/deny/${i}` : `${prefix}/${i}`,
      qos: 1 as const,
    })),
    ...extra.map((topic) => ({ topic, qos: 1 as const })),
  ],
});

describe('a 50,000-filter SUBSCRIBE', () => {
  it("does not hold up another client's QoS 1 round trip; SUBACK codes in order; retained after the SUBACK, in filter order", async () => {
    const f = uid('flood');
    // Retained messages on filters 0, 25,000 and 49,999.
    const pub = await connected(uid('pub'));
    for (const [i, n] of [49_999, 0, 25_000].entries()) {
      pub.send({
        cmd: 'publish',
        topic: `${f}/${n}`,
        payload: `r${n}`,
        qos: 1,
        messageId: i + 1,
        retain: true,
        dup: false,
      });
      await pub.next('puback');
    }
    const probeTopic = uid('probe');
    const probe = await connected(uid('probe'));
    probe.autoAck = true;
    probe.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: probeTopic, qos: 1 }] });
    await probe.next('suback');
    const flood = await connected(uid('flood'));
    flood.autoAck = true;
    const seen = arrivals(['probe', probe], ['flood', flood]);

    // When the broker authorizes the flood's first filter, the whole packet has been read: the
    // probe sends its QoS 1 PUBLISH now. Handled in one go (the unpatched path), the SUBSCRIBE
    // would complete and its SUBACK be written before the broker reads that PUBLISH.
    onFilter = (topic) => {
      if (topic !== `${f}/0`) return;
      onFilter = () => {};
      probe.send({
        cmd: 'publish',
        topic: probeTopic,
        payload: 'p',
        qos: 1,
        messageId: 2,
        retain: false,
        dup: false,
      });
    };
    flood.send(floodPacket(f, 9));
    const suback = await flood.next('suback', 20_000);
    await waitFor(() => flood.publishes().length === 3, 'three retained messages');
    await sleep(50);

    expect(seen.indexOf('probe:puback')).toBeGreaterThanOrEqual(0);
    expect(seen.indexOf(`probe:publish:${probeTopic}`)).toBeGreaterThanOrEqual(0);
    expect(seen.indexOf('probe:puback')).toBeLessThan(seen.indexOf('flood:suback'));
    expect(seen.indexOf(`probe:publish:${probeTopic}`)).toBeLessThan(seen.indexOf('flood:suback'));

    expect(suback.messageId).toBe(9);
    expect(suback.granted).toHaveLength(N);
    const refused = suback.granted.flatMap((g, i) => (g === 128 ? [i] : []));
    expect(refused).toEqual([10, 30_000]);
    expect(suback.granted.filter((g) => g === 1)).toHaveLength(N - 2);

    // Retained: after the SUBACK, in the order of the filters (not of their publication).
    const after = seen
      .slice(seen.indexOf('flood:suback') + 1)
      .filter((s) => s.startsWith('flood:'));
    expect(after).toEqual([
      `flood:publish:${f}/0`,
      `flood:publish:${f}/25000`,
      `flood:publish:${f}/49999`,
    ]);
    expect(flood.publishes().map((p) => String(p.payload))).toEqual(['r0', 'r25000', 'r49999']);
    expect(flood.publishes().every((p) => p.retain)).toBe(true);
  });

  it('the packets its client sent after it are handled after it: a PUBLISH to its last filter is delivered back', async () => {
    const f = uid('order');
    const c = await connected(uid('order'));
    c.autoAck = true;
    // One write: SUBSCRIBE (50,000 filters + `${f}/own` last), PUBLISH to `${f}/own`, PINGREQ.
    // Handled as they arrive, the PUBLISH and PINGREQ would be answered before the SUBACK and
    // the message would find no subscription yet.
    c.send(
      floodPacket(f, 1, [`${f}/own`]),
      {
        cmd: 'publish',
        topic: `${f}/own`,
        payload: 'while subscribed',
        qos: 1,
        messageId: 2,
        retain: false,
        dup: false,
      },
      { cmd: 'pingreq' },
    );
    await c.next('pingresp', 20_000);
    await waitFor(() => c.publishes().length === 1, 'the message delivered back');
    const order = c.log.map((p) =>
      p.cmd === 'publish'
        ? `publish:${String(p.payload)}`
        : `${p.cmd}${'messageId' in p && p.messageId !== undefined ? `:${p.messageId}` : ''}`,
    );
    const i = (s: string) => order.indexOf(s);
    expect(i('connack')).toBe(0);
    expect(i('suback:1')).toBe(1);
    expect(i('puback:2')).toBeGreaterThan(i('suback:1'));
    expect(i('pingresp')).toBeGreaterThan(i('suback:1'));
    expect(i('publish:while subscribed')).toBeGreaterThan(i('suback:1'));
    const suback = c.log[1] as Extract<Packet, { cmd: 'suback' }>;
    expect(suback.granted).toHaveLength(N + 1);
    expect(suback.granted[N]).toBe(1);
  });

  it('several big SUBSCRIBEs in one write get their SUBACKs in order, and the connection closes cleanly after', async () => {
    const f = uid('many');
    const c = await connected(uid('many'));
    c.send(
      ...Array.from({ length: 8 }, (_, b): Packet => ({
        cmd: 'subscribe',
        messageId: b + 1,
        subscriptions: Array.from({ length: 2_000 }, (_, i) => ({
          topic: `${f}/${b}/${i}`,
          qos: 0 as const,
        })),
      })),
    );
    for (let b = 1; b <= 8; b++) {
      const s = await c.next('suback', 20_000);
      expect(s.messageId).toBe(b);
      expect(s.granted).toEqual(Array(2_000).fill(0));
    }
    c.send({ cmd: 'disconnect' });
    expect(await c.closedWithin(5000)).toBe(true);
  });
});

/** `n` filters `${prefix}/0` … `${prefix}/${n - 1}` (QoS 1) in one SUBSCRIBE; resolves at its SUBACK. */
async function subscribeMany(
  c: RawClient,
  prefix: string,
  n: number,
  messageId = 1,
): Promise<void> {
  c.send({
    cmd: 'subscribe',
    messageId,
    subscriptions: Array.from({ length: n }, (_, i) => ({
      topic: `${prefix}/${i}`,
      qos: 1 as const,
    })),
  });
  const suback = await c.next('suback', 30_000);
  expect(suback.granted).toEqual(Array(n).fill(1));
}

/** The PUBLISHes `c` received, but for copiesOf's. */
const received = (c: RawClient): string[] =>
  c
    .publishes()
    .map((p) => String(p.payload))
    .filter((p) => p !== 'count');

/** How many client copies a QoS 0 publish to `topic` makes now (messages_out before/after). */
async function copiesOf(topic: string): Promise<number> {
  const before = broker.metrics().messages_out;
  await broker.publish({ topic, payload: Buffer.from('count'), qos: 0 });
  return broker.metrics().messages_out - before;
}

/** Resolves once a publish to `topic` makes `n` copies (a closed client's entries removed). */
async function untilCopies(topic: string, n: number): Promise<void> {
  const end = Date.now() + 20_000;
  while ((await copiesOf(topic)) !== n) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${n} copies to ${topic}`);
    await sleep(5);
  }
}

/** Resolves with the next client.disconnected event of `clientid`. */
function disconnectedEvent(clientid: string): Promise<BrokerEvent> {
  return new Promise((resolve) => {
    const off = broker.onEvent(
      (e) => {
        if (e.columns['clientid'] !== clientid) return;
        off();
        resolve(e);
      },
      { names: ['client.disconnected'] },
    );
  });
}

describe('the close of a client holding 50,000 subscriptions', () => {
  it('ends its session at once; its filters are removed afterwards while another client is served', async () => {
    const f = uid('close');
    const id = uid('closing');
    const c = await connected(id);
    await subscribeMany(c, f, N);
    expect(await copiesOf(`${f}/${N - 1}`)).toBe(1);
    const probeTopic = uid('probe');
    const probe = await connected(uid('probe'));
    probe.autoAck = true;
    probe.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: probeTopic, qos: 1 }] });
    await probe.next('suback');

    const gone = disconnectedEvent(id);
    c.socket.destroy();
    await gone;
    // The client id is free at once (Aedes used to unregister it after the last filter).
    expect(broker.clients().some((x) => x.clientid === id)).toBe(false);
    // A QoS 1 round trip of another client, now: PUBACK and the delivery back …
    probe.send({
      cmd: 'publish',
      topic: probeTopic,
      payload: 'during clean-up',
      qos: 1,
      messageId: 2,
      retain: false,
      dup: false,
    });
    await probe.next('puback');
    await waitFor(() => probe.publishes().length === 1, 'the probe message delivered back');
    // … while the closed client's last filter is still in the matcher (removed in filter order,
    // one slice per turn); handled in one turn, it would be gone by now.
    expect(await copiesOf(`${f}/${N - 1}`)).toBe(1);
    await untilCopies(`${f}/${N - 1}`, 0);
    expect(await copiesOf(`${f}/0`)).toBe(0);
    expect(await copiesOf(`${f}/${N / 2}`)).toBe(0);
  });

  it('a clean reconnect with the same client id during the clean-up keeps its own subscriptions and sees none of the old ones', async () => {
    const f = uid('again');
    const id = uid('again');
    const old = await connected(id);
    await subscribeMany(old, `${f}/old`, N);
    const pub = await connected(uid('pub'));
    const gone = disconnectedEvent(id);
    old.socket.destroy();
    await gone;

    const again = await connected(id);
    again.autoAck = true;
    // Its own subscriptions: a new filter, and one of the old client's filters (the old
    // client's removal of that filter must not take the new one with it).
    again.send({
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: [
        { topic: `${f}/new`, qos: 1 },
        { topic: `${f}/old/${N - 1}`, qos: 1 },
      ],
    });
    expect((await again.next('suback')).granted).toEqual([1, 1]);
    // Still being cleaned up: the old entry of the last filter is there besides the new one.
    expect(await copiesOf(`${f}/old/${N - 1}`)).toBe(2);
    let mid = 1;
    const send = async (topic: string, payload: string): Promise<void> => {
      pub.send({
        cmd: 'publish',
        topic,
        payload,
        qos: 1,
        messageId: mid++,
        retain: false,
        dup: false,
      });
      await pub.next('puback');
    };
    await send(`${f}/old/0`, 'old filter only');
    await send(`${f}/new`, 'new filter');
    await send(`${f}/old/${N - 1}`, 'both');
    await waitFor(() => received(again).length === 2, 'two messages to the reconnected client');
    await untilCopies(`${f}/old/${N - 1}`, 1);
    await send(`${f}/old/${N - 1}`, 'after the clean-up');
    await send(`${f}/new`, 'new again');
    await waitFor(() => received(again).length === 4, 'four messages to the reconnected client');
    await sleep(50);
    expect(received(again)).toEqual(['new filter', 'both', 'after the clean-up', 'new again']);
    // The old client's late clean-up did not unregister the new connection.
    expect(broker.clients().filter((x) => x.clientid === id)).toHaveLength(1);
    expect(again.isClosed).toBe(false);
    expect(await copiesOf(`${f}/old/0`)).toBe(0);
  });

  it('a persistent session reconnecting during the clean-up gets its stored subscriptions back, once', async () => {
    const f = uid('persist');
    const id = uid('persist');
    const old = await connected(id, false);
    await subscribeMany(old, f, N);
    const gone = disconnectedEvent(id);
    old.socket.destroy();
    await gone;

    const r = await RawClient.open(port, 4);
    raws.push(r);
    r.autoAck = true;
    r.send({ ...connectPacket(id), clean: false } as Packet);
    const connack = await r.next('connack', 30_000);
    expect(connack.returnCode).toBe(0);
    expect(connack.sessionPresent).toBe(true);
    // The restored subscriptions are the new connection's; the old client's entries go.
    await untilCopies(`${f}/${N - 1}`, 1);
    expect(await copiesOf(`${f}/0`)).toBe(1);
    const pub = await connected(uid('pub'));
    pub.send({
      cmd: 'publish',
      topic: `${f}/7`,
      payload: 'restored',
      qos: 1,
      messageId: 1,
      retain: false,
      dup: false,
    });
    await pub.next('puback');
    await waitFor(() => received(r).length === 1, 'the message through a restored filter');
    expect(received(r)).toEqual(['restored']);
    expect(broker.clients().filter((x) => x.clientid === id)).toHaveLength(1);
  });
});

describe('a 50,000-filter UNSUBSCRIBE', () => {
  it('is answered with every code in order, and the packets after it are handled after it', async () => {
    const f = uid('unsub');
    const c = await connected(uid('unsub'));
    c.autoAck = true;
    await subscribeMany(c, f, N);
    // One write: UNSUBSCRIBE of all N filters plus one never subscribed, then a SUBSCRIBE of
    // filter 0 again and a PUBLISH to it. Handled out of order, the re-subscription would be
    // removed by the UNSUBSCRIBE's later slices or the message find no subscription.
    c.send(
      {
        cmd: 'unsubscribe',
        messageId: 2,
        unsubscriptions: [...Array.from({ length: N }, (_, i) => `${f}/${i}`), `${f}/never`],
      },
      { cmd: 'subscribe', messageId: 3, subscriptions: [{ topic: `${f}/${N - 1}`, qos: 1 }] },
      {
        cmd: 'publish',
        topic: `${f}/${N - 1}`,
        payload: 'resubscribed',
        qos: 1,
        messageId: 4,
        retain: false,
        dup: false,
      },
    );
    await c.next('unsuback', 30_000);
    expect((await c.next('suback')).granted).toEqual([1]);
    await waitFor(() => c.publishes().length === 1, 'the message through the re-subscription');
    expect(String(c.publishes()[0]!.payload)).toBe('resubscribed');
    const order = c.log.map(
      (p) => `${p.cmd}${'messageId' in p && p.messageId !== undefined ? `:${p.messageId}` : ''}`,
    );
    expect(order.indexOf('unsuback:2')).toBeGreaterThan(0);
    expect(order.indexOf('suback:3')).toBeGreaterThan(order.indexOf('unsuback:2'));
    expect(order.indexOf('puback:4')).toBeGreaterThan(order.indexOf('unsuback:2'));
    expect(await copiesOf(`${f}/0`)).toBe(0);
    expect(await copiesOf(`${f}/${N - 2}`)).toBe(0);
    expect(await copiesOf(`${f}/${N - 1}`)).toBe(1);
  });

  it('MQTT 5: UNSUBACK reason codes in filter order (0x00 held, 0x11 not)', async () => {
    const f = uid('unsub5');
    const r = await RawClient.open(port, 5);
    raws.push(r);
    r.send(connectPacket(uid('unsub5'), 5));
    expect((await r.next('connack')).reasonCode).toBe(0);
    await subscribeMany(r, f, 2_000);
    const filters = Array.from({ length: 3_000 }, (_, i) =>
      i % 3 === 2 ? `${f}/none/${i}` : `${f}/${Math.floor(i / 3) * 2 + (i % 3)}`,
    );
    r.send({ cmd: 'unsubscribe', messageId: 2, unsubscriptions: filters });
    const unsuback = (await r.next('unsuback', 30_000)) as unknown as { granted: number[] };
    expect(unsuback.granted).toEqual(filters.map((t) => (t.includes('/none/') ? 0x11 : 0x00)));
  });
});
