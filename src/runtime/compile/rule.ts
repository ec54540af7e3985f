/**
 * Plan → `CompiledRule` (spec rule-sql §4): the closures for every clause are built here once;
 * `evaluate` only runs them. Clause order and scopes:
 *
 * - SELECT: items left to right over the columns + alias overlay; output = what was selected.
 * - WHERE: the columns overlaid with the output (output wins, §4.1.3); false → `[]`.
 * - FOREACH: items like SELECT; the last one's value is the collection (non-list → empty).
 *   WHERE runs once; then per element INCASE and DO see columns + FOREACH output + element;
 *   DO shapes each output, without DO the whole scope is emitted (§4.2).
 *
 * Any failure inside a clause becomes a `RuleEvaluationError` carrying the clause (§9).
 */
import type { RuleOutcome, Value, ValueMap } from '../../core/index.js';
import type { Statement } from '../../sql-parser/index.js';
import type { RulePasses } from '../async-eval.js';
import type { FunctionServices } from '../functions/registry.js';
import { RuleEvaluationError, fault, toEvaluationError } from '../errors.js';
import type { EvaluationClause } from '../errors.js';
import type { EvaluationInput } from '../message-context.js';
import { explainPlan } from '../plan/explain.js';
import type { PlanItem, RulePlan } from '../plan/types.js';
import { topicMatchesAny } from '../topic.js';
import { setProp } from './access.js';
import { compileCondition, decodePayloadExact } from './expr.js';
import { compileList } from './items.js';
import type { ListRunner, ListScope } from './items.js';
import { describe } from '../value-ops.js';
import { createEvalState } from './state.js';
import type { Eval, EvalState } from './state.js';
import { compileWhereExplainer } from './where-explain.js';
import type { WhereExplainer } from './where-explain.js';

/** What a traced run reports about WHERE (tracing only, see `CompiledRule.runTraced`). */
export interface WhereTrace {
  readonly result: boolean;
  /** The value that decided it (where-explain.ts). */
  readonly value: Value;
  /** The deciding sub-condition as text. */
  readonly expr: string;
}

/** Called by a traced evaluation once WHERE is decided (with the evaluation state in WHERE scope). */
type WhereHook = (st: EvalState, result: boolean) => void;

/**
 * One rule, compiled once and run for every matching trigger. Contract for callers:
 * - `matches(topic)`: does a message topic or an `$events/...` topic (either spelling) trigger
 *   this rule? Pure, cheap; the engine may use `sources` to index rules instead.
 * - `evaluate(ctx)`: the outputs for one trigger — `[]` when filtered (WHERE false, FOREACH
 *   empty), one map for SELECT, one per surviving element for FOREACH. Throws
 *   `RuleEvaluationError` for a per-message failure. Output maps are fresh per call; values
 *   nested inside them may be shared with the message (treat them as read-only).
 * - `run(ctx)`: the same as a `RuleOutcome`; never throws. This is what pipelines call.
 * `ctx` is a column map or a `MessageContext` shared by all rules for one message (decodes the
 * payload once).
 */
export interface CompiledRule {
  readonly sql: string;
  readonly kind: 'select' | 'foreach';
  /** FROM entries, quotes stripped, in order. */
  readonly sources: readonly string[];
  /** The parsed statement (typed AST). */
  readonly statement: Statement;
  readonly plan: RulePlan;
  matches(topic: string): boolean;
  evaluate(context: EvaluationInput): ValueMap[];
  run(context: EvaluationInput): RuleOutcome;
  /**
   * `run`, also reporting WHERE's result and deciding value to `onWhere` (not called for a rule
   * without WHERE, or when WHERE failed). For the trace recorder only: it evaluates the deciding
   * sub-expressions a second time.
   */
  runTraced(context: EvaluationInput, onWhere: (w: WhereTrace) => void): RuleOutcome;
  /** The plan as readable text (same as `explainRule(sql)`). */
  explain(): string;
  /**
   * Set when the rule calls jq (and its services run jq without blocking) or an external-registry
   * function (avro_decode, …; decision 0014): the runtime then
   * evaluates it in passes through this slot (async-eval.ts, async-lane.ts).
   */
  readonly passes?: RulePasses;
}

