/**
 * Per-listener limits over real TCP sockets on 127.0.0.1 (port 0): max_packet_size,
 * max_connections, max_topic_levels, max_subscriptions, idle_timeout, messages_rate,
 * max_conn_rate, max_mqueue_len, max_inflight. Each refusal is counted in
 * broker.metrics(). The memory case replays issue #11: four authenticated clients announce
 * 200 MB PUBLISHes and send them slowly; with the default 1 MB limit each is disconnected on
 * its fixed header and the process RSS stays within +50 MB (it grew by ~840 MB before).
 */
import net from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import {
  generate,
  parser,
  type IPublishPacket,
  type ISubackPacket,
  type Packet,
} from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger, type BrokerEvent } from '../../src/core/index.js';
import { createBroker, type Broker, type BrokerConfigInput } from '../../src/broker/index.js';

const brokers: Broker[] = [];
const sockets: net.Socket[] = [];
const clients: MqttClient[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  await Promise.all(brokers.splice(0).map((b) => b.stop()));
});

type TcpListener = NonNullable<BrokerConfigInput['listeners']>[string];

async function start(
  listener: Partial<TcpListener> = {},
): Promise<{ broker: Broker; port: number }> {
  const broker = createBroker(
    { logger: silentLogger },
    { listeners: { tcp: { type: 'tcp', bind: '127.0.0.1', port: 0, ...listener } } },
  );
  brokers.push(broker);
  const [addr] = await broker.start();
  return { broker, port: addr!.port };
}

/** A raw TCP socket; `closed` resolves when the broker closes it. */
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

const connectBytes = (clientId: string) =>
  generate({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    clean: true,
    clientId,
    keepalive: 0,
  });

/** Fixed header of a QoS 0 PUBLISH to `t` whose Remaining Length announces `payload` bytes. */
function publishHeader(topic: string, payload: number): Buffer {
  const remaining = 2 + Buffer.byteLength(topic) + payload;
  const len: number[] = [];
  let n = remaining;
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    len.push(b);
  } while (n > 0);
  const t = Buffer.from(topic);
  return Buffer.concat([Buffer.from([0x30, ...len, t.length >> 8, t.length & 0xff]), t]);
}

/** Resolves true when `p` settles within `ms`. */
const within = (p: Promise<unknown>, ms: number) =>
  Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);

/** SUBSCRIBE over a raw socket (mqtt.js rejects a SUBACK with 0x80); resolves the granted codes. */
async function rawSubscribe(port: number, clientId: string) {
  const c = await raw(port);
  const p = parser();
  const packets: Packet[] = [];
  c.s.on('data', (b) => p.parse(b));
  p.on('packet', (x: Packet) => packets.push(x));
  c.s.write(connectBytes(clientId));
  await expect.poll(() => packets.some((x) => x.cmd === 'connack')).toBe(true);
  let id = 0;
  const subscribe = async (topics: string[], qos: 0 | 1 = 0) => {
    const messageId = ++id;
    c.s.write(
      generate({
        cmd: 'subscribe',
        messageId,
        subscriptions: topics.map((topic) => ({ topic, qos })),
      }),
    );
    await expect
      .poll(() => packets.some((x) => x.cmd === 'suback' && x.messageId === messageId))
      .toBe(true);
    return (packets.find((x) => x.cmd === 'suback' && x.messageId === messageId) as ISubackPacket)
      .granted;
  };
  const unsubscribe = async (topic: string) => {
    const messageId = ++id;
    c.s.write(generate({ cmd: 'unsubscribe', messageId, unsubscriptions: [topic] }));
    await expect
      .poll(() => packets.some((x) => x.cmd === 'unsuback' && x.messageId === messageId))
      .toBe(true);
  };
  return { ...c, subscribe, unsubscribe };
}

const url = (port: number) => `mqtt://127.0.0.1:${port}`;
async function client(port: number, clientId: string): Promise<MqttClient> {
  const c = await mqtt.connectAsync(url(port), {
    clientId,
    reconnectPeriod: 0,
    connectTimeout: 5000,
  });
  clients.push(c);
  return c;
}

