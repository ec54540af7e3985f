/**
 * The sink contract (CONVENTIONS.md #5). A sink knows how to talk to one external system; the
 * shared runner in `src/sinks/runner` owns batching, retries with backoff, buffering, in-flight
 * limits and metrics. A sink therefore stays small:
 *
 *  - `connect()` is called before the first write and again after the sink raised a
 *    `sink_not_connected` error (or any error with `reconnect: true` in its context).
 *    Rejecting with a retriable SluiceError makes the runner back off and try again.
 *  - `write(batch)` resolves only when the external system acknowledged EVERY record of the
 *    batch (at-least-once: the runner counts success after this resolves). It rejects with a
 *    SluiceError: `retriable: true` → the runner retries the same batch after a backoff;
 *    `retriable: false` → the batch is dropped and counted as `failed` (reason = error code).
 *    A write may also resolve with a `WriteResult` naming records that must be retried or
 *    were rejected individually.
 *    The runner aborts a write that has not settled within `write_timeout` (the `signal`
 *    argument fires) and retries the batch: a write that never settles cannot pin an in-flight
 *    slot.
 *  - `close()` releases connections; called once at shutdown or when the sink is replaced.
 *
 * The runner may call `write` concurrently up to its `max_inflight` setting; sinks that need
 * ordering per key/partition declare `partitionKey` so the runner keeps one in-flight batch per
 * partition.
 */
import type { Value, ValueMap } from './values.js';
import type { FieldSpec } from './spec.js';
import type { Logger } from './logger.js';
import type { MessagePublisher } from './ports.js';
import type { MessageTrace } from './trace.js';

/** One rule output routed to a sink. */
export interface SinkRecord {
  /** The rule output object (what the rule's SELECT produced). */
  readonly data: ValueMap;
  /** The rule that produced it. */
  readonly ruleId: string;
  /** Wall-clock ms when the triggering event entered Sluice (for latency metrics). */
  readonly ingestTs: number;
  /** The triggering event's columns (for templates such as `${clientid}`), if available. */
  readonly context?: Readonly<ValueMap>;
  /** Set only when a running trace follows this record (docs/api.md "Traces"); see core/trace.ts. */
  readonly trace?: MessageTrace;
  /**
   * Identity of the record for delivery tracking (src/engine/delivery.ts), set before enqueue
   * while a message's acknowledgement waits on it. A disk / hybrid buffer reads records back
   * as new objects and carries this over (kept in memory only, never written to disk).
   */
  ackToken?: object;
}

export interface WriteResult {
  /** Indexes (into the batch) of records to retry (retriable per-record failures). */
  retry?: number[];
  /** Indexes of records rejected for good, with the reason code. */
  rejected?: { index: number; code: string; message: string }[];
  /**
   * Indexes of records the sink did not write because their message expired while they waited
   * (MQTT 5 Message-Expiry-Interval, e.g. the republish sink): counted `dropped.expired` and
   * handed to fallback actions like any give-up. An index also named in `rejected` is rejected.
   */
  expired?: number[];
}

export interface Sink {
  connect(signal?: AbortSignal): Promise<void>;
  /**
   * `signal` fires when the runner gives up on this write (`write_timeout`, shutdown): stop
   * waiting, release what the write holds; the runner ignores how the promise settles after.
   */
  write(batch: readonly SinkRecord[], signal?: AbortSignal): Promise<WriteResult | void>;
  close(): Promise<void>;
  /** Optional: records with different keys may be written in parallel, same key in order. */
  partitionKey?(record: SinkRecord): string;
  /** Optional: encoded size of a record in bytes, for byte-based batching. */
  sizeOf?(record: SinkRecord): number;
}

export interface SinkDeps {
  logger: Logger;
  /** Wall clock in ms (injectable). */
  now: () => number;
  /** Publishing into the message stream, for sinks that produce MQTT messages (republish). */
  publish?: MessagePublisher;
}

/** A sink type: its config spec and a factory. Registered once in src/engine/sinks.ts. */
export interface SinkType<Config = Record<string, unknown>> {
  /** Config `type:` value, e.g. `kafka`, `hstreamdb`. */
  readonly type: string;
  /** Declares the sink-specific fields (the runner adds batching/retry/buffer fields). */
  readonly spec: FieldSpec;
  create(deps: SinkDeps, config: Config, name: string): Sink;
  /**
   * Optional: what `sluice check` should know before `run` — problems a valid config still has
   * on this machine (a missing native addon, an unreadable key file). Paths are relative to the
   * sink's config; each problem is reported as an error with its code.
   */
  preflight?(config: Config): readonly { code: string; path: string; reason: string }[];
}

/** Render `${path}` templates against a value map: shared by every sink with templates. */
export type Template = (data: ValueMap, context?: Readonly<ValueMap>) => Value;
