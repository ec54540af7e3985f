/**
 * Broker integration suite: real mqtt.js clients over TCP, WebSocket and TLS against the
 * embedded broker on 127.0.0.1 ephemeral ports. Asserts the exact EMQX columns of every
 * event (spec rule-sql §7.1/§7.2), auth refusals with the right CONNACK codes, the publish /
 * subscribe ports, listener errors and shutdown.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { randomUUID } from 'node:crypto';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { BrokerEvent } from '../../src/core/index.js';
import { silentLogger, type Logger } from '../../src/core/index.js';
import {
  createBroker,
  hashPassword,
  type BoundAddress,
  type Broker,
  type BrokerConfigInput,
} from '../../src/broker/index.js';

interface Harness {
  broker: Broker;
  events: BrokerEvent[];
  addr: (name: string) => BoundAddress;
  stop: () => Promise<void>;
}

async function startBroker(
  config: BrokerConfigInput = {},
  node = 'sluice-test@127.0.0.1',
  logger: Logger = silentLogger,
): Promise<Harness> {
  const broker = createBroker(
    { logger, node },
    {
      listeners: {
        tcp: { type: 'tcp', bind: '127.0.0.1', port: 0 },
        ws: { type: 'ws', bind: '127.0.0.1', port: 0 },
      },
      ...config,
    },
  );
  const events: BrokerEvent[] = [];
  broker.onEvent((e) => events.push(e));
  const addresses = await broker.start();
  return {
    broker,
    events,
    addr: (name) => {
      const a = addresses.find((x) => x.name === name);
      if (!a) throw new Error(`no listener ${name}`);
      return a;
    },
    stop: () => broker.stop(),
  };
}

const uid = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`;

async function connect(url: string, opts: IClientOptions = {}): Promise<MqttClient> {
  return mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5000, ...opts });
}

/** Connect expecting a refusal; resolves with the CONNACK return code. */
function connectRefused(url: string, opts: IClientOptions = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...opts });
    c.on('connect', () => {
      c.end(true);
      reject(new Error('connected but a refusal was expected'));
    });
    c.on('error', (err: Error & { code?: number }) => {
      c.end(true);
      resolve(Number(err.code));
    });
  });
}

/** First outcome of a connection attempt: connected, refused by CONNACK/TLS error, or closed. */
function connectOutcome(url: string, opts: IClientOptions = {}): Promise<string> {
  return new Promise((resolve) => {
    const c = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...opts });
    const done = (what: string) => {
      c.end(true);
      resolve(what);
    };
    c.once('connect', () => done('connected'));
    c.once('error', (err) => done(`error: ${err.message}`));
    c.once('close', () => done('closed'));
  });
}

/** Wait until `pred` matches an event (polling; bounded). */
async function waitForEvent(
  events: BrokerEvent[],
  pred: (e: BrokerEvent) => boolean,
  timeoutMs = 5000,
): Promise<BrokerEvent> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = events.find(pred);
    if (found) return found;
    if (Date.now() > deadline) throw new Error('timed out waiting for a broker event');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const byName =
  (name: string, clientid?: string) =>
  (e: BrokerEvent): boolean =>
    e.name === name && (clientid === undefined || e.columns['clientid'] === clientid);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const COMMON = ['timestamp', 'node', 'event'];
const COLUMNS: Record<string, string[]> = {
  'message.publish': [
    'id',
    'clientid',
    'username',
    'payload',
    'peerhost',
    'peername',
    'topic',
    'qos',
    'flags',
    'headers',
    'pub_props',
    'publish_received_at',
    'client_attrs',
  ],
  'client.connected': [
    'clientid',
    'username',
    'mountpoint',
    'peername',
    'sockname',
    'proto_name',
    'proto_ver',
    'keepalive',
    'clean_start',
    'receive_maximum',
    'expiry_interval',
    'is_bridge',
    'conn_props',
    'connected_at',
    'client_attrs',
  ],
  'client.disconnected': [
    'reason',
    'clientid',
    'username',
    'peername',
    'sockname',
    'proto_name',
    'proto_ver',
    'disconn_props',
    'disconnected_at',
    'connected_at',
    'client_attrs',
  ],
  'client.connack': [
    'reason_code',
    'clientid',
    'clean_start',
    'username',
    'peername',
    'sockname',
    'proto_name',
    'proto_ver',
    'keepalive',
    'expiry_interval',
    'connected_at',
    'conn_props',
  ],
  'client.check_authn_complete': [
    'clientid',
    'username',
    'peername',
    'reason_code',
    'is_superuser',
    'is_anonymous',
    'client_attrs',
  ],
  'client.check_authz_complete': [
    'clientid',
    'username',
    'peerhost',
    'peername',
    'topic',
    'action',
    'authz_source',
    'result',
    'client_attrs',
  ],
  'session.subscribed': [
    'clientid',
    'username',
    'peerhost',
    'peername',
    'topic',
    'qos',
    'sub_props',
    'client_attrs',
  ],
  'session.unsubscribed': [
    'clientid',
    'username',
    'peerhost',
    'peername',
    'topic',
    'qos',
    'unsub_props',
    'client_attrs',
  ],
  'message.delivered': [
    'id',
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
  ],
  'message.acked': [
    'id',
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
    'puback_props',
  ],
  'client.ping': [
    'clientid',
    'clean_start',
    'username',
    'peername',
    'sockname',
    'proto_name',
    'proto_ver',
    'keepalive',
    'expiry_interval',
    'conn_props',
  ],
  'message.dropped': [
    'id',
    'reason',
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
  ],
};

/** The exact column set of an event, and the common columns' values. */
function expectColumns(e: BrokerEvent, node = 'sluice-test@127.0.0.1'): Record<string, unknown> {
  const expected = COLUMNS[e.name];
  if (!expected) throw new Error(`no column list for ${e.name}`);
  expect(Object.keys(e.columns).sort()).toEqual([...expected, ...COMMON].sort());
  expect(Object.isFrozen(e)).toBe(true);
  expect(Object.isFrozen(e.columns)).toBe(true);
  expect(e.columns['event']).toBe(e.name);
  expect(e.columns['node']).toBe(node);
  expect(typeof e.columns['timestamp']).toBe('number');
  return e.columns as Record<string, unknown>;
}

const HEX32 = /^[0-9a-f]{32}$/;
const PEERNAME = /^127\.0\.0\.1:\d+$/;
const after: Array<() => Promise<unknown> | unknown> = [];
afterAll(async () => {
  for (const f of after.reverse()) await f();
});

