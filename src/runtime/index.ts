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

export { compileRule, compileRuleAsync, explainRule, type ParseSql } from './compile-rule.js';
export {
  createParseWorker,
  PARSE_WORKER_DEFAULTS,
  type ParseWorker,
  type ParseWorkerOptions,
} from './parse-worker.js';

// Rule lifecycle, shared event source, pipelines and metrics (built on CompiledRule.run).
export { createTopicIndex, normaliseFilter, type TopicIndex } from './topic-index.js';
export { createEventSource, type EventSource, type SourceTarget, type Trigger } from './source.js';
export { createRuleManager, type RuleManager, type RuleSpec, type RuleInfo } from './rule.js';
export { createRuleMetrics, type RuleMetricsSnapshot, type RateSnapshot } from './metrics.js';
export { createRulePipeline, type RulePipeline } from './pipeline.js';
export { RuntimeRuleErrors } from './operators/errors.js';
export { bindRule } from './bind-rule.js';
export { CpuMark, RuleGuard, DEFAULT_GUARD } from './guard.js';
export type { EvalClock, RuleGuardConfig } from './guard.js';
export { createLagWatch } from './lag-watch.js';
export type { LagReport, LagWatch, LagWatchConfig, RuleTime } from './lag-watch.js';
export { columnsRead } from './plan/columns.js';
export type { ExecutableRule, RuleResult } from './operators/evaluate-rule.js';
export type { ActionRouter } from './operators/route-actions.js';
export { runRuleTest, runRuleTestAsync, eventNameOf, sampleColumns } from './rule-tester.js';
export type { RuleTestResult, RuleTestOptions } from './rule-tester.js';
export {
  createTraceRegistry,
  TRACE_LIMITS,
  TraceErrors,
  type StoredStep,
  type TraceFilter,
  type TraceListener,
  type TraceRegistry,
  type TraceRegistryOptions,
  type TraceState,
  type TraceStopReason,
  type TraceSummary,
  type Tracer,
  type TriggerTrace,
} from './trace/index.js';
export {
  createIngress,
  createIngressStore,
  type IngressEntryInfo,
  type IngressKind,
  type IngressSections,
  type IngressStore,
  schemaValidationSpec,
  messageTransformationSpec,
  validationEntrySpec,
  transformationEntrySpec,
  IngressErrors,
  variformToSql,
  type Ingress,
  type IngressConfig,
  type IngressIssue,
  type IngressMetrics,
} from './ingress/index.js';
