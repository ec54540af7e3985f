/**
 * A SUBSCRIBE with 50,000 filters over TCP (issue #19; decision 0017, src/broker/subscribe-slices.ts):
 * it is handled in slices while other clients are served, its SUBACK carries every code in
 * filter order, its retained messages come after the SUBACK in filter order, and the packets its
 * client sent after it are handled after it. Not timed: the assertions are on the order in which
 * packets arrive.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Packet } from 'mqtt-packet';
import { silentLogger } from '../../src/core/index.js';
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

async function connected(id: string): Promise<RawClient> {
  const r = await RawClient.open(port, 4);
  raws.push(r);
  r.send(connectPacket(id));
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
