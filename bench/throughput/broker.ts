/**
 * Broker + rule engine throughput (issue #4 item 6). mqtt.js publishers in a separate process
 * (broker-publisher.ts) → the server under test in this process, 100-byte JSON payloads,
 * QoS 0 and QoS 1:
 *
 *  - `aedes`  bare Aedes on a TCP server, consuming in process: one `bench/#` subscription
 *             that JSON-decodes each payload and records its latency;
 *  - `sluice` the whole engine: embedded broker → one rule `SELECT payload.ts AS ts, payload.seq
 *             AS seq FROM "bench/#"` → sink runner (linger 0) → a counting sink recording
 *             publish-to-sink latency;
 *  - `sluice broker only` the engine with no rules, consuming through an in-process
 *             subscription like bare Aedes (isolates the broker wrapper's cost);
 *  - `sluice-1000` 1,000 rules on distinct filters `bench/r<i>/#`, messages spread over the
 *             1,000 topics (each message matches exactly one rule), against `sluice` with one
 *             rule on the same spread topics.
 *
 * Each server first receives a warm-up load (10,000 messages; 100 per rule with 1,000 rules)
 * that is not reported, so JIT warm-up of per-rule generated code does not count.
 * msg/s = steady-state receive rate (arrivals between the 10th and 90th percentile). Latency = receive time − the
 * send time carried in the payload. Scenarios are interleaved over `ROUNDS` rounds and the
 * median round is reported, so machine noise (2 shared cores) hits every side alike.
 *
 *   npm run bench:broker              # ~50 s, writes bench/results/broker.md
 *   npm run bench:broker -- --quick   # ~15 s smoke run, prints only
 *   npm run bench:broker -- --protocol 5
 *                                     # MQTT 3.1.1 vs 5 (issue #13): the publishers connect with
 *                                     # protocol level 4 and 5 in turn, same load, against the
 *                                     # sluice q0 / q1 / broker-only scenarios; writes
 *                                     # bench/results/broker-mqtt5.md
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';

import { Aedes } from 'aedes';

import { field, num, silentLogger } from '../../src/core/index.js';
import type { EFloat, Sink, SinkRecord, SinkType } from '../../src/core/index.js';
import { createEngine } from '../../src/engine/index.js';
import {
  compileRule,
  createEventSource,
  createMessageContext,
  createRuleManager,
} from '../../src/runtime/index.js';
import type { MessageContext } from '../../src/runtime/index.js';

const quick = process.argv.includes('--quick');
/** `--only=spread` runs only the scenarios whose name contains the word (for profiling). */
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
const ROUNDS = quick ? 1 : 3;
/** `--messages=N` overrides the QoS 0 message count (QoS 1 uses half). */
const override = Number(
  process.argv.find((a) => a.startsWith('--messages='))?.slice('--messages='.length),
);
const TOTAL = override
  ? ({ 0: override, 1: Math.ceil(override / 2) } as const)
  : ({ 0: quick ? 30_000 : 50_000, 1: quick ? 15_000 : 25_000 } as const);
const CLIENTS = 4;
/** `--protocol 5` (or `--protocol=5`): compare MQTT 5 publishers with 3.1.1 ones in one run. */
const protocolFlag = process.argv.findIndex(
  (a) => a === '--protocol' || a.startsWith('--protocol='),
);
const compareV5 =
  protocolFlag >= 0 &&
  (process.argv[protocolFlag]!.includes('=')
    ? process.argv[protocolFlag]!.split('=')[1]
    : process.argv[protocolFlag + 1]) === '5';
/** `--publisher raw`: the lean raw-socket generator (raw-publisher.ts) instead of mqtt.js. */
const rawPublisher =
  process.argv.includes('--publisher=raw') ||
  process.argv[process.argv.indexOf('--publisher') + 1] === 'raw';
/** `--levels=5` (with `--protocol 5`): run only these protocol levels (one profile each). */
const LEVELS = (process.argv
  .find((a) => a.startsWith('--levels='))
  ?.slice('--levels='.length)
  .split(',')
  .map(Number) ?? [4, 5]) as (4 | 5)[];
