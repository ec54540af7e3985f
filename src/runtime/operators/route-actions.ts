/**
 * `routeOutputs`: hands every output of a passed outcome to each of the rule's actions, in
 * order, and counts `actions.total/success/failed`. The router is injected by the engine (the
 * runtime never imports sinks): it returns true when the action accepted the record (the sink
 * runner enqueued it) and false when it refused it (unknown action, stopped or full runner).
 * A router that throws counts as a refusal.
 */
import type { SinkRecord, ValueMap } from '../../core/index.js';
import type { Trigger } from '../source.js';
import type { RuleMetrics } from '../metrics.js';

/** Deliver one record to the named action; true = accepted. */
export type ActionRouter = (action: string, record: SinkRecord) => boolean;

/** Route a passed outcome's outputs to the rule's actions (the per-rule hot path). */
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
