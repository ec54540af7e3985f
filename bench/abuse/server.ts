/**
 * The server under abuse (bench/abuse/abuse.ts starts it as a child process with
 * `--expose-gc`): the whole engine — embedded broker on 127.0.0.1:0, the rules the attacks aim
 * at, a probe rule republishing to `probe/out`, the management API on 127.0.0.1:0 — plus an
 * IPC channel for the orchestrator:
 *
 *   → { op: 'mark' }        start a phase: reset the peak RSS, the event-loop histogram and the
 *                           longest turn's CPU time
 *   → { op: 'stats' }       ← { rss, peakRss, heapUsed, lagMaxMs, lagP99Ms, turnCpuMaxMs,
 *                           threadCpuMs (CPU ms per thread name since 'mark'), mainWaitMs (the
 *                           event loop's thread waiting for a core since 'mark'), warnings,
 *                           polluted, reclaims (the `memory_reclaimed` lines since the last
 *                           stats), reclaim (memory_reclaim's counters) }
 *   → { op: 'gc' }          run gc() twice, then answer like 'stats'
 *   → { op: 'trim' }        one "last resort" gc (it also gives V8's page pool back to the
 *                           system), then answer like 'stats' plus `trimMs`, its duration
 *   → { op: 'stop' }        stop the engine and the API, exit
 *   ← { op: 'ready', mqtt, api }   once listening
 *
 * Memory reclaim (decision 0023) runs with its defaults; ABUSE_RECLAIM=0 (`--no-reclaim`) turns
 * it off.
 *
 * `polluted` lists what an attack could have changed on shared prototypes: own keys added to
 * Object.prototype / Array.prototype / Function.prototype, and `({}).polluted`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { PerformanceObserver, monitorEventLoopDelay } from 'node:perf_hooks';

import type * as ApiModule from '../../src/api/index.js';
import { threadStats } from '../../test/integration/thread-stats.js';
import { silentLogger, type Logger } from '../../src/core/index.js';
import type * as EngineModule from '../../src/engine/index.js';
import type { MemorySink } from '../../src/sinks/memory/index.js';

// `--dist` (ABUSE_FROM_DIST=1): the tsc build (`npm run build`), as `sluice run` runs it; else
// the sources through tsx (whose keepNames helper slows the Chevrotain parser down).
const root = process.env['ABUSE_FROM_DIST'] === '1' ? '../../dist' : '../../src';
const { createApiServer } = (await import(`${root}/api/index.js`)) as typeof ApiModule;
const { createEngine } = (await import(`${root}/engine/index.js`)) as typeof EngineModule;

const baseline = {
  object: Object.getOwnPropertyNames(Object.prototype).sort(),
  array: Object.getOwnPropertyNames(Array.prototype).sort(),
  fn: Object.getOwnPropertyNames(Function.prototype).sort(),
};
function pollution(): string[] {
  const out: string[] = [];
  const diff = (name: string, before: string[], now: string[]) => {
    for (const k of now) if (!before.includes(k)) out.push(`${name}.${k}`);
  };
  diff('Object.prototype', baseline.object, Object.getOwnPropertyNames(Object.prototype));
  diff('Array.prototype', baseline.array, Object.getOwnPropertyNames(Array.prototype));
  diff('Function.prototype', baseline.fn, Object.getOwnPropertyNames(Function.prototype));
  if (({} as Record<string, unknown>)['polluted'] !== undefined) out.push('({}).polluted');
  return out;
}

/** Warnings and errors by code (the lag watch's culprits among them). */
const warnings: { code: string; rule?: string; msg: string }[] = [];
/** The memory reclaim's info lines (decision 0023), with the time they were logged. */
const reclaims: Record<string, unknown>[] = [];
const logger: Logger = {
  ...silentLogger,
  info: (obj: unknown) => {
    const o = obj as Record<string, unknown> | undefined;
    if (o?.['code'] === 'memory_reclaimed') reclaims.push({ ...o, at: Date.now() });
  },
  warn: (obj, msg) => {
    const o = obj as Record<string, unknown>;
    warnings.push({
      code: String(o['code'] ?? ''),
      ...(typeof o['rule'] === 'string' ? { rule: o['rule'] } : {}),
      msg: msg ?? '',
    });
  },
  error: (obj, msg) => {
    const o = obj as Record<string, unknown>;
    warnings.push({
      code: String(o['code'] ?? 'error'),
      ...(typeof o['rule'] === 'string' ? { rule: o['rule'] } : {}),
      msg: msg ?? '',
    });
  },
  child: () => logger,
};

