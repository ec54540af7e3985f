/**
 * The shared sink runner: batching, buffering, retry/backoff, reconnect, in-flight limits,
 * write deadlines, back-pressure and metrics for every sink (CONVENTIONS.md #5). Sinks import it
 * (and nothing deeper) from here.
 */
export { createSinkRunner } from './runner.js';
export type { DrainResult, RunnerDeps, RunnerMetrics, RunnerStatus, SinkRunner } from './runner.js';
export { runnerConfigSpec, runnerConfigSpecWith, RUNNER_DEFAULTS } from './config.js';
export type { OverflowPolicy, RunnerConfig, RunnerDefaults } from './config.js';
export { RunnerErrors, sinkNotConnected, isNotConnected } from './errors.js';
export { createLatencyHistogram } from './histogram.js';
export type { LatencyHistogram, LatencySummary } from './histogram.js';
