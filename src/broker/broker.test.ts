/**
 * Broker unit tests over in-memory duplex streams, as Aedes tests itself (its test/helper.js):
 * raw MQTT 3.1.1 packets (mqtt-packet generate / parser) go through a pair of `Duplex` ends
 * wired back to back into `createBrokerInternals(...).connect`, the same entry a listener uses.
 * No socket is opened (`listeners: {}`), so these run in the unit project without TCP, ports or
 * the Kafka / KDC global setup. Real-socket behaviour (TLS, WebSocket, keepalive timers) stays
 * in test/integration/broker.test.ts.
 */
import type { Duplex } from 'node:stream';
import { generate, parser, type IConnectPacket, type Packet } from 'mqtt-packet';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { silentLogger, type BrokerEvent, type EventName } from '../core/index.js';
import { createBrokerInternals } from './broker.js';
import type { BrokerConfigInput } from './config.js';
import type { ConnMeta } from './listeners.js';
import { hashPassword } from './password.js';
import type { Broker } from './types.js';
import { memoryPipe } from '../../test/memory-pipe.js';

const NOW = 1_700_000_000_000;
const NODE = 'sluice@unit';

/** The client end of a connection: sends packets, collects what the broker writes back. */
class TestClient {
  private readonly inbox: Packet[] = [];
  private readonly waiting: { cmd: Packet['cmd']; resolve: (p: Packet) => void }[] = [];
  readonly closed: Promise<void>;

  constructor(
    readonly stream: Duplex,
    private readonly protocolVersion: 4 | 5 = 4,
  ) {
    const p = parser({ protocolVersion });
    p.on('packet', (packet: Packet) => {
      const i = this.waiting.findIndex((w) => w.cmd === packet.cmd);
      if (i >= 0) this.waiting.splice(i, 1)[0]!.resolve(packet);
      else this.inbox.push(packet);
    });
    stream.on('data', (b: Buffer) => p.parse(b));
    this.closed = new Promise((resolve) => stream.once('close', () => resolve()));
  }

  /** Write the packets in one chunk (so the broker reads them in one batch). */
  send(...packets: Packet[]): void {
    const opts = { protocolVersion: this.protocolVersion };
    this.stream.write(Buffer.concat(packets.map((p) => generate(p, opts))));
  }

