/**
 * Shared subscriptions (`$share/<group>/<filter>`, `$queue/<filter>`) end to end with real
 * mqtt.js clients over TCP (127.0.0.1, port 0): every message reaches exactly one member of each
 * group (plus the normal subscribers), the distribution of each strategy, QoS
 * min(published, granted), malformed filters refused with SUBACK 0x80, unacked QoS 1/2 copies
 * of a clean-session member that leaves redelivered to another member, session.subscribed with
 * the full `$share/…` filter, and a rule selecting such subscriptions. The member that never
 * acknowledges is a raw mqtt-packet socket (mqtt.js always acknowledges).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { generate, parser, type IPublishPacket, type Packet } from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import type { BrokerEvent } from '../../src/core/index.js';
import { silentLogger } from '../../src/core/index.js';
import { pahoPython } from '../python-venv.js';
import { createBroker, type Broker, type BrokerConfigInput } from '../../src/broker/index.js';
import { createEngine } from '../../src/engine/index.js';
import type { MemorySink } from '../../src/sinks/memory/index.js';

const brokers: Broker[] = [];
const clients: MqttClient[] = [];
const sockets: net.Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true).catch(() => undefined)));
  await Promise.all(brokers.splice(0).map((b) => b.stop()));
});

async function start(config: Omit<BrokerConfigInput, 'listeners'> = {}) {
  const broker = createBroker(
    { logger: silentLogger },
    { ...config, listeners: { tcp: { type: 'tcp', bind: '127.0.0.1', port: 0 } } },
  );
  brokers.push(broker);
  const [addr] = await broker.start();
  return { broker, url: `mqtt://127.0.0.1:${addr!.port}`, port: addr!.port };
}

async function waitFor(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface Member {
  c: MqttClient;
  got: string[];
  qos: number[];
}

async function connect(url: string, clientId: string, clean = true): Promise<MqttClient> {
  const c = await mqtt.connectAsync(url, {
    clientId,
    clean,
    reconnectPeriod: 0,
    connectTimeout: 5000,
  });
  clients.push(c);
  return c;
}

async function member(url: string, clientId: string, filter: string, qos: 0 | 1 | 2 = 1) {
  const c = await connect(url, clientId);
  const m: Member = { c, got: [], qos: [] };
  c.on('message', (_t, p, packet) => {
    m.got.push(p.toString());
    m.qos.push(packet.qos);
  });
  const [g] = await c.subscribeAsync(filter, { qos });
  expect(g!.qos).toBe(qos);
  return m;
}

/** Publish n messages "0".."n-1" one after another (each acknowledged at QoS 1). */
async function publishN(pub: MqttClient, topic: string, n: number, qos: 0 | 1 | 2 = 1) {
  for (let i = 0; i < n; i++) await pub.publishAsync(topic, String(i), { qos });
}

const range = (n: number) => Array.from({ length: n }, (_, i) => String(i));
const sorted = (xs: string[]) => [...xs].sort((a, b) => Number(a) - Number(b));

/** A raw MQTT 3.1.1 client that never acknowledges what it receives (unless told to). */
async function rawMember(port: number, clientId: string, filter: string, qos: 1 | 2) {
  const s = net.connect(port, '127.0.0.1');
  sockets.push(s);
  const p = parser({ protocolVersion: 4 });
  const publishes: IPublishPacket[] = [];
  let suback: number[] | undefined;
  p.on('packet', (pkt: Packet) => {
    if (pkt.cmd === 'publish') publishes.push(pkt);
    if (pkt.cmd === 'suback') suback = pkt.granted as number[];
  });
  s.on('data', (b) => p.parse(b));
  s.on('error', () => {});
  await new Promise<void>((resolve) => s.once('connect', () => resolve()));
  s.write(
    generate({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clean: true,
      clientId,
      keepalive: 0,
    }),
  );
  s.write(generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: filter, qos }] }));
  await waitFor(() => suback !== undefined, 'raw SUBACK');
  expect(suback).toEqual([qos]);
  const closed = new Promise<void>((resolve) => s.once('close', () => resolve()));
  return {
    publishes,
    pubrec: (messageId: number) => s.write(generate({ cmd: 'pubrec', messageId })),
    leave: async () => {
      s.destroy();
      await closed;
    },
  };
}

