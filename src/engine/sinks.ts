/**
 * The sink registry: every sink type Sluice ships, the config specs they contribute, and the
 * configured sinks with their runners. A sink type that needs to publish into the message
 * stream gets the engine's publisher through `SinkDeps.publish` like any other dependency.
 */
import { brokerConfigSpec } from '../broker/index.js';
import { sourcesSpec } from '../sources/index.js';
import { schemaRegistrySpec } from '../schema-registry/index.js';
import { messageTransformationSpec, schemaValidationSpec } from '../runtime/index.js';
import type { ConfigParts, SinkConfig } from '../config/index.js';
import { ocppConfigSpec } from '../ocpp/index.js';
import type {
  FieldSpec,
  Logger,
  MessagePublisher,
  Sink,
  SinkRecord,
  SinkType,
} from '../core/index.js';
import { createSinkRunner, runnerConfigSpec } from '../sinks/runner/index.js';
import type { RunnerConfig, SinkRunner } from '../sinks/runner/index.js';
import { createThreadedRunner } from './sink-thread.js';
import { builtinSinkTypes, THREADABLE_SINK_TYPES } from './sink-types.js';

/** A sink thread loads the built-in type of that name; a type given in EngineDeps cannot move. */
const builtin = (t: SinkType<never>): boolean => builtinSinkTypes.includes(t);

export { builtinSinkTypes } from './sink-types.js';

/** Built-in types, then extra ones (an extra type replaces a built-in one of the same name). */
export function sinkTypeMap(extra: readonly SinkType<never>[] = []): Map<string, SinkType<never>> {
  const types = new Map<string, SinkType<never>>();
  for (const t of [...builtinSinkTypes, ...extra]) types.set(t.type, t);
  return types;
}

/** The specs the config module validates against (also used by `gen:schema` and the docs). */
export function configParts(extraSinkTypes: readonly SinkType<never>[] = []): ConfigParts {
  return {
    brokerSpec: brokerConfigSpec,
    runnerSpec: runnerConfigSpec,
    gatewaySpecs: { ocpp: ocppConfigSpec },
    sourcesSpec,
    schemaRegistrySpec,
    schemaValidationSpec,
    messageTransformationSpec,
    sinkTypes: [...sinkTypeMap(extraSinkTypes).values()].map((t) => ({
      type: t.type,
      spec: t.spec,
      ...(runnerSpecOf(t) ? { runnerSpec: runnerSpecOf(t) } : {}),
    })),
  };
}

/** A sink type may carry runner fields with its own defaults (e.g. Kafka's batch sizes). */
function runnerSpecOf(t: SinkType<never>): FieldSpec | undefined {
  return (t as { runnerSpec?: FieldSpec }).runnerSpec;
}

/** The fields of `obj` the spec declares (a sink's own fields, or the runner's). */
function pick(obj: Record<string, unknown>, spec: FieldSpec): Record<string, unknown> {
  if (spec.kind !== 'object') return {};
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(spec.fields)) if (k in obj) out[k] = obj[k];
  return out;
}

export interface ConfiguredSink {
  readonly name: string;
  readonly type: string;
  /** The sink, when it runs on the main thread (`thread: main`). */
  readonly sink: Sink | undefined;
  readonly runner: SinkRunner;
}

export interface SinkRegistryDeps {
  types: Map<string, SinkType<never>>;
  root: Logger;
  now: () => number;
  publish: MessagePublisher;
  /** Decorate each main-thread sink (the engine's delivery tracking for external sources). */
  wrap?: (sink: Sink, name: string) => Sink;
  /**
   * The same tracking for a sink in a worker thread, which cannot be decorated here: the thread
   * reports the `ackToken`s of the records it wrote (sink-thread.ts).
   */
  settle?: (ackToken: object, name: string) => void;
}

