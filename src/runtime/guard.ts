/**
 * Per-rule evaluation budget and circuit breaker (issue #19). JavaScript cannot interrupt a
 * synchronous evaluation, so the budget works in two ways:
 *
 * - **Functions that can wait** (jq, which runs in a worker behind `Atomics.wait`) never wait
 *   past the evaluation's deadline: `EvalClock.deadline` caps their own timeout, so a looping
 *   jq program costs the budget, not jq's 10 s default.
 * - **After the fact**: an evaluation that took longer than the budget fails for that message
 *   (`rule_budget_exceeded`, counted as `failed.exception`; its outputs are discarded, as EMQX
 *   discards a timed-out rule), and counts a strike. `suspendAfter` strikes within `windowMs`
 *   trip the breaker: the rule is suspended (detached, like disabled) with an error log and a
 *   reason on its status, until someone enables it again (API `PUT /rules/{id}` `enable: true`).
 *
 * Every evaluation of a guarded rule is timed (two `performance.now()` reads) and added to the
 * guard's running sum `spentMs`, which the lag watch (lag-watch.ts) diffs once per interval to
 * name the rule that held the event loop.
 *
 * Wall time is not CPU time: on a loaded host the thread can be descheduled (or the process
 * stopped) in the middle of an ordinary evaluation, which must not cost that message. So an
 * evaluation that completed normally but over budget is checked against the thread's CPU
 * time (`CpuMark`): when the thread did not even have `budgetMs` of CPU since a mark taken at
 * most MARK_MS before the evaluation began, the evaluation cannot have used its budget, and it
 * stands (counted in `preempted`). A genuinely slow evaluation always has the CPU time and
 * still fails; an evaluation that waited on a capped function (jq) and failed keeps its
 * failure and strike.
 */

/** The running evaluation's deadline, on the `performance.now()` clock (Infinity = none). */
export interface EvalClock {
  deadline: number;
  /** Thread CPU time marks for the over-budget check (absent: wall time alone decides). */
  cpu?: CpuMark;
}

/** Wall-clock ms between two CPU time reads (one syscall each). */
export const MARK_MS = 10;

function threadCpuMs(): number {
  const u =
    typeof process.threadCpuUsage === 'function' ? process.threadCpuUsage() : process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * The thread's CPU time at a recent wall-clock mark. `mark(t)` at the start of each guarded
 * evaluation costs one comparison; the CPU time is read at most every MARK_MS of wall time.
 */
export class CpuMark {
  private wall = -Infinity;
  private cpuAtMark = 0;

  constructor(private readonly read: () => number = threadCpuMs) {}

  mark(wallNow: number): void {
    if (wallNow - this.wall < MARK_MS) return;
    this.wall = wallNow;
    this.cpuAtMark = this.read();
  }

  /** CPU ms this thread used since the mark. */
  since(): number {
    return this.read() - this.cpuAtMark;
  }
}

export interface RuleGuardConfig {
  /** Max ms one evaluation may take; 0 disables the budget. */
  readonly budgetMs: number;
  /** Over-budget evaluations within `windowMs` that suspend the rule; 0 = never suspend. */
  readonly suspendAfter: number;
  readonly windowMs: number;
}

export const DEFAULT_GUARD: RuleGuardConfig = { budgetMs: 100, suspendAfter: 5, windowMs: 60_000 };

export class RuleGuard {
  /** Strike times (ms) within the window, oldest first (at most `suspendAfter`). */
  private strikes: number[] = [];
  /** ms spent in evaluations of this rule since it was created (running sum, never reset). */
  spentMs = 0;
  /** Evaluations timed into `spentMs`. */
  evaluations = 0;
  /** Over-budget evaluations by wall time that stood because the thread lacked the CPU time. */
  preempted = 0;

  constructor(
    readonly config: RuleGuardConfig,
    readonly clock: EvalClock,
    /** Called once when the breaker trips (the rule manager suspends the rule). */
    private readonly onTrip: (strikes: number, lastMs: number) => void,
  ) {}

  /** Record an over-budget evaluation of `ms` at time `now`; trips the breaker when due. */
  strike(now: number, ms: number): void {
    const { suspendAfter, windowMs } = this.config;
    if (suspendAfter <= 0) return;
    const from = now - windowMs;
    while (this.strikes.length > 0 && (this.strikes[0] as number) < from) this.strikes.shift();
    this.strikes.push(now);
    if (this.strikes.length >= suspendAfter) {
      const n = this.strikes.length;
      this.strikes = [];
      this.onTrip(n, ms);
    }
  }

  reset(): void {
    this.strikes = [];
  }
}