describe('broker: listeners and event columns (TCP)', () => {
  let h: Harness;
  let url: string;
  beforeAll(async () => {
    h = await startBroker();
    after.push(() => h.stop());
    url = `mqtt://127.0.0.1:${h.addr('tcp').port}`;
  });

  it('start() reports the bound ephemeral addresses', () => {
    const tcp = h.addr('tcp');
    const ws = h.addr('ws');
    expect(tcp).toMatchObject({ name: 'tcp', type: 'tcp', host: '127.0.0.1' });
    expect(ws).toMatchObject({ name: 'ws', type: 'ws', host: '127.0.0.1' });
    expect(tcp.port).toBeGreaterThan(0);
    expect(ws.port).toBeGreaterThan(0);
    expect(tcp.port).not.toBe(ws.port);
  });

  it('connack, authn, connected: exact columns and values', async () => {
    const clientId = uid('conn');
    const c = await connect(url, { clientId, username: 'alice', keepalive: 30, clean: true });
    after.push(() => c.endAsync(true));
    const connack = expectColumns(await waitForEvent(h.events, byName('client.connack', clientId)));
    expect(connack).toMatchObject({
      reason_code: 'success',
      clientid: clientId,
      clean_start: true,
      username: 'alice',
      proto_name: 'MQTT',
      proto_ver: 4,
      keepalive: 30,
      expiry_interval: 0,
      conn_props: {},
    });
    expect(connack['peername']).toMatch(PEERNAME);
    expect(connack['sockname']).toBe(`127.0.0.1:${h.addr('tcp').port}`);
    expect(typeof connack['connected_at']).toBe('number');

    const authn = expectColumns(
      await waitForEvent(h.events, byName('client.check_authn_complete', clientId)),
    );
    expect(authn).toMatchObject({
      clientid: clientId,
      username: 'alice',
      reason_code: 'success',
      is_superuser: false,
      is_anonymous: true,
      client_attrs: {},
    });
    expect(authn['peername']).toMatch(PEERNAME);

    const connected = expectColumns(
      await waitForEvent(h.events, byName('client.connected', clientId)),
    );
    expect(connected).toMatchObject({
      clientid: clientId,
      username: 'alice',
      mountpoint: undefined,
      proto_name: 'MQTT',
      proto_ver: 4,
      keepalive: 30,
      clean_start: true,
      receive_maximum: 65535,
      expiry_interval: 0,
      is_bridge: false,
      conn_props: {},
      client_attrs: {},
    });
    expect(connected['connected_at']).toBe(connack['connected_at']);
    expect(connected['peername']).toBe(connack['peername']);
    expect(h.broker.metrics().connections).toBeGreaterThanOrEqual(1);
  });

  it('client.ping on PINGREQ', async () => {
    const clientId = uid('ping');
    const c = await connect(url, { clientId, username: 'pinger', keepalive: 1 });
    after.push(() => c.endAsync(true));
    const e = expectColumns(await waitForEvent(h.events, byName('client.ping', clientId), 5000));
    expect(e).toMatchObject({
      clientid: clientId,
      username: 'pinger',
      clean_start: true,
      proto_name: 'MQTT',
      proto_ver: 4,
      keepalive: 1,
      expiry_interval: 0,
      conn_props: {},
    });
    expect(e['peername']).toMatch(PEERNAME);
    expect(h.events.find(byName('client.ping', clientId))?.matchTopic).toBe('$events/client/ping');
  });

  it('persistent session reports expiry_interval 0xFFFFFFFF', async () => {
    const clientId = uid('persist');
    const c = await connect(url, { clientId, clean: false });
    after.push(() => c.endAsync(true));
    const e = await waitForEvent(h.events, byName('client.connected', clientId));
    expect(e.columns['clean_start']).toBe(false);
    expect(e.columns['expiry_interval']).toBe(4294967295);
  });

  it('message.publish: every column with its type', async () => {
    const clientId = uid('pub');
    const topic = `t/${uid('publish')}/x`;
    const c = await connect(url, { clientId, username: 'bob' });
    after.push(() => c.endAsync(true));
    await c.publishAsync(topic, Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x31, 0x7d]), {
      qos: 1,
      retain: false,
    });
    const e = await waitForEvent(
      h.events,
      (x) => x.name === 'message.publish' && x.matchTopic === topic,
    );
    const cols = expectColumns(e);
    expect(cols['id']).toMatch(HEX32);
    expect(cols['clientid']).toBe(clientId);
    expect(cols['username']).toBe('bob');
    expect(Buffer.isBuffer(cols['payload'])).toBe(true);
    expect((cols['payload'] as Buffer).toString()).toBe('{"a":1}');
    expect(cols['peerhost']).toBe('127.0.0.1');
    expect(cols['peername']).toMatch(PEERNAME);
    expect(cols['topic']).toBe(topic);
    expect(cols['qos']).toBe(1);
    expect(cols['flags']).toEqual({ dup: false, retain: false });
    expect(Object.isFrozen(cols['flags'])).toBe(true);
    expect(cols['headers']).toMatchObject({ username: 'bob', peerhost: '127.0.0.1', proto_ver: 4 });
    expect(cols['pub_props']).toEqual({});
    expect(typeof cols['publish_received_at']).toBe('number');
    expect(cols['publish_received_at']).toBe(cols['timestamp']);
    expect(cols['client_attrs']).toEqual({});
  });

  it('message ids are unique per message', async () => {
    const clientId = uid('ids');
    const topic = `t/${uid('ids')}`;
    const c = await connect(url, { clientId });
    after.push(() => c.endAsync(true));
    for (let i = 0; i < 20; i++) await c.publishAsync(topic, String(i), { qos: 1 });
    await waitForEvent(
      h.events,
      (x) =>
        x.name === 'message.publish' &&
        x.matchTopic === topic &&
        String(x.columns['payload']) === '19',
    );
    const ids = h.events
      .filter((x) => x.name === 'message.publish' && x.matchTopic === topic)
      .map((x) => x.columns['id']);
    expect(ids).toHaveLength(20);
    expect(new Set(ids).size).toBe(20);
  });

  it('subscribed, delivered, acked (QoS 1) and unsubscribed carry the right columns and one id', async () => {
    const subId = uid('sub');
    const pubId = uid('pub');
    const topic = `d/${uid('deliver')}/1`;
    const filter = topic.replace(/\/1$/, '/+');
    const sub = await connect(url, { clientId: subId, username: 'receiver' });
    const pub = await connect(url, { clientId: pubId, username: 'sender' });
    after.push(
      () => sub.endAsync(true),
      () => pub.endAsync(true),
    );
    await sub.subscribeAsync(filter, { qos: 1 });
    const subscribed = expectColumns(
      await waitForEvent(h.events, byName('session.subscribed', subId)),
    );
    expect(subscribed).toMatchObject({
      clientid: subId,
      username: 'receiver',
      peerhost: '127.0.0.1',
      topic: filter,
      qos: 1,
      sub_props: {},
      client_attrs: {},
    });
    expect(subscribed['peername']).toMatch(PEERNAME);

    const got = new Promise<Buffer>((r) => sub.once('message', (_t, p) => r(p)));
    await pub.publishAsync(topic, 'hello', { qos: 1 });
    expect((await got).toString()).toBe('hello');

    const published = await waitForEvent(
      h.events,
      (x) => x.name === 'message.publish' && x.matchTopic === topic,
    );
    const delivered = expectColumns(
      await waitForEvent(h.events, byName('message.delivered', subId)),
    );
    expect(delivered).toMatchObject({
      id: published.columns['id'],
      from_clientid: pubId,
      from_username: 'sender',
      clientid: subId,
      username: 'receiver',
      peerhost: '127.0.0.1',
      topic,
      qos: 1,
      flags: { dup: false, retain: false },
      pub_props: {},
      publish_received_at: published.columns['publish_received_at'],
    });
    expect((delivered['payload'] as Buffer).toString()).toBe('hello');
    expect(delivered['peername']).toBe(subscribed['peername']);

    const acked = expectColumns(await waitForEvent(h.events, byName('message.acked', subId)));
    expect(acked).toMatchObject({
      id: published.columns['id'],
      from_clientid: pubId,
      clientid: subId,
      topic,
      qos: 1,
      puback_props: {},
    });

    await sub.unsubscribeAsync(filter);
    const unsub = expectColumns(
      await waitForEvent(h.events, byName('session.unsubscribed', subId)),
    );
    expect(unsub).toMatchObject({
      clientid: subId,
      username: 'receiver',
      peerhost: '127.0.0.1',
      topic: filter,
      qos: 1,
      unsub_props: {},
      client_attrs: {},
    });
  });

  it('QoS 2: acked on PUBCOMP; QoS 0 delivery has no ack', async () => {
    const subId = uid('sub2');
    const topic = `q2/${uid('q')}`;
    const sub = await connect(url, { clientId: subId });
    const pub = await connect(url, { clientId: uid('pub2') });
    after.push(
      () => sub.endAsync(true),
      () => pub.endAsync(true),
    );
    await sub.subscribeAsync(topic, { qos: 2 });
    const two = new Promise((r) => sub.once('message', r));
    await pub.publishAsync(topic, 'two', { qos: 2 });
    await two;
    const acked = await waitForEvent(h.events, byName('message.acked', subId));
    expect(acked.columns['qos']).toBe(2);

    const zeroTopic = `q0/${uid('q')}`;
    await sub.subscribeAsync(zeroTopic, { qos: 0 });
    const zero = new Promise((r) => sub.once('message', r));
    await pub.publishAsync(zeroTopic, 'zero', { qos: 1 });
    await zero;
    const d = await waitForEvent(
      h.events,
      (x) => x.name === 'message.delivered' && x.columns['topic'] === zeroTopic,
    );
    expect(d.columns['qos']).toBe(0);
    await sleep(100);
    expect(
      h.events.some((x) => x.name === 'message.acked' && x.columns['topic'] === zeroTopic),
    ).toBe(false);
  });

  it('message.dropped with reason no_subscribers', async () => {
    const clientId = uid('drop');
    const topic = `nobody/${uid('home')}`;
    const c = await connect(url, { clientId, username: 'lonely' });
    after.push(() => c.endAsync(true));
    const before = h.broker.metrics().messages_dropped;
    await c.publishAsync(topic, 'void', { qos: 0, retain: false });
    const e = await waitForEvent(
      h.events,
      (x) => x.name === 'message.dropped' && x.columns['topic'] === topic,
    );
    const cols = expectColumns(e);
    const published = await waitForEvent(
      h.events,
      (x) => x.name === 'message.publish' && x.matchTopic === topic,
    );
    expect(cols).toMatchObject({
      id: published.columns['id'],
      reason: 'no_subscribers',
      clientid: clientId,
      username: 'lonely',
      peerhost: '127.0.0.1',
      topic,
      qos: 0,
      flags: { dup: false, retain: false },
      pub_props: {},
    });
    expect((cols['payload'] as Buffer).toString()).toBe('void');
    expect(h.broker.metrics().messages_dropped).toBeGreaterThan(before);
  });

  it('QoS 1 for an offline persistent session: queued (not dropped), delivered and acked on return', async () => {
    const id = uid('away');
    const topic = `queued/${uid('q')}`;
    const first = await connect(url, { clientId: id, clean: false });
    await first.subscribeAsync(topic, { qos: 1 });
    await first.endAsync();
    await waitForEvent(h.events, byName('client.disconnected', id));
    const pub = await connect(url, { clientId: uid('qpub') });
    after.push(() => pub.endAsync(true));
    await pub.publishAsync(topic, 'while-away', { qos: 1 });
    const published = await waitForEvent(
      h.events,
      (x) => x.name === 'message.publish' && x.matchTopic === topic,
    );
    await sleep(50);
    expect(h.events.some((x) => x.name === 'message.dropped' && x.columns['topic'] === topic)).toBe(
      false,
    );

    const got = new Promise<string>((resolve) => {
      void connect(url, { clientId: id, clean: false }).then((back) => {
        after.push(() => back.endAsync(true));
        back.on('message', (_t, p) => resolve(p.toString()));
      });
    });
    expect(await got).toBe('while-away');
    const delivered = await waitForEvent(
      h.events,
      (x) => x.name === 'message.delivered' && x.columns['topic'] === topic,
    );
    expect(delivered.columns).toMatchObject({ id: published.columns['id'], clientid: id, qos: 1 });
    const acked = await waitForEvent(
      h.events,
      (x) => x.name === 'message.acked' && x.columns['topic'] === topic,
    );
    expect(acked.columns['id']).toBe(published.columns['id']);
  });

  it('a will message is published with its owner as clientid when the socket drops', async () => {
    const id = uid('will');
    const topic = `wills/${uid('w')}`;
    const c = await connect(url, {
      clientId: id,
      username: 'mortal',
      will: { topic, payload: Buffer.from('gone'), qos: 1, retain: false },
    });
    await waitForEvent(h.events, byName('client.connected', id));
    c.stream.destroy();
    const e = await waitForEvent(
      h.events,
      (x) => x.name === 'message.publish' && x.matchTopic === topic,
    );
    expect(e.columns).toMatchObject({ clientid: id, username: 'mortal', qos: 1, topic });
    expect((e.columns['payload'] as Buffer).toString()).toBe('gone');
    c.end(true);
  });

  it('a message with a subscriber is not dropped', async () => {
    const topic = `kept/${uid('k')}`;
    const sub = await connect(url, { clientId: uid('keep') });
    const pub = await connect(url, { clientId: uid('keep') });
    after.push(
      () => sub.endAsync(true),
      () => pub.endAsync(true),
    );
    await sub.subscribeAsync(topic, { qos: 0 });
    const got = new Promise((r) => sub.once('message', r));
    await pub.publishAsync(topic, 'x', { qos: 0 });
    await got;
    await sleep(50);
    expect(h.events.some((x) => x.name === 'message.dropped' && x.columns['topic'] === topic)).toBe(
      false,
    );
  });

  it('client.disconnected: normal on DISCONNECT, tcp_closed on a dropped socket', async () => {
    const a = uid('bye');
    const ca = await connect(url, { clientId: a });
    await waitForEvent(h.events, byName('client.connected', a));
    await ca.endAsync();
    const e = expectColumns(await waitForEvent(h.events, byName('client.disconnected', a)));
    expect(e).toMatchObject({
      reason: 'normal',
      clientid: a,
      proto_name: 'MQTT',
      proto_ver: 4,
      disconn_props: {},
      client_attrs: {},
    });
    expect(typeof e['disconnected_at']).toBe('number');
    expect(e['connected_at']).toBeLessThanOrEqual(e['disconnected_at'] as number);

    const b = uid('cut');
    const cb = await connect(url, { clientId: b });
    await waitForEvent(h.events, byName('client.connected', b));
    cb.stream.destroy();
    const e2 = await waitForEvent(h.events, byName('client.disconnected', b));
    expect(e2.columns['reason']).toBe('tcp_closed');
    cb.end(true);
  });

  it('client.disconnected: keepalive_timeout and protocol_error (raw MQTT 3.1.1 bytes)', async () => {
    /** A hand-made CONNECT (protocol level 4, clean session) with the given keepalive. */
    const connectPacket = (clientId: string, keepalive: number): Buffer => {
      const id = Buffer.from(clientId);
      const body = Buffer.concat([
        Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x02, keepalive >> 8, keepalive & 0xff]),
        Buffer.from([id.length >> 8, id.length & 0xff]),
        id,
      ]);
      return Buffer.concat([Buffer.from([0x10, body.length]), body]);
    };
    const raw = async (clientId: string, keepalive: number) => {
      const s = net.connect(h.addr('tcp').port, '127.0.0.1');
      after.push(() => s.destroy());
      s.on('error', () => {});
      await new Promise((r) => s.once('connect', r));
      s.write(connectPacket(clientId, keepalive));
      await waitForEvent(h.events, byName('client.connected', clientId));
      return s;
    };
    const idle = uid('idle');
    await raw(idle, 1); // never pings: the broker gives up after 1.5 × keepalive [MQTT-3.1.2-24]
    const e = await waitForEvent(h.events, byName('client.disconnected', idle), 5000);
    expect(e.columns['reason']).toBe('keepalive_timeout');

    const bad = uid('garbage');
    const s = await raw(bad, 60);
    s.write(Buffer.from([0xf0, 0x00])); // reserved packet type 15
    const e2 = await waitForEvent(h.events, byName('client.disconnected', bad));
    expect(e2.columns['reason']).toBe('protocol_error');
  });

  it('session takeover: the old connection is reported as discarded (clean) / takenover', async () => {
    const id = uid('twin');
    const first = await connect(url, { clientId: id, clean: false });
    after.push(() => first.end(true));
    await waitForEvent(h.events, byName('client.connected', id));
    const second = await connect(url, { clientId: id, clean: false });
    after.push(() => second.endAsync(true));
    const e = await waitForEvent(h.events, byName('client.disconnected', id));
    expect(e.columns['reason']).toBe('takenover');
  });

  it('check_authz_complete for publish and subscribe; $SYS publish is denied', async () => {
    const id = uid('authz');
    const topic = `z/${uid('z')}`;
    const c = await connect(url, { clientId: id });
    after.push(() => c.end(true));
    await c.subscribeAsync(topic);
    await c.publishAsync(topic, 'p', { qos: 1 });
    const sub = expectColumns(
      await waitForEvent(
        h.events,
        (x) =>
          x.name === 'client.check_authz_complete' &&
          x.columns['clientid'] === id &&
          x.columns['action'] === 'subscribe',
      ),
    );
    expect(sub).toMatchObject({
      clientid: id,
      peerhost: '127.0.0.1',
      topic,
      action: 'subscribe',
      authz_source: 'default',
      result: 'allow',
      client_attrs: {},
    });
    const pubz = await waitForEvent(
      h.events,
      (x) =>
        x.name === 'client.check_authz_complete' &&
        x.columns['clientid'] === id &&
        x.columns['action'] === 'publish',
    );
    expect(pubz.columns).toMatchObject({ topic, result: 'allow', authz_source: 'default' });

    const closed = new Promise<void>((r) => c.once('close', () => r()));
    c.publish('$SYS/forged', 'x', { qos: 1 });
    const denied = await waitForEvent(
      h.events,
      (x) => x.name === 'client.check_authz_complete' && x.columns['topic'] === '$SYS/forged',
    );
    expect(denied.columns).toMatchObject({
      result: 'deny',
      authz_source: 'sys_topics',
      action: 'publish',
    });
    await closed; // a denied publish disconnects (MQTT 3.1.1 has no negative PUBACK)
  });

  it('$SYS messages produce no message.publish events by default', async () => {
    const c = await connect(url, { clientId: uid('sys') });
    after.push(() => c.endAsync(true));
    await waitForEvent(h.events, byName('client.connected'));
    await sleep(50);
    expect(
      h.events.some((x) => x.name === 'message.publish' && x.matchTopic.startsWith('$SYS/')),
    ).toBe(false);
    expect(
      h.events.some(
        (x) => x.name === 'message.dropped' && String(x.columns['topic']).startsWith('$SYS/'),
      ),
    ).toBe(false);
  });

  it('events use the 6.x $events topics as matchTopic', async () => {
    const e = await waitForEvent(h.events, byName('client.connected'));
    expect(e.matchTopic).toBe('$events/client/connected');
    const d = await waitForEvent(h.events, byName('message.delivered'));
    expect(d.matchTopic).toBe('$events/message/delivered');
  });

  it('an MQTT 5 client is accepted (Aedes 2 beta with our patch; decision 0010)', async () => {
    const id = uid('v5');
    const outcome = await connectOutcome(url, { clientId: id, protocolVersion: 5 });
    expect(outcome).toBe('connected');
    const connack = await waitForEvent(h.events, byName('client.connack', id));
    expect(connack.columns).toMatchObject({ reason_code: 'success', proto_ver: 5 });
    const connected = await waitForEvent(h.events, byName('client.connected', id));
    expect(connected.columns).toMatchObject({ proto_ver: 5 });
  });

  it('MQTT over WebSocket: connect, publish, receive', async () => {
    const ws = `ws://127.0.0.1:${h.addr('ws').port}/mqtt`;
    const id = uid('ws');
    const topic = `ws/${uid('w')}`;
    const c = await connect(ws, { clientId: id, username: 'web' });
    after.push(() => c.endAsync(true));
    await c.subscribeAsync(topic, { qos: 1 });
    const got = new Promise<Buffer>((r) => c.once('message', (_t, p) => r(p)));
    await c.publishAsync(topic, 'over-ws', { qos: 1 });
    expect((await got).toString()).toBe('over-ws');
    const e = await waitForEvent(h.events, byName('client.connected', id));
    expect(e.columns['peername']).toMatch(PEERNAME);
    expect(e.columns['sockname']).toBe(`127.0.0.1:${h.addr('ws').port}`);
  });
});

