/**
 * Per-rule metrics with the names EMQX's rule engine reports (`emqx_rule_engine` metrics):
 *
 * | counter | meaning |
 * | --- | --- |
 * | `matched` | the rule's FROM matched an event (the rule ran) |
 * | `passed` | the rule produced output(s) |
 * | `failed` | `failed.exception + failed.no_result` |
 * | `failed.exception` | evaluation raised an error (RuleOutcome `failed`) |
 * | `failed.no_result` | WHERE was false / FOREACH left nothing (RuleOutcome `filtered`) |
 * | `actions.total` | outputs × actions handed to the action layer |
 * | `actions.success` | of those, accepted by the sink runner (enqueued) |
 * | `actions.failed` | of those, refused (unknown sink, runner stopped or full) |
 *
 * plus the `matched` rate like EMQX's speed metrics: `current` (msg/s over the last 5 s),
 * `max` (the highest `current` seen) and `last5m` (mean msg/s over the last 5 minutes).
 * Rates use one-second buckets and an injectable clock; nothing here allocates per message,
 * and a match only touches the ring of buckets when the second changes (the running second
 * is counted in a plain field), so 1,000 rules do not mean 1,000 cache misses per second.
 */

export interface RateSnapshot {
  /** msg/s over the last 5 s. */
  readonly current: number;
  /** Highest `current` observed since the rule (or its metrics) was created. */
  readonly max: number;
  /** Mean msg/s over the last 5 minutes (or since creation if younger). */
  readonly last5m: number;
}

export interface RuleMetricsSnapshot {
  readonly matched: number;
  readonly passed: number;
  readonly failed: number;
  readonly 'failed.exception': number;
  readonly 'failed.no_result': number;
  readonly 'actions.total': number;
  readonly 'actions.success': number;
  readonly 'actions.failed': number;
  readonly rate: RateSnapshot;
}

export interface RuleMetrics {
  /** Count one match; `at` (ms) is the event's ingest time (default: the clock). */
  matched(at?: number): void;
  passed(): void;
  exception(): void;
  noResult(): void;
  action(ok: boolean): void;
  snapshot(): RuleMetricsSnapshot;
  reset(): void;
}

const WINDOW_S = 300;
const CURRENT_S = 5;

export function createRuleMetrics(now: () => number = Date.now): RuleMetrics {
  let matched = 0;
  let passed = 0;
  let exception = 0;
  let noResult = 0;
  let actTotal = 0;
  let actOk = 0;
  let actFailed = 0;
  // Ring of per-second `matched` counts; `head` is the second of the newest bucket.
  const buckets = new Float64Array(WINDOW_S);
  let created = Math.floor(now() / 1000);
  let head = created;
  let max = 0;

  // Matches in second `head`, not yet written to the ring.
  let pending = 0;

  function flush(): void {
    if (pending) {
      buckets[head % WINDOW_S] = (buckets[head % WINDOW_S] as number) + pending;
      pending = 0;
    }
  }

  function advance(sec: number): void {
    flush();
    if (sec <= head) return;
    // Before dropping completed seconds, fold their 5-second rate into `max`.
    const steps = Math.min(sec - head, WINDOW_S);
    for (let s = 1; s <= steps; s++) {
      max = Math.max(max, currentAt(head + s - 1));
      buckets[(head + s) % WINDOW_S] = 0;
    }
    if (sec - head > WINDOW_S) buckets.fill(0);
    head = sec;
  }

  /** msg/s over the 5 complete seconds ending at `sec` (inclusive). */
  function currentAt(sec: number): number {
    let sum = 0;
    for (let s = sec - CURRENT_S + 1; s <= sec; s++) {
      if (s < created || s > head || head - s >= WINDOW_S) continue;
      sum += buckets[((s % WINDOW_S) + WINDOW_S) % WINDOW_S] as number;
    }
    return sum / CURRENT_S;
  }

  return {
    matched(at) {
      matched++;
      const sec = Math.floor((at ?? now()) / 1000);
      if (sec > head) advance(sec);
      pending++;
    },
    passed() {
      passed++;
    },
    exception() {
      exception++;
    },
    noResult() {
      noResult++;
    },
    action(ok) {
      actTotal++;
      if (ok) actOk++;
      else actFailed++;
    },
    snapshot() {
      const sec = Math.floor(now() / 1000);
      advance(sec);
      // `current` covers the 5 seconds ending with the last complete one.
      const current = currentAt(sec - 1);
      max = Math.max(max, current);
      const span = Math.min(WINDOW_S, Math.max(1, sec - created));
      let sum = 0;
      for (let s = sec - span; s < sec; s++) {
        if (s < created) continue;
        sum += buckets[((s % WINDOW_S) + WINDOW_S) % WINDOW_S] as number;
      }
      return {
        matched,
        passed,
        failed: exception + noResult,
        'failed.exception': exception,
        'failed.no_result': noResult,
        'actions.total': actTotal,
        'actions.success': actOk,
        'actions.failed': actFailed,
        rate: { current, max, last5m: sum / span },
      };
    },
    reset() {
      matched = passed = exception = noResult = actTotal = actOk = actFailed = pending = 0;
      buckets.fill(0);
      created = head = Math.floor(now() / 1000);
      max = 0;
    },
  };
}