const engine = createEngine(
  {
    broker: {
      listeners: {
        // max_subscriptions: the scenario grants one connection 100,000 filters (EMQX's
        // default is infinity; Sluice's is 1,000), so the subs_100k phase has them all granted.
        tcp: { type: 'tcp', bind: '127.0.0.1', port: 0, max_subscriptions: 100_000 },
      },
    },
    api: { enabled: false }, // started below on port 0
    memory_reclaim: { enabled: process.env['ABUSE_RECLAIM'] !== '0' },
    rule_limits: { eval_budget: '100ms', suspend_after: 5, suspend_window: '1m' },
    sinks: {
      probe_out: { type: 'republish', topic: 'probe/out', qos: 1, payload: '${payload}' },
      sink: { type: 'memory', linger: 0 },
    },
    rules: [
      { id: 'probe', sql: 'SELECT payload FROM "probe/in"', actions: ['probe_out'] },
      {
        id: 'redos',
        sql: `SELECT payload.name AS n FROM "abuse/regex" WHERE regex_match(payload.name, '^([a-zA-Z0-9]+\\s?)*$')`,
        actions: ['sink'],
      },
      {
        id: 'redos_pattern_from_message',
        sql: `SELECT regex_replace(payload.s, payload.p, 'x') AS r FROM "abuse/regex2"`,
        actions: ['sink'],
      },
      {
        id: 'looping_jq',
        sql: `SELECT jq('def f: f; f', payload) AS x FROM "abuse/jq"`,
        actions: ['sink'],
      },
      { id: 'json_field', sql: 'SELECT payload.a.b AS ab FROM "abuse/json"', actions: ['sink'] },
      {
        id: 'json_whole',
        sql: 'SELECT payload AS p, json_encode(payload) AS j FROM "abuse/json"',
        actions: ['sink'],
      },
      {
        id: 'string_building',
        sql: `SELECT pad('', payload.n, 'trailing', payload.c) AS s FROM "abuse/string"`,
        actions: ['sink'],
      },
      {
        id: 'proto_keys',
        sql: `SELECT payload.__proto__ AS p, payload.constructor.prototype AS c, map_put('__proto__', payload.x, payload) AS m, json_decode(payload.s) AS d FROM "abuse/proto"`,
        actions: ['sink'],
      },
    ],
  },
  { logger },
);

const histogram = monitorEventLoopDelay({ resolution: 10 });
histogram.enable();
// The longest turn in main-thread CPU time (issue #19: "no turn over ~10 ms"). Wall-clock lag
// includes the time the process waits for a core on a loaded machine; the CPU the main thread
// spent between two firings of a 1 ms timer does not (a timer fires at most once per loop
// iteration, and a turn of ≥ 1 ms is followed by one). GC pauses on the main thread count.
let turnCpuMaxUs = 0;
const longTurnsFile = process.env['ABUSE_LONG_TURNS'];
const longTurns: [number, number][] | undefined = longTurnsFile ? [] : undefined;
let lastCpu = process.threadCpuUsage();
// ABUSE_TIMELINE=<file>: every loop iteration over 3 ms wall-clock ([0, end, wall ms, main-thread
// CPU ms]) and every GC ([1, start, ms, kind]), times in ms on the wall clock (Date.now(), the
// probe's clock), written on 'stop'; bench/abuse/timeline.ts lines them up with slow probes.
const timelineFile = process.env['ABUSE_TIMELINE'];
const timeline: [0 | 1, number, number, number][] | undefined = timelineFile ? [] : undefined;
let lastWall = performance.now();
if (timeline)
  new PerformanceObserver((list) => {
    for (const e of list.getEntries())
      timeline.push([
        1,
        performance.timeOrigin + e.startTime,
        e.duration,
        (e as unknown as { detail: { kind: number } }).detail.kind,
      ]);
  }).observe({ entryTypes: ['gc'] });
const turnWatch = setInterval(() => {
  const now = process.threadCpuUsage();
  const us = now.user - lastCpu.user + (now.system - lastCpu.system);
  if (timeline) {
    const wall = performance.now();
    if (wall - lastWall > 3 && timeline.length < 200_000)
      timeline.push([0, performance.timeOrigin + wall, wall - lastWall, us / 1000]);
    lastWall = wall;
  }
  if (us > turnCpuMaxUs) turnCpuMaxUs = us;
  // ABUSE_LONG_TURNS=<file>: every turn over 10 ms CPU, as (end on the monotonic clock in µs — the
  // clock of a --cpu-prof profile —, CPU µs), written on 'stop' to find the turn in the profile.
  if (longTurns && us > 10_000 && longTurns.length < 10_000)
    longTurns.push([Number(process.hrtime.bigint() / 1000n), us]);
  lastCpu = now;
}, 1);
turnWatch.unref();
let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => {
  const r = process.memoryUsage().rss;
  if (r > peakRss) peakRss = r;
}, 50);
sampler.unref();

// CPU of every thread at 'mark' (thread-stats.ts): the main thread, V8's helpers (`V8Worker`:
// parallel GC, compilers), worker_threads (`WorkerThread`: the jq worker, sink threads, the
// rule-parse worker), libuv's pool. A phase's share shows what competes with the event loop for
// the cores (a looping jq program's worker, issue #19).
let threadCpuAtMark = threadStats();
/**
 * How long the event loop's thread was runnable but waiting for a core (ms, Linux
 * /proc/self/task/<pid>/schedstat: time on CPU, time waiting on a run queue, timeslices).
 */
