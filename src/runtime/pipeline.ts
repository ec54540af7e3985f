/**
 * One rule's pipeline: trigger → evaluate (operators/evaluate-rule.ts) → route outputs to the
 * actions (operators/route-actions.ts) → the shared `results$` stream.
 *
 * The pipeline is the rule's `SourceTarget`: the source calls `deliver` synchronously, so a
 * rule's outputs are enqueued to its sinks before the source moves on to the next event
 * (per-rule ordering is the event order). It never errors: every per-message failure is a
 * `failed` outcome.
 *
 * Why a class and not a per-rule RxJS chain (`Subject.pipe(map(evaluate), tap(route))`): with
 * 1,000 rules every event
 * walks a different rule's Subject → subscriber → operator-subscriber objects, and those
 * shared RxJS call sites turn megamorphic; measured with bench/throughput/broker.ts
 * ("runtime only"), the per-rule chains made 1,000 rules several times slower than one rule.
 * One monomorphic method over a small per-rule object keeps the working set per rule to a few
 * cache lines. The RxJS stream starts where streams are shared: `results$`.
 */
import type { Subject } from 'rxjs';

import type { RuleOutcome } from '../core/index.js';
import type { RuleGuard } from './guard.js';
import type { RuleMetrics } from './metrics.js';
import { runOnce } from './operators/evaluate-rule.js';
import type { RuleResult, RuleVersion } from './operators/evaluate-rule.js';
import { routeOutputs } from './operators/route-actions.js';
import { PassLane } from './pass-lane.js';
import type { ActionRouter } from './operators/route-actions.js';
import type { SourceTarget, Trigger } from './source.js';

export interface RulePipeline<C> extends SourceTarget<C> {
  /** The version run by the next `deliver` (swapped atomically by rule.ts on update). */
  version: RuleVersion<C>;
  /** Later deliveries are ignored. */
  stop(): void;
}

class Pipeline<C> implements RulePipeline<C> {
  private stopped = false;
  constructor(
    private readonly ruleId: string,
    public version: RuleVersion<C>,
    private readonly metrics: RuleMetrics,
    private readonly router: ActionRouter,
    private readonly results: Subject<RuleResult<C>>,
    private readonly onFailed: ((result: RuleResult<C>) => void) | undefined,
    private readonly guard: RuleGuard | undefined,
  ) {}

  /** Rules that call jq: evaluated in passes, never blocking (pass-lane.ts). */
  private lane: PassLane<C> | undefined;

  deliver(trigger: Trigger<C>): void {
    if (this.stopped) return;
    // runOnce + routeOutputs, with the RuleResult built only when someone reads it.
    const version = this.version;
    if (version.compiled.passes) {
      this.lane ??= new PassLane(
        this.metrics,
        this.guard,
        (v, t, o) => this.finish(v, t, o),
        () => this.stopped,
      );
      return this.lane.deliver(version, trigger);
    }
    this.finish(version, trigger, runOnce(version, this.metrics, trigger, this.guard));
  }

  private finish(version: RuleVersion<C>, trigger: Trigger<C>, outcome: RuleOutcome): void {
    if (outcome.kind === 'passed' && version.actions.length > 0)
      routeOutputs(
        this.router,
        this.metrics,
        this.ruleId,
        trigger,
        outcome.outputs,
        version.actions,
      );
    const failed = outcome.kind === 'failed' && this.onFailed !== undefined;
    if (!failed && !this.results.observed) return;
    const result: RuleResult<C> = {
      ruleId: this.ruleId,
      outcome,
      actions: version.actions,
      trigger,
    };
    if (failed) this.onFailed!(result);
    if (this.results.observed) this.results.next(result);
  }

  stop(): void {
    this.stopped = true;
  }
}

export function createRulePipeline<C>(
  ruleId: string,
  version: RuleVersion<C>,
  metrics: RuleMetrics,
  router: ActionRouter,
  results: Subject<RuleResult<C>>,
  onFailed?: (result: RuleResult<C>) => void,
  guard?: RuleGuard,
): RulePipeline<C> {
  return new Pipeline(ruleId, version, metrics, router, results, onFailed, guard);
}