/** Protocol level the publishers of the next run connect with. */
let protocol: 4 | 5 = 4;
/** Messages sent (and not reported) before each measured run, per server. */
const WARMUP_SINGLE = 10_000;
const here = path.dirname(new URL(import.meta.url).pathname);
const now = (): number => performance.timeOrigin + performance.now();

interface Collector {
  readonly lat: Float64Array;
  /** Arrival time of each message (for the steady-state rate). */
  readonly at: Float64Array;
  n: number;
  last: number;
  done?: () => void;
  expect: number;
}

function collector(expect: number): Collector {
  return { lat: new Float64Array(expect), at: new Float64Array(expect), n: 0, last: 0, expect };
}

function record(c: Collector, ts: number): void {
  const t = now();
  if (c.n < c.expect) {
    c.lat[c.n] = t - ts;
    c.at[c.n] = t;
  }
  c.n++;
  c.last = t;
  if (c.n === c.expect) c.done?.();
}

function publish(port: number, qos: 0 | 1, total: number, topics: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(here, rawPublisher ? 'raw-publisher.ts' : 'broker-publisher.ts'),
        String(port),
        String(qos),
        String(total),
        String(CLIENTS),
        String(topics),
        ...(rawPublisher ? ['0'] : []),
        String(protocol),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`publisher exited ${code}`)),
    );
  });
}

interface Result {
  msgs: number;
  rate: number;
  /** Server-process CPU time per received message (µs): robust on a shared machine. */
  cpuUs: number;
  p50: number;
  p99: number;
}

async function measure(port: number, c: Collector, qos: 0 | 1, topics: number): Promise<Result> {
  const arrived = new Promise<void>((resolve) => (c.done = resolve));
  const cpu0 = process.cpuUsage();
  await publish(port, qos, c.expect, topics);
  await Promise.race([arrived, new Promise((r) => setTimeout(r, 5000))]);
  const cpu = process.cpuUsage(cpu0);
  const got = Math.min(c.n, c.expect);
  const lat = Array.from(c.lat.subarray(0, got)).sort((a, b) => a - b);
  // Steady-state rate: arrivals between the 10th and the 90th percentile of the run, so
  // connection set-up and the tail do not count.
  const a = Math.floor(got * 0.1);
  const b = Math.floor(got * 0.9);
  return {
    msgs: c.n,
    cpuUs: (cpu.user + cpu.system) / Math.max(1, c.n),
    rate: got > 10 ? (b - a) / (((c.at[b] as number) - (c.at[a] as number)) / 1000) : 0,
    p50: lat[Math.floor(lat.length * 0.5)] ?? NaN,
    p99: lat[Math.floor(lat.length * 0.99)] ?? NaN,
  };
}