describe('broker: publish and subscribe ports', () => {
  let h: Harness;
  let url: string;
  beforeAll(async () => {
    h = await startBroker({ listeners: { tcp: { type: 'tcp', bind: '127.0.0.1', port: 0 } } });
    after.push(() => h.stop());
    url = `mqtt://127.0.0.1:${h.addr('tcp').port}`;
  });

  it('broker.publish reaches an MQTT subscriber and raises message.publish', async () => {
    const topic = `port/${uid('p')}`;
    const c = await connect(url, { clientId: uid('port') });
    after.push(() => c.endAsync(true));
    await c.subscribeAsync(topic, { qos: 1 });
    const got = new Promise<{ p: Buffer; retain: boolean }>((r) =>
      c.once('message', (_t, p, pkt) => r({ p, retain: pkt.retain })),
    );
    await h.broker.publish({
      topic,
      payload: '{"n":1}',
      qos: 1,
      from: { clientid: 'rule:r1' },
      properties: { userProperties: { k: 'v' }, contentType: 'application/json' },
    });
    expect((await got).p.toString()).toBe('{"n":1}');
    const e = await waitForEvent(
      h.events,
      (x) => x.name === 'message.publish' && x.matchTopic === topic,
    );
    expect(e.columns).toMatchObject({
      clientid: 'rule:r1',
      qos: 1,
      pub_props: {
        'User-Property': { k: 'v' },
        'User-Property-Pairs': [{ key: 'k', value: 'v' }],
        'Content-Type': 'application/json',
      },
    });
    expect(e.columns['peerhost']).toBeUndefined();
  });

  it('retained publish is kept for later subscribers', async () => {
    const topic = `retained/${uid('r')}`;
    await h.broker.publish({ topic, payload: Buffer.from('kept'), qos: 0, retain: true });
    const c = await connect(url, { clientId: uid('late') });
    after.push(() => c.endAsync(true));
    const got = new Promise<{ p: string; retain: boolean }>((r) =>
      c.once('message', (_t, p, pkt) => r({ p: p.toString(), retain: pkt.retain })),
    );
    await c.subscribeAsync(topic, { qos: 0 });
    expect(await got).toEqual({ p: 'kept', retain: true });
  });

  it('broker.subscribe receives client messages; unsubscribe stops them', async () => {
    const topic = `in/${uid('s')}/a`;
    const seen: string[] = [];
    const unsubscribe = await h.broker.subscribe(topic.replace(/a$/, '#'), (m) =>
      seen.push(`${m.topic}=${m.payload.toString()}`),
    );
    const c = await connect(url, { clientId: uid('feeder') });
    after.push(() => c.endAsync(true));
    await c.publishAsync(topic, 'one', { qos: 1 });
    await waitUntil(() => seen.length === 1);
    expect(seen).toEqual([`${topic}=one`]);
    // An in-process subscriber counts as a subscriber: not dropped.
    expect(h.events.some((x) => x.name === 'message.dropped' && x.columns['topic'] === topic)).toBe(
      false,
    );
    await unsubscribe();
    await c.publishAsync(topic, 'two', { qos: 1 });
    await sleep(100);
    expect(seen).toEqual([`${topic}=one`]);
  });

  it('onEvent filters: a listener gets only the events it names; acked works without delivered', async () => {
    // A broker whose only listeners are filtered: delivered columns are still built for acked.
    const b = createBroker(
      { logger: silentLogger },
      { listeners: { tcp: { type: 'tcp', bind: '127.0.0.1', port: 0 } } },
    );
    const onlyPublish: BrokerEvent[] = [];
    const onlyAcked: BrokerEvent[] = [];
    const offPublish = b.onEvent((e) => onlyPublish.push(e), { names: ['message.publish'] });
    b.onEvent((e) => onlyAcked.push(e), { names: ['message.acked'] });
    const [a] = await b.start();
    after.push(() => b.stop());
    const burl = `mqtt://127.0.0.1:${a!.port}`;
    const topic = `filtered/${uid('f')}`;
    const sub = await connect(burl, { clientId: uid('fsub') });
    const pub = await connect(burl, { clientId: uid('fpub') });
    after.push(
      () => sub.endAsync(true),
      () => pub.endAsync(true),
    );
    await sub.subscribeAsync(topic, { qos: 1 });
    const got = new Promise((r) => sub.once('message', r));
    await pub.publishAsync(topic, 'f', { qos: 1 });
    await got;
    const acked = await waitForEvent(onlyAcked, (x) => x.columns['topic'] === topic);
    const published = await waitForEvent(onlyPublish, (x) => x.matchTopic === topic);
    expect(acked.columns['id']).toBe(published.columns['id']);
    expect(acked.columns['from_clientid']).toBe(published.columns['clientid']);
    expect(new Set(onlyPublish.map((x) => x.name))).toEqual(new Set(['message.publish']));
    expect(new Set(onlyAcked.map((x) => x.name))).toEqual(new Set(['message.acked']));
    // Removing a listener stops its events.
    offPublish();
    const n = onlyPublish.length;
    const got2 = new Promise((r) => sub.once('message', r));
    await pub.publishAsync(topic, 'g', { qos: 1 });
    await got2;
    await waitForEvent(onlyAcked, (x) => (x.columns['payload'] as Buffer).toString() === 'g');
    expect(onlyPublish.length).toBe(n);
  });

  it('ignore_sys_message: false lets $SYS messages through as message.publish', async () => {
    const b = await startBroker({
      listeners: { tcp: { type: 'tcp', bind: '127.0.0.1', port: 0 } },
      ignore_sys_message: false,
    });
    after.push(() => b.stop());
    const id = uid('sysvisible');
    const c = await connect(`mqtt://127.0.0.1:${b.addr('tcp').port}`, { clientId: id });
    after.push(() => c.endAsync(true));
    const e = await waitForEvent(
      b.events,
      (x) => x.name === 'message.publish' && /^\$SYS\/[^/]+\/new\/clients$/.test(x.matchTopic),
    );
    expect((e.columns['payload'] as Buffer).toString()).toBe(id);
    expect(e.columns['clientid']).toBeUndefined();
  });

  it('invalid publishes reject with coded errors', async () => {
    await expect(h.broker.publish({ topic: 'a/#', payload: 'x' })).rejects.toMatchObject({
      code: 'broker_publish_failed',
    });
    await expect(h.broker.publish({ topic: '', payload: 'x' })).rejects.toMatchObject({
      code: 'broker_publish_failed',
    });
    await expect(h.broker.publish({ topic: 'a', payload: 'x', qos: 3 as 0 })).rejects.toMatchObject(
      { code: 'broker_publish_failed' },
    );
  });
});

