/**
 * Error codes raised by the rule runtime's lifecycle and pipelines (rule.ts, source.ts,
 * pipeline.ts, operators/). Evaluation failures inside a rule carry the compiler's codes; these
 * cover what happens around them.
 */
import { defineErrors } from '../../core/index.js';

export const RuntimeRuleErrors = defineErrors('runtime.rules', {
  rule_already_exists: {
    description: 'A rule with this id is already deployed (use update to replace it).',
    retriable: false,
  },
  rule_not_found: {
    description: 'No rule with this id is deployed.',
    retriable: false,
  },
  rule_budget_exceeded: {
    description:
      'One evaluation of the rule took longer than rule_limits.eval_budget; that message fails for this rule (failed.exception) and its outputs are discarded. Repeated, it suspends the rule.',
    retriable: false,
  },
  rule_suspended: {
    description:
      'The rule exceeded its evaluation budget rule_limits.suspend_after times within rule_limits.suspend_window and was suspended (it matches nothing until enabled again).',
    retriable: false,
  },
  event_loop_lag: {
    description:
      'Warning: the event loop lagged more than rule_limits.lag_warn within one second. The log names the culprit — the rule whose evaluations took the most time in that second (`rule`, `culprit`, `top`) — or `culprit: null` when no rule took a notable share (the time went to the broker, sinks, the API or GC). At most one warning per 10 s (`suppressed` counts the rest).',
    retriable: false,
  },
  rule_pass_queue_full: {
    description:
      'A rule that calls jq is evaluated without blocking, one message at a time in arrival order; while a message waits for its jq run, later messages of that rule queue (at most 10,000). A message arriving at a full queue fails for that rule (failed.exception); the other rules and the broker are unaffected.',
    retriable: true,
  },
  rule_internal_error: {
    description:
      'A compiled rule threw instead of returning a failed outcome; counted as failed.exception.',
    retriable: false,
  },
});
