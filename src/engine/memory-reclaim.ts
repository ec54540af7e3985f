/**
 * Memory reclaim when idle (issue #19 "RSS returns near its baseline afterwards", decision 0023).
 *
 * After a burst (a 100,000-filter SUBSCRIBE flood, big packets) V8 keeps the freed heap pages
 * in its page pool: RSS stays 2–2.5 × its baseline with the heap back to normal. V8's memory
 * reducer would give them back with small incremental GCs once allocation is low, but on Node 24
 * it never sees "low allocation" (the embedder's mutator utilisation reads 0) and only its
 * watchdog fires, ~100 s after the last full GC. Memory-saver mode (`--memory-saver-mode`, set
 * at run time with `v8.setFlagsFromString`) makes V8 treat the isolate as optimising for memory:
 * the reducer's next timer step (within ~8 s) starts its incremental "reduce" GCs.
 *
 * This controller turns saver mode on only when
 *   - the event loop has been idle (utilisation under `idle_utilization` for `idle_time`), and
 *   - RSS is well above its low-water mark (by `min_growth` bytes and `growth_ratio` ×),
 *   - no reclaim ended within `cooldown` (one stopped by load does not count);
 * and off again when V8 has done its reducing GC(s) (a major GC observed, then none for
 * `SETTLE_MS`), after `timeout`, or at once when a check sees the loop busy (utilisation over
 * `busy_utilization`, not counting the GC pauses reported since the previous check — the
 * reducer's own work —; checked every `ARMED_CHECK_MS` while on). Saver mode makes V8 collect
 * more often, so it must not stay on under load. The low-water mark is the lowest RSS seen, and
 * after a completed reclaim the RSS it reached (what V8 can get down to now), so a reclaim that
 * gives nothing back does not repeat.
 *
 * One info line per reclaim (`memory_reclaimed`, with its outcome); counters for /metrics.
 * Everything process-wide (RSS, utilisation, the V8 flag, GC entries) comes through `deps`, so
 * the policy is tested with an injected clock and samplers.
 */
import { PerformanceObserver, constants, performance } from 'node:perf_hooks';
import type { EventLoopUtilization } from 'node:perf_hooks';
import v8 from 'node:v8';

import type { Logger } from '../core/index.js';

/** `memory_reclaim` in sluice.yaml (docs/operations.md "Memory after a burst"). */
export interface MemoryReclaimConfig {
  readonly enabled: boolean;
  /** How often RSS and event-loop utilisation are sampled while saver mode is off (ms). */
  readonly check_interval: number;
  /** Utilisation (0–1) under which a check counts as idle. */
  readonly idle_utilization: number;
  /** Idle this long (ms, consecutive checks) before a reclaim may start. */
  readonly idle_time: number;
  /** Utilisation over which a running reclaim is stopped at once. */
  readonly busy_utilization: number;
  /** RSS must exceed the low-water mark by at least this many bytes … */
  readonly min_growth: number;
  /** … and be at least this multiple of it. */
  readonly growth_ratio: number;
  /** Saver mode is turned off after this long (ms) even if V8 did no reducing GC. */
  readonly timeout: number;
  /** No new reclaim within this long (ms) after one ended (done, timeout; not busy). */
  readonly cooldown: number;
}

export const MEMORY_RECLAIM_DEFAULTS: MemoryReclaimConfig = {
  enabled: true,
  check_interval: 1000,
  idle_utilization: 0.1,
  idle_time: 3000,
  busy_utilization: 0.5,
  min_growth: 64 * 1024 * 1024,
  growth_ratio: 1.5,
  timeout: 30_000,
  cooldown: 60_000,
};

/** Check interval while saver mode is on: load must switch it off quickly. */
export const ARMED_CHECK_MS = 250;
/** Shortest check interval (a 0 in the config must not spin the loop). */
export const MIN_CHECK_MS = 100;
/** A reclaim is done this long after the last major GC seen while it ran (V8 does 1–3). */
export const SETTLE_MS = 1500;

export type ReclaimOutcome = 'done' | 'timeout' | 'busy' | 'stopped';

/** One GC as a PerformanceObserver 'gc' entry reports it. */
export interface GcSeen {
  readonly major: boolean;
  /** The pause (ms). */
  readonly ms: number;
}

export interface MemoryReclaimDeps {
  readonly logger: Logger;
  now(): number;
  /** Resident set size (bytes). */
  rss(): number;
  /** Event-loop utilisation (0–1) since the previous call. */
  utilization(): number;
  /** Turn V8's memory-saver mode on or off. */
  setSaverMode(on: boolean): void;
  /** Observe GCs until the returned function is called. */
  observeGc(onGc: (gc: GcSeen) => void): () => void;
}

