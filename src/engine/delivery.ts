/**
 * Delivery tracking for external sources (src/sources) and for the embedded broker's held
 * acknowledgements (listener `ack_after`, the core `AckGatePort`, decision 0012): tells the
 * source / broker when the rule work of one message is done, so it acknowledges the message
 * (PUBACK / PUBREC, offset commit) only then. A ticket has a mode:
 *
 *   remote    (sources; `ack_after: remote`) done once every record is acknowledged by its sink
 *             as described below;
 *   buffered  (`ack_after: buffered`) done once every record the router accepted is in its
 *             sink's buffer, durable there per the buffer (`SinkRunner.awaitDurable`): a memory
 *             buffer or fsync `always` / `never` at enqueue, fsync `interval` after the next
 *             fsync of the segment. One wait per sink per ticket (an fsync covers everything
 *             appended before it).
 *
 * Everything from `push` to the sink runner's `enqueue` is synchronous (runtime/pipeline.ts),
 * so a ticket is "current" while the source's push runs, and the router counts each record
 * an action accepted against it. A decorator around each main-thread sink settles a record
 * when a write containing it succeeded — or rejected it, or failed for good (non-retriable;
 * the runner drops that batch as failed); a retriable failure or a `retry` index leaves it
 * open (the runner writes it again). A record the runner refused at enqueue never counts.
 *
 * Records the runner drops later without writing (buffer eviction, expiry, shutdown) are never
 * settled: their message stays unacknowledged until the source's `ack_timeout` (or a
 * restart redelivers it). A sink in a worker thread (`thread: worker`) is decorated inside its
 * thread: the thread reports the records it wrote (`settleToken`) and how far its buffer holds
 * them durably (its runner's `awaitDurable`), see sink-thread.ts.
 */
import { isRetriable } from '../core/index.js';
import type { AckAfterMode, AckGatePort, Sink, SinkRecord, WriteResult } from '../core/index.js';
import type { DeliveryTracker } from '../sources/index.js';

interface Ticket {
  open: number;
  done: (() => void) | undefined;
  readonly mode: AckAfterMode;
  /** buffered: the sinks this ticket already waits on for durability. */
  durable?: Set<string>;
}

export interface DeliveryTrackerDeps {
  /** buffered mode: `SinkRunner.awaitDurable` of the named sink (true = `cb` runs later). */
  awaitDurable?: (sink: string, cb: () => void) => boolean;
}

export class EngineDeliveryTracker implements DeliveryTracker, AckGatePort {
  private current: Ticket | undefined;
  /**
   * record (its `ackToken`, which a disk buffer carries across encode / decode) → its ticket
   * and the sinks that still owe an acknowledgement.
   */
  private readonly owed = new WeakMap<object, { ticket: Ticket; sinks: Set<string> }>();

  constructor(private readonly deps: DeliveryTrackerDeps = {}) {}

  track(push: () => void, done: () => void, mode: AckAfterMode = 'remote'): void {
    const t: Ticket = { open: 1, done, mode };
    const prev = this.current;
    this.current = t;
    try {
      push();
    } finally {
      this.current = prev;
      this.close(t);
    }
  }

  /**
   * Call before enqueueing `record` to a decorated sink: while a ticket waits for the remote,
   * give the record its `ackToken`, so a disk buffer's read-back copy still settles it.
   */
  prepare(record: SinkRecord): void {
    if (this.current?.mode === 'remote') record.ackToken ??= {};
  }

  /**
   * The router accepted `record` for sink `sink` (call after a true enqueue).
   */
  routed(record: SinkRecord, sink: string): void {
    const t = this.current;
    if (!t) return;
    if (t.mode === 'buffered') {
      if (t.durable?.has(sink)) return;
      (t.durable ??= new Set()).add(sink);
      t.open++;
      if (!this.deps.awaitDurable?.(sink, () => this.close(t))) t.open--;
      return;
    }
    const key = record.ackToken ?? record;
    let o = this.owed.get(key);
    if (!o) {
      o = { ticket: t, sinks: new Set() };
      this.owed.set(key, o);
    }
    if (o.sinks.has(sink)) return;
    o.sinks.add(sink);
    t.open++;
  }

  private settle(record: SinkRecord, sink: string): void {
    this.settleToken(record.ackToken ?? record, sink);
  }

  /**
   * Sink `sink` wrote (or failed for good) the record whose `ackToken` is `key`: a sink in a
   * worker thread reports it so (sink-thread.ts).
   */
  settleToken(key: object, sink: string): void {
    const o = this.owed.get(key);
    if (!o || !o.sinks.delete(sink)) return;
    if (o.sinks.size === 0) this.owed.delete(key);
    this.close(o.ticket);
  }

  private close(t: Ticket): void {
    if (--t.open > 0) return;
    const d = t.done;
    t.done = undefined;
    d?.();
  }

  /** `sink` with a `write` that settles the records it wrote (other members pass through). */
  decorate(sink: Sink, name: string): Sink {
    const write = async (
      batch: readonly SinkRecord[],
      signal?: AbortSignal,
    ): Promise<WriteResult | void> => {
      let result: WriteResult | void;
      try {
        result = await sink.write(batch, signal);
      } catch (err) {
        if (!isRetriable(err)) for (const r of batch) this.settle(r, name);
        throw err;
      }
      const retry = new Set(result?.retry ?? []);
      batch.forEach((r, i) => {
        if (!retry.has(i)) this.settle(r, name);
      });
      return result;
    };
    return new Proxy(sink, {
      get(target, prop) {
        if (prop === 'write') return write;
        const v = Reflect.get(target, prop) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  }
}