function mainRunqueueWaitMs(): number {
  try {
    const f = readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ');
    return Number(f[1]) / 1e6;
  } catch {
    return NaN;
  }
}
let mainWaitAtMark = mainRunqueueWaitMs();
/**
 * CPU ms per thread name since 'mark' (threads born since count whole; a thread that ended
 * since is missing, its share lost).
 */
function threadCpuSinceMark(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [tid, { name, ms }] of threadStats())
    out[name] = (out[name] ?? 0) + ms - (threadCpuAtMark.get(tid)?.ms ?? 0);
  return out;
}

function stats() {
  const m = process.memoryUsage();
  if (m.rss > peakRss) peakRss = m.rss;
  const ms = (ns: number) => Math.max(0, ns / 1e6 - 10);
  return {
    rss: m.rss,
    peakRss,
    heapUsed: m.heapUsed,
    heapTotal: m.heapTotal,
    external: m.external,
    lagMaxMs: histogram.count > 0 ? ms(histogram.max) : 0,
    lagP99Ms: histogram.count > 0 ? ms(histogram.percentile(99)) : 0,
    turnCpuMaxMs: turnCpuMaxUs / 1000,
    threadCpuMs: threadCpuSinceMark(),
    mainWaitMs: mainRunqueueWaitMs() - mainWaitAtMark,
    warnings: warnings.splice(0),
    reclaims: reclaims.splice(0),
    reclaim: engine.memoryReclaim.metrics(),
    polluted: pollution(),
    suspended: engine
      .rules()
      .filter((r) => r.suspended)
      .map((r) => r.id),
    rules: Object.fromEntries(
      Object.entries(engine.metrics().rules).map(([id, r]) => [
        id,
        { matched: r.matched, passed: r.passed, exception: r['failed.exception'] },
      ]),
    ),
  };
}

const [addr] = await engine.start();
const api = createApiServer(
  { engine, logger: silentLogger, version: 'abuse' },
  { bind: '127.0.0.1', port: 0 },
);
const apiAddr = await api.start();
process.send!({ op: 'ready', mqtt: addr!.port, api: apiAddr.port });

process.on('message', (m: { op: string }) => {
  switch (m.op) {
    case 'mark':
      (engine.sink('sink') as MemorySink).reset(); // the bench's own collector, not Sluice's memory
      histogram.reset();
      turnCpuMaxUs = 0;
      lastCpu = process.threadCpuUsage();
      threadCpuAtMark = threadStats();
      mainWaitAtMark = mainRunqueueWaitMs();
      peakRss = process.memoryUsage().rss;
      process.send!({ op: 'marked' });
      break;
    case 'stats':
      process.send!({ op: 'stats', ...stats() });
      break;
    case 'smaps': {
      // Largest mappings by resident size (diagnosing RSS that a GC does not give back).
      const text = readFileSync('/proc/self/smaps', 'utf8');
      const maps: { name: string; rssKb: number }[] = [];
      let name = '';
      for (const line of text.split('\n')) {
        const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
        if (head) name = head[1] || '[anon]';
        const rss = /^Rss:\s+(\d+) kB/.exec(line);
        if (rss) maps.push({ name, rssKb: Number(rss[1]) });
      }
      const byName = new Map<string, number>();
      for (const m of maps) byName.set(m.name, (byName.get(m.name) ?? 0) + m.rssKb);
      const anon = maps.filter((m) => m.name === '[anon]').sort((a, b) => b.rssKb - a.rssKb);
      process.send!({
        op: 'smaps',
        byName: [...byName].sort((a, b) => b[1] - a[1]).slice(0, 6),
        largestAnon: anon.slice(0, 6).map((m) => m.rssKb),
        anonCount: anon.length,
      });
      break;
    }
    case 'gc': {
      (engine.sink('sink') as MemorySink).reset();
      const gc = (globalThis as { gc?: () => void }).gc;
      gc?.();
      gc?.();
      process.send!({ op: 'stats', gc: gc !== undefined, ...stats() });
      break;
    }
    case 'trim': {
      const gc = (globalThis as { gc?: (o?: object) => void }).gc;
      const t0 = performance.now();
      gc?.({ type: 'major', execution: 'sync', flavor: 'last-resort' });
      const trimMs = performance.now() - t0;
      process.send!({ op: 'stats', gc: gc !== undefined, trimMs, ...stats() });
      break;
    }
    case 'stop':
      void (async () => {
        await api.stop();
        await engine.stop({ drainMs: 100 });
        clearInterval(sampler);
        if (longTurnsFile) writeFileSync(longTurnsFile, JSON.stringify(longTurns));
        if (timelineFile) writeFileSync(timelineFile, JSON.stringify(timeline));
        process.exit(0);
      })();
      break;
  }
});