/** Create every configured sink and its runner (validated config: every type exists). */
export function createSinks(
  configs: Readonly<Record<string, SinkConfig>>,
  deps: SinkRegistryDeps,
): Map<string, ConfiguredSink> {
  const out = new Map<string, ConfiguredSink>();
  for (const [name, sc] of Object.entries(configs)) {
    const type = deps.types.get(sc.type) as SinkType<never>;
    const logger = deps.root.child({ component: 'sink', sink: name });
    const runnerConfig = pick(sc, runnerConfigSpec) as unknown as RunnerConfig;
    const fallbacks = runnerConfig.fallback_actions ?? [];
    const onGiveUp =
      fallbacks.length > 0
        ? fallbackHandOff(name, fallbacks, (n) => out.get(n)?.runner, logger)
        : undefined;
    if (runnerConfig.thread === 'worker' && THREADABLE_SINK_TYPES.has(sc.type) && builtin(type)) {
      const runner = createThreadedRunner(
        logger,
        name,
        sc.type,
        pick(sc, type.spec),
        runnerConfig,
        onGiveUp,
        deps.settle ? (token) => deps.settle!(token, name) : undefined,
      );
      out.set(name, { name, type: sc.type, sink: undefined, runner });
      continue;
    }
    if (runnerConfig.thread === 'worker')
      logger.warn(
        { code: 'sink_thread_unsupported', type: sc.type },
        `sink type ${sc.type} cannot run in a worker thread; it runs on the main thread`,
      );
    const created = type.create(
      { logger, now: deps.now, publish: deps.publish },
      pick(sc, type.spec) as never,
      name,
    );
    const sink = deps.wrap ? deps.wrap(created, name) : created;
    const runner = createSinkRunner(
      { logger, now: deps.now, name, ...(onGiveUp ? { onGiveUp } : {}) },
      sink,
      runnerConfig,
    );
    out.set(name, { name, type: sc.type, sink, runner });
  }
  return out;
}

/**
 * Fallback actions (issue #12, EMQX `fallback_actions`): the records sink `from` gives up on are
 * enqueued to each fallback sink with `fallback_from` and `fallback_reason` added to their
 * context (templates see them as `${fallback_from}`, `${fallback_reason}`). A record that is
 * already a fallback record is not handed on again, so give-ups never cascade or loop (the
 * config loader also refuses cycles and unknown names).
 */
export function fallbackHandOff(
  from: string,
  targets: readonly string[],
  runnerOf: (name: string) => SinkRunner | undefined,
  logger: Logger,
): (records: readonly SinkRecord[], reason: string) => void {
  return (records, reason) => {
    let refused = 0;
    let skipped = 0;
    for (const r of records) {
      if (r.context?.['fallback_from'] !== undefined) {
        skipped++;
        continue;
      }
      const fr: SinkRecord = {
        ...r,
        context: { ...r.context, fallback_from: from, fallback_reason: reason },
      };
      for (const t of targets) {
        r.trace?.step('fallback', t, { from, reason });
        if (runnerOf(t)?.enqueue(fr) !== true) refused++;
      }
    }
    if (refused > 0 || skipped > 0)
      logger.debug(
        { reason, refused, skipped, targets },
        'fallback hand-off: some records not taken (counted by the fallback sinks) or not handed on',
      );
  };
}

/**
 * Shutdown order with fallback actions: waves of sink names, each drained after the previous
 * one, so a sink's fallback sinks are still running while it gives up what it cannot deliver
 * (acyclic: the config loader refuses cycles; anything left over goes in a last wave).
 */
export function drainWaves(
  sinks: ReadonlyMap<string, ConfiguredSink>,
  fallbacksOf: (name: string) => readonly string[],
): string[][] {
  const waves: string[][] = [];
  const left = new Set(sinks.keys());
  while (left.size > 0) {
    // A sink may go once no sink still running names it as a fallback.
    const wave = [...left].filter(
      (n) => ![...left].some((o) => o !== n && fallbacksOf(o).includes(n)),
    );
    if (wave.length === 0) {
      waves.push([...left]);
      break;
    }
    for (const n of wave) left.delete(n);
    waves.push(wave);
  }
  return waves;
}
