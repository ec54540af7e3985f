/**
 * Break mqemitter's synchronous drain (the QoS 0 flood stack overflow; README invariant 8).
 *
 * When routing backs up (messages queued behind the `concurrency` limit, e.g. while a stalled
 * subscriber holds delivery slots), a message whose subscribers all answer synchronously — or
 * that has none left, because the last subscriber just disconnected — completes inside the call
 * that released it and releases the next queued message from there: one recursion level per
 * queued message, "Maximum call stack size exceeded" after a few thousand. This listener
 * matches every topic and, only while messages are queued, completes on the next turn of the
 * event loop, so each queued message starts from a fresh stack. With an empty queue it answers
 * synchronously (no cost on the normal path). Reproduced by test/integration/broker-soak.test.ts.
 */
import type { Aedes } from 'aedes';

/** The part of Aedes' mqemitter the drain guard uses. */
interface MqEmitterLike {
  on(topic: string, listener: (packet: unknown, cb: () => void) => void, done?: () => void): void;
  /** Messages waiting behind the concurrency limit. */
  readonly length: number;
}

export function guardSynchronousDrain(a: Aedes): void {
  const mq = (a as unknown as { mq: MqEmitterLike }).mq;
  mq.on('#', (_packet, cb) => (mq.length > 0 ? setImmediate(cb) : cb()));
}