describe('shared subscriptions: one member of each group gets each message', () => {
  it('round_robin (default): 100 messages alternate exactly between two members; a normal subscriber and a second group get them too', async () => {
    const { url } = await start();
    const a = await member(url, 'rr-a', '$share/g/sensors/t');
    const b = await member(url, 'rr-b', '$share/g/sensors/t');
    const other = await member(url, 'rr-other', '$share/h/sensors/+');
    const normal = await member(url, 'rr-normal', 'sensors/t');
    const pub = await connect(url, 'rr-pub');
    await publishN(pub, 'sensors/t', 100);
    await waitFor(() => a.got.length + b.got.length === 100, 'group g copies');
    await waitFor(() => normal.got.length === 100 && other.got.length === 100, 'the others');
    expect(a.got.length).toBe(50);
    expect(b.got.length).toBe(50);
    // Exactly alternating: one member has the even messages, the other the odd ones.
    const parity = Number(a.got[0]) % 2;
    expect(a.got.every((x) => Number(x) % 2 === parity)).toBe(true);
    expect(b.got.every((x) => Number(x) % 2 !== parity)).toBe(true);
    expect(sorted([...a.got, ...b.got])).toEqual(range(100));
    expect(normal.got).toEqual(range(100));
    expect(other.got).toEqual(range(100));
  });

  it('$queue/<filter> is the group $queue', async () => {
    const { url } = await start();
    const a = await member(url, 'q-a', '$queue/jobs/#');
    const b = await member(url, 'q-b', '$queue/jobs/#');
    const c = await member(url, 'q-c', '$share/$queue/jobs/#');
    const pub = await connect(url, 'q-pub');
    await publishN(pub, 'jobs/x', 30);
    await waitFor(() => a.got.length + b.got.length + c.got.length === 30, '30 copies');
    expect([a.got.length, b.got.length, c.got.length]).toEqual([10, 10, 10]);
    expect(sorted([...a.got, ...b.got, ...c.got])).toEqual(range(30));
  });

  it('random and local: three members, each message delivered once, every member used', async () => {
    for (const strategy of ['random', 'local'] as const) {
      const { url } = await start({ shared_subscription_strategy: strategy });
      const ms = [
        await member(url, `${strategy}-a`, '$share/g/r'),
        await member(url, `${strategy}-b`, '$share/g/r'),
        await member(url, `${strategy}-c`, '$share/g/r'),
      ];
      const pub = await connect(url, `${strategy}-pub`);
      await publishN(pub, 'r', 100);
      await waitFor(() => ms.reduce((n, m) => n + m.got.length, 0) === 100, '100 copies');
      expect(sorted(ms.flatMap((m) => m.got))).toEqual(range(100));
      // P(some member gets none of 100) = 3·(2/3)^100 ≈ 7e-18.
      for (const m of ms) expect(m.got.length).toBeGreaterThan(0);
      await Promise.all(brokers.splice(0).map((b) => b.stop()));
    }
  });

  it('round_robin_per_group: one counter for the group, whoever publishes', async () => {
    const { url } = await start({ shared_subscription_strategy: 'round_robin_per_group' });
    const a = await member(url, 'rpg-a', '$share/g/p');
    const b = await member(url, 'rpg-b', '$share/g/p');
    const p1 = await connect(url, 'rpg-p1');
    const p2 = await connect(url, 'rpg-p2');
    for (let i = 0; i < 40; i++)
      await (i % 2 === 0 ? p1 : p2).publishAsync('p', String(i), { qos: 1 });
    await waitFor(() => a.got.length + b.got.length === 40, '40 copies');
    // p1 publishes the even ones: with one shared counter, all of them go to the same member.
    const parity = Number(a.got[0]) % 2;
    expect(a.got.every((x) => Number(x) % 2 === parity)).toBe(true);
    expect(b.got.every((x) => Number(x) % 2 !== parity)).toBe(true);
    expect([a.got.length, b.got.length]).toEqual([20, 20]);
  });

  it('round_robin keeps one turn per publisher (EMQX: per publishing process)', async () => {
    const { url } = await start();
    const a = await member(url, 'rrp-a', '$share/g/p');
    const b = await member(url, 'rrp-b', '$share/g/p');
    const p1 = await connect(url, 'rrp-p1');
    const p2 = await connect(url, 'rrp-p2');
    const seq1: string[] = [];
    for (let i = 0; i < 20; i++) {
      await p1.publishAsync('p', `1-${i}`, { qos: 1 });
      await p2.publishAsync('p', `2-${i}`, { qos: 1 });
    }
    await waitFor(() => a.got.length + b.got.length === 40, '40 copies');
    for (const m of [a, b])
      for (const x of m.got) if (x.startsWith('1-')) seq1.push(`${m === a ? 'a' : 'b'}${x}`);
    // Publisher 1's own messages alternate between the members.
    const byIndex = seq1.sort((x, y) => Number(x.split('-')[1]) - Number(y.split('-')[1]));
    for (let i = 1; i < byIndex.length; i++) expect(byIndex[i]![0]).not.toBe(byIndex[i - 1]![0]);
  });

  it('sticky: every message to one member until it leaves, then to another', async () => {
    const { url } = await start({ shared_subscription_group: { st: { strategy: 'sticky' } } });
    const ms = [
      await member(url, 'st-a', '$share/st/s'),
      await member(url, 'st-b', '$share/st/s'),
      await member(url, 'st-c', '$share/st/s'),
    ];
    const pub = await connect(url, 'st-pub');
    await publishN(pub, 's', 50);
    await waitFor(() => ms.reduce((n, m) => n + m.got.length, 0) === 50, '50 copies');
    const chosen = ms.find((m) => m.got.length > 0)!;
    expect(chosen.got).toEqual(range(50));
    await chosen.c.endAsync();
    const rest = ms.filter((m) => m !== chosen);
    for (let i = 50; i < 100; i++) await pub.publishAsync('s', String(i), { qos: 1 });
    await waitFor(() => rest.reduce((n, m) => n + m.got.length, 0) === 50, '50 more copies');
    const second = rest.find((m) => m.got.length > 0)!;
    expect(second.got).toEqual(range(100).slice(50));
  });

  it('hash_clientid: each publisher always lands on the same member; hash_topic: each topic does', async () => {
    const { url } = await start({
      shared_subscription_group: {
        hc: { strategy: 'hash_clientid' },
        ht: { strategy: 'hash_topic' },
      },
    });
    const hc = [
      await member(url, 'hc-a', '$share/hc/h/#'),
      await member(url, 'hc-b', '$share/hc/h/#'),
    ];
    const ht = [
      await member(url, 'ht-a', '$share/ht/h/#'),
      await member(url, 'ht-b', '$share/ht/h/#'),
    ];
    const pubs = await Promise.all(['hp-1', 'hp-2', 'hp-3', 'hp-4'].map((id) => connect(url, id)));
    for (let round = 0; round < 10; round++)
      for (let p = 0; p < pubs.length; p++)
        await pubs[p]!.publishAsync(`h/${round % 3}`, `${p}:${round % 3}`, { qos: 1 });
    await waitFor(() => hc[0]!.got.length + hc[1]!.got.length === 40, 'hc copies');
    await waitFor(() => ht[0]!.got.length + ht[1]!.got.length === 40, 'ht copies');
    const owner = (ms: Member[], key: (x: string) => string) => {
      const seen = new Map<string, Set<number>>();
      ms.forEach((m, i) =>
        m.got.forEach((x) => {
          const k = key(x);
          seen.set(k, (seen.get(k) ?? new Set()).add(i));
        }),
      );
      return seen;
    };
    const byPublisher = owner(hc, (x) => x.split(':')[0]!);
    expect(byPublisher.size).toBe(4);
    for (const s of byPublisher.values()) expect(s.size).toBe(1);
    const byTopic = owner(ht, (x) => x.split(':')[1]!);
    expect(byTopic.size).toBe(3);
    for (const s of byTopic.values()) expect(s.size).toBe(1);
  });
});