/** Bare Aedes: TCP server + one in-process subscription that decodes each payload. */
async function runAedes(qos: 0 | 1, total: number): Promise<Result> {
  const aedes = await Aedes.createBroker({ concurrency: 1000 });
  const server = createServer(aedes.handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  let c = collector(WARMUP_SINGLE);
  aedes.subscribe(
    'bench/#',
    (packet, cb) => {
      const ts = (JSON.parse(packet.payload.toString()) as { ts: number }).ts;
      record(c, ts);
      cb();
    },
    () => {},
  );
  const port = (server.address() as AddressInfo).port;
  await measure(port, c, qos, 1); // warm-up, not reported
  c = collector(total);
  const r = await measure(port, c, qos, 1);
  await new Promise<void>((res) => aedes.close(() => res()));
  await new Promise<void>((res) => server.close(() => res()));
  return r;
}

/** The engine with `rules` rules on distinct filters and a counting sink. */
async function runSluice(
  qos: 0 | 1,
  total: number,
  rules: number,
  topics: number,
): Promise<Result> {
  // Warm-up first (not reported): every rule's generated code runs ~100 times before measuring.
  let c = collector(rules === 1 ? WARMUP_SINGLE : rules * 100);
  const counting: SinkType<never> = {
    type: 'bench_count',
    spec: field.object({}, { description: 'counts records' }),
    create: (): Sink => ({
      connect: async () => {},
      close: async () => {},
      write: async (batch: readonly SinkRecord[]) => {
        for (const r of batch) {
          // `ts` may decode as an EFloat (integral float such as 1732570000123.000).
          record(c, num(r.data['ts'] as number | EFloat));
        }
      },
    }),
  };
  const ruleList =
    rules === 1
      ? [
          {
            id: 'r',
            sql: 'SELECT payload.ts AS ts, payload.seq AS seq FROM "bench/#"',
            actions: ['count'],
          },
        ]
      : Array.from({ length: rules }, (_, i) => ({
          id: `r${i}`,
          sql: `SELECT payload.ts AS ts, payload.seq AS seq FROM "bench/r${i}/#"`,
          actions: ['count'],
        }));
  const engine = createEngine(
    {
      broker: { listeners: { tcp: { type: 'tcp', bind: '127.0.0.1', port: 0 } } },
      sinks: { count: { type: 'bench_count', linger: 0, batch_size: 500, max_inflight: 4 } },
      rules: ruleList,
      log: { level: 'silent' },
    },
    { logger: silentLogger, sinkTypes: [counting], watch: false },
  );
  const [addr] = await engine.start();
  await measure(addr?.port as number, c, 0, topics);
  c = collector(total);
  const r = await measure(addr?.port as number, c, qos, topics);
  await engine.stop({ drainMs: 1000 });
  return r;
}

/**
 * The rule runtime alone (no broker, no sockets): events pushed straight into the shared source
 * with `rules` rules on distinct filters, each event matching one rule. Three passes over the
 * same engine (the first warms up every rule's generated code); the last pass is reported, as
 * events/s. Isolates the cost of the topic index and per-rule pipelines from network noise.
 */
function runtimeOnly(rules: number, events: number): number {
  const source = createEventSource<MessageContext>({
    createContext: createMessageContext,
    logger: silentLogger,
    now: Date.now,
  });
  let routed = 0;
  const manager = createRuleManager<MessageContext>({
    source,
    router: () => (routed++, true),
    logger: silentLogger,
    now: Date.now,
  });
  for (let i = 0; i < rules; i++) {
    const filter = rules === 1 ? 'bench/#' : `bench/r${i}/#`;
    const compiled = compileRule(`SELECT payload.ts AS ts, payload.seq AS seq FROM "${filter}"`);
    manager.add({ id: `r${i}`, from: compiled.sources, compiled, actions: ['count'] });
  }
  const topics = Array.from({ length: 1000 }, (_, i) => `bench/r${i}/x`);
  const payloads = topics.map((_, i) =>
    Buffer.from(JSON.stringify({ ts: 1.5, seq: i, pad: 'x'.repeat(60) })),
  );
  let rate = 0;
  for (let pass = 0; pass < 3; pass++) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < events; i++) {
      const topic = topics[i % 1000] as string;
      source.push({
        name: 'message.publish',
        matchTopic: topic,
        columns: { topic, payload: payloads[i % 1000] },
      });
    }
    const c = process.cpuUsage(c0);
    rate = events / ((c.user + c.system) / 1e6); // per CPU-second: robust on a shared machine
  }
  manager.close();
  if (routed !== events * 3) throw new Error(`runtime-only: routed ${routed} of ${events * 3}`);
  return rate;
}

/**
 * Where the cost goes: the engine with NO rules (the broker wrapper still builds every event's
 * columns and the source looks the topic up), consuming like bare Aedes does — one in-process
 * `bench/#` subscription that decodes each payload.
 */
async function runBrokerOnly(qos: 0 | 1, total: number): Promise<Result> {
  const engine = createEngine(
    {
      broker: { listeners: { tcp: { type: 'tcp', bind: '127.0.0.1', port: 0 } } },
      log: { level: 'silent' },
    },
    { logger: silentLogger, watch: false },
  );
  const [addr] = await engine.start();
  let c = collector(WARMUP_SINGLE);
  const off = await engine.broker.subscribe('bench/#', (m) => {
    record(c, (JSON.parse(m.payload.toString()) as { ts: number }).ts);
  });
  await measure(addr?.port as number, c, qos, 1);
  c = collector(total);
  const r = await measure(addr?.port as number, c, qos, 1);
  await off();
  await engine.stop({ drainMs: 500 });
  return r;
}