async function waitUntil(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(10);
  }
}

describe('broker: authentication', () => {
  let h: Harness;
  let url: string;
  beforeAll(async () => {
    h = await startBroker({
      listeners: { tcp: { type: 'tcp', bind: '127.0.0.1', port: 0 } },
      allow_anonymous: false,
      users: [
        { username: 'device-1', password_hash: hashPassword('s3cret', { N: 1024 }) },
        {
          username: 'admin',
          password_hash: hashPassword('root-pw', { algorithm: 'pbkdf2', iterations: 1000 }),
          is_superuser: true,
        },
      ],
    });
    after.push(() => h.stop());
    url = `mqtt://127.0.0.1:${h.addr('tcp').port}`;
  });

  it('accepts a known user with the right password', async () => {
    const id = uid('ok');
    const c = await connect(url, { clientId: id, username: 'device-1', password: 's3cret' });
    after.push(() => c.endAsync(true));
    const e = await waitForEvent(h.events, byName('client.check_authn_complete', id));
    expect(e.columns).toMatchObject({
      reason_code: 'success',
      is_superuser: false,
      is_anonymous: false,
      username: 'device-1',
    });
  });

  it('refuses a wrong password with CONNACK 4 (bad user name or password)', async () => {
    const id = uid('badpw');
    expect(
      await connectRefused(url, { clientId: id, username: 'device-1', password: 'nope' }),
    ).toBe(4);
    const authn = await waitForEvent(h.events, byName('client.check_authn_complete', id));
    expect(authn.columns).toMatchObject({
      reason_code: 'bad_username_or_password',
      is_anonymous: false,
    });
    const connack = await waitForEvent(h.events, byName('client.connack', id));
    expect(connack.columns['reason_code']).toBe('bad_username_or_password');
    expect(h.events.some(byName('client.connected', id))).toBe(false);
  });

  it('refuses a known user without a password with CONNACK 4', async () => {
    expect(await connectRefused(url, { clientId: uid('nopw'), username: 'device-1' })).toBe(4);
  });

  it('anonymous off: no credentials or an unknown user → CONNACK 5 (not authorized)', async () => {
    const id = uid('anon');
    expect(await connectRefused(url, { clientId: id })).toBe(5);
    const connack = await waitForEvent(h.events, byName('client.connack', id));
    expect(connack.columns['reason_code']).toBe('not_authorized');
    expect(
      await connectRefused(url, { clientId: uid('stranger'), username: 'mallory', password: 'x' }),
    ).toBe(5);
    expect(h.broker.metrics().connections_refused).toBeGreaterThanOrEqual(2);
  });

  it('a superuser (pbkdf2 hash) skips authorization, even for $SYS publishes', async () => {
    const id = uid('admin');
    const c = await connect(url, { clientId: id, username: 'admin', password: 'root-pw' });
    after.push(() => c.endAsync(true));
    const e = await waitForEvent(h.events, byName('client.check_authn_complete', id));
    expect(e.columns['is_superuser']).toBe(true);
    await c.publishAsync('$SYS/admin-note', 'x', { qos: 1 });
    const z = await waitForEvent(
      h.events,
      (x) => x.name === 'client.check_authz_complete' && x.columns['clientid'] === id,
    );
    expect(z.columns).toMatchObject({ authz_source: 'superuser', result: 'allow' });
  });
});