describe('shared subscriptions: QoS, filters, events', () => {
  it('[MQTT-3.8.4-6] a copy goes out at min(published, granted) of the shared subscription', async () => {
    const { url } = await start();
    const q0 = await member(url, 'qos-0', '$share/a/q/t', 0);
    const q1 = await member(url, 'qos-1', '$share/b/q/+', 1);
    const q2 = await member(url, 'qos-2', '$share/c/q/#', 2);
    const pub = await connect(url, 'qos-pub');
    await pub.publishAsync('q/t', 'x', { qos: 2 });
    await pub.publishAsync('q/t', 'y', { qos: 1 });
    await waitFor(
      () => q0.got.length === 2 && q1.got.length === 2 && q2.got.length === 2,
      'copies',
    );
    expect(q0.qos).toEqual([0, 0]);
    expect(q1.qos).toEqual([1, 1]);
    expect(q2.qos).toEqual([2, 1]);
  });

  it('malformed share filters get SUBACK 0x80 and the connection stays up', async () => {
    const { url, broker } = await start();
    const c = await connect(url, 'bad-filters');
    const bad = [
      '$share/g',
      '$share//t',
      '$share/+/t',
      '$share/#',
      '$share/g/',
      '$queue/',
      '$share/g/$share/h/t',
      '$share/g/$queue/t',
    ];
    // mqtt.js rejects a SUBACK holding 0x80; the packet rides on the error.
    const err = (await c
      .subscribeAsync(Object.fromEntries(bad.map((t) => [t, { qos: 1 as const }])))
      .then(
        () => undefined,
        (e: unknown) => e,
      )) as { packet?: { granted: number[] } } | undefined;
    expect(err?.packet?.granted).toEqual(bad.map(() => 128));
    const ok = await member(url, 'bad-ok', '$share/g/ok');
    await c.publishAsync('ok', 'after', { qos: 1 });
    await waitFor(() => ok.got.length === 1, 'delivery after the refusals');
    expect(c.connected).toBe(true);
    expect(broker.metrics().connections).toBe(2);
  });

  it('a new shared subscription gets no retained message; a live retained one arrives with retain cleared', async () => {
    const { url } = await start();
    const pub = await connect(url, 'ret-pub');
    await pub.publishAsync('ret/t', 'stored', { qos: 1, retain: true });
    const normal = await member(url, 'ret-normal', 'ret/t');
    const retained: boolean[] = [];
    const m = await member(url, 'ret-m', '$share/g/ret/t');
    m.c.on('message', (_t, _p, packet) => retained.push(packet.retain));
    await waitFor(() => normal.got.length === 1, 'the normal subscriber gets the retained one');
    await pub.publishAsync('ret/t', 'live', { qos: 1, retain: true });
    await waitFor(() => m.got.length === 1, 'the live one');
    expect(m.got).toEqual(['live']);
    expect(retained).toEqual([false]);
  });

  it('a PUBLISH to a $share/… topic name reaches no member (message.dropped no_subscribers)', async () => {
    const { url, broker } = await start();
    const dropped: BrokerEvent[] = [];
    broker.onEvent((e) => dropped.push(e), { names: ['message.dropped'] });
    const m = await member(url, 'lit-m', '$share/g/lit');
    const pub = await connect(url, 'lit-pub');
    await pub.publishAsync('$share/g/lit', 'literal', { qos: 1 });
    await pub.publishAsync('lit', 'real', { qos: 1 });
    await waitFor(() => m.got.length === 1, 'the real one');
    expect(m.got).toEqual(['real']);
    await waitFor(() => dropped.length === 1, 'dropped');
    expect(dropped[0]!.columns['topic']).toBe('$share/g/lit');
  });

  it('no live member: the message is dropped (no_subscribers) unless a normal subscriber has it', async () => {
    const { url, broker } = await start();
    const m = await member(url, 'gone-m', '$share/g/gone');
    await m.c.endAsync();
    const pub = await connect(url, 'gone-pub');
    await pub.publishAsync('gone', 'x', { qos: 1 });
    await waitFor(() => broker.metrics().messages_dropped === 1, 'dropped');
  });

  it('session.subscribed carries the full $share filter; unsubscribing leaves the group', async () => {
    const { url, broker } = await start();
    const events: BrokerEvent[] = [];
    broker.onEvent((e) => events.push(e), {
      names: ['session.subscribed', 'session.unsubscribed'],
    });
    const a = await member(url, 'ev-a', '$share/g/ev/#');
    const b = await member(url, 'ev-b', '$queue/ev/#');
    expect(
      events.map((e) => [e.name, e.columns['clientid'], e.columns['topic'], e.columns['qos']]),
    ).toEqual([
      ['session.subscribed', 'ev-a', '$share/g/ev/#', 1],
      ['session.subscribed', 'ev-b', '$queue/ev/#', 1],
    ]);
    const a2 = await member(url, 'ev-a2', '$share/g/ev/#');
    await a.c.unsubscribeAsync('$share/g/ev/#');
    await waitFor(() => events.length === 4, 'unsubscribed');
    expect(events[3]!.columns['topic']).toBe('$share/g/ev/#');
    const pub = await connect(url, 'ev-pub');
    await publishN(pub, 'ev/1', 10);
    await waitFor(() => a2.got.length === 10 && b.got.length === 10, 'copies');
    expect(a.got).toEqual([]);
  });

  it('persistent-session members (clean session false) receive QoS 1 shared copies', async () => {
    const { url } = await start();
    const ms: Member[] = [];
    for (const id of ['ps-a', 'ps-b']) {
      const c = await connect(url, id, false);
      const m: Member = { c, got: [], qos: [] };
      c.on('message', (_t, p) => m.got.push(p.toString()));
      await c.subscribeAsync('$share/g/ps', { qos: 1 });
      ms.push(m);
    }
    const pub = await connect(url, 'ps-pub');
    await publishN(pub, 'ps', 20);
    await waitFor(() => ms[0]!.got.length + ms[1]!.got.length === 20, '20 copies');
    expect(sorted(ms.flatMap((m) => m.got))).toEqual(range(20));
    expect(ms.every((m) => m.c.connected)).toBe(true);
  });
});