export interface MemoryReclaimMetrics {
  /** Reclaims by how they ended. */
  readonly reclaims: Readonly<Record<ReclaimOutcome, number>>;
  /** Sum over reclaims of RSS before − after (bytes, only gains). */
  readonly reclaimedBytes: number;
  /** Longest GC pause seen during the last reclaim (ms); 0 before the first. */
  readonly lastPauseMs: number;
  /** Whether saver mode is on now. */
  readonly active: boolean;
  /** The RSS low-water mark (bytes; 0 before the first check). */
  readonly lowWaterBytes: number;
}

/** What one reclaim did (the log line's fields; returned by `check` when one ends). */
export interface ReclaimReport {
  readonly outcome: ReclaimOutcome;
  readonly rss_before: number;
  readonly rss_after: number;
  readonly reclaimed_bytes: number;
  readonly gcs: number;
  readonly major_gcs: number;
  readonly max_pause_ms: number;
  readonly duration_ms: number;
}

export interface MemoryReclaim {
  /** Start checking on a timer (idempotent; nothing when disabled). */
  start(): void;
  /** Stop checking; turns saver mode off if a reclaim is running. */
  stop(): void;
  /** One check now (the timer calls it). Returns the report when a reclaim ended. */
  check(): ReclaimReport | undefined;
  metrics(): MemoryReclaimMetrics;
}

interface Running {
  readonly startedAt: number;
  readonly rssBefore: number;
  gcs: number;
  majors: number;
  maxPauseMs: number;
  lastMajorAt: number;
  /** GC pause time (ms) reported since the previous check: not load, the reclaim's own work. */
  gcMsSinceCheck: number;
  unobserve: () => void;
}

export function createMemoryReclaim(
  deps: MemoryReclaimDeps,
  config: MemoryReclaimConfig,
): MemoryReclaim {
  let lowWater = Infinity;
  let lastCheckAt: number | undefined;
  let idleSince: number | undefined;
  let lastEnd = -Infinity;
  let running: Running | undefined;
  let timer: NodeJS.Timeout | undefined;
  let started = false;
  const reclaims: Record<ReclaimOutcome, number> = { done: 0, timeout: 0, busy: 0, stopped: 0 };
  let reclaimedBytes = 0;
  let lastPauseMs = 0;

  function begin(now: number, rss: number): void {
    const r: Running = {
      startedAt: now,
      rssBefore: rss,
      gcs: 0,
      majors: 0,
      maxPauseMs: 0,
      lastMajorAt: -Infinity,
      gcMsSinceCheck: 0,
      unobserve: () => {},
    };
    r.unobserve = deps.observeGc((gc) => {
      r.gcs++;
      r.maxPauseMs = Math.max(r.maxPauseMs, gc.ms);
      r.gcMsSinceCheck += gc.ms;
      if (gc.major) {
        r.majors++;
        r.lastMajorAt = deps.now();
      }
    });
    running = r;
    deps.setSaverMode(true);
  }

  function end(outcome: ReclaimOutcome, now: number, rss: number): ReclaimReport {
    const r = running as Running;
    running = undefined;
    deps.setSaverMode(false);
    r.unobserve();
    // The cooldown follows a reclaim that ran its course; one cut short by load may start again
    // after the next idle stretch (else a burst right after it would keep its pages for a whole
    // cooldown: measured in the abuse suite).
    if (outcome !== 'busy') lastEnd = now;
    idleSince = undefined;
    const gained = Math.max(0, r.rssBefore - rss);
    reclaims[outcome]++;
    reclaimedBytes += gained;
    lastPauseMs = r.maxPauseMs;
    // A completed reclaim shows what V8 can get down to now: that is the new low-water mark
    // (up or down), so a reclaim that gave little back is not repeated after the cooldown.
    if (outcome === 'done') lowWater = rss;
    else lowWater = Math.min(lowWater, rss);
    const report: ReclaimReport = {
      outcome,
      rss_before: r.rssBefore,
      rss_after: rss,
      reclaimed_bytes: gained,
      gcs: r.gcs,
      major_gcs: r.majors,
      max_pause_ms: Math.round(r.maxPauseMs * 10) / 10,
      duration_ms: now - r.startedAt,
    };
    const mib = (b: number): string => (b / 1048576).toFixed(0);
    deps.logger.info(
      { ...report, code: 'memory_reclaimed' },
      outcome === 'done'
        ? `memory reclaimed: RSS ${mib(r.rssBefore)} → ${mib(rss)} MiB in ${report.major_gcs} reducing GC(s), longest pause ${report.max_pause_ms} ms`
        : `memory reclaim ended (${outcome}): RSS ${mib(r.rssBefore)} → ${mib(rss)} MiB`,
    );
    return report;
  }

  function check(): ReclaimReport | undefined {
    const now = deps.now();
    const rss = deps.rss();
    const elu = deps.utilization();
    const sinceLast = lastCheckAt === undefined ? 0 : now - lastCheckAt;
    lastCheckAt = now;
    if (running) {
      // The reducing GC's own pauses make the loop look busy: they are not load.
      const gcShare = sinceLast > 0 ? running.gcMsSinceCheck / sinceLast : 0;
      running.gcMsSinceCheck = 0;
      if (elu - gcShare > config.busy_utilization) return end('busy', now, rss);
      if (running.majors > 0 && now - running.lastMajorAt >= SETTLE_MS)
        return end('done', now, rss);
      if (now - running.startedAt >= config.timeout) return end('timeout', now, rss);
      return undefined;
    }
    lowWater = Math.min(lowWater, rss);
    if (elu >= config.idle_utilization) {
      idleSince = undefined;
      return undefined;
    }
    // The first idle check marks the start of the idle stretch (it covers the interval before it).
    idleSince ??= now - config.check_interval;
    if (
      now - idleSince >= config.idle_time &&
      now - lastEnd >= config.cooldown &&
      rss - lowWater >= config.min_growth &&
      rss >= lowWater * config.growth_ratio
    )
      begin(now, rss);
    return undefined;
  }

  function schedule(): void {
    if (!started) return;
    const every = Math.max(MIN_CHECK_MS, config.check_interval);
    const ms = running ? Math.min(ARMED_CHECK_MS, every) : every;
    timer = setTimeout(() => {
      timer = undefined;
      check();
      schedule();
    }, ms);
    timer.unref();
  }

  return {
    check,
    start() {
      if (started || !config.enabled) return;
      started = true;
      deps.utilization(); // start the first interval now
      schedule();
    },
    stop() {
      started = false;
      if (timer) clearTimeout(timer);
      timer = undefined;
      if (running) end('stopped', deps.now(), deps.rss());
    },
    metrics: () => ({
      reclaims: { ...reclaims },
      reclaimedBytes,
      lastPauseMs,
      active: running !== undefined,
      lowWaterBytes: Number.isFinite(lowWater) ? lowWater : 0,
    }),
  };
}

