/**
 * The per-rule lane of a rule evaluated in passes (async-eval.ts): messages are evaluated in
 * arrival order, one at a time. A message whose pass completes without waiting is finished at
 * once, synchronously, as in any other rule; one that waits for jq holds the lane while the jq
 * worker runs (the event loop is free meanwhile) and later messages of this rule queue behind
 * it, so the rule's outputs keep the event order. The queue is bounded (`LANE_LIMIT`); a message
 * arriving at a full queue fails for this rule as `rule_pass_queue_full`. Other rules never wait.
 */
import type { MessageTrace, RuleOutcome } from '../core/index.js';
import { EvalSession } from './async-eval.js';
import type { RuleGuard } from './guard.js';
import type { RuleMetrics, RuleMetricsSnapshot } from './metrics.js';
import { runOnce } from './operators/evaluate-rule.js';
import type { RuleVersion } from './operators/evaluate-rule.js';
import type { Trigger } from './source.js';

/** Messages of one rule that may wait behind a message waiting for jq or a schema fetch. */
export const LANE_LIMIT = 10_000;

/** Schema fetches one message may wait for (one per external schema id / subject it needs). */
const MAX_WAITS = 16;

/** Passes count nothing: the message is counted once, by its final outcome. */
const UNCOUNTED: RuleMetrics = {
  matched() {},
  passed() {},
  exception() {},
  noResult() {},
  action() {},
  snapshot: () => ({}) as RuleMetricsSnapshot,
  reset() {},
};

interface Waiting<C> {
  readonly version: RuleVersion<C>;
  readonly trigger: Trigger<C>;
  readonly trace: MessageTrace | undefined;
}

export class PassLane<C> {
  private readonly queue: (Waiting<C> | undefined)[] = [];
  private head = 0;
  private busy = false;

  constructor(
    private readonly metrics: RuleMetrics,
    private readonly guard: RuleGuard | undefined,
    /** Route and publish a final outcome (the pipeline's tail). */
    private readonly finish: (
      v: RuleVersion<C>,
      t: Trigger<C>,
      o: RuleOutcome,
      trace: MessageTrace | undefined,
    ) => void,
    private readonly stopped: () => boolean,
  ) {}

  /** Messages waiting behind the one in a jq run. */
  get waiting(): number {
    return this.queue.length - this.head;
  }

  deliver(version: RuleVersion<C>, trigger: Trigger<C>, trace?: MessageTrace): void {
    if (!this.busy) return this.run({ version, trigger, trace }, new EvalSession());
    if (this.waiting >= LANE_LIMIT) {
      this.count(trigger, 'failed');
      this.finish(
        version,
        trigger,
        {
          kind: 'failed',
          code: 'rule_pass_queue_full',
          reason: `${LANE_LIMIT} messages of this rule are already waiting behind a jq run`,
        },
        trace,
      );
      return;
    }
    this.queue.push({ version, trigger, trace });
  }

  /** Run passes until the message completes or waits; then go on with the queue. */
  private run(w: Waiting<C>, session: EvalSession): void {
    for (;;) {
      const { version, trigger } = w;
      let outcome = this.pass(version, trigger, session);
      const want = session.pending;
      if (want !== undefined && 'ready' in want) {
        // An external schema fetch (decision 0014): wait for it, then evaluate again. A schema
        // evicted again before the next pass (tiny cache_size) could loop: bounded.
        if (++session.waits <= MAX_WAITS) {
          this.busy = true;
          const current = w;
          void want.ready.then(() => this.resume(current, session));
          return;
        }
        outcome = {
          kind: 'failed',
          code: 'external_registry_unavailable',
          reason: `a schema was still not cached after ${MAX_WAITS} fetches for this message (schema_registry.external cache_size too small?)`,
        };
      } else if (want !== undefined) {
        this.busy = true;
        const passes = version.compiled.passes!;
        const t0 = performance.now();
        const current = w;
        void passes.jq(want.program, want.input, want.timeoutMs).then(
          (outputs) => this.resume(current, session, want.key, { outputs }),
          (err: unknown) => {
            const error = err instanceof Error ? err.message : String(err);
            // A program that ran into its timeout is a rule over its budget (a strike): a rule
            // that keeps looping is suspended like any other (guard.ts).
            if (/timeout/.test(error)) this.guard?.strike(Date.now(), performance.now() - t0);
            this.resume(current, session, want.key, { error });
          },
        );
        return;
      }
      this.count(trigger, outcome.kind);
      if (!this.stopped()) this.finish(version, trigger, outcome, w.trace);
      const next = this.take();
      if (next === undefined) return;
      w = next;
      session = new EvalSession();
    }
  }

  private resume(
    w: Waiting<C>,
    session: EvalSession,
    key?: string,
    answer?: { outputs: readonly string[] } | { error: string },
  ): void {
    if (key !== undefined && answer !== undefined) session.memo.set(key, answer);
    this.busy = false;
    if (this.stopped()) return;
    this.run(w, session);
  }

  private pass(version: RuleVersion<C>, trigger: Trigger<C>, session: EvalSession): RuleOutcome {
    const slot = version.compiled.passes!.slot;
    session.beginPass();
    slot.current = session;
    try {
      return runOnce(version, UNCOUNTED, trigger, this.guard);
    } finally {
      slot.current = undefined;
    }
  }

  private take(): Waiting<C> | undefined {
    if (this.head >= this.queue.length) return undefined;
    const w = this.queue[this.head];
    this.queue[this.head++] = undefined;
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    return w;
  }

  private count(trigger: Trigger<C>, kind: RuleOutcome['kind']): void {
    this.metrics.matched(trigger.ingestTs);
    if (kind === 'passed') this.metrics.passed();
    else if (kind === 'filtered') this.metrics.noResult();
    else this.metrics.exception();
  }
}
