/**
 * Sluice public API. Keep this file to re-exports only (CONVENTIONS.md "The shape of the code").
 */

// First: a clear error on an unsupported Node.js instead of a crash inside a dependency.
import './node-version.js';

// Rule SQL: compile once, evaluate per message.
export {
  compileRule,
  explainRule,
  parseRule,
  createMessageContext,
  MessageContext,
  SqlError,
  RuleEvaluationError,
  topicMatches,
} from './runtime/index.js';
export type {
  CompiledRule,
  CompileOptions,
  Diagnostic,
  EvaluationInput,
  FunctionServices,
  ParseResult,
  Statement,
} from './runtime/index.js';

// Value model and outcomes shared with sinks and embedders.
export { EFloat, encodeJson, decodeJson, SluiceError } from './core/index.js';
export type { Value, ValueMap, RuleOutcome } from './core/index.js';

// The engine (composition root) and its configuration.
export { createEngine, checkConfig, configParts, builtinSinkTypes } from './engine/index.js';
export type {
  Engine,
  EngineDeps,
  EngineMetrics,
  ReloadReport,
  RuleInput,
  CheckReport,
} from './engine/index.js';
export { loadConfig, formatIssue, configJsonSchema, ConfigErrors } from './config/index.js';
export type {
  ConfigIssue,
  LoadedConfig,
  SluiceConfig,
  SinkConfig,
  RuleConfig,
} from './config/index.js';
export type { RuleInfo, RuleMetricsSnapshot, RateSnapshot } from './runtime/index.js';

// The management HTTP API (docs/api.md), for embedders that run their own engine.
export { createApiServer } from './api/index.js';
export type { ApiConfig } from './config/index.js';