/**
 * Whether this V8 has `--memory-saver-mode` (Node 24's V8 13 has; Node 20's V8 11.3 has not,
 * and an unknown flag only prints to stderr), and the operator did not set it for the whole
 * process (then it stays on and this controller must not turn it off).
 */
export function saverModeUsable(
  versions: NodeJS.ProcessVersions = process.versions,
  flags: readonly string[] = [
    ...process.execArgv,
    ...(process.env['NODE_OPTIONS'] ?? '').split(/\s+/),
  ],
): boolean {
  const major = Number((versions.v8 ?? '0').split('.')[0]);
  if (!(major >= 12)) return false;
  return !flags.some((f) => f === '--memory-saver-mode' || f === '--memory_saver_mode');
}

/** The process's own samplers (RSS, event-loop utilisation, V8's flag, 'gc' entries). */
export function processReclaimDeps(logger: Logger, now: () => number): MemoryReclaimDeps {
  let last: EventLoopUtilization | undefined;
  return {
    logger,
    now,
    rss: () => process.memoryUsage.rss(),
    utilization() {
      const cur = performance.eventLoopUtilization();
      const u = last ? performance.eventLoopUtilization(cur, last).utilization : 0;
      last = cur;
      return u;
    },
    setSaverMode(on) {
      // `--no-…` sets the boolean back to false (its default): measured on Node 24, heap growth
      // and GC counts under allocation return to those of a process that never had it on.
      v8.setFlagsFromString(on ? '--memory-saver-mode' : '--no-memory-saver-mode');
    },
    observeGc(onGc) {
      const obs = new PerformanceObserver((list) => {
        for (const e of list.getEntries()) {
          const kind = (e as { detail?: { kind?: number } }).detail?.kind;
          onGc({ major: kind === constants.NODE_PERFORMANCE_GC_MAJOR, ms: e.duration });
        }
      });
      obs.observe({ entryTypes: ['gc'] });
      return () => obs.disconnect();
    },
  };
}
