/**
 * Cost of tracing (issue #18 item 1: "nothing measurable when no trace is active"): the rule
 * runtime alone (source → topic index → rule pipelines with WHERE → router; no broker, no sink)
 * fed the same events in one process, in interleaved rounds, with
 *
 *   before   the runtime of a checkout without tracing (`--baseline DIR`, e.g. main's worktree)
 *   idle     this runtime with the engine's trace registry wired (source.setTracer) and no trace
 *   other    this runtime with a trace running that selects none of the events (clientid filter)
 *   traced   this runtime with a trace selecting every event (what tracing costs per message;
 *            fewer events, as a trace takes at most 100,000 messages)
 *
 *   npx tsx bench/throughput/trace-overhead.bench.ts --baseline /work/main [--rounds 5]
 *       [--events 300000] [--sizes 1,10,100]
 *
 * Each size is a number of rules all matching every event (`bench/#`), so each event crosses
 * the per-delivery check that many times. Events per pass = events / rules. Every measurement
 * runs in a fresh child process (its own JIT state: a variant cannot deoptimise another's code),
 * takes the best of 5 passes after warm-up, as events per CPU-second of the child (robust on a
 * shared machine); rounds interleave the variants; median of the rounds; the ratios against
 * `before` are printed as a markdown table.
 */
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { silentLogger } from '../../src/core/index.js';
import type { BrokerEvent } from '../../src/core/index.js';
import * as current from '../../src/runtime/index.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] as string) : def;
}
const ROUNDS = Number(arg('rounds', '5'));
const EVENTS = Number(arg('events', '300000'));
const SIZES = arg('sizes', '1,10,100').split(',').map(Number);
const BASELINE = arg('baseline', '');

type Runtime = typeof current;
const before: Runtime | undefined = BASELINE
  ? ((await import(pathToFileURL(path.resolve(BASELINE, 'src/runtime/index.ts')).href)) as Runtime)
  : undefined;

type Variant = 'before' | 'idle' | 'other' | 'traced';

const topics = Array.from({ length: 100 }, (_, i) => `bench/d${i}/temp`);
const events: BrokerEvent[] = topics.map((topic, i) => ({
  name: 'message.publish',
  matchTopic: topic,
  columns: {
    id: `m${i}`,
    clientid: `dev-${i}`,
    topic,
    payload: Buffer.from(JSON.stringify({ temp: 20 + (i % 20), seq: i, pad: 'x'.repeat(60) })),
  },
}));

function run(variant: Variant, rules: number, total: number): number {
  const rt = variant === 'before' ? (before as Runtime) : current;
  const source = rt.createEventSource({
    createContext: rt.createMessageContext,
    logger: silentLogger,
    now: Date.now,
  });
  let routed = 0;
  const manager = rt.createRuleManager({
    source,
    router: () => (routed++, true),
    logger: silentLogger,
    now: Date.now,
  });
  const sql = 'SELECT payload.temp AS t, clientid FROM "bench/#" WHERE payload.temp > 38';
  for (let i = 0; i < rules; i++) {
    const compiled = rt.compileRule(sql);
    manager.add({ id: `r${i}`, from: compiled.sources, compiled, actions: ['count'] });
  }
  let registry: current.TraceRegistry | undefined;
  if (variant !== 'before') {
    registry = current.createTraceRegistry({ onActive: (t) => source.setTracer(t) });
    if (variant === 'other') registry.create({ filter: { clientid: 'nobody' }, duration_s: 3600 });
    if (variant === 'traced')
      registry.create({ filter: { topic: 'bench/#' }, duration_s: 3600, max_messages: 100_000 });
  }
  let rate = 0;
  const PASSES = 6;
  for (let pass = 0; pass < PASSES; pass++) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < total; i++) source.push(events[i % 100] as BrokerEvent);
    const c = process.cpuUsage(c0);
    if (pass > 0) rate = Math.max(rate, total / ((c.user + c.system) / 1e6));
  }
  registry?.close();
  manager.close();
  // temp > 38 holds for 1 event in 20 (temp 39)
  const expected = (PASSES * total * rules) / 20;
  if (routed !== expected) throw new Error(`${variant}: routed ${routed}, expected ${expected}`);
  return rate;
}

// Child mode: one measurement, printed as a number.
const child = process.argv.indexOf('--child');
if (child >= 0) {
  const [v, n, total] = process.argv.slice(child + 1, child + 4);
  process.stdout.write(String(run(v as Variant, Number(n), Number(total))));
  process.exit(0);
}

function measure(v: Variant, n: number, total: number): number {
  const out = execFileSync(
    process.execPath,
    [
      ...process.execArgv,
      new URL(import.meta.url).pathname,
      ...(BASELINE ? ['--baseline', BASELINE] : []),
      '--child',
      v,
      String(n),
      String(total),
    ],
    { encoding: 'utf8' },
  );
  return Number(out);
}

const variants: Variant[] = [...(before ? (['before'] as const) : []), 'idle', 'other', 'traced'];
const results = new Map<string, number[]>();
for (let round = 0; round < ROUNDS; round++) {
  process.stderr.write(`round ${round + 1}/${ROUNDS}\n`);
  for (const n of SIZES)
    for (const v of variants) {
      const total =
        v === 'traced' ? Math.floor(16_000 / n) : Math.max(1000, Math.floor(EVENTS / n));
      const r = measure(v, n, v === 'traced' ? Math.max(100, total) : total);
      const k = `${n}:${v}`;
      results.set(k, [...(results.get(k) ?? []), r]);
      process.stderr.write(`  ${n} rule(s) ${v}: ${Math.round(r)} events/s\n`);
    }
}
const med = (xs: number[] = []): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');
const lines = [
  `Command: \`npx tsx bench/throughput/trace-overhead.bench.ts${BASELINE ? ` --baseline ${BASELINE}` : ''} --rounds ${ROUNDS} --events ${EVENTS} --sizes ${SIZES.join(',')}\`. Date: ${new Date().toISOString().slice(0, 10)}.`,
  `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}; shared with other jobs. Events per CPU-second, median of ${ROUNDS} interleaved rounds.`,
  '',
  '| rules | before | idle registry | idle / before | trace running, selects none | other / before | tracing every event |',
  '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...SIZES.map((n) => {
    const b = med(results.get(`${n}:before`));
    const i = med(results.get(`${n}:idle`));
    const o = med(results.get(`${n}:other`));
    const t = med(results.get(`${n}:traced`));
    const ratio = (x: number): string => (before ? (x / b).toFixed(3) : 'n/a');
    return `| ${n} | ${before ? fmt(b) : 'n/a'} | ${fmt(i)} | ${ratio(i)} | ${fmt(o)} | ${ratio(o)} | ${fmt(t)} |`;
  }),
];
process.stdout.write(lines.join('\n') + '\n');
