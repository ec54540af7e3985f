/** Per-message rule tracing (docs/api.md "Traces"): the recorder and its ring. */
export { createTraceRegistry, TRACE_LIMITS } from './registry.js';
export type {
  TraceFilter,
  TraceListener,
  TraceRegistry,
  TraceRegistryOptions,
  TraceState,
  TraceStopReason,
  TraceSummary,
  Tracer,
  TriggerTrace,
} from './registry.js';
export type { StoredStep } from './ring.js';
export { TraceErrors } from './errors.js';