describe('shared subscriptions: redelivery when a member leaves', () => {
  it('a clean-session member leaving with unacked QoS 1 copies: they go to the other member, once each', async () => {
    const { url, port, broker } = await start();
    const silent = await rawMember(port, 're-silent', '$share/g/re', 1);
    const b = await member(url, 're-b', '$share/g/re');
    const normal = await member(url, 're-normal', 're');
    const pub = await connect(url, 're-pub');
    await publishN(pub, 're', 20);
    await waitFor(() => silent.publishes.length + b.got.length === 20, '20 copies');
    expect(silent.publishes.length).toBe(10);
    const unacked = silent.publishes.map((p) => p.payload.toString());
    await silent.leave();
    await waitFor(() => b.got.length === 20, 'the unacked ones redelivered');
    expect(sorted(b.got)).toEqual(range(20));
    expect(b.got.slice(10).sort()).toEqual(unacked.sort());
    expect(broker.metrics().shared_redispatched).toBe(10);
    expect(normal.got).toEqual(range(20));
    // Nothing more arrives later (each once).
    await new Promise((r) => setTimeout(r, 200));
    expect(b.got.length).toBe(20);
  });

  it('QoS 2: copies the member already PUBRECed are not redelivered', async () => {
    const { url, port } = await start();
    const silent = await rawMember(port, 're2-silent', '$share/g/re2', 2);
    const b = await member(url, 're2-b', '$share/g/re2', 2);
    const pub = await connect(url, 're2-pub');
    await publishN(pub, 're2', 10, 2);
    await waitFor(() => silent.publishes.length + b.got.length === 10, '10 copies');
    const [first, ...others] = silent.publishes;
    silent.pubrec(first!.messageId!);
    await new Promise((r) => setTimeout(r, 100));
    await silent.leave();
    await waitFor(() => b.got.length === 5 + others.length, 'redelivered');
    await new Promise((r) => setTimeout(r, 200));
    expect(b.got).not.toContain(first!.payload.toString());
    expect(b.got.slice(5).sort()).toEqual(others.map((p) => p.payload.toString()).sort());
  });
});

