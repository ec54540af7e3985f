/**
 * Runtime public surface: compile rule SQL once, evaluate it per message (spec rule-sql §2–§7).
 *
 * - `compileRule(sql, options?)` → `CompiledRule`; throws `SqlError` (with `.diagnostics`) for
 *   syntax or semantic errors (unknown function, wrong arity, unknown `$events/...` topic,
 *   invalid topic filter).
 * - `CompiledRule.matches(topic)`, `.evaluate(ctx)` (throws `RuleEvaluationError`),
 *   `.run(ctx)` (never throws: a `RuleOutcome`), `.sources`, `.statement`, `.kind`.
 * - `createMessageContext(columns)`: share one payload decode between all rules of a message.
 * - `parseRule(sql)` (the parser's) and `explainRule(sql)` (the plan as text).
 */
import { parseRule } from '../sql-parser/index.js';
import { compileStatement, planStatement, resolveOptions } from './compile/index.js';
import type { CompileOptions, CompiledRule } from './compile/index.js';
import { SqlError } from './errors.js';
import { explainPlan } from './plan/explain.js';

export { parseRule } from '../sql-parser/index.js';
export type { ParseResult, Diagnostic, Statement } from '../sql-parser/index.js';
export type { CompileOptions, CompiledRule } from './compile/index.js';
export { compileStatement } from './compile/index.js';
export type { RulePlan } from './plan/types.js';
export {
  SqlError,
  RuleEvaluationError,
  runtimeErrors,
  CLAUSE_CODES,
  type EvaluationClause,
} from './errors.js';
export { MessageContext, createMessageContext, type EvaluationInput } from './message-context.js';
export { topicMatches, topicMatchesAny, topicFilterProblem, eventOfTopic } from './topic.js';
export {
  createBuiltinRegistry,
  createDefaultServices,
  builtinFunctions,
  createFunctionRegistry,
} from './functions/index.js';
export type { FunctionDef, FunctionRegistry, FunctionServices } from './functions/index.js';

/**
 * Compile rule SQL into a `CompiledRule` (parse → plan → closures, once).
 * @throws SqlError listing every diagnostic (rendered with carets in `.message`).
 */
export function compileRule(sql: string, options: CompileOptions = {}): CompiledRule {
  const parsed = parseRule(sql);
  if (parsed.ast === undefined) throw new SqlError(parsed.diagnostics);
  return compileStatement(sql, parsed.ast, options);
}

/**
 * The plan of a rule as readable text: sources, each item with its output target, conditions,
 * folded constants and specialised calls.
 * @throws SqlError when the SQL does not compile.
 */
export function explainRule(sql: string, options: CompileOptions = {}): string {
  const parsed = parseRule(sql);
  if (parsed.ast === undefined) throw new SqlError(parsed.diagnostics);
  const result = planStatement(sql, parsed.ast, resolveOptions(options));
  if ('diagnostics' in result) throw new SqlError(result.diagnostics);
  return explainPlan(result.plan);
}

// Rule lifecycle, shared event source, pipelines and metrics (built on CompiledRule.run).
export { createTopicIndex, normaliseFilter, type TopicIndex } from './topic-index.js';
export { createEventSource, type EventSource, type SourceTarget, type Trigger } from './source.js';
export { createRuleManager, type RuleManager, type RuleSpec, type RuleInfo } from './rule.js';
export { createRuleMetrics, type RuleMetricsSnapshot, type RateSnapshot } from './metrics.js';
export { createRulePipeline, type RulePipeline } from './pipeline.js';
export { RuntimeRuleErrors } from './operators/errors.js';
export { bindRule } from './bind-rule.js';
export { columnsRead } from './plan/columns.js';
export { evaluateRule, type ExecutableRule, type RuleResult } from './operators/evaluate-rule.js';
export { routeActions, type ActionRouter } from './operators/route-actions.js';
