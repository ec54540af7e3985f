/**
 * MQTT 5.0 over real sockets with three independent clients (decision 0010, issue #13):
 * MQTT.js (`protocolVersion: 5`) on TCP, WebSocket and TLS; paho-mqtt 2 (Python, MQTTv5) and
 * mosquitto_pub / mosquitto_sub `-V mqttv5` (Debian mosquitto-clients) on TCP. Cross-version
 * delivery (v5 ↔ 3.1.1) and the server DISCONNECTs that need a real socket (keepalive timeout,
 * kick) are here too. Feature-by-feature checks with raw packets: src/broker/mqtt5.test.ts.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path, { join } from 'node:path';
import { promisify } from 'node:util';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { generate, parser, type Packet } from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger, type BrokerEvent } from '../../src/core/index.js';
import { createBroker, type BoundAddress, type Broker } from '../../src/broker/index.js';
import { pahoPython } from '../python-venv.js';

const run = promisify(execFile);
let broker: Broker;
let addresses: BoundAddress[];
const events: BrokerEvent[] = [];
let dir: string;
let ca: Buffer;
const port = (name: string) => addresses.find((a) => a.name === name)!.port;
const of = (name: string, clientid?: string) =>
  events
    .filter(
      (e) => e.name === name && (clientid === undefined || e.columns['clientid'] === clientid),
    )
    .map((e) => e.columns);
let n = 0;
const uid = (p: string) => `${p}-${process.pid}-${++n}`;

async function waitFor(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function connect(url: string, opts: IClientOptions = {}): Promise<MqttClient> {
  return mqtt.connectAsync(url, {
    reconnectPeriod: 0,
    connectTimeout: 5000,
    protocolVersion: 5,
    ...opts,
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-mqtt5-'));
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    join(dir, 'server.key'),
    '-out',
    join(dir, 'server.crt'),
    '-days',
    '2',
    '-subj',
    '/CN=127.0.0.1',
    '-addext',
    'subjectAltName=IP:127.0.0.1',
  ]);
  ca = await readFile(join(dir, 'server.crt'));
  broker = createBroker(
    { logger: silentLogger, node: 'sluice-mqtt5@127.0.0.1' },
    {
      listeners: {
        tcp: { type: 'tcp', bind: '127.0.0.1', port: 0 },
        ws: { type: 'ws', bind: '127.0.0.1', port: 0 },
        tls: {
          type: 'tls',
          bind: '127.0.0.1',
          port: 0,
          ssl_options: { certfile: join(dir, 'server.crt'), keyfile: join(dir, 'server.key') },
        },
      },
      response_information: 'replies/',
    },
  );
  broker.onEvent((e) => events.push(e));
  addresses = await broker.start();
});

afterAll(async () => {
  await broker?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('MQTT.js v5 on every listener', () => {
  const urls = () => ({
    tcp: `mqtt://127.0.0.1:${port('tcp')}`,
    ws: `ws://127.0.0.1:${port('ws')}/mqtt`,
    tls: `mqtts://127.0.0.1:${port('tls')}`,
  });

  it.each(['tcp', 'ws', 'tls'] as const)(
    '%s: connects with properties, round-trips user properties, proto_ver 5 in the columns',
    async (kind) => {
      const url = urls()[kind];
      const opts = kind === 'tls' ? { ca } : {};
      const id = uid(`js-${kind}`);
      const c = await connect(url, {
        ...opts,
        clientId: id,
        properties: { sessionExpiryInterval: 10, userProperties: { site: kind } },
      });
      const topic = `v5/${id}`;
      await c.subscribeAsync(topic, { qos: 1, properties: { subscriptionIdentifier: 3 } });
      const got = new Promise<{ props: unknown; payload: string }>((resolve) =>
        c.once('message', (_t, payload, packet) =>
          resolve({ props: packet.properties, payload: payload.toString() }),
        ),
      );
      await c.publishAsync(topic, 'hi', {
        qos: 1,
        properties: { userProperties: { k: 'v' }, contentType: 'text/plain' },
      });
      const m = await got;
      expect(m.payload).toBe('hi');
      expect(m.props).toMatchObject({
        userProperties: { k: 'v' },
        contentType: 'text/plain',
        subscriptionIdentifier: 3,
      });
      await c.endAsync();
      await waitFor(() => of('client.disconnected', id).length === 1, 'disconnected');
      expect(of('client.connected', id)[0]).toMatchObject({
        proto_ver: 5,
        expiry_interval: 10,
        conn_props: { 'User-Property': { site: kind } },
      });
      expect(of('message.publish', id)[0]!['pub_props']).toMatchObject({
        'User-Property': { k: 'v' },
        'Content-Type': 'text/plain',
      });
      expect(of('client.disconnected', id)[0]).toMatchObject({ reason: 'normal' });
    },
  );

  it('cross-version: v5 publisher → 3.1.1 subscriber (properties dropped) and 3.1.1 → v5', async () => {
    const url = urls().tcp;
    const v4 = await connect(url, { clientId: uid('v4'), protocolVersion: 4 });
    const v5 = await connect(url, { clientId: uid('v5') });
    await v4.subscribeAsync('x/to4', { qos: 1 });
    await v5.subscribeAsync('x/to5', { qos: 1 });
    const at4 = new Promise<Record<string, unknown>>((r) =>
      v4.once('message', (_t, p, packet) => r({ p: p.toString(), props: packet.properties })),
    );
    const at5 = new Promise<string>((r) => v5.once('message', (_t, p) => r(p.toString())));
    await v5.publishAsync('x/to4', 'from5', { qos: 1, properties: { userProperties: { a: 'b' } } });
    await v4.publishAsync('x/to5', 'from4', { qos: 1 });
    expect(await at4).toEqual({ p: 'from5', props: undefined });
    expect(await at5).toBe('from4');
    await Promise.all([v4.endAsync(), v5.endAsync()]);
  });

  it('kick sends DISCONNECT 0x98 to an MQTT.js v5 client', async () => {
    const id = uid('kicked');
    const c = await connect(urls().tcp, { clientId: id });
    const disc = new Promise<number | undefined>((r) =>
      c.once('disconnect', (p) => r(p.reasonCode)),
    );
    await waitFor(() => of('client.connected', id).length === 1, 'connected');
    expect(broker.kick(id)).toBe(true);
    expect(await disc).toBe(0x98);
    await waitFor(() => of('client.disconnected', id).length === 1, 'disconnected');
    expect(of('client.disconnected', id)[0]!['reason']).toBe('kicked');
    c.end(true);
  });
});

describe('server DISCONNECT over TCP', () => {
  it('keepalive timeout: a silent v5 client gets DISCONNECT 0x8D', async () => {
    const id = uid('silent');
    const sock = net.connect(port('tcp'), '127.0.0.1');
    const p = parser({ protocolVersion: 5 });
    const got: Packet[] = [];
    p.on('packet', (x: Packet) => got.push(x));
    sock.on('data', (b) => p.parse(b));
    await new Promise<void>((r) => sock.once('connect', () => r()));
    sock.write(
      generate(
        {
          cmd: 'connect',
          protocolId: 'MQTT',
          protocolVersion: 5,
          clean: true,
          clientId: id,
          keepalive: 1,
        },
        { protocolVersion: 5 },
      ),
    );
    await new Promise<void>((r) => sock.once('close', () => r()));
    expect(got.map((x) => [x.cmd, (x as { reasonCode?: number }).reasonCode])).toEqual([
      ['connack', 0],
      ['disconnect', 0x8d],
    ]);
    await waitFor(() => of('client.disconnected', id).length === 1, 'disconnected');
    expect(of('client.disconnected', id)[0]!['reason']).toBe('keepalive_timeout');
  });
});

describe('paho-mqtt 2 (Python) MQTTv5', () => {
  it('assigned client id, response information, No Local, subscription id, properties both ways, DISCONNECT reason', async () => {
    const py = pahoPython();
    const script = path.join(import.meta.dirname, 'fixtures/paho-v5.py');
    const topic = uid('paho');
    const child = spawn(py, [script, String(port('tcp')), topic], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b) => (stdout += b));
    child.stderr.on('data', (b) => (stderr += b));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const out = JSON.parse(stdout.trim()) as Record<string, unknown>;
    expect(out['connack_reason']).toBe(0);
    expect(typeof out['assigned']).toBe('string');
    expect(out['response_information']).toBe('replies/');
    expect(out['granted']).toEqual([1, 1]);
    expect(out['own']).toBe(0);
    expect(out['puback']).toEqual([0, 0]);
    expect(out['echo']).toMatchObject({
      payload: 'hello',
      user: [
        ['traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
        ['k', 'v'],
      ],
      content_type: 'text/plain',
      response_topic: `${topic}/reply`,
      correlation: 'corr-1',
      sub_ids: [7],
    });
    expect((out['echo'] as { expiry: number }).expiry).toBeLessThanOrEqual(120);
    const id = out['assigned'] as string;
    await waitFor(() => of('client.disconnected', id).length === 1, 'paho disconnected');
    expect(of('client.connected', id)[0]).toMatchObject({
      proto_ver: 5,
      conn_props: { 'User-Property': { device: 'paho' }, 'Session-Expiry-Interval': 30 },
    });
    expect(of('client.disconnected', id)[0]).toMatchObject({
      reason: 'disconnect_with_will_message',
      disconn_props: { 'User-Property': { bye: 'now' } },
    });
    expect(of('delivery.dropped', id).map((c) => [c['reason'], c['topic']])).toEqual([
      ['no_local', topic],
    ]);
    expect(
      of('message.publish', id).find((c) => c['topic'] === `${topic}/echo`)!['pub_props'],
    ).toMatchObject({
      'User-Property': { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
      'Correlation-Data': Buffer.from('corr-1'),
      'Message-Expiry-Interval': 120,
    });
  });
});

describe('mosquitto_pub / mosquitto_sub -V mqttv5', () => {
  it('properties set with -D reach pub_props and a v5 mosquitto_sub (message expiry counted down)', async () => {
    const topic = uid('mosq');
    const h = ['-h', '127.0.0.1', '-p', String(port('tcp')), '-V', 'mqttv5'];
    const subId = uid('mosq-sub');
    const sub = spawn('mosquitto_sub', [
      ...h,
      '-i',
      subId,
      '-t',
      `${topic}/#`,
      '-q',
      '1',
      '-C',
      '1',
      '-W',
      '10',
      '-F',
      '%t|%p|%C|%R|%E|%P',
      '-D',
      'connect',
      'user-property',
      'tool',
      'mosquitto',
    ]);
    let out = '';
    sub.stdout.on('data', (b) => (out += b));
    // Listen for exit now: the process may end while mosquitto_pub is still being awaited.
    const exited = new Promise<number | null>((r) => sub.once('exit', r));
    await waitFor(() => of('session.subscribed', subId).length === 1, 'mosquitto_sub subscribed');
    const pubId = uid('mosq-pub');
    await run('mosquitto_pub', [
      ...h,
      '-i',
      pubId,
      '-t',
      `${topic}/live`,
      '-m',
      'new',
      '-q',
      '1',
      '-D',
      'publish',
      'user-property',
      'k',
      'v',
      '-D',
      'publish',
      'content-type',
      'text/plain',
      '-D',
      'publish',
      'response-topic',
      `${topic}/reply`,
      '-D',
      'publish',
      'message-expiry-interval',
      '60',
    ]);
    expect(await exited).toBe(0);
    const [t, payload, ct, rt, exp, up] = out.trim().split('|');
    expect([t, payload, ct, rt, up]).toEqual([
      `${topic}/live`,
      'new',
      'text/plain',
      `${topic}/reply`,
      'k:v',
    ]);
    expect(Number(exp)).toBeGreaterThan(0);
    expect(Number(exp)).toBeLessThanOrEqual(60);
    expect(of('message.publish', pubId)[0]!['pub_props']).toMatchObject({
      'User-Property': { k: 'v' },
      'Content-Type': 'text/plain',
      'Message-Expiry-Interval': 60,
    });
    expect(of('client.connected', subId)[0]).toMatchObject({
      proto_ver: 5,
      conn_props: { 'User-Property': { tool: 'mosquitto' } },
    });
  });
});