function median(xs: Result[]): Result {
  return [...xs].sort((a, b) => a.rate - b.rate)[Math.floor(xs.length / 2)] as Result;
}

const fmt = (r: Result): string =>
  `${Math.round(r.rate).toLocaleString('en-US')} | ${r.cpuUs.toFixed(1)} | ${Math.round(1e6 / r.cpuUs).toLocaleString('en-US')} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.msgs.toLocaleString('en-US')}`;

const results: Record<string, Result[]> = {};
const want = (k: string): boolean => !only || k.includes(only);
const add = (k: string, r: Result): void => {
  (results[k] ??= []).push(r);
  process.stderr.write(
    `  ${k}: ${Math.round(r.rate)} msg/s p50 ${r.p50.toFixed(2)} ms p99 ${r.p99.toFixed(2)} ms (${r.msgs} received)\n`,
  );
};

for (let round = 0; compareV5 && round < ROUNDS; round++) {
  process.stderr.write(`round ${round + 1}/${ROUNDS} (MQTT 3.1.1 vs 5)\n`);
  for (const [label, run] of [
    ['sluice q0', () => runSluice(0, TOTAL[0], 1, 1)],
    ['sluice q1', () => runSluice(1, TOTAL[1], 1, 1)],
    ['sluice broker only q0', () => runBrokerOnly(0, TOTAL[0])],
  ] as const)
    for (const v of LEVELS) {
      if (!want(label)) continue;
      protocol = v;
      add(`${label} ${v === 5 ? 'v5' : 'v3.1.1'}`, await run());
    }
  protocol = 4;
}

for (let round = 0; !compareV5 && round < ROUNDS; round++) {
  process.stderr.write(`round ${round + 1}/${ROUNDS}\n`);
  for (const qos of [0, 1] as const) {
    if (want(`aedes q${qos}`)) add(`aedes q${qos}`, await runAedes(qos, TOTAL[qos]));
    if (want(`sluice q${qos}`)) add(`sluice q${qos}`, await runSluice(qos, TOTAL[qos], 1, 1));
  }
  if (want('sluice broker only q0')) add('sluice broker only q0', await runBrokerOnly(0, TOTAL[0]));
  if (want('sluice 1 rule spread'))
    add('sluice 1 rule spread', await runSluice(0, TOTAL[0], 1, 1000));
  if (want('sluice 1000 rules spread'))
    add('sluice 1000 rules spread', await runSluice(0, TOTAL[0], 1000, 1000));
}

