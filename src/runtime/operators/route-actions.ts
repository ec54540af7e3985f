/**
 * `routeActions`: hands every output of a passed result to each of the rule's actions, in
 * order, and counts `actions.total/success/failed`. The router is injected by the engine (the
 * runtime never imports sinks): it returns true when the action accepted the record (the sink
 * runner enqueued it) and false when it refused it (unknown action, stopped or full runner).
 * A router that throws counts as a refusal. Results pass through unchanged.
 */
import { tap } from 'rxjs';
import type { MonoTypeOperatorFunction } from 'rxjs';

import type { SinkRecord, ValueMap } from '../../core/index.js';
import type { Trigger } from '../source.js';
import type { RuleMetrics } from '../metrics.js';
import type { RuleResult } from './evaluate-rule.js';

/** Deliver one record to the named action; true = accepted. */
export type ActionRouter = (action: string, record: SinkRecord) => boolean;

/** Route one result's outputs to its actions (plain function; see `routeActions`). */
export function routeResult<C>(
  router: ActionRouter,
  metrics: RuleMetrics,
  result: RuleResult<C>,
): void {
  if (result.outcome.kind !== 'passed' || result.actions.length === 0) return;
  routeOutputs(
    router,
    metrics,
    result.ruleId,
    result.trigger,
    result.outcome.outputs,
    result.actions,
  );
}

/** `routeResult` for a passed outcome's outputs, without a RuleResult (the per-rule hot path). */
export function routeOutputs(
  router: ActionRouter,
  metrics: RuleMetrics,
  ruleId: string,
  trigger: Trigger<unknown>,
  outputs: readonly ValueMap[],
  actions: readonly string[],
): void {
  for (const data of outputs) {
    const record: SinkRecord = {
      data,
      ruleId,
      ingestTs: trigger.ingestTs,
      context: trigger.event.columns,
    };
    for (const action of actions) {
      let ok: boolean;
      try {
        ok = router(action, record);
      } catch {
        ok = false;
      }
      metrics.action(ok);
    }
  }
}

export function routeActions<C>(
  router: ActionRouter,
  metrics: RuleMetrics,
): MonoTypeOperatorFunction<RuleResult<C>> {
  return tap((result) => routeResult(router, metrics, result));
}
