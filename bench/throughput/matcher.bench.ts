/**
 * The topic matcher (src/broker/matcher.ts, decision 0024) against the one it replaces:
 * mqemitter's Qlobber with main's cached topic splits (the former split-cache.ts wrapper,
 * reproduced below), in one process, alternating which goes first. Per size N and shape:
 *
 * - `abuse`: N filters `subs/<b>/<i>/+` (1,000 per `<b>`), one listener (the abuse suite's
 *   subs_100k client); matched topics `subs/<b>/<i>/x`;
 * - `fleet`: N filters `devices/<id>/cmd`, each its own listener (one per device), plus
 *   `devices/+/cmd`, `devices/#`, `alerts/#`, `+/status`; matched topics `devices/<id>/cmd`
 *   from a working set of 1,000 ids ("hot", split cache hits) and from all N ids ("spread",
 *   mostly misses once N > 4,096).
 *
 * Reported: retained heap bytes per filter (heapUsed after `gc()` with the matcher built minus
 * before, listeners allocated beforehand so only the matcher counts), the time to add the N
 * filters, ns per `match` (median of 5 rounds of 200,000 matches), the time to remove all; times
 * are the process's CPU time (`process.cpuUsage`; GC threads included), not wall-clock time.
 *
 *   node --expose-gc --max-old-space-size=6000 --import tsx bench/throughput/matcher.bench.ts [10000,100000,1000000]
 */
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';

import { TopicMatcher } from '../../src/broker/matcher.js';

interface Matcher {
  add(topic: string, val: unknown): unknown;
  remove(topic: string, val?: unknown): unknown;
  match(topic: string): unknown[];
}
interface QlobberInternals extends Matcher {
  _split(topic: string, adding: boolean): string[];
}

const require = createRequire(import.meta.url);
const mqemitter = require('mqemitter') as (opts: object) => { _matcher: QlobberInternals };

/** mqemitter's Qlobber as Aedes builds it, with main's split cache (decision 0020). */
function qlobber(): Matcher {
  const q = mqemitter({ matchEmptyLevels: true })._matcher;
  const split = q._split.bind(q);
  const cache = new Map<string, string[]>();
  q._split = (topic, adding) => {
    if (adding) return split(topic, adding);
    let words = cache.get(topic);
    if (words !== undefined) return words;
    words = split(topic, false);
    if (cache.size >= 4096) cache.clear();
    cache.set(topic, words);
    return words;
  };
  return q;
}
const ours = (): Matcher => new TopicMatcher<unknown>();

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const heap = (): number => {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed;
};
/** Main-thread CPU time in ms (less dependent on the shared machine's load than wall time). */
const cpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

interface Shape {
  name: string;
  filters(n: number): string[];
  /** One listener per filter (or shared). */
  listeners(n: number): unknown[];
  topics(n: number): Record<string, string[]>;
}

const shapes: Shape[] = [
  {
    name: 'abuse',
    filters: (n) =>
      Array.from({ length: n }, (_, i) => `subs/${Math.floor(i / 1000)}/${i % 1000}/+`),
    listeners: (n) => {
      const f = (): void => {};
      return Array.from({ length: n }, () => f);
    },
    topics: (n) => ({
      spread: Array.from({ length: 10_000 }, (_, k) => {
        const i = (k * 7919) % n;
        return `subs/${Math.floor(i / 1000)}/${i % 1000}/x`;
      }),
    }),
  },
  {
    name: 'fleet',
    filters: (n) => [
      ...Array.from({ length: n }, (_, i) => `devices/${i}/cmd`),
      'devices/+/cmd',
      'devices/#',
      'alerts/#',
      '+/status',
    ],
    listeners: (n) => Array.from({ length: n + 4 }, (_, i) => () => i),
    topics: (n) => ({
      hot: Array.from({ length: 1000 }, (_, k) => `devices/${(k * 7919) % n}/cmd`),
      spread: Array.from({ length: 10_000 }, (_, k) => `devices/${(k * 104_729) % n}/cmd`),
    }),
  },
];

function run(make: () => Matcher, shape: Shape, n: number) {
  const filters = shape.filters(n);
  const listeners = shape.listeners(n);
  const topics = shape.topics(n);
  const base = heap();
  let t = cpu();
  const m = make();
  for (let i = 0; i < filters.length; i++) m.add(filters[i]!, listeners[i]);
  const addMs = cpu() - t;
  const bytes = (heap() - base) / filters.length;
  const match: Record<string, number> = {};
  let sink = 0;
  for (const [name, ts] of Object.entries(topics)) {
    const rounds: number[] = [];
    for (let r = 0; r < 5; r++) {
      const k = 200_000;
      t = cpu();
      for (let j = 0; j < k; j++) sink += m.match(ts[j % ts.length]!).length;
      rounds.push(((cpu() - t) * 1e6) / k);
    }
    match[name] = median(rounds);
  }
  t = cpu();
  for (let i = filters.length - 1; i >= 0; i--) m.remove(filters[i]!, listeners[i]);
  const removeMs = cpu() - t;
  // Everything removed: only the fleet's wildcards may still match.
  const left = m.match(filters[0]!.replace('+', 'x')).length;
  return { bytes, addMs, match, removeMs, sink, left };
}

const sizes = (process.argv[2] ?? '10000,100000,1000000').split(',').map(Number);
console.log(
  `load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}  node ${process.version}`,
);
console.log('shape  N        matcher  B/filter  add ms  match ns (per topic set)      remove ms');
let order = 0;
for (const n of sizes)
  for (const shape of shapes) {
    const pair: [string, () => Matcher][] = [
      ['qlobber', qlobber],
      ['ours', ours],
    ];
    if (order++ % 2) pair.reverse();
    const got: Record<string, ReturnType<typeof run>> = {};
    for (const [name, make] of pair) got[name] = run(make, shape, n);
    for (const name of ['qlobber', 'ours']) {
      const r = got[name]!;
      const ms = Object.entries(r.match)
        .map(([k, v]) => `${k} ${v.toFixed(0)}`)
        .join(', ');
      console.log(
        `${shape.name.padEnd(6)} ${String(n).padEnd(8)} ${name.padEnd(8)} ${r.bytes.toFixed(0).padStart(8)}  ${r.addMs.toFixed(0).padStart(6)}  ${ms.padEnd(28)}  ${r.removeMs.toFixed(0).padStart(9)}`,
      );
    }
    if (got.qlobber!.sink !== got.ours!.sink || got.qlobber!.left !== got.ours!.left)
      throw new Error('the matchers disagree');
    const q = got.qlobber!;
    const o = got.ours!;
    console.log(
      `${''.padEnd(16)} ours/qlobber: bytes ${(o.bytes / q.bytes).toFixed(2)}×, ` +
        Object.keys(q.match)
          .map((k) => `${k} match ${(o.match[k]! / q.match[k]!).toFixed(2)}×`)
          .join(', ') +
        `, add ${(o.addMs / q.addMs).toFixed(2)}×, remove ${(o.removeMs / q.removeMs).toFixed(2)}×`,
    );
  }
console.log(
  `load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