describe('broker limits (per listener)', () => {
  it('max_packet_size: a PUBLISH up to the limit passes, a larger one closes the connection', async () => {
    const { broker, port } = await start({ max_packet_size: 1024 });
    const sub = await client(port, 'sizes-sub');
    await sub.subscribeAsync('big/#');
    const got: number[] = [];
    sub.on('message', (_t, p) => got.push(p.length));
    const pub = await client(port, 'sizes-pub');
    // 1024 bytes in all: fixed header 3 + topic (2 + 5) + payload 1014.
    await pub.publishAsync('big/1', Buffer.alloc(1014));
    await expect.poll(() => got).toEqual([1014]);
    const reasons: unknown[] = [];
    broker.onEvent((e) => reasons.push(e.columns['reason']), { names: ['client.disconnected'] });
    const closed = new Promise<void>((r) => pub.once('close', () => r()));
    pub.publish('big/1', Buffer.alloc(1015));
    await closed;
    expect(broker.metrics().refused_packet_too_large).toBe(1);
    await expect.poll(() => reasons).toEqual(['frame_too_large']);
    expect(got).toEqual([1014]);
  });

  it('max_packet_size applies before CONNECT too (an oversized CONNECT header closes the socket)', async () => {
    const { broker, port } = await start({ max_packet_size: '1KB' });
    const c = await raw(port);
    c.s.write(Buffer.from([0x10, 0x80, 0x80, 0x40])); // CONNECT announcing 1 MB
    expect(await within(c.closed, 2000)).toBe(true);
    expect(broker.metrics().refused_packet_too_large).toBe(1);
  });

  it('max_connections: the socket past the limit is closed at accept; a slot frees on close', async () => {
    const { broker, port } = await start({ max_connections: 2 });
    const a = await raw(port);
    const b = await raw(port);
    const c = await raw(port);
    expect(await within(c.closed, 2000)).toBe(true);
    expect(broker.metrics().refused_max_connections).toBe(1);
    // The two admitted sockets still work.
    a.s.write(connectBytes('mc-a'));
    await expect.poll(() => a.data.length).toBeGreaterThan(0);
    expect(a.data[0]![0]).toBe(0x20); // CONNACK
    b.s.destroy();
    await b.closed;
    await new Promise((r) => setTimeout(r, 50));
    const d = await raw(port);
    d.s.write(connectBytes('mc-d'));
    await expect.poll(() => d.data.length).toBeGreaterThan(0);
    expect(broker.metrics().refused_max_connections).toBe(1);
  });

  it('max_topic_levels: a deeper filter gets SUBACK 0x80, a deeper PUBLISH closes the connection', async () => {
    const { broker, port } = await start({ max_topic_levels: 3 });
    const r = await rawSubscribe(port, 'levels-sub');
    expect(await r.subscribe(['a/b/c', 'a/b/c/d'])).toEqual([0, 128]);
    const c = await client(port, 'levels');
    await c.publishAsync('a/b/c', 'ok');
    const closed = new Promise<void>((r) => c.once('close', () => r()));
    c.publish('a/b/c/d', 'too deep');
    await closed;
    expect(broker.metrics().refused_topic_levels).toBe(2);
  });

  it('max_subscriptions: the filter past the limit gets 0x80; resubscribing or after unsubscribe is fine', async () => {
    const { broker, port } = await start({ max_subscriptions: 2 });
    const c = await rawSubscribe(port, 'subs');
    expect(await c.subscribe(['s/1', 's/2', 's/3'])).toEqual([0, 0, 128]);
    expect(await c.subscribe(['s/2'], 1)).toEqual([1]);
    await c.unsubscribe('s/1');
    expect(await c.subscribe(['s/3'])).toEqual([0]);
    expect(broker.metrics().refused_max_subscriptions).toBe(1);
  });

  it('idle_timeout: a socket that never sends CONNECT, or dribbles it, is closed', async () => {
    const { broker, port } = await start({ idle_timeout: '300ms' });
    const silent = await raw(port);
    const slow = await raw(port);
    const bytes = connectBytes('dribble');
    slow.s.write(bytes.subarray(0, 3)); // a partial CONNECT is not a CONNECT
    const t0 = Date.now();
    expect(await within(Promise.all([silent.closed, slow.closed]), 3000)).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(200);
    expect(broker.metrics().refused_idle_timeout).toBe(2);
    // A client that connects in time is unaffected.
    const ok = await client(port, 'in-time');
    await new Promise((r) => setTimeout(r, 500));
    expect(ok.connected).toBe(true);
  });

  it('memory: four clients announcing 200 MB PUBLISHes and sending slowly are closed; RSS within +50 MB', async () => {
    const { broker, port } = await start(); // default max_packet_size 1 MB
    const rss = () => process.memoryUsage().rss;
    const before = rss();
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, rss())), 20);
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const conns = await Promise.all([0, 1, 2, 3].map(() => raw(port)));
    let sent = 0;
    const timers: NodeJS.Timeout[] = [];
    try {
      for (const [i, c] of conns.entries()) {
        c.s.write(connectBytes(`hog-${i}`));
        await expect.poll(() => c.data.length).toBeGreaterThan(0); // CONNACK: authenticated client
        c.s.write(publishHeader('hog/x', 200 * 1024 * 1024));
        // Then the payload, slowly: 64 KB every 10 ms until the broker hangs up.
        timers.push(
          setInterval(() => {
            if (c.s.destroyed || !c.s.writable) return;
            c.s.write(chunk);
            sent += chunk.length;
          }, 10),
        );
      }
      expect(await within(Promise.all(conns.map((c) => c.closed)), 5000)).toBe(true);
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      timers.forEach(clearInterval);
      clearInterval(sampler);
    }
    const grew = (peak - before) / 1024 / 1024;
    console.log(
      `broker-limits memory: rss before ${(before / 2 ** 20).toFixed(1)} MB, peak +${grew.toFixed(1)} MB, payload bytes written by clients ${(sent / 2 ** 20).toFixed(2)} MB`,
    );
    expect(broker.metrics().refused_packet_too_large).toBe(4);
    expect(grew).toBeLessThan(50);
  });
});