  /** The next packet of kind `cmd` the broker sent (waits up to 2 s). */
  next<C extends Packet['cmd']>(cmd: C): Promise<Extract<Packet, { cmd: C }>> {
    const i = this.inbox.findIndex((p) => p.cmd === cmd);
    if (i >= 0) return Promise.resolve(this.inbox.splice(i, 1)[0] as Extract<Packet, { cmd: C }>);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${cmd} within 2 s`)), 2000);
      this.waiting.push({
        cmd,
        resolve: (p) => {
          clearTimeout(timer);
          resolve(p as Extract<Packet, { cmd: C }>);
        },
      });
    });
  }

  /** Packets of kind `cmd` received and not yet taken by `next`. */
  pending(cmd: Packet['cmd']): Packet[] {
    return this.inbox.filter((p) => p.cmd === cmd);
  }
}

const started: Broker[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((b) => b.stop()));
});

/** A started broker with no listeners, an event log and in-memory clients. */
async function harness(config: BrokerConfigInput = {}) {
  const { broker, connect, matcher } = createBrokerInternals(
    { logger: silentLogger, now: () => NOW, node: NODE },
    { listeners: {}, ...config },
  );
  started.push(broker);
  const addresses = await broker.start();
  const events: BrokerEvent[] = [];
  broker.onEvent((e) => events.push(e));
  let port = 50_000;

  const open = (protocolVersion: 4 | 5 = 4): TestClient => {
    const [client, server] = memoryPipe();
    const meta: ConnMeta = {
      listener: 'memory',
      transport: 'tcp',
      peerhost: '127.0.0.1',
      peerport: port++,
      sockhost: '127.0.0.1',
      sockport: 1883,
    };
    connect(server, meta);
    return new TestClient(client, protocolVersion);
  };

  const connectClient = async (clientId: string, extra: Partial<IConnectPacket> = {}) => {
    const client = open(extra.protocolVersion === 5 ? 5 : 4);
    client.send({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clean: true,
      clientId,
      keepalive: 0,
      ...extra,
    });
    const connack = await client.next('connack');
    return { client, connack };
  };

  const of = (name: EventName) => events.filter((e) => e.name === name).map((e) => e.columns);
  return { broker, addresses, events, open, connectClient, of, matcher };
}

/**
 * Counts the scans of the Aedes client's filters (`for…in` over `client.subscriptions`) behind
 * the delivery functions `topic` matches.
 */
function countScans(matched: unknown[]): { scans: number } {
  const counter = { scans: 0 };
  for (const l of matched as { client?: { subscriptions: object } }[]) {
    const c = l.client;
    if (!c || (c.subscriptions as { [SCANNED]?: true })[SCANNED]) continue;
    c.subscriptions = new Proxy(c.subscriptions, {
      ownKeys(target) {
        counter.scans++;
        return Reflect.ownKeys(target);
      },
      get(target, key) {
        return key === SCANNED ? true : Reflect.get(target, key);
      },
    });
  }
  return counter;
}
const SCANNED = Symbol('scanned');

const publish = (topic: string, payload: string, qos: 0 | 1 = 0, messageId?: number): Packet => ({
  cmd: 'publish',
  topic,
  payload: Buffer.from(payload),
  qos,
  retain: false,
  dup: false,
  ...(messageId === undefined ? {} : { messageId }),
});

describe('broker over in-memory streams', () => {
  it('starts with no listeners and accepts a CONNECT (CONNACK 0, connack/connected events)', async () => {
    const h = await harness();
    expect(h.addresses).toEqual([]);
    const { connack } = await h.connectClient('c1', { username: 'u1' });
    expect(connack.returnCode).toBe(0);
    await vi.waitFor(() => expect(h.of('client.connected')).toHaveLength(1));
    expect(h.of('client.connack')[0]).toMatchObject({
      reason_code: 'success',
      clientid: 'c1',
      username: 'u1',
      peername: '127.0.0.1:50000',
      sockname: '127.0.0.1:1883',
      proto_name: 'MQTT',
      proto_ver: 4,
      clean_start: true,
      connected_at: NOW,
      node: NODE,
    });
    expect(h.of('client.connected')[0]).toMatchObject({ clientid: 'c1', keepalive: 0 });
    expect(h.broker.metrics()).toMatchObject({ connections: 1, connections_total: 1 });
  });

  describe('credentials from broker.users', () => {
    const users = [{ username: 'alice', password_hash: hashPassword('secret', { N: 1024 }) }];

    it('accepts the right password and refuses a wrong one with CONNACK 4', async () => {
      const h = await harness({ users, allow_anonymous: false });
      expect(
        (await h.connectClient('ok', { username: 'alice', password: Buffer.from('secret') }))
          .connack.returnCode,
      ).toBe(0);
      const bad = await h.connectClient('bad', {
        username: 'alice',
        password: Buffer.from('wrong'),
      });
      expect(bad.connack.returnCode).toBe(4);
      await bad.client.closed;
      expect(h.broker.metrics()).toMatchObject({ connections: 1, connections_refused: 1 });
      expect(h.of('client.connack').map((c) => [c['clientid'], c['reason_code']])).toEqual([
        ['ok', 'success'],
        ['bad', 'bad_username_or_password'],
      ]);
      expect(h.of('client.check_authn_complete')).toEqual([
        expect.objectContaining({ clientid: 'ok', reason_code: 'success', is_anonymous: false }),
        expect.objectContaining({ clientid: 'bad', reason_code: 'bad_username_or_password' }),
      ]);
    });

    it('refuses an anonymous client with CONNACK 5 when allow_anonymous is false', async () => {
      const h = await harness({ users, allow_anonymous: false });
      const anon = await h.connectClient('anon');
      expect(anon.connack.returnCode).toBe(5);
      await anon.client.closed;
      expect(h.of('client.connack')[0]).toMatchObject({ reason_code: 'not_authorized' });
    });
  });

  it('a QoS 0 publish reaches onEvent with its columns', async () => {
    const h = await harness();
    const { client } = await h.connectClient('pub0', { username: 'u' });
    client.send(publish('sensors/1', '{"t":21}'));
    await vi.waitFor(() => expect(h.of('message.publish')).toHaveLength(1));
    const e = h.events.find((x) => x.name === 'message.publish')!;
    expect(e.matchTopic).toBe('sensors/1');
    expect(Object.isFrozen(e) && Object.isFrozen(e.columns)).toBe(true);
    expect(e.columns).toMatchObject({
      clientid: 'pub0',
      username: 'u',
      topic: 'sensors/1',
      qos: 0,
      peerhost: '127.0.0.1',
      flags: { dup: false, retain: false },
      publish_received_at: NOW,
      timestamp: NOW,
      event: 'message.publish',
      node: NODE,
    });
    expect(e.columns['id']).toMatch(/^[0-9a-f]{32}$/);
    expect((e.columns['payload'] as Buffer).toString()).toBe('{"t":21}');
    expect(h.broker.metrics().messages_in).toBe(1);
  });

  it('a QoS 1 publish is acknowledged with PUBACK and raises message.publish at qos 1', async () => {
    const h = await harness();
    const { client } = await h.connectClient('pub1');
    client.send(publish('sensors/2', 'x', 1, 42));
    const puback = await client.next('puback');
    expect(puback.messageId).toBe(42);
    await vi.waitFor(() => expect(h.of('message.publish')).toHaveLength(1));
    expect(h.of('message.publish')[0]).toMatchObject({
      clientid: 'pub1',
      topic: 'sensors/2',
      qos: 1,
    });
  });

  it('a message with no subscriber raises message.dropped no_subscribers (same id)', async () => {
    const h = await harness();
    const { client } = await h.connectClient('lonely');
    client.send(publish('nobody/listens', 'p'));
    await vi.waitFor(() => expect(h.of('message.dropped')).toHaveLength(1));
    const [pub] = h.of('message.publish');
    expect(h.of('message.dropped')[0]).toMatchObject({
      id: pub!['id'],
      reason: 'no_subscribers',
      clientid: 'lonely',
      topic: 'nobody/listens',
      qos: 0,
      event: 'message.dropped',
    });
    expect(h.broker.metrics()).toMatchObject({ messages_in: 1, messages_dropped: 1 });
  });

  it('subscribe, delivery, PUBACK from the subscriber → subscribed, delivered and acked', async () => {
    const h = await harness();
    const sub = (await h.connectClient('sub')).client;
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'room/+', qos: 1 }] });
    expect((await sub.next('suback')).granted).toEqual([1]);
    expect(h.of('session.subscribed')[0]).toMatchObject({
      clientid: 'sub',
      topic: 'room/+',
      qos: 1,
    });

    const pub = (await h.connectClient('pub')).client;
    pub.send(publish('room/7', 'hello', 1, 9));
    await pub.next('puback');
    const got = await sub.next('publish');
    expect(got).toMatchObject({ topic: 'room/7', qos: 1 });
    expect(got.payload.toString()).toBe('hello');
    await vi.waitFor(() => expect(h.of('message.delivered')).toHaveLength(1));
    const [published] = h.of('message.publish');
    expect(h.of('message.delivered')[0]).toMatchObject({
      id: published!['id'],
      from_clientid: 'pub',
      clientid: 'sub',
      topic: 'room/7',
      qos: 1,
    });

    sub.send({ cmd: 'puback', messageId: got.messageId! });
    await vi.waitFor(() => expect(h.of('message.acked')).toHaveLength(1));
    expect(h.of('message.acked')[0]).toMatchObject({
      id: published!['id'],
      clientid: 'sub',
      event: 'message.acked',
    });
    expect(h.of('message.dropped')).toEqual([]);
    expect(h.broker.metrics()).toMatchObject({
      messages_in: 1,
      messages_out: 1,
      messages_acked: 1,
      messages_dropped: 0,
    });

    sub.send({ cmd: 'unsubscribe', messageId: 2, unsubscriptions: ['room/+'] });
    await sub.next('unsuback');
    expect(h.of('session.unsubscribed')[0]).toMatchObject({ topic: 'room/+', qos: 1 });
  });

  it('pauseClient holds a client’s publishes; resumeClient releases them in order', async () => {
    const h = await harness();
    const sub = (await h.connectClient('sub')).client;
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'seq/#', qos: 0 }] });
    await sub.next('suback');
    const pub = (await h.connectClient('slow')).client;

    expect(h.broker.pauseClient('slow')).toBe(true);
    expect(h.broker.pauseClient('slow')).toBe(true); // idempotent
    expect(h.broker.pauseClient('nobody')).toBe(false);
    pub.send(publish('seq/a', '1'), publish('seq/a', '2'), publish('seq/a', '3'));
    await vi.waitFor(() => expect(h.broker.metrics().publishes_held).toBe(3));
    expect(h.broker.metrics().clients_paused).toBe(1);
    expect(h.of('message.publish')).toEqual([]);
    expect(sub.pending('publish')).toEqual([]);

    h.broker.resumeClient('slow');
    const order = [await sub.next('publish'), await sub.next('publish'), await sub.next('publish')];
    expect(order.map((p) => p.payload.toString())).toEqual(['1', '2', '3']);
    expect(h.of('message.publish').map((c) => (c['payload'] as Buffer).toString())).toEqual([
      '1',
      '2',
      '3',
    ]);
    expect(h.broker.metrics()).toMatchObject({ clients_paused: 0, publishes_held: 0 });

    // The socket is read again: a later publish goes straight through.
    pub.send(publish('seq/a', '4'));
    expect((await sub.next('publish')).payload.toString()).toBe('4');
    h.broker.resumeClient('slow'); // idempotent
  });

  it('keeps a paused client’s held publishes after it disconnects and routes them on resume', async () => {
    const h = await harness();
    const received: string[] = [];
    await h.broker.subscribe('left/#', (m) => received.push(m.payload.toString()));
    const pub = (await h.connectClient('gone')).client;
    h.broker.pauseClient('gone');
    pub.send(publish('left/x', 'a'), publish('left/x', 'b'));
    await vi.waitFor(() => expect(h.broker.metrics().publishes_held).toBe(2));
    pub.stream.destroy();
    await vi.waitFor(() => expect(h.of('client.disconnected')).toHaveLength(1));
    expect(h.broker.metrics()).toMatchObject({ clients_paused: 0, publishes_held: 2 });
    expect(received).toEqual([]);
    h.broker.resumeClient('gone');
    await vi.waitFor(() => expect(received).toEqual(['a', 'b']));
    expect(h.broker.metrics().publishes_held).toBe(0);
  });

  describe('client.disconnected reason', () => {
    it('normal after DISCONNECT, tcp_closed when the stream closes', async () => {
      const h = await harness();
      const polite = (await h.connectClient('polite')).client;
      polite.send({ cmd: 'disconnect' });
      await polite.closed;
      const rude = (await h.connectClient('rude')).client;
      rude.stream.destroy();
      await vi.waitFor(() => expect(h.of('client.disconnected')).toHaveLength(2));
      expect(h.of('client.disconnected').map((c) => [c['clientid'], c['reason']])).toEqual([
        ['polite', 'normal'],
        ['rude', 'tcp_closed'],
      ]);
      expect(h.of('client.disconnected')[0]).toMatchObject({
        disconnected_at: NOW,
        connected_at: NOW,
        proto_name: 'MQTT',
      });
      await vi.waitFor(() => expect(h.broker.metrics().connections).toBe(0));
    });

    it('takenover for the connection a persistent session replaces, shutdown on stop', async () => {
      const h = await harness();
      const first = (await h.connectClient('dup', { clean: false })).client;
      const second = (await h.connectClient('dup', { clean: false })).client;
      await first.closed;
      await vi.waitFor(() => expect(h.of('client.disconnected')).toHaveLength(1));
      expect(h.of('client.disconnected')[0]).toMatchObject({
        clientid: 'dup',
        reason: 'takenover',
      });
      await h.broker.stop();
      await second.closed;
      expect(h.of('client.disconnected')[1]).toMatchObject({ clientid: 'dup', reason: 'shutdown' });
    });
  });

  describe('QoS of a forwarded copy [MQTT-3.8.4-6]', () => {
    /** Publish at QoS 2 and finish the exchange (Aedes routes a QoS 2 message on PUBREL). */
    const publish2 = async (c: TestClient, topic: string, payload: string, messageId: number) => {
      c.send({ ...publish(topic, payload), qos: 2, messageId } as Packet);
      await c.next('pubrec');
      c.send({ cmd: 'pubrel', messageId });
      await c.next('pubcomp');
    };

    it('[MQTT-3.8.4-6] a/# granted QoS 1 receives a QoS 2 publish at QoS 1 (delivered column agrees)', async () => {
      const h = await harness();
      const sub = (await h.connectClient('wild1')).client;
      sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a/#', qos: 1 }] });
      expect((await sub.next('suback')).granted).toEqual([1]);
      const pub = (await h.connectClient('p2')).client;
      await publish2(pub, 'a/b', 'two', 5);
      const got = await sub.next('publish');
      expect(got).toMatchObject({ topic: 'a/b', qos: 1 });
      expect(got.payload.toString()).toBe('two');
      await vi.waitFor(() => expect(h.of('message.delivered')).toHaveLength(1));
      expect(h.of('message.delivered')[0]).toMatchObject({ clientid: 'wild1', qos: 1 });
      // A QoS 1 copy is acknowledged with PUBACK (not PUBREC) and raises message.acked.
      sub.send({ cmd: 'puback', messageId: got.messageId! });
      await vi.waitFor(() => expect(h.of('message.acked')).toHaveLength(1));
    });

    it('[MQTT-3.8.4-6] a/+ granted QoS 0 receives a QoS 2 publish at QoS 0', async () => {
      const h = await harness();
      const sub = (await h.connectClient('wild0')).client;
      sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a/+', qos: 0 }] });
      expect((await sub.next('suback')).granted).toEqual([0]);
      const pub = (await h.connectClient('p2')).client;
      await publish2(pub, 'a/b', 'zero', 6);
      expect(await sub.next('publish')).toMatchObject({ topic: 'a/b', qos: 0 });
    });

    it('[MQTT-3.8.4-6] the downgrade holds with no event listener (delivery, not only columns)', async () => {
      const { broker, connect } = createBrokerInternals(
        { logger: silentLogger },
        { listeners: {} },
      );
      started.push(broker);
      await broker.start();
      const open = () => {
        const [client, server] = memoryPipe();
        connect(server, {
          listener: 'memory',
          transport: 'tcp',
          peerhost: undefined,
          peerport: undefined,
          sockhost: undefined,
          sockport: undefined,
        });
        return new TestClient(client);
      };
      const conn = async (clientId: string) => {
        const c = open();
        c.send({
          cmd: 'connect',
          protocolId: 'MQTT',
          protocolVersion: 4,
          clean: true,
          clientId,
          keepalive: 0,
        });
        await c.next('connack');
        return c;
      };
      const sub = await conn('quiet');
      sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'q/#', qos: 1 }] });
      await sub.next('suback');
      await publish2(await conn('p'), 'q/x', 'y', 7);
      expect(await sub.next('publish')).toMatchObject({ topic: 'q/x', qos: 1 });
    });

    it('[MQTT-3.3.5-1] overlapping filters: delivered at the maximum QoS of the matching subscriptions', async () => {
      const h = await harness();
      const sub = (await h.connectClient('overlap')).client;
      sub.send({
        cmd: 'subscribe',
        messageId: 1,
        subscriptions: [
          { topic: 'o/#', qos: 1 },
          { topic: 'o/+', qos: 2 },
        ],
      });
      expect((await sub.next('suback')).granted).toEqual([1, 2]);
      await publish2((await h.connectClient('p')).client, 'o/k', 'v', 8);
      expect(await sub.next('publish')).toMatchObject({ topic: 'o/k', qos: 2 });
    });

    it('[MQTT-3.3.5-1] the best grant comes from the listeners the message matched, not a scan of every filter (issue #19)', async () => {
      const h = await harness();
      const sub = (await h.connectClient('many')).client;
      // 300 filters at QoS 0 first, then one at QoS 2 and one at QoS 1 that also match g/7/x:
      // the copy delivered for the first match grants 0, so the best grant has to be found.
      const filters = Array.from({ length: 300 }, (_, i) => ({
        topic: `g/${i}/+`,
        qos: 0 as const,
      }));
      sub.send({
        cmd: 'subscribe',
        messageId: 1,
        subscriptions: [...filters, { topic: 'g/7/#', qos: 2 }, { topic: '+/7/x', qos: 1 }],
      });
      expect((await sub.next('suback')).granted).toHaveLength(302);
      const counter = countScans(h.matcher()!.match('g/7/x'));
      const pub = (await h.connectClient('p')).client;
      await publish2(pub, 'g/7/x', 'v', 8);
      expect(await sub.next('publish')).toMatchObject({ topic: 'g/7/x', qos: 2 });
      // Only g/8/+ (QoS 0) matches g/8/x.
      await publish2(pub, 'g/8/x', 'w', 9);
      expect(await sub.next('publish')).toMatchObject({ topic: 'g/8/x', qos: 0 });
      sub.send({ cmd: 'unsubscribe', messageId: 2, unsubscriptions: ['g/7/#'] });
      await sub.next('unsuback');
      await publish2(pub, 'g/7/x', 'u', 10);
      expect(await sub.next('publish')).toMatchObject({ topic: 'g/7/x', qos: 1 });
      expect(counter.scans).toBe(0);
    });

    it('[MQTT-3.3.4-4] copies the max_inflight window held carry every matching identifier, found without a scan (issue #19)', async () => {
      const h = await harness({
        listeners: { memory: { type: 'tcp', bind: '127.0.0.1', port: 0, max_inflight: 2 } },
      });
      const me = (await h.connectClient('ids', { protocolVersion: 5 })).client;
      const filters = Array.from({ length: 300 }, (_, i) => ({
        topic: `w/${i}/+`,
        qos: 1 as const,
      }));
      me.send({
        cmd: 'subscribe',
        messageId: 1,
        subscriptions: filters,
        properties: { subscriptionIdentifier: 7 },
      } as Packet);
      await me.next('suback');
      me.send({
        cmd: 'subscribe',
        messageId: 2,
        subscriptions: [{ topic: 'w/#', qos: 1 }],
        properties: { subscriptionIdentifier: 9 },
      } as Packet);
      await me.next('suback');
      const counter = countScans(h.matcher()!.match('w/1/x'));
      const pub = (await h.connectClient('p')).client;
      for (let m = 1; m <= 5; m++) pub.send({ ...publish('w/1/x', `m${m}`, 1, m) } as Packet);
      const got: Packet[] = [];
      for (let m = 1; m <= 5; m++) {
        const copy = (await me.next('publish')) as Packet & { messageId: number };
        got.push(copy);
        me.send({ cmd: 'puback', messageId: copy.messageId } as Packet); // frees a slot
      }
      expect(got.map((p) => (p as { payload: Buffer }).payload.toString())).toEqual([
        'm1',
        'm2',
        'm3',
        'm4',
        'm5',
      ]);
      for (const p of got)
        expect(
          (p as { properties?: { subscriptionIdentifier?: unknown } }).properties,
        ).toMatchObject({ subscriptionIdentifier: [7, 9] });
      expect(counter.scans).toBe(0);
    });

    it('[MQTT-3.3.5-1] [MQTT-3.8.3-3] a No Local subscription that skips the own message does not take the copy of a QoS 0 one', async () => {
      const h = await harness();
      const me = (await h.connectClient('self', { protocolVersion: 5 })).client;
      me.send({
        cmd: 'subscribe',
        messageId: 1,
        subscriptions: [
          { topic: 'n/+', qos: 0 },
          { topic: '+/b', qos: 1, nl: true },
        ],
      } as Packet);
      expect((await me.next('suback')).granted).toEqual([0, 1]);
      // Its own message: +/b (No Local) does not deliver it, n/+ does, at QoS 0.
      me.send({ ...publish('n/b', 'own', 1, 3) } as Packet);
      expect(await me.next('publish')).toMatchObject({ topic: 'n/b', qos: 0 });
      // Another client's: +/b delivers, at QoS 1.
      const other = (await h.connectClient('other')).client;
      other.send({ ...publish('n/b', 'theirs', 1, 4) } as Packet);
      expect(await me.next('publish')).toMatchObject({ topic: 'n/b', qos: 1 });
    });

    it('[MQTT-3.8.4-6] a retained QoS 1 message is sent at QoS 0 to a new r/# QoS 0 subscription', async () => {
      const h = await harness();
      const pub = (await h.connectClient('keeper')).client;
      pub.send({ ...publish('r/1', 'kept', 1, 3), retain: true } as Packet);
      await pub.next('puback');
      const sub = (await h.connectClient('late')).client;
      sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'r/#', qos: 0 }] });
      await sub.next('suback');
      expect(await sub.next('publish')).toMatchObject({ topic: 'r/1', qos: 0, retain: true });
    });
  });

  describe('zero-length client ids', () => {
    it('[MQTT-3.1.3-8] an empty client id with clean session false is refused with CONNACK 2 and closed', async () => {
      const h = await harness();
      // mqtt-packet will not generate this CONNECT; clear the clean-session flag of a clean one.
      const bytes = Buffer.from(
        generate({
          cmd: 'connect',
          protocolId: 'MQTT',
          protocolVersion: 4,
          clean: true,
          clientId: '',
          keepalive: 0,
        }),
      );
      expect(bytes[9]).toBe(0x02); // fixed header (2) + "MQTT" (6) + level (1) → connect flags
      bytes[9] = 0x00;
      const client = h.open();
      client.stream.write(bytes);
      const connack = await client.next('connack');
      expect(connack.returnCode).toBe(2);
      await client.closed;
      expect(h.of('client.connack')[0]).toMatchObject({
        reason_code: 'client_identifier_not_valid',
      });
      expect(h.of('client.connected')).toEqual([]);
      expect(h.broker.metrics()).toMatchObject({ connections: 0, connections_refused: 1 });
    });

    it('[MQTT-3.1.3-6] [MQTT-3.1.3-7] an empty client id with clean session true gets a unique assigned id', async () => {
      const h = await harness();
      const a = await h.connectClient('', { clean: true });
      const b = await h.connectClient('', { clean: true });
      expect([a.connack.returnCode, b.connack.returnCode]).toEqual([0, 0]);
      await vi.waitFor(() => expect(h.of('client.connected')).toHaveLength(2));
      const ids = h.of('client.connected').map((c) => c['clientid'] as string);
      expect(ids[0]).not.toBe('');
      expect(ids[0]).not.toBe(ids[1]);
      // Both stay connected (no takeover between two assigned ids) and can use the session.
      expect(h.broker.metrics().connections).toBe(2);
      a.client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'z/1', qos: 0 }] });
      await a.client.next('suback');
      b.client.send(publish('z/1', 'hi'));
      expect((await a.client.next('publish')).payload.toString()).toBe('hi');
    });
  });

  it('a connection handed over before start() or after stop() is closed', async () => {
    const { broker, connect } = createBrokerInternals({ logger: silentLogger }, { listeners: {} });
    const [client, server] = memoryPipe();
    const closed = new Promise((r) => client.once('close', r));
    connect(server, {
      listener: 'memory',
      transport: 'tcp',
      peerhost: undefined,
      peerport: undefined,
      sockhost: undefined,
      sockport: undefined,
    });
    await closed;
    expect(broker.metrics().connections).toBe(0);
  });
});