describe('shared subscriptions in rules', () => {
  it(`SELECT … FROM "$events/session_subscribed" WHERE topic =~ '$share/#' sees shared subscriptions only`, async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sluice-shared-'));
    writeFileSync(
      path.join(dir, 'sluice.yaml'),
      `
broker:
  listeners:
    tcp: { type: tcp, bind: 127.0.0.1, port: 0 }
sinks:
  mem: { type: memory, linger: 0 }
rules:
  - id: shares
    sql: |
      SELECT clientid, topic, qos FROM "$events/session_subscribed" WHERE topic =~ '$share/#'
    actions: [mem]
`,
    );
    const engine = createEngine(path.join(dir, 'sluice.yaml'), {
      logger: silentLogger,
      env: {},
      watch: false,
    });
    try {
      expect(engine.startupIssues).toEqual([]);
      const [addr] = await engine.start();
      const url = `mqtt://127.0.0.1:${addr!.port}`;
      const c = await connect(url, 'rule-sub');
      await c.subscribeAsync('plain/t', { qos: 0 });
      await c.subscribeAsync('$share/workers/jobs/+', { qos: 1 });
      const sink = engine.sink('mem') as MemorySink;
      await waitFor(() => sink.records.length === 1, 'the shared subscription row');
      await new Promise((r) => setTimeout(r, 100));
      expect(sink.records.map((r) => r.data)).toEqual([
        { clientid: 'rule-sub', topic: '$share/workers/jobs/+', qos: 1 },
      ]);
    } finally {
      await Promise.all(clients.splice(0).map((c) => c.endAsync(true).catch(() => undefined)));
      await engine.stop({ drainMs: 500 });
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('shared subscriptions with paho-mqtt (Python)', () => {
  it('two paho members of $share/py/… split 20 QoS 1 messages in turn, once each', async () => {
    const py = pahoPython(); // a venv under node_modules/.cache, built on first use
    const { url, port } = await start();
    const script = path.join(import.meta.dirname, 'fixtures/paho-shared.py');
    const child = spawn(py, [script, String(port), 'paho/t', '20'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      await waitFor(() => out.includes('ready'), 'paho members subscribed');
      const pub = await connect(url, 'paho-pub');
      await publishN(pub, 'paho/t', 20);
      expect(await exited).toBe(0);
    } finally {
      child.kill();
    }
    const res = JSON.parse(out.trim().split('\n').pop()!) as {
      a: string[];
      b: string[];
      granted: number[];
    };
    expect(res.granted).toEqual([1, 1]);
    expect(sorted([...res.a, ...res.b])).toEqual(range(20));
    expect([res.a.length, res.b.length]).toEqual([10, 10]);
  });
});