describe('broker rate and queue limits (per listener)', () => {
  it('messages_rate: a publisher past the rate is slowed (socket reads paused), nothing is dropped', async () => {
    const { broker, port } = await start({ messages_rate: '20/s' });
    const sub = await client(port, 'rate-sub');
    await sub.subscribeAsync('rate/#', { qos: 1 });
    const got: string[] = [];
    sub.on('message', (_t, p) => got.push(p.toString()));
    const pub = await client(port, 'rate-pub');
    const t0 = Date.now();
    // Each QoS 1 PUBLISH waits for its PUBACK, so each is its own socket read: the first 20 take
    // the bucket's tokens, the next 20 come at 20/s (≥ ~1 s; a lower bound, not a timing race).
    for (let i = 0; i < 40; i++) await pub.publishAsync('rate/t', String(i), { qos: 1 });
    const elapsed = Date.now() - t0;
    await expect.poll(() => got.length).toBe(40);
    expect(got).toEqual(Array.from({ length: 40 }, (_, i) => String(i)));
    expect(elapsed).toBeGreaterThanOrEqual(800);
    expect(broker.metrics().limited_messages_rate).toBeGreaterThan(0);
    expect(broker.metrics().messages_dropped).toBe(0);
  });

  it('messages_rate: a burst read at once is handled, then the socket waits until the debt is paid', async () => {
    const { broker, port } = await start({ messages_rate: '100/s' });
    const c = await raw(port);
    const p = parser();
    const acks: number[] = [];
    c.s.on('data', (b) => p.parse(b));
    p.on('packet', (x: Packet) => {
      if (x.cmd === 'puback') acks.push(Date.now());
    });
    c.s.write(connectBytes('burst'));
    await expect.poll(() => broker.metrics().connections).toBe(1);
    // 300 QoS 0 PUBLISHes in one write (one read): 200 more than the bucket holds.
    const one = generate({
      cmd: 'publish',
      topic: 'b',
      payload: 'x',
      qos: 0,
      retain: false,
      dup: false,
    });
    c.s.write(Buffer.concat(Array.from({ length: 300 }, () => one)));
    await expect.poll(() => broker.metrics().messages_in).toBe(300);
    const t0 = Date.now();
    c.s.write(
      generate({
        cmd: 'publish',
        topic: 'b',
        payload: 'y',
        qos: 1,
        messageId: 1,
        retain: false,
        dup: false,
      }),
    );
    await expect.poll(() => acks.length, { timeout: 10_000 }).toBe(1);
    // The debt of ~200 tokens at 100/s: the next read waits about 2 s.
    expect(acks[0]! - t0).toBeGreaterThanOrEqual(1500);
    expect(broker.metrics().messages_in).toBe(301);
  });

  it('max_conn_rate: connections past the rate wait (none refused) and are taken in at the rate', async () => {
    const { broker, port } = await start({ max_conn_rate: '2/s' });
    const t0 = Date.now();
    const cs = await Promise.all(
      Array.from({ length: 6 }, (_, i) => client(port, `conn-rate-${i}`)),
    );
    const elapsed = Date.now() - t0;
    expect(cs.every((c) => c.connected)).toBe(true);
    // 2 at once (the bucket), then 4 more at 2/s: ≥ ~2 s.
    expect(elapsed).toBeGreaterThanOrEqual(1500);
    expect(broker.metrics().limited_conn_rate).toBe(4);
    expect(broker.metrics().connections_refused).toBe(0);
  });

  it('max_mqueue_len: an offline session keeps the newest messages; the oldest are dropped (delivery.dropped queue_full)', async () => {
    const { broker, port } = await start({ max_mqueue_len: 5 });
    const events: BrokerEvent[] = [];
    broker.onEvent((e) => events.push(e), { names: ['delivery.dropped'] });
    const opts = { clientId: 'mq-sub', clean: false, reconnectPeriod: 0, connectTimeout: 5000 };
    const sub = await mqtt.connectAsync(url(port), opts);
    await sub.subscribeAsync('mq/#', { qos: 1 });
    await sub.endAsync();
    const pub = await client(port, 'mq-pub');
    for (let i = 0; i < 8; i++) await pub.publishAsync('mq/t', String(i), { qos: 1 });
    await expect.poll(() => broker.metrics().dropped_queue_full).toBe(3);
    expect(
      events.map((e) => [e.columns['reason'], e.columns['clientid'], String(e.columns['payload'])]),
    ).toEqual([
      ['queue_full', 'mq-sub', '0'],
      ['queue_full', 'mq-sub', '1'],
      ['queue_full', 'mq-sub', '2'],
    ]);
    // EMQX's delivery.dropped columns: message.delivered's, plus reason.
    expect(Object.keys(events[0]!.columns).sort()).toEqual(
      [
        'id',
        'reason',
        'from_clientid',
        'from_username',
        'clientid',
        'username',
        'payload',
        'peerhost',
        'peername',
        'topic',
        'qos',
        'flags',
        'pub_props',
        'publish_received_at',
        'event',
        'timestamp',
        'node',
      ].sort(),
    );
    expect(events[0]!.columns['event']).toBe('delivery.dropped');
    expect(events[0]!.columns['topic']).toBe('mq/t');
    expect(Object.isFrozen(events[0]!.columns)).toBe(true);
    const got: string[] = [];
    const back = mqtt.connect(url(port), opts);
    clients.push(back);
    back.on('message', (_t, p) => got.push(p.toString()));
    await expect.poll(() => got).toEqual(['3', '4', '5', '6', '7']);
    await new Promise((r) => setTimeout(r, 200));
    expect(got).toEqual(['3', '4', '5', '6', '7']);
  });

  it('max_mqueue_len 0 is unlimited; rates reject a malformed value at config time', async () => {
    const { broker, port } = await start({ max_mqueue_len: 0 });
    const opts = { clientId: 'mq0-sub', clean: false, reconnectPeriod: 0, connectTimeout: 5000 };
    const sub = await mqtt.connectAsync(url(port), opts);
    await sub.subscribeAsync('mq0/#', { qos: 1 });
    await sub.endAsync();
    const pub = await client(port, 'mq0-pub');
    for (let i = 0; i < 1200; i++) void pub.publish('mq0/t', String(i), { qos: 1 });
    await pub.publishAsync('mq0/t', 'last', { qos: 1 });
    const got: string[] = [];
    const back = mqtt.connect(url(port), opts);
    clients.push(back);
    back.on('message', (_t, p) => got.push(p.toString()));
    await expect.poll(() => got.length, { timeout: 20_000 }).toBe(1201);
    expect(broker.metrics().dropped_queue_full).toBe(0);
    expect(() =>
      createBroker(
        { logger: silentLogger },
        { listeners: { t: { type: 'tcp', messages_rate: '10 per s' } } },
      ),
    ).toThrow(/messages_rate/);
  });
});