const runtime: Record<string, number[]> = {};
if (want('runtime') && !compareV5) {
  for (let round = 0; round < ROUNDS; round++)
    for (const n of [1, 1000]) {
      const r = runtimeOnly(n, quick ? 200_000 : 500_000);
      (runtime[n] ??= []).push(r);
      process.stderr.write(`  runtime only, ${n} rule(s): ${Math.round(r)} events/s\n`);
    }
}
const med = (xs: number[] = []): number =>
  xs.length === 0 ? NaN : ([...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number);

const m = (k: string): Result =>
  median(results[k] ?? [{ msgs: 0, rate: NaN, cpuUs: NaN, p50: NaN, p99: NaN }]);
const medCpu = (k: string): number => med((results[k] ?? []).map((r) => r.cpuUs));
const cpuRatio = (a: string, b: string): string => (medCpu(b) / medCpu(a)).toFixed(2);
const ratio = (a: string, b: string): string => (m(a).rate / m(b).rate).toFixed(2);
const v5Lines = [
  '# Broker throughput: MQTT 3.1.1 vs MQTT 5 publishers',
  '',
  `Command: \`npm run bench:broker -- --protocol 5${rawPublisher ? ' --publisher raw' : ''}${quick ? ' --quick' : ''}\` (bench/throughput/broker.ts). Date: ${new Date().toISOString().slice(0, 10)}.`,
  `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}; load average at the end ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' / ')}; machine shared with other jobs.`,
  '',
  `Load: ${CLIENTS} ${rawPublisher ? 'raw-socket (raw-publisher.ts)' : 'mqtt.js'} publishers (protocol level 4, then 5, same messages) in one separate process, 100-byte JSON payloads, ≤ 500 in flight per client;`,
  `${TOTAL[0].toLocaleString('en-US')} messages at QoS 0, ${TOTAL[1].toLocaleString('en-US')} at QoS 1 per run; median of ${ROUNDS} interleaved round(s).`,
  '',
  '| scenario | msg/s (wall) | server CPU µs/msg | msg/s per CPU-second | p50 ms | p99 ms | received |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...Object.keys(results).map((k) => `| ${k} | ${fmt({ ...m(k), cpuUs: medCpu(k) })} |`),
  '',
  ...['sluice q0', 'sluice q1', 'sluice broker only q0'].map(
    (k) =>
      `- ${k}: MQTT 5 ÷ 3.1.1 **${ratio(`${k} v5`, `${k} v3.1.1`)}×** wall-clock msg/s, **${cpuRatio(`${k} v5`, `${k} v3.1.1`)}×** by server CPU per message (target: within 10 %).`,
  ),
  '',
];
if (compareV5) {
  process.stdout.write(v5Lines.join('\n'));
  if (!quick && !only && !override && LEVELS.length === 2)
    writeFileSync(
      path.join(here, `../results/broker-mqtt5${rawPublisher ? '-raw' : ''}.md`),
      v5Lines.join('\n'),
    );
  process.exit(0);
}
const lines = [
  '# Broker + rule engine throughput',
  '',
  `Command: \`npm run bench:broker${quick ? ' -- --quick' : ''}\` (bench/throughput/broker.ts). Date: ${new Date().toISOString().slice(0, 10)}.`,
  `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}; machine shared with other jobs.`,
  '',
  `Load: ${CLIENTS} mqtt.js publishers in one separate process, 100-byte JSON payloads, ≤ 500 in flight per client;`,
  `${TOTAL[0].toLocaleString('en-US')} messages at QoS 0, ${TOTAL[1].toLocaleString('en-US')} at QoS 1 per run; median of ${ROUNDS} interleaved round(s).`,
  'Latency = time the message reached the consumer (Aedes subscription / Sluice sink write) − send time in the payload.',
  '',
  '| scenario | msg/s (wall) | server CPU µs/msg | msg/s per CPU-second | p50 ms | p99 ms | received |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...Object.keys(results).map((k) => `| ${k} | ${fmt({ ...m(k), cpuUs: medCpu(k) })} |`),
  '',
  `- Sluice / bare Aedes at QoS 0: **${ratio('sluice q0', 'aedes q0')}×** wall-clock msg/s, **${cpuRatio('sluice q0', 'aedes q0')}×** by server CPU per message (target ≥ 0.75×); at QoS 1: ${ratio('sluice q1', 'aedes q1')}× wall, ${cpuRatio('sluice q1', 'aedes q1')}× CPU.`,
  `- 1,000 rules on distinct filters vs 1 rule (same spread topics, QoS 0): cost **${(m('sluice 1 rule spread').rate / m('sluice 1000 rules spread').rate).toFixed(2)}×** wall-clock, **${(medCpu('sluice 1000 rules spread') / medCpu('sluice 1 rule spread')).toFixed(2)}×** server CPU per message (target < 2×).`,
  `- Cost split at QoS 0 (server CPU µs per message): bare Aedes ${medCpu('aedes q0').toFixed(1)}; + Sluice's broker layer (event columns, auth hooks; engine with no rules) ${(medCpu('sluice broker only q0') - medCpu('aedes q0')).toFixed(1)}; + one rule, sink runner and sink ${(medCpu('sluice q0') - medCpu('sluice broker only q0')).toFixed(1)}.`,
  `- Rule runtime alone (source → topic index → rule pipelines → router, no broker; warmed up; per CPU-second): 1 rule ${Math.round(med(runtime[1])).toLocaleString('en-US')} events/s, 1,000 rules ${Math.round(med(runtime[1000])).toLocaleString('en-US')} events/s — cost **${(med(runtime[1]) / med(runtime[1000])).toFixed(2)}×**.`,
  '',
];
process.stdout.write(lines.join('\n'));
if (!quick && !only && !override)
  writeFileSync(path.join(here, '../results/broker.md'), lines.join('\n'));
