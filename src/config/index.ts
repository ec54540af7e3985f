/**
 * Configuration: sluice.yaml (+ rule files) → validated, located config; JSON Schema; hot
 * reload watcher. Every problem is a located `ConfigIssue` (file:line:col, field path, reason).
 */
export { ConfigErrors } from './errors.js';
export { substituteEnv } from './env.js';
export { formatIssue, caretSnippet } from './issues.js';
export type { ConfigIssue } from './issues.js';
export { parseRuleFile, RULE_ID_PATTERN } from './rule-file.js';
export type { RuleEntry, SqlOrigin } from './rule-file.js';
export { configSpec, sinkSpec, ruleSpec, apiSpec, configJsonSchema, LOG_LEVELS } from './spec.js';
export type { ApiConfig, ConfigParts, SluiceConfig, SinkConfig, RuleConfig } from './spec.js';
export { loadConfig, loadConfigText, expandRuleFiles } from './load.js';
export type { LoadedConfig, LoadOptions, LoadResult } from './load.js';
export { compileRules, mapDiagnostic } from './compile-rules.js';
export type { CompiledEntry, RuleCompiler } from './compile-rules.js';
export { watchDirs, globName } from './watch.js';
export type { ConfigWatcher, WatchTarget } from './watch.js';
export { parseYamlSource, splitPath } from './yaml-source.js';
export { planReload } from './reconcile.js';
export type { ReloadPlan, RunningRule } from './reconcile.js';
export { loadTestFile, testFileJsonSchema, testFileSpec } from './test-file.js';
export type { TestCase, TestFile, TestFileLoad, TestInput } from './test-file.js';
