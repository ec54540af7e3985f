/**
 * Fuzz (issue #11 item 6): for a bounded time, many raw TCP connections send random and
 * mutated MQTT packets (mqtt-packet `generate` of valid packets, then byte flips, truncations,
 * duplicated or random bytes; some after a valid CONNECT, some before any). Meanwhile a
 * well-behaved mqtt.js client round-trips QoS 1 messages through the broker.
 *
 * Passes when: the broker never crashes (its process is this one; an uncaught exception fails
 * the run), every probe message comes back, probe latency stays bounded (p99 under a loose 2 s,
 * for a shared 2-core machine), the broker still accepts a fresh client at the end, and RSS
 * growth stays under 300 MB
 * with the live heap after a full GC within 50 MB of where it started. The seed is printed; `SLUICE_FUZZ_SEED=<n>` replays a run.
 */
import { connect as tcpConnect, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import mqtt from 'mqtt';
import mqttPacket from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/index.js';
import { createBroker, type Broker } from '../../src/broker/index.js';

const SEED = Number(process.env.SLUICE_FUZZ_SEED) || Math.floor(Math.random() * 2 ** 31);
const DURATION_MS = 6000;
const CONCURRENCY = 24;

/** mulberry32: small, seedable. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = rng(SEED);
const int = (n: number): number => Math.floor(rand() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;

const topics = ['a', 'a/b', 'fuzz/#', '+/x', '#', '$SYS/x', 'a//b', '', 'é/ü', 'x'.repeat(300)];
function validPacket(): Record<string, unknown> {
  const qos = int(3);
  const templates: Array<() => Record<string, unknown>> = [
    () => ({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: pick([3, 4, 4, 5]),
      clean: rand() < 0.5,
      clientId: `fz-${int(50)}`,
      keepalive: int(60),
      ...(rand() < 0.3
        ? { will: { topic: pick(topics) || 'w', payload: Buffer.from('w'), qos, retain: false } }
        : {}),
      ...(rand() < 0.2 ? { username: 'u', password: Buffer.from('p') } : {}),
    }),
    () => ({
      cmd: 'publish',
      topic: pick(topics) || 'p',
      payload: Buffer.alloc(int(2000), int(256)),
      qos,
      retain: rand() < 0.2,
      dup: rand() < 0.1,
      messageId: qos ? 1 + int(65535) : undefined,
    }),
    () => ({
      cmd: 'subscribe',
      messageId: 1 + int(65535),
      subscriptions: [{ topic: pick(topics) || 's', qos }],
    }),
    () => ({
      cmd: 'unsubscribe',
      messageId: 1 + int(65535),
      unsubscriptions: [pick(topics) || 'u'],
    }),
    () => ({ cmd: pick(['puback', 'pubrec', 'pubrel', 'pubcomp']), messageId: 1 + int(65535) }),
    () => ({ cmd: 'pingreq' }),
    () => ({ cmd: 'disconnect' }),
  ];
  return pick(templates)();
}

function generate(p: Record<string, unknown>): Buffer {
  try {
    return mqttPacket.generate(p as unknown as mqttPacket.Packet);
  } catch {
    return Buffer.from([0x30, 0x00]);
  }
}

function mutate(buf: Buffer): Buffer {
  const b = Buffer.from(buf);
  switch (int(6)) {
    case 0: // flips
      for (let i = 0, n = 1 + int(4); i < n && b.length; i++) {
        const at = int(b.length);
        b[at] = b[at]! ^ (1 << int(8));
      }
      return b;
    case 1: // truncation
      return b.subarray(0, int(b.length + 1));
    case 2: // duplicated tail
      return Buffer.concat([b, b.subarray(int(b.length + 1))]);
    case 3: // random bytes
      return Buffer.from(Array.from({ length: 1 + int(64) }, () => int(256)));
    case 4: // huge announced length
      return Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f, 0x00]);
    default:
      return b; // valid
  }
}

let broker: Broker;
let port: number;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
/** Heap in use after a full collection (RSS alone includes garbage not yet collected). */
async function settledHeapMb(): Promise<number> {
  await new Promise((r) => setTimeout(r, 100));
  gc();
  return process.memoryUsage().heapUsed / 1024 / 1024;
}

beforeAll(async () => {
  console.log(`broker-fuzz seed ${SEED} (replay with SLUICE_FUZZ_SEED=${SEED})`);
  broker = createBroker(
    { logger: silentLogger },
    { listeners: { tcp: { type: 'tcp', bind: '127.0.0.1', port: 0, idle_timeout: 2000 } } },
  );
  const [addr] = await broker.start();
  port = addr!.port;
});

afterAll(async () => {
  await broker.stop();
});

/** One fuzz connection: optionally a valid CONNECT, then a few mutated packets, then close. */
function fuzzConnection(): Promise<void> {
  return new Promise((resolve) => {
    const s: Socket = tcpConnect(port, '127.0.0.1');
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      s.destroy();
      resolve();
    };
    s.on('error', finish);
    s.on('close', finish);
    s.on('data', () => undefined);
    s.on('connect', () => {
      const parts: Buffer[] = [];
      if (rand() < 0.6)
        parts.push(
          generate({
            cmd: 'connect',
            protocolId: 'MQTT',
            protocolVersion: 4,
            clean: true,
            clientId: `fzc-${int(1e6)}`,
            keepalive: 0,
          }),
        );
      for (let i = 0, n = 1 + int(8); i < n; i++) parts.push(mutate(generate(validPacket())));
      let i = 0;
      const step = (): void => {
        if (done) return;
        if (i >= parts.length) return void setTimeout(finish, int(200));
        s.write(parts[i++]!);
        setTimeout(step, int(20));
      };
      step();
    });
    setTimeout(finish, 3000);
  });
}