const JQ_CALL = /\bjq\s*\(/;
/** External-registry functions: a cache miss waits for the fetch in passes (decision 0014). */
const EXTERNAL_CALL = /\b(avro_decode|avro_encode|schema_decode_tagged)\s*\(/i;

function runClause<T>(clause: EvaluationClause, body: () => T): T {
  try {
    return body();
  } catch (e) {
    throw toEvaluationError(e, clause);
  }
}

function checkBoolean(v: Value, clause: string): boolean {
  if (v === true) return true;
  if (v === false) return false;
  return fault(`${clause} condition evaluated to ${describe(v)}, not a boolean`);
}

function copyInto(out: ValueMap, from: Readonly<ValueMap>): void {
  for (const k in from) if (Object.hasOwn(from, k)) setProp(out, k, from[k]);
}

const columnsScope: ListScope = {
  below: [],
  wildcard: (st, out) => copyInto(out, st.columns),
};

function elementScope(elementName: string): ListScope {
  return {
    below: ['item', 'sel'],
    elementName,
    wildcard: (st, out) => {
      copyInto(out, st.columns);
      if (st.sel) copyInto(out, st.sel);
      setProp(out, elementName, st.element);
    },
  };
}

function needsOverlay(items: readonly PlanItem[]): boolean {
  return items.some((i) => i.kind === 'field' && i.writesScope);
}

export function createCompiledRule(plan: RulePlan, services: FunctionServices): CompiledRule {
  const filters = plan.sources.map((s) => s.topic);
  const matchFilters = plan.sources
    .filter((s) => s.type === 'mqtt' || s.type === 'event')
    .map((s) => s.topic);
  const hookTopics = new Set(
    plan.sources.filter((s) => s.type === 'bridge' || s.type === 'source').map((s) => s.topic),
  );
  const matches = (topic: string): boolean =>
    topicMatchesAny(topic, matchFilters) || (hookTopics.size > 0 && hookTopics.has(topic));
  const where: Eval | undefined = plan.where && compileCondition(plan.where);
  const evaluate =
    plan.kind === 'select'
      ? compileSelect(plan, services, where)
      : compileForeach(plan, services, where);
  let explained: string | undefined;
  const passes: RulePasses | undefined =
    services.session &&
    ((services.jqAsync && JQ_CALL.test(plan.sql)) || EXTERNAL_CALL.test(plan.sql))
      ? { slot: services.session, jq: services.jqAsync ?? noJq }
      : undefined;
  let explainer: WhereExplainer | undefined;
  const outcomeOf = (context: EvaluationInput, hook: WhereHook): RuleOutcome => {
    try {
      const outputs = evaluate(context, hook);
      return outputs.length > 0 ? { kind: 'passed', outputs } : { kind: 'filtered' };
    } catch (error) {
      if (error instanceof RuleEvaluationError)
        return { kind: 'failed', code: error.code, reason: error.message, error };
      const reason = error instanceof Error ? error.message : String(error);
      return { kind: 'failed', code: 'select_and_transform_error', reason, error };
    }
  };
  return {
    ...(passes ? { passes } : {}),
    sql: plan.sql,
    kind: plan.kind,
    sources: filters,
    statement: plan.statement,
    plan,
    matches,
    evaluate,
    // The untraced path, as before tracing existed (outcomeOf without a hook, inlined).
    run(context) {
      try {
        const outputs = evaluate(context);
        return outputs.length > 0 ? { kind: 'passed', outputs } : { kind: 'filtered' };
      } catch (error) {
        if (error instanceof RuleEvaluationError)
          return { kind: 'failed', code: error.code, reason: error.message, error };
        const reason = error instanceof Error ? error.message : String(error);
        return { kind: 'failed', code: 'select_and_transform_error', reason, error };
      }
    },
    runTraced(context, onWhere) {
      return outcomeOf(context, (st, result) => {
        if (!plan.where) return;
        explainer ??= compileWhereExplainer(plan.where);
        const d = explainer(st);
        onWhere({ result, value: d.value, expr: d.expr });
      });
    },
    explain: () => (explained ??= explainPlan(plan)),
  };
}

function compileSelect(
  plan: RulePlan,
  services: FunctionServices,
  where: Eval | undefined,
): (input: EvaluationInput, hook?: WhereHook) => ValueMap[] {
  const select: ListRunner = compileList(plan.fields, columnsScope);
  const overlay = needsOverlay(plan.fields);
  return (input, hook) => {
    const st = createEvalState(input, services);
    let out: ValueMap;
    if (overlay) st.ov = {};
    try {
      out = select(st);
    } catch (e) {
      throw toEvaluationError(e, 'select');
    }
    if (where !== undefined) {
      st.clause = 'where';
      st.ov = out;
      let ok: boolean;
      try {
        ok = checkBoolean(where(st), 'WHERE');
      } catch (e) {
        throw toEvaluationError(e, 'where');
      }
      if (hook !== undefined) hook(st, ok);
      if (!ok) return [];
    }
    return [out];
  };
}

function compileForeach(
  plan: RulePlan,
  services: FunctionServices,
  where: Eval | undefined,
): (input: EvaluationInput, hook?: WhereHook) => ValueMap[] {
  const fields = plan.fields;
  const last = fields[fields.length - 1];
  // §4.2/§5: `FOREACH payload` iterates the decoded payload.
  const decodeCollection =
    last?.kind === 'field' && last.expr.op === 'name' && last.expr.name === 'payload';
  const collect: ListRunner = compileList(fields, columnsScope);
  const overlay = needsOverlay(fields);
  const incase: Eval | undefined = plan.incase && compileCondition(plan.incase);
  const elementName = plan.elementName ?? 'item';
  const doList: ListRunner | undefined = plan.do && compileList(plan.do, elementScope(elementName));
  const doOverlay = plan.do !== undefined && needsOverlay(plan.do);
  return (input, hook) => {
    const st = createEvalState(input, services);
    st.clause = 'foreach';
    if (overlay) st.ov = {};
    const [sel, collection] = runClause('foreach', (): [ValueMap, Value] => {
      const sel = collect(st);
      let v = st.last;
      if (decodeCollection) {
        v = decodePayloadExact(st, v);
        // keep the FOREACH output consistent with what is iterated
        if (last?.kind === 'field' && last.target.steps.length === 0)
          setProp(sel, last.target.root, v);
      }
      return [sel, v];
    });
    if (where !== undefined) {
      st.clause = 'where';
      st.ov = sel;
      const ok = runClause('where', () => checkBoolean(where(st), 'WHERE'));
      if (hook !== undefined) hook(st, ok);
      if (!ok) return [];
    }
    if (!Array.isArray(collection)) return [];
    st.ov = null;
    st.sel = sel;
    const outputs: ValueMap[] = [];
    st.elementName = elementName;
    for (const element of collection) {
      st.element = element;
      if (incase !== undefined) {
        st.clause = 'incase';
        let keep: boolean;
        try {
          keep = checkBoolean(incase(st), 'INCASE');
        } catch (e) {
          throw toEvaluationError(e, 'incase');
        }
        if (!keep) continue;
      }
      if (doList !== undefined) {
        st.clause = 'do';
        st.ov = doOverlay ? {} : null;
        try {
          outputs.push(doList(st));
        } catch (e) {
          throw toEvaluationError(e, 'do');
        }
        st.ov = null;
      } else {
        const out: ValueMap = {};
        copyInto(out, st.columns);
        copyInto(out, sel);
        setProp(out, elementName, element);
        outputs.push(out);
      }
    }
    return outputs;
  };
}

function noJq(): Promise<string[]> {
  return Promise.reject(new Error('jq: no jq runtime is configured for this engine'));
}
