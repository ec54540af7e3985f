/**
 * Every sink type Sluice ships, registered once here. Kept apart from sinks.ts (which also
 * brings in the broker's config spec) so a sink thread (sink-thread-worker.ts) loads only the
 * sink modules.
 */
import type { SinkType } from '../core/index.js';
import { consoleSinkType } from '../sinks/console/index.js';
import { hstreamSinkType } from '../sinks/hstream/index.js';
import { kafkaSinkType } from '../sinks/kafka/index.js';
import { memorySinkType } from '../sinks/memory/index.js';
import { republishSinkType } from '../sinks/republish/index.js';

export const builtinSinkTypes: readonly SinkType<never>[] = [
  memorySinkType as SinkType<never>,
  consoleSinkType as SinkType<never>,
  hstreamSinkType as SinkType<never>,
  kafkaSinkType as SinkType<never>,
  republishSinkType as SinkType<never>,
];

/**
 * Types whose sinks may run in a sink thread (`thread: worker`): those that need nothing from
 * the main thread. `republish` publishes into the broker; `memory` is read back by tests
 * through `engine.sink()`.
 */
export const THREADABLE_SINK_TYPES: ReadonlySet<string> = new Set([
  'hstreamdb',
  'kafka',
  'console',
]);
