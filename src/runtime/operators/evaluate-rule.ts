/**
 * `runOnce`: run one trigger through the rule version current at the moment the event arrives
 * (so an update swaps atomically between two events, never within one) and count the EMQX rule
 * metrics. A compiled rule reports per-message failures as `failed` outcomes; should one throw
 * anyway, the throw is turned into a `failed` outcome with code `rule_internal_error` — the
 * stream never errors (CONVENTIONS.md #4).
 */
import type { RuleOutcome } from '../../core/index.js';
import type { RulePasses } from '../async-eval.js';
import type { WhereTrace } from '../compile/rule.js';
import type { RuleGuard } from '../guard.js';
import type { RuleMetrics } from '../metrics.js';
import type { Trigger } from '../source.js';

/** What the runtime needs from a compiled rule (the compiler's `CompiledRule` satisfies it). */
export interface ExecutableRule<C> {
  run(ctx: C): RuleOutcome;
  /** Evaluate in passes, never blocking on jq (async-eval.ts); absent for most rules. */
  readonly passes?: RulePasses;
  /** Optional: `run` that also reports WHERE's decision (the trace recorder's path only). */
  runTraced?(ctx: C, onWhere: (w: WhereTrace) => void): RuleOutcome;
}

/** One deployed version of a rule: swapped as a whole on update. */
export interface RuleVersion<C> {
  readonly compiled: ExecutableRule<C>;
  /** Action (sink) names each output is routed to, in order. */
  readonly actions: readonly string[];
}

/** A rule's outcome for one event, with what the action layer needs to route it. */
export interface RuleResult<C> {
  readonly ruleId: string;
  readonly outcome: RuleOutcome;
  readonly actions: readonly string[];
  readonly trigger: Trigger<C>;
}

/**
 * An evaluation over budget by wall time: did it use the budget? A failed one (e.g. jq capped
 * at the deadline) always counts; a completed one only if the thread had that much CPU time
 * (guard.ts: a descheduled thread must not cost the message).
 */
function overBudget(guard: RuleGuard, outcome: RuleOutcome, budget: number): boolean {
  const cpu = guard.clock.cpu;
  if (outcome.kind === 'failed' || !cpu || cpu.since() >= budget) return true;
  guard.preempted++;
  return false;
}

/** Evaluate one trigger with one rule version and count it (the per-rule hot path). */
export function runOnce<C>(
  version: RuleVersion<C>,
  metrics: RuleMetrics,
  trigger: Trigger<C>,
  guard?: RuleGuard,
): RuleOutcome {
  metrics.matched(trigger.ingestTs);
  let outcome: RuleOutcome;
  const budget = guard ? guard.config.budgetMs : 0;
  const t0 = guard ? performance.now() : 0;
  if (budget > 0) {
    const clock = (guard as RuleGuard).clock;
    clock.deadline = t0 + budget;
    clock.cpu?.mark(t0);
  }
  try {
    outcome = version.compiled.run(trigger.ctx);
    if (guard) {
      const ms = performance.now() - t0;
      // Running sum for the lag watch's culprit (lag-watch.ts).
      guard.spentMs += ms;
      guard.evaluations++;
      if (budget > 0 && ms > budget && overBudget(guard, outcome, budget)) {
        outcome = {
          kind: 'failed',
          code: 'rule_budget_exceeded',
          reason: `evaluation took ${Math.round(ms)} ms, over the rule budget of ${budget} ms; outputs discarded`,
        };
        (guard as RuleGuard).strike(trigger.ingestTs, ms);
      }
    }
  } catch (error) {
    if (guard) {
      guard.spentMs += performance.now() - t0;
      guard.evaluations++;
    }
    outcome = {
      kind: 'failed',
      code: 'rule_internal_error',
      reason: error instanceof Error ? error.message : String(error),
      error,
    };
  }
  if (budget > 0) (guard as RuleGuard).clock.deadline = Infinity;
  if (outcome.kind === 'passed') metrics.passed();
  else if (outcome.kind === 'filtered') metrics.noResult();
  else metrics.exception();
  return outcome;
}