describe('broker: plugged-in authenticator and authorizer', () => {
  it('a token authenticator sets client_attrs; an ACL authorizer denies a subscribe (SUBACK 0x80)', async () => {
    const b = createBroker(
      {
        logger: silentLogger,
        node: 'sluice-test@127.0.0.1',
        authenticators: [
          {
            name: 'token',
            authenticate: async (r) =>
              r.password?.toString() === 'valid-token'
                ? { result: 'allow', client_attrs: { tenant: 'acme' } }
                : { result: 'ignore' },
          },
        ],
        authorizers: [
          {
            name: 'acl',
            authorize: (r) =>
              r.topic.startsWith('secret/')
                ? 'deny'
                : r.client_attrs['tenant'] === 'acme'
                  ? 'allow'
                  : 'ignore',
          },
        ],
      },
      { listeners: { tcp: { type: 'tcp', bind: '127.0.0.1', port: 0 } }, allow_anonymous: false },
    );
    const events: BrokerEvent[] = [];
    b.onEvent((e) => events.push(e));
    const [a] = await b.start();
    after.push(() => b.stop());
    const burl = `mqtt://127.0.0.1:${a!.port}`;
    expect(
      await connectRefused(burl, { clientId: uid('tok'), username: 'x', password: 'bad' }),
    ).toBe(5);
    const id = uid('tok');
    const c = await connect(burl, { clientId: id, username: 'x', password: 'valid-token' });
    after.push(() => c.endAsync(true));
    const connected = await waitForEvent(events, byName('client.connected', id));
    expect(connected.columns['client_attrs']).toEqual({ tenant: 'acme' });
    // mqtt.js turns a SUBACK return code 0x80 into an error carrying the SUBACK packet.
    const refused = (await c
      .subscribeAsync('secret/plans', { qos: 1 })
      .catch((e: unknown) => e)) as {
      packet?: { granted?: number[] };
    };
    expect(refused.packet?.granted).toEqual([128]);
    const denied = await waitForEvent(
      events,
      (x) => x.name === 'client.check_authz_complete' && x.columns['topic'] === 'secret/plans',
    );
    expect(denied.columns).toMatchObject({
      result: 'deny',
      authz_source: 'acl',
      client_attrs: { tenant: 'acme' },
    });
    const ok = await c.subscribeAsync('public/news', { qos: 1 });
    expect(ok[0]?.qos).toBe(1);
    const allowed = await waitForEvent(
      events,
      (x) => x.name === 'client.check_authz_complete' && x.columns['topic'] === 'public/news',
    );
    expect(allowed.columns).toMatchObject({ result: 'allow', authz_source: 'acl' });
    expect(
      events.some((x) => x.name === 'session.subscribed' && x.columns['topic'] === 'secret/plans'),
    ).toBe(false);
  });
});

