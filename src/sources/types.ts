/**
 * Contracts of the external event sources (README.md). The engine implements
 * `DeliveryTracker`; each source implements `Source` and is an `EventProducer` on the engine's
 * event bus like the embedded broker.
 */
import type { EventProducer, Logger, MessagePublisher } from '../core/index.js';

/**
 * Tells a source when the rule work caused by one message is finished, so that it can
 * acknowledge the message (PUBACK, Kafka offset commit) only then.
 */
export interface DeliveryTracker {
  /**
   * Call `push()` now (synchronously: the event bus delivers to every rule and the rules hand
   * their outputs to the sink runners before `push` returns), then call `done()` once every
   * record that push routed has been acknowledged by its sink, or has been refused or failed
   * for good (counted as dropped/failed in the sink metrics). `done` may run before `track`
   * returns (nothing routed) and runs at most once.
   */
  track(push: () => void, done: () => void): void;
}

export interface SourceDeps {
  logger: Logger;
  /** Wall clock in ms (the `timestamp` column). */
  now: () => number;
  /** The `node` column. */
  node: string;
  tracker: DeliveryTracker;
}

export interface SourceMetrics {
  /** Messages received from the broker / cluster (redeliveries included). */
  readonly received: number;
  /** Messages acknowledged (PUBACK sent / offset committable). */
  readonly acked: number;
  /** Messages received again after a reconnect or rebalance (MQTT DUP flag; Kafka: offsets at or below one seen before). */
  readonly redelivered: number;
  /** Messages whose rule work is not finished yet (not acknowledged). */
  readonly pending: number;
  /** Acknowledgements forced by `ack_timeout`. */
  readonly forcedAcks: number;
  readonly connected: boolean;
}

export interface Source extends EventProducer {
  readonly type: 'mqtt' | 'kafka';
  /**
   * The MQTT topic filters the running rules' FROM clauses name (event topics `$events/...`
   * excluded). The mqtt source subscribes exactly these (through `$share/<group>/`); the
   * kafka source ignores them (it consumes its configured topics).
   */
  setFilters(filters: readonly string[]): void;
  /** Connect in the background; resolves once connected the first time (or rejects on a fatal error). */
  start(): Promise<void>;
  /**
   * Stop taking messages, wait up to `drainMs` for the pending ones to finish (their acks are
   * sent), then disconnect. What is unfinished stays unacknowledged: the broker redelivers it
   * (persistent session) or the group re-reads it (uncommitted offsets).
   */
  stop(drainMs: number): Promise<void>;
  /** Publishing to the source broker (mqtt only): republish goes back there. */
  readonly publish?: MessagePublisher;
  metrics(): SourceMetrics;
}