describe('broker fuzz', () => {
  it('survives random and mutated packets; a well-behaved client keeps round-tripping', async () => {
    const heap0 = await settledHeapMb();
    const rss0 = process.memoryUsage().rss;
    const probe = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
      clientId: 'fuzz-probe',
      reconnectPeriod: 0,
      connectTimeout: 5000,
    });
    await probe.subscribeAsync('probe/t', { qos: 1 });
    const latencies: number[] = [];
    const waiting = new Map<string, number>();
    probe.on('message', (_t, payload) => {
      const sent = waiting.get(payload.toString());
      if (sent !== undefined) {
        latencies.push(performance.now() - sent);
        waiting.delete(payload.toString());
      }
    });
    const end = Date.now() + DURATION_MS;
    let sent = 0;
    let connections = 0;
    const probeLoop = (async () => {
      while (Date.now() < end) {
        const id = `m${sent++}`;
        waiting.set(id, performance.now());
        await probe.publishAsync('probe/t', id, { qos: 1 });
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const workers = Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < end) {
        connections++;
        await fuzzConnection();
      }
    });
    await Promise.all([probeLoop, ...workers]);
    for (let i = 0; i < 50 && waiting.size > 0; i++) await new Promise((r) => setTimeout(r, 100));
    await probe.endAsync(true);

    const sorted = [...latencies].sort((a, b) => a - b);
    const p99 = sorted[Math.floor(sorted.length * 0.99)] ?? Infinity;
    const growth = (process.memoryUsage().rss - rss0) / 1024 / 1024;
    const heapGrowth = (await settledHeapMb()) - heap0;
    console.log(
      `broker-fuzz seed ${SEED}: ${connections} fuzz connections, probe ${latencies.length}/${sent} ` +
        `p50 ${sorted[Math.floor(sorted.length / 2)]?.toFixed(1)} ms p99 ${p99.toFixed(1)} ms, RSS +${growth.toFixed(0)} MB, heap after GC +${heapGrowth.toFixed(1)} MB`,
    );
    expect(connections).toBeGreaterThan(50);
    expect(waiting.size).toBe(0);
    expect(latencies.length).toBe(sent);
    expect(p99).toBeLessThan(2000);
    // RSS is bounded loosely (allocator keeps freed pages); live heap must return near its start.
    expect(growth).toBeLessThan(300);
    expect(heapGrowth).toBeLessThan(50);

    // Still serving: a fresh client connects and round-trips.
    const after = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
      clientId: 'fuzz-after',
      reconnectPeriod: 0,
      connectTimeout: 5000,
    });
    await after.subscribeAsync('after/t', { qos: 1 });
    const got = new Promise<string>((r) => after.once('message', (_t, p) => r(p.toString())));
    await after.publishAsync('after/t', 'ok', { qos: 1 });
    expect(await got).toBe('ok');
    await after.endAsync(true);
  }, 30_000);
});
