/**
 * One rule's RxJS pipeline: input subject → evaluateRule → routeActions → shared results.
 *
 * The input subject is the rule's `SourceTarget`; the source pushes each matching trigger into
 * it synchronously, so a rule's outputs are enqueued to its sinks before the source moves on
 * to the next event (ordering per rule is the event order). The pipeline never errors: every
 * per-message failure is a `failed` outcome (operators/evaluate-rule.ts).
 */
import { Subject } from 'rxjs';
import type { Observer, Subscription } from 'rxjs';

import type { RuleMetrics } from './metrics.js';
import { evaluateRule } from './operators/evaluate-rule.js';
import type { RuleResult, RuleVersion } from './operators/evaluate-rule.js';
import { routeActions } from './operators/route-actions.js';
import type { ActionRouter } from './operators/route-actions.js';
import type { SourceTarget, Trigger } from './source.js';

export interface RulePipeline<C> {
  /** Attach this to the event source. */
  readonly target: SourceTarget<C>;
  /** Complete the input and unsubscribe. */
  stop(): void;
}

export function createRulePipeline<C>(
  ruleId: string,
  current: () => RuleVersion<C>,
  metrics: RuleMetrics,
  router: ActionRouter,
  results: Observer<RuleResult<C>>,
): RulePipeline<C> {
  const input = new Subject<Trigger<C>>();
  const sub: Subscription = input
    .pipe(evaluateRule(ruleId, current, metrics), routeActions<C>(router, metrics))
    .subscribe({ next: (r) => results.next(r) });
  return {
    target: { deliver: (t) => input.next(t) },
    stop() {
      input.complete();
      sub.unsubscribe();
    },
  };
}