/** A raw subscriber that acknowledges only when told to. */
async function rawSubscriber(port: number, clientId: string, filter: string) {
  const c = await raw(port);
  const p = parser();
  const publishes: IPublishPacket[] = [];
  let subacked = false;
  c.s.on('data', (b) => p.parse(b));
  p.on('packet', (x: Packet) => {
    if (x.cmd === 'publish') publishes.push(x);
    if (x.cmd === 'suback') subacked = true;
  });
  c.s.write(connectBytes(clientId));
  c.s.write(
    generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: filter, qos: 1 }] }),
  );
  await expect.poll(() => subacked).toBe(true);
  const payloads = () => publishes.map((x) => x.payload.toString());
  const ack = (i: number) =>
    c.s.write(generate({ cmd: 'puback', messageId: publishes[i]!.messageId! }));
  return { ...c, publishes, payloads, ack };
}

const settle = () => new Promise((r) => setTimeout(r, 150));

describe('broker max_inflight (per listener)', () => {
  it('max_inflight: at most N unacknowledged QoS 1 copies; each PUBACK releases the next, in order', async () => {
    const { broker, port } = await start({ max_inflight: 5 });
    const sub = await rawSubscriber(port, 'win-sub', 'win/#');
    const pub = await client(port, 'win-pub');
    for (let i = 0; i < 12; i++) await pub.publishAsync('win/t', String(i), { qos: 1 });
    await expect.poll(() => sub.publishes.length).toBe(5);
    await settle();
    expect(sub.payloads()).toEqual(['0', '1', '2', '3', '4']);
    sub.ack(0);
    await expect.poll(() => sub.publishes.length).toBe(6);
    await settle();
    expect(sub.publishes.length).toBe(6);
    for (let i = 1; i < 6; i++) sub.ack(i);
    await expect.poll(() => sub.publishes.length).toBe(11);
    for (let i = 6; i < 11; i++) sub.ack(i);
    await expect
      .poll(() => sub.payloads())
      .toEqual(Array.from({ length: 12 }, (_, i) => String(i)));
    expect(broker.metrics().dropped_queue_full).toBe(0);
    // Held copies are deliveries: none is reported as message.dropped no_subscribers.
    expect(broker.metrics().messages_dropped).toBe(0);
  });

  it('max_inflight with max_mqueue_len: past the queue the oldest waiting copy is dropped (delivery.dropped queue_full)', async () => {
    const { broker, port } = await start({ max_inflight: 2, max_mqueue_len: 3 });
    const events: BrokerEvent[] = [];
    broker.onEvent((e) => events.push(e), { names: ['delivery.dropped'] });
    const sub = await rawSubscriber(port, 'winq-sub', 'winq/#');
    const pub = await client(port, 'winq-pub');
    for (let i = 0; i < 10; i++) await pub.publishAsync('winq/t', String(i), { qos: 1 });
    await expect.poll(() => broker.metrics().dropped_queue_full).toBe(5);
    expect(events.map((e) => String(e.columns['payload']))).toEqual(['2', '3', '4', '5', '6']);
    expect(events.every((e) => e.columns['reason'] === 'queue_full')).toBe(true);
    expect(events[0]!.columns['clientid']).toBe('winq-sub');
    sub.ack(0);
    sub.ack(1);
    await expect.poll(() => sub.publishes.length).toBe(4);
    sub.ack(2);
    await expect.poll(() => sub.payloads()).toEqual(['0', '1', '7', '8', '9']);
  });

  it('max_inflight: an mqtt.js subscriber gets 300 QoS 1 messages in order through a window of 4', async () => {
    const { port } = await start({ max_inflight: 4 });
    const sub = await client(port, 'win4-sub');
    await sub.subscribeAsync('w4/#', { qos: 1 });
    const got: string[] = [];
    sub.on('message', (_t, p) => got.push(p.toString()));
    const pub = await client(port, 'win4-pub');
    await Promise.all(
      Array.from({ length: 300 }, (_, i) => pub.publishAsync('w4/t', String(i), { qos: 1 })),
    );
    await expect.poll(() => got.length, { timeout: 20_000 }).toBe(300);
    expect(got).toEqual(Array.from({ length: 300 }, (_, i) => String(i)));
  });

  it('max_inflight with a shared subscription: copies waiting for a member that leaves go to another member', async () => {
    const { broker, port } = await start({ max_inflight: 2 });
    const silent = await rawSubscriber(port, 'wins-silent', '$share/g/ws');
    const b = await client(port, 'wins-b');
    await b.subscribeAsync('$share/g/ws', { qos: 1 });
    const got: string[] = [];
    b.on('message', (_t, p) => got.push(p.toString()));
    const pub = await client(port, 'wins-pub');
    for (let i = 0; i < 10; i++) await pub.publishAsync('ws', String(i), { qos: 1 });
    await expect.poll(() => got.length).toBe(5);
    expect(silent.publishes.length).toBe(2); // 2 in flight, 3 waiting
    silent.s.destroy();
    await silent.closed;
    await expect.poll(() => got.length).toBe(10);
    expect([...got].sort((x, y) => Number(x) - Number(y))).toEqual(
      Array.from({ length: 10 }, (_, i) => String(i)),
    );
    expect(broker.metrics().shared_redispatched).toBe(5);
  });
});
