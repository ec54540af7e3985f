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
 */
export { createEngine } from './engine.js';
export type { EngineConfigInput } from './engine.js';
export { checkConfig } from './check.js';
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