const run = promisify(execFile);

/** Throwaway PKI made with the openssl CLI: a CA, a server cert for 127.0.0.1, a client cert, and a rogue client. */
async function makePki(): Promise<{ dir: string; file: (n: string) => string }> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-broker-tls-'));
  const file = (n: string) => join(dir, n);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  for (const ca of ['ca', 'rogue-ca'])
    await run('openssl', [
      'req',
      '-x509',
      ...ec,
      '-keyout',
      file(`${ca}.key`),
      '-out',
      file(`${ca}.crt`),
      '-days',
      '2',
      '-subj',
      `/CN=${ca}`,
      '-addext',
      'basicConstraints=critical,CA:true',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
  await writeFile(
    file('server.ext'),
    'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n',
  );
  await writeFile(file('client.ext'), 'extendedKeyUsage=clientAuth\n');
  const leaf = async (name: string, ca: string, ext: string) => {
    await run('openssl', [
      'req',
      ...ec,
      '-keyout',
      file(`${name}.key`),
      '-out',
      file(`${name}.csr`),
      '-subj',
      `/CN=${name}`,
    ]);
    await run('openssl', [
      'x509',
      '-req',
      '-in',
      file(`${name}.csr`),
      '-CA',
      file(`${ca}.crt`),
      '-CAkey',
      file(`${ca}.key`),
      '-CAcreateserial',
      '-out',
      file(`${name}.crt`),
      '-days',
      '2',
      '-extfile',
      file(ext),
    ]);
  };
  await leaf('server', 'ca', 'server.ext');
  await leaf('device-1', 'ca', 'client.ext');
  await leaf('rogue', 'rogue-ca', 'client.ext');
  return { dir, file };
}

/** A logger that keeps `info` messages (to check what operators would see). */
function collectingLogger(into: string[]): Logger {
  const l: Logger = {
    debug: () => {},
    info: (obj, msg) => void into.push(`${msg ?? ''} ${JSON.stringify(obj)}`),
    warn: () => {},
    error: () => {},
    child: () => l,
  };
  return l;
}

describe('broker: TLS listeners', () => {
  const infoLogs: string[] = [];
  let h: Harness;
  let pki: Awaited<ReturnType<typeof makePki>>;
  let ca: Buffer;
  beforeAll(async () => {
    pki = await makePki();
    after.push(() => rm(pki.dir, { recursive: true, force: true }));
    ca = await readFile(pki.file('ca.crt'));
    const serverKeyPem = await readFile(pki.file('server.key'), 'utf8');
    h = await startBroker(
      {
        listeners: {
          tls: {
            type: 'tls',
            bind: '127.0.0.1',
            port: 0,
            ssl_options: { certfile: pki.file('server.crt'), keyfile: pki.file('server.key') },
          },
          mtls: {
            type: 'tls',
            bind: '127.0.0.1',
            port: 0,
            ssl_options: {
              certfile: pki.file('server.crt'),
              keyfile: pki.file('server.key'),
              cacertfile: pki.file('ca.crt'),
              verify: 'verify_peer',
              fail_if_no_peer_cert: true,
            },
          },
          optional: {
            type: 'tls',
            bind: '127.0.0.1',
            port: 0,
            // PEM strings instead of files
            ssl_options: {
              cert: await readFile(pki.file('server.crt'), 'utf8'),
              key: serverKeyPem,
              ca: ca.toString(),
              verify: 'verify_peer',
            },
          },
          wss: {
            type: 'wss',
            bind: '127.0.0.1',
            port: 0,
            ssl_options: { certfile: pki.file('server.crt'), keyfile: pki.file('server.key') },
          },
        },
      },
      'sluice-test@127.0.0.1',
      collectingLogger(infoLogs),
    );
    after.push(() => h.stop());
  });

  const clientCert = async (name: string) => ({
    cert: await readFile(pki.file(`${name}.crt`)),
    key: await readFile(pki.file(`${name}.key`)),
  });

  it('server-only TLS: a client trusting the CA connects and publishes', async () => {
    const id = uid('tls');
    const topic = `tls/${uid('t')}`;
    const c = await connect(`mqtts://127.0.0.1:${h.addr('tls').port}`, {
      clientId: id,
      ca,
      rejectUnauthorized: true,
    });
    after.push(() => c.endAsync(true));
    await c.publishAsync(topic, 'secure', { qos: 1 });
    const e = await waitForEvent(
      h.events,
      (x) => x.name === 'message.publish' && x.matchTopic === topic,
    );
    expect(e.columns['clientid']).toBe(id);
    const d = await waitForEvent(h.events, byName('client.connected', id));
    expect(d.columns['sockname']).toBe(`127.0.0.1:${h.addr('tls').port}`);
  });

  it('verify_peer + fail_if_no_peer_cert: accepts a CA-issued client cert, refuses none and a rogue one', async () => {
    const url = `mqtts://127.0.0.1:${h.addr('mtls').port}`;
    const id = uid('mtls');
    const ok = await connect(url, { clientId: id, ca, ...(await clientCert('device-1')) });
    after.push(() => ok.endAsync(true));
    expect(ok.connected).toBe(true);
    const before = infoLogs.length;
    expect(await connectOutcome(url, { clientId: uid('nocert'), ca })).not.toBe('connected');
    await waitUntil(() => infoLogs.length > before);
    expect(infoLogs.slice(before).join('\n')).toMatch(/TLS handshake failed.*127\.0\.0\.1/);
    expect(
      await connectOutcome(url, { clientId: uid('rogue'), ca, ...(await clientCert('rogue')) }),
    ).not.toBe('connected');
  });

  it('verify_peer without fail_if_no_peer_cert: no cert is fine, a rogue cert is refused', async () => {
    const url = `mqtts://127.0.0.1:${h.addr('optional').port}`;
    const c = await connect(url, { clientId: uid('opt'), ca });
    after.push(() => c.endAsync(true));
    expect(c.connected).toBe(true);
    const good = await connect(url, {
      clientId: uid('optgood'),
      ca,
      ...(await clientCert('device-1')),
    });
    after.push(() => good.endAsync(true));
    expect(good.connected).toBe(true);
    expect(
      await connectOutcome(url, { clientId: uid('optrogue'), ca, ...(await clientCert('rogue')) }),
    ).not.toBe('connected');
  });

  it('MQTT over secure WebSocket', async () => {
    const id = uid('wss');
    const c = await connect(`wss://127.0.0.1:${h.addr('wss').port}/mqtt`, {
      clientId: id,
      ca,
      rejectUnauthorized: true,
    });
    after.push(() => c.endAsync(true));
    const e = await waitForEvent(h.events, byName('client.connected', id));
    expect(e.columns['peername']).toMatch(PEERNAME);
  });

  it('a client disconnected by dropping its TLS socket is reported as ssl_closed', async () => {
    const id = uid('tlscut');
    const c = await connect(`mqtts://127.0.0.1:${h.addr('tls').port}`, { clientId: id, ca });
    await waitForEvent(h.events, byName('client.connected', id));
    c.stream.destroy();
    const e = await waitForEvent(h.events, byName('client.disconnected', id));
    expect(e.columns['reason']).toBe('ssl_closed');
    c.end(true);
  });

  it('unreadable or missing TLS material fails start() with broker_tls_material_invalid', async () => {
    const { createBroker } = await import('../../src/broker/index.js');
    const b = createBroker(
      { logger: silentLogger },
      {
        listeners: {
          t: {
            type: 'tls',
            bind: '127.0.0.1',
            port: 0,
            ssl_options: { certfile: pki.file('missing.crt'), keyfile: pki.file('server.key') },
          },
        },
      },
    );
    await expect(b.start()).rejects.toMatchObject({ code: 'broker_tls_material_invalid' });
    await b.stop();
    const b2 = createBroker(
      { logger: silentLogger },
      {
        listeners: {
          t: {
            type: 'tls',
            bind: '127.0.0.1',
            port: 0,
            ssl_options: { cert: 'not a pem', key: 'nope' },
          },
        },
      },
    );
    await expect(b2.start()).rejects.toMatchObject({ code: 'broker_tls_material_invalid' });
    await b2.stop();
  });
});

describe('broker: lifecycle and config errors', () => {
  it('a port in use fails start() with broker_listen_failed naming the address', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    after.push(() => new Promise((r) => blocker.close(r)));
    const port = (blocker.address() as net.AddressInfo).port;
    const b = createBroker(
      { logger: silentLogger },
      {
        listeners: {
          ok: { type: 'tcp', bind: '127.0.0.1', port: 0 },
          busy: { type: 'tcp', bind: '127.0.0.1', port },
        },
      },
    );
    const err = await b.start().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({
      code: 'broker_listen_failed',
      context: { listener: 'busy', host: '127.0.0.1', port, code: 'EADDRINUSE' },
    });
    expect(String((err as Error).message)).toContain('address already in use');
    await b.stop();
  });

  it('invalid config is refused with broker_config_invalid listing field paths', () => {
    expect(() =>
      createBroker({ logger: silentLogger }, {
        listeners: { x: { type: 'udp' as 'tcp' } },
        concurrency: 10,
        bogus: 1,
      } as never),
    ).toThrow(
      expect.objectContaining({
        code: 'broker_config_invalid',
        message: expect.stringMatching(
          /listeners\.x\.type.*concurrency|concurrency.*listeners\.x\.type/s,
        ),
      }),
    );
    expect(() =>
      createBroker(
        { logger: silentLogger },
        { users: [{ username: 'u', password_hash: 'scrypt$bad' }] },
      ),
    ).toThrow(expect.objectContaining({ code: 'broker_password_hash_invalid' }));
    expect(() =>
      createBroker({ logger: silentLogger }, { listeners: { t: { type: 'tls', port: 0 } } }),
    ).toThrow(expect.objectContaining({ code: 'broker_config_invalid' }));
  });

  it('stop() disconnects clients (reason shutdown), closes listeners, and publish then rejects', async () => {
    const h = await startBroker();
    const url = `mqtt://127.0.0.1:${h.addr('tcp').port}`;
    const id = uid('stop');
    const c = await connect(url, { clientId: id });
    const ws = await connect(`ws://127.0.0.1:${h.addr('ws').port}/mqtt`, {
      clientId: uid('stopws'),
    });
    // A raw socket that never sends CONNECT must not keep stop() waiting.
    const raw = net.connect(h.addr('tcp').port, '127.0.0.1');
    await new Promise((r) => raw.once('connect', r));
    await waitForEvent(h.events, byName('client.connected', id));
    const closed = new Promise<void>((r) => c.once('close', () => r()));
    await h.stop();
    await closed;
    const e = await waitForEvent(h.events, byName('client.disconnected', id));
    expect(e.columns['reason']).toBe('shutdown');
    await expect(h.broker.publish({ topic: 'a', payload: 'x' })).rejects.toMatchObject({
      code: 'broker_not_started',
    });
    expect(await connectOutcome(url, { clientId: uid('late'), connectTimeout: 1000 })).not.toBe(
      'connected',
    );
    c.end(true);
    ws.end(true);
    raw.destroy();
    expect(h.broker.metrics().connections).toBe(0);
  });
});
