/**
 * The engine: the composition root where the modules meet (docs/decisions/0004). Layout:
 *
 *   engine.ts        createEngine — wiring and lifecycle only
 *   sinks.ts         sink types, config specs, configured sinks and their runners
 *   rules.ts         the compile adapter and the rules service (files + API → rule manager)
 *   reload.ts        config reload planning and application
 *   event-bus.ts     N event producers → the rule source
 *   flow-control.ts  back-pressure: pressured sinks pause the clients that feed them
 *   delivery.ts      external sources: when a message's records are acknowledged (src/sources)
 *   check.ts         `sluice check`
 *   plan.ts          `sluice plan` (reload.ts previewReload against a running state)
 *   rule-tests.ts    `sluice test` (rule-test-compare.ts: expected vs actual)
 *   alarms.ts        the alarm registry; alarm-monitor.ts raises and clears alarms
 *   memory-reclaim.ts  V8 memory-saver mode when idle after a burst (decision 0023)
 */
// First: the Kafka sink's kafkajs replacements (src/sinks/kafka/kafkajs-patch.ts) only take effect when
// they are installed before anything loads kafkajs, and the Kafka source (imported below through
// engine.ts) loads it too.
import '../sinks/kafka/index.js';
export { createEngine } from './engine.js';
export type { EngineConfigInput } from './engine.js';
export { checkConfig } from './check.js';
export { createRuleTestRunner, RULE_TEST_NOW } from './rule-tests.js';
export type { RuleTestCaseResult, RuleTestFileResult, RuleTestRunner } from './rule-tests.js';
export type { AlarmRecord, AlarmRegistry } from './alarms.js';
export { createMemoryReclaim, MEMORY_RECLAIM_DEFAULTS } from './memory-reclaim.js';
export type {
  MemoryReclaim,
  MemoryReclaimConfig,
  MemoryReclaimDeps,
  MemoryReclaimMetrics,
  ReclaimReport,
} from './memory-reclaim.js';
export { previewReload, runningSections, runningSinks, sinkChanges } from './reload.js';
export type {
  ReloadPreview,
  RunningSections,
  RunningSink,
  RunningState,
  SinkChange,
} from './reload.js';
export { createCompiler } from './rules.js';
export { planReloadFile, startupState } from './plan.js';
export type { PlanDeps } from './plan.js';
export { builtinSinkTypes, configParts } from './sinks.js';
export type {
  CheckReport,
  Engine,
  EngineDeps,
  EngineMetrics,
  EngineSinkMetrics,
  ReloadReport,
  RuleInput,
} from './types.js';
