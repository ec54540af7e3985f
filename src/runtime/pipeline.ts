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

import type { MessageTrace, RuleOutcome, SinkRecord } from '../core/index.js';
import type { WhereTrace } from './compile/rule.js';
import { RuleEvaluationError } from './errors.js';

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
    const version = this.version;
    // The only tracing cost on the untraced path: `trigger.trace` is undefined.
    const traced = trigger.trace !== undefined ? trigger.trace.rule(this.ruleId) : undefined;
    if (version.compiled.passes) {
      // Rules that call jq go through their lane, traced or not (it keeps their order); a traced
      // one records its outcome's steps when it completes (no WHERE detail: no traced pass).
      this.lane ??= new PassLane(
        this.metrics,
        this.guard,
        (v, t, o, tr) => (tr ? this.record(v, t, o, tr, undefined) : this.finish(v, t, o)),
        () => this.stopped,
      );
      return this.lane.deliver(version, trigger, traced);
    }
    if (traced !== undefined) return this.deliverTraced(trigger, traced);
    // runOnce + routeOutputs, with the RuleResult built only when someone reads it.
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
    this.publish(trigger, version.actions, outcome);
  }

  /**
   * The same work as `deliver`, recording each step (docs/api.md "Traces"): `where` (result and
   * deciding value), `select` (each output, or the failure), `action_render` per action; the
   * records carry the trace on to the sink runners (buffered, send_attempt, ack, drop).
   */
  private deliverTraced(trigger: Trigger<C>, trace: MessageTrace): void {
    const version = this.version;
    const compiled = version.compiled;
    let where: WhereTrace | undefined;
    const run = compiled.runTraced
      ? {
          run: (ctx: C) =>
            compiled.runTraced!(ctx, (w) => {
              where = w;
            }),
        }
      : compiled;
    const outcome = runOnce(
      { compiled: run, actions: version.actions },
      this.metrics,
      trigger,
      this.guard,
    );
    this.record(version, trigger, outcome, trace, where as WhereTrace | undefined);
  }

  /** Record the steps of a traced message's outcome and route its outputs with the trace. */
  private record(
    version: RuleVersion<C>,
    trigger: Trigger<C>,
    outcome: RuleOutcome,
    trace: MessageTrace,
    w: WhereTrace | undefined,
  ): void {
    if (w !== undefined)
      trace.step('where', undefined, { result: w.result, value: w.value, expr: w.expr });
    if (outcome.kind === 'passed') {
      for (const output of outcome.outputs) trace.step('select', undefined, { output });
      for (const data of outcome.outputs) {
        const record: SinkRecord = {
          data,
          ruleId: this.ruleId,
          ingestTs: trigger.ingestTs,
          context: trigger.event.columns,
          trace,
        };
        for (const action of version.actions) {
          trace.step('action_render', action, { data });
          let ok: boolean;
          try {
            ok = this.router(action, record);
          } catch {
            ok = false;
          }
          this.metrics.action(ok);
        }
      }
    } else if (outcome.kind === 'failed') {
      const clause = outcome.error instanceof RuleEvaluationError ? outcome.error.clause : 'select';
      const error = { code: outcome.code, reason: outcome.reason };
      if (clause === 'where') trace.step('where', undefined, { result: false, value: null, error });
      else trace.step('select', undefined, { output: null, clause, error });
    } else if (w === undefined || w.result) {
      // FOREACH (or INCASE) left nothing.
      trace.step('select', undefined, { output: null, outputs: 0 });
    }
    this.publish(trigger, version.actions, outcome);
  }

  /** Hand the result to `onFailed` and `results$`, built only when someone reads it. */
  private publish(trigger: Trigger<C>, actions: readonly string[], outcome: RuleOutcome): void {
    const failed = outcome.kind === 'failed' && this.onFailed !== undefined;
    if (!failed && !this.results.observed) return;
    const result: RuleResult<C> = {
      ruleId: this.ruleId,
      outcome,
      actions,
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
