/**
 * Event-loop lag watch with a culprit (issue #19 item 3). Once per interval (1 s) it reads the
 * worst event-loop delay of that interval (`perf_hooks.monitorEventLoopDelay`, 10 ms
 * resolution) and, when it is over `rule_limits.lag_warn`, logs one warning
 * (`event_loop_lag`) naming the rule whose evaluations took the most time in that interval —
 * from each rule guard's running sum `spentMs` (guard.ts), diffed here; nothing per message.
 *
 * Rate limit: at most one warning per `quietMs` (10 s); intervals over the threshold in
 * between are counted and reported as `suppressed` on the next warning. When no rule spent a
 * notable share of the lag (less than a quarter of it), the warning says so
 * (`culprit: null`): the time went elsewhere (broker, sinks, the API, GC, a large packet).
 *
 * The exported `nodejs_eventloop_lag_*` series (/metrics) come from the API's own histogram
 * (src/api/process-metrics.ts); this watch runs with the engine, API or not.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

import type { Logger } from '../core/index.js';
import type { RuleGuard } from './guard.js';

export interface LagWatchConfig {
  /** Lag (ms) over which a warning is logged; 0 disables the watch. */
  readonly thresholdMs: number;
  /** How often the lag is read (ms). Default 1000. */
  readonly intervalMs?: number;
  /** At most one warning per this many ms. Default 10_000. */
  readonly quietMs?: number;
}

/** One rule's share of an interval. */
export interface RuleTime {
  readonly rule: string;
  /** ms spent evaluating the rule in the interval. */
  readonly ms: number;
  readonly evaluations: number;
}

/** What a warning reports (also returned by `check`, for tests). */
export interface LagReport {
  readonly lag_ms: number;
  readonly threshold_ms: number;
  /** The rule that took the most time in the interval, or null when none took a notable share. */
  readonly culprit: RuleTime | null;
  /** The three rules that took the most time (culprit first). */
  readonly top: readonly RuleTime[];
  /** Intervals over the threshold whose warning was held back by the rate limit. */
  readonly suppressed: number;
}

export interface LagWatch {
  /** Start sampling (idempotent). */
  start(): void;
  stop(): void;
  /**
   * Close one interval that saw `lagMs` of worst event-loop delay: diff every rule's time, and
   * warn when due. Returns the report when a warning was logged. `start()` calls it on a timer.
   */
  check(lagMs: number, now: number): LagReport | undefined;
}

/** Share of the lag a rule must account for to be named the culprit. */
const NOTABLE_SHARE = 0.25;
const RESOLUTION_MS = 10;

export function createLagWatch(
  deps: {
    /** Every deployed rule's guard by id (rule.ts fills it). */
    readonly guards: ReadonlyMap<string, RuleGuard>;
    readonly logger: Logger;
    now(): number;
  },
  config: LagWatchConfig,
): LagWatch {
  const intervalMs = config.intervalMs ?? 1000;
  const quietMs = config.quietMs ?? 10_000;
  const seen = new WeakMap<RuleGuard, { ms: number; n: number }>();
  let lastWarn = -Infinity;
  let suppressed = 0;
  let timer: NodeJS.Timeout | undefined;
  let histogram: ReturnType<typeof monitorEventLoopDelay> | undefined;

  function check(lagMs: number, now: number): LagReport | undefined {
    // Diff every rule each interval, so the next interval's shares start from here.
    const times: RuleTime[] = [];
    for (const [rule, g] of deps.guards) {
      const before = seen.get(g);
      const ms = g.spentMs - (before?.ms ?? 0);
      const n = g.evaluations - (before?.n ?? 0);
      if (before) {
        before.ms = g.spentMs;
        before.n = g.evaluations;
      } else seen.set(g, { ms: g.spentMs, n: g.evaluations });
      if (n > 0) times.push({ rule, ms, evaluations: n });
    }
    if (config.thresholdMs <= 0 || lagMs <= config.thresholdMs) return undefined;
    if (now - lastWarn < quietMs) {
      suppressed++;
      return undefined;
    }
    times.sort((a, b) => b.ms - a.ms);
    const top = times.slice(0, 3).map((t) => ({ ...t, ms: Math.round(t.ms) }));
    const first = times[0];
    const culprit = first && first.ms >= lagMs * NOTABLE_SHARE ? (top[0] as RuleTime) : null;
    const report: LagReport = {
      lag_ms: Math.round(lagMs),
      threshold_ms: config.thresholdMs,
      culprit,
      top,
      suppressed,
    };
    lastWarn = now;
    suppressed = 0;
    deps.logger.warn(
      { rule: culprit?.rule, ...report, code: 'event_loop_lag' },
      culprit
        ? `event loop lagged ${report.lag_ms} ms (over rule_limits.lag_warn); culprit: rule ${culprit.rule} (${culprit.ms} ms in ${culprit.evaluations} evaluations)`
        : `event loop lagged ${report.lag_ms} ms (over rule_limits.lag_warn); no rule took a notable share of it`,
    );
    return report;
  }

  return {
    check,
    start() {
      if (timer || config.thresholdMs <= 0) return;
      histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
      histogram.enable();
      timer = setInterval(() => {
        const h = histogram;
        if (!h) return;
        // Each sample is the time between two 10 ms ticks: the lag is what exceeds the tick.
        const lag = h.count > 0 ? Math.max(0, h.max / 1e6 - RESOLUTION_MS) : 0;
        h.reset();
        check(lag, deps.now());
      }, intervalMs);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      histogram?.disable();
      histogram = undefined;
    },
  };
}
