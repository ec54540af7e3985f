/**
 * The shared sink runner (CONVENTIONS.md #5): everything between "a rule produced an output for
 * this sink" and "the external system acknowledged it" that is not specific to one system.
 * This file is the dispatch loop; its parts live next to it, each unit-tested on its own:
 *
 *   connection.ts    connect / reconnect state machine with backoff
 *   buffer.ts        the buffer surface, and the memory buffer: per-partition FIFOs, eviction,
 *                    expiry, take/ack
 *   disk-buffer.ts   the disk and hybrid buffers (segment-store.ts, segment.ts, record-codec.ts)
 *   write-result.ts  splitting a batch by the sink's per-record answer; TTL filtering
 *   accounting.ts    the books (matched, success, failed, dropped, retried, latency)
 *   config.ts        the settings and their defaults
 *
 * Record accounting invariant (tested): every record handed to `enqueue` is, at any moment,
 * exactly one of: queued, in flight, success, failed, dropped. So
 * `matched = queued + inflightRecords + success + failed + dropped`.
 *
 * Back-pressure (overflow `block`): `enqueue` never waits. When the buffer reaches
 * `buffer.max_records` or `buffer.max_bytes` the runner raises *pressure*; producers that can
 * slow down (the engine pauses the MQTT connections feeding this sink) are told through
 * `onPressure`, and told again when the buffer is back under `buffer.low_watermark`. Records
 * that still arrive under pressure (already read from a socket, API publishes) are taken into
 * `buffer.headroom` above the limit; only past that are they dropped, as `queue_full`.
 */
import { asyncScheduler } from 'rxjs';
import type { SchedulerLike } from 'rxjs';
import { backoffDelay, isRetriable, SluiceError } from '../../core/index.js';
import type { Logger, SinkRecord, Sink, WriteResult } from '../../core/index.js';
import { Accounting } from './accounting.js';
import { SINGLE_PARTITION } from './buffer.js';
import type { Partition, Taken } from './buffer.js';
import { createBuffer } from './create-buffer.js';
import type { BufferMode, RunnerConfig } from './config.js';
import { Connection } from './connection.js';
import { describeError } from './describe.js';
import { isNotConnected, RunnerErrors } from './errors.js';
import type { LatencySummary } from './histogram.js';
import { isWholeSuccess, splitWriteResult, unexpired } from './write-result.js';

export interface RunnerDeps {
  logger: Logger;
  /** Wall clock in ms, the clock of `SinkRecord.ingestTs` (TTL and latency). */
  now: () => number;
  /** Timers for linger, backoff, write timeouts and drain deadlines (default: RxJS `asyncScheduler`). */
  scheduler?: SchedulerLike;
  /** Jitter source in [0, 1) (default `Math.random`). */
  random?: () => number;
  /** The sink's name: names its disk buffer directory (`<data_dir>/buffers/<name>`). */
  name?: string;
  /**
   * Fallback actions: called with the records the runner gives up on (failed or dropped, never
   * retried again), synchronously at the moment they are counted, with the reason code they are
   * counted under (`failedBy`/`droppedBy` key: `expired`, `queue_full`, `shutdown`, the sink's
   * error code, …). The callee must not throw (a throw is logged and ignored) and must not call
   * back into this runner. Without it, give-ups are logged at warn, aggregated per reason
   * (`sink_records_given_up`, at most one line per reason every 10 s). Records still on a durable
   * buffer at shutdown are kept for the next start, not given up.
   */
  onGiveUp?: (records: readonly SinkRecord[], reason: string) => void;
  /**
   * Called (before `onGiveUp`) with every record the runner gives up on, whatever the fallback
   * configuration; it changes neither the counting nor the warnings. A sink thread uses it to
   * forget the acknowledgement ids of records that will never be written.
   */
  onForget?: (records: readonly SinkRecord[]) => void;
}

/** `code: message` of a write error, for a traced `send_attempt`. */
function describeWriteError(err: unknown): string {
  if (err instanceof SluiceError) return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

/** At most one `sink_records_given_up` line per reason per this many ms (scheduler time). */
const GIVE_UP_LOG_WINDOW_MS = 10_000;

/**
 * `failed`: `connect()` failed with a non-retriable error (e.g. a missing native addon); the
 * runner does not retry, and every queued and new record fails with that error's code.
 * `stalled`: connected, with batches in flight, and no write acknowledged for
 * `health.stall_after` (the remote accepts the connection but makes no progress); back to
 * `connected` at the next acknowledged write.
 */
export type RunnerStatus =
  'idle' | 'connecting' | 'connected' | 'stalled' | 'failed' | 'draining' | 'stopped';

export interface RunnerMetrics {
  /** Connection state (see RunnerStatus). */
  status: RunnerStatus;
  /** The last connect/write error, if any (code and message). */
  lastError?: { code: string; message: string };
  /** Records handed to `enqueue` (EMQX `matched`). */
  matched: number;
  /** Records waiting in the buffer to be batched (EMQX `queuing`). */
  queued: number;
  queuedBytes: number;
  /** True while the buffer is full and producers are asked to wait (overflow `block`). */
  pressure: boolean;
  /** Times the runner raised pressure. */
  pressureEvents: number;
  /** Batches being written, backing off or waiting for a reconnect. */
  inflight: number;
  inflightRecords: number;
  /** Records the external system acknowledged. */
  success: number;
  /** Records the sink refused for good (non-retriable error, rejected, retries exhausted). */
  failed: number;
  failedBy: Record<string, number>;
  /** Records never written: `queue_full`, `expired`, `shutdown`. */
  dropped: number;
  droppedBy: Record<string, number>;
  /** Record re-sends (after a retriable error, a write timeout or a reconnect). */
  retried: number;
  /** Failed or dropped records handed to the fallback actions (they are in `failed`/`dropped` too). */
  fallback: number;
  /** Times the sink was found stalled (`health.stall_after`). */
  stalls: number;
  /** Ingest → acknowledgement latency of successful records. */
  latency: LatencySummary;
  /** `buffer.mode`. */
  bufferMode: BufferMode;
  /** Records a previous run left in the disk buffer, queued again at startup (part of `matched`). */
  replayed: number;
  /**
   * Damaged disk-buffer data skipped: regions found at startup (a torn tail, a bad checksum; each
   * held one or more records) plus records that failed their checksum when read back.
   */
  corruptRecords: number;
  /** Bytes of the disk buffer's segment files (0 in memory mode). */
  diskBytes: number;
}

export interface DrainResult {
  /** Records still queued or in flight at the deadline, counted as dropped `shutdown`. */
  dropped: number;
}

export interface SinkRunner {
  /** Connect the sink (retrying with backoff); resolves once connected. Called by the first enqueue too. */
  start(): Promise<void>;
  /**
   * Hand one record to the sink: `true` = buffered, `false` = dropped (buffer full with
   * `drop_newest`, or past the headroom with `block`; the runner is draining or stopped; see
   * metrics). Never waits and never throws for a bad record.
   */
  enqueue(record: SinkRecord): boolean;
  /** True while the buffer is full and producers should hold back (overflow `block` only). */
  readonly pressured: boolean;
  /**
   * Listen for pressure changes: `true` when the buffer fills up, `false` once it is below the
   * low watermark again (or the runner stops). Returns an unsubscribe function.
   */
  onPressure(listener: (pressured: boolean) => void): () => void;
  /** Resolves when the runner is not under pressure (at once if it is not). */
  whenWritable(): Promise<void>;
  /** Send partly filled batches now instead of waiting for `linger`. */
  flush(): void;
  /**
   * The records enqueued so far becoming durable in the buffer (RecordBuffer.awaitDurable):
   * true = `cb` runs once they are; false = they already are (cb never runs). Absent = false.
   */
  awaitDurable?(cb: () => void): boolean;
  /**
   * Graceful shutdown: refuse new records, send everything buffered without waiting for linger,
   * wait up to `timeoutMs` for the acks, then count what is left as dropped `shutdown` and
   * close the sink. Idempotent.
   */
  drain(timeoutMs: number): Promise<DrainResult>;
  /** Immediate shutdown: everything not yet acknowledged is dropped `shutdown`; closes the sink. */
  stop(): Promise<void>;
  metrics(): RunnerMetrics;
  status(): RunnerStatus;
  /** The last connect/write error, for status pages. */
  lastError(): unknown;
}

interface Batch {
  readonly part: Partition;
  /** What the buffer handed out (the disk buffer acks its entries with it). */
  readonly taken: Taken;
  records: SinkRecord[];
  /** Failed attempts so far (not counting waits for a reconnect). */
  failures: number;
  /** Incremented per write; a settlement from an older write (timed out) is ignored. */
  attempt: number;
  abandoned: boolean;
  /** The retry back-off timer while the batch waits to be written again. */
  cancelTimer?: () => void;
  /**
   * While a write with a `write_timeout` is unsettled: the scheduler time it times out at, and
   * its abort controller (checked by the one write-deadline timer, `armWriteWatch`).
   */
  deadline: number;
  ctl: AbortController | undefined;
}

/**
 * The batches in flight, in dispatch order: at most `max_inflight` of them, so an array (add =
 * push, delete = a short scan) instead of a Set, whose add and delete per batch showed as
 * 0.2 µs per record with the small batches of a QoS 1 flood.
 */
class InFlight<T> {
  private readonly items: T[] = [];
  get size(): number {
    return this.items.length;
  }
  add(item: T): void {
    this.items.push(item);
  }
  delete(item: T): void {
    const items = this.items;
    const i = items.indexOf(item);
    if (i < 0) return;
    for (let j = i + 1; j < items.length; j++) items[j - 1] = items[j] as T;
    items.pop();
  }
  clear(): void {
    this.items.length = 0;
  }
  [Symbol.iterator](): Iterator<T> {
    return this.items[Symbol.iterator]();
  }
}

export function createSinkRunner(deps: RunnerDeps, sink: Sink, config: RunnerConfig): SinkRunner {
  const log = deps.logger;
  const wallNow = deps.now;
  const scheduler = deps.scheduler ?? asyncScheduler;
  const random = deps.random ?? Math.random;
  const schedule = (fn: () => void, ms: number): (() => void) => {
    const sub = scheduler.schedule(fn, Math.max(0, ms));
    return () => sub.unsubscribe();
  };

  const batchSize = Math.max(1, config.batch_size);
  const batchBytes = config.batch_bytes > 0 ? config.batch_bytes : Infinity;
  const linger = Math.max(0, config.linger);
  const maxInflight = Math.max(1, config.max_inflight);
  const maxRecords = Math.max(1, config.buffer.max_records);
  const maxBytes = config.buffer.max_bytes > 0 ? config.buffer.max_bytes : Infinity;
  const overflow = config.buffer.overflow;
  const lowWatermark = Math.min(1, Math.max(0, config.buffer.low_watermark ?? 0.5));
  const lowRecords = Math.floor(maxRecords * lowWatermark);
  const lowBytes = maxBytes * lowWatermark;
  const ceiling = maxRecords + Math.max(0, config.buffer.headroom ?? 10_000);
  const backoff = { initialMs: config.retry.initial_backoff, maxMs: config.retry.max_backoff };
  const maxAttempts = config.retry.max_attempts;
  const ttl = config.request_ttl;
  const writeTimeout = Math.max(0, config.write_timeout ?? 0);
  const partitioned = typeof sink.partitionKey === 'function';
  const perPartInflight = partitioned ? 1 : maxInflight;
  const sizeOf = sink.sizeOf?.bind(sink);
  const keyOf = sink.partitionKey?.bind(sink);
  const onGiveUp = deps.onGiveUp;
  const onForget = deps.onForget;
  /**
   * Only with fallback actions (or `onForget`), or while traced records are held (`traced` >
   * 0), do the buffers hand out the records they remove for good.
   */
  const collecting = (): boolean => onGiveUp !== undefined || onForget !== undefined || traced > 0;
  /** The sink's name, as traced steps name their action. */
  const actionName = deps.name;
  const stallAfter = Math.max(0, config.health?.stall_after ?? 0);

  // ---- state -------------------------------------------------------------------------------
  const books = new Accounting();
  const bufferMode: BufferMode = config.buffer.mode ?? 'memory';
  const buffer = createBuffer(config, {
    partitioned,
    logger: log,
    schedule,
    time: scheduler.now(),
    ...(deps.name !== undefined ? { name: deps.name } : {}),
  });
  const batches = new InFlight<Batch>();
  let parked: Batch[] = [];
  let draining = false;
  let flushing = false;
  let inflightRecords = 0;
  let cancelLinger: (() => void) | undefined;
  let lingerAt = Infinity;
  let pumpScheduled = false;
  let drainDone: (() => void) | undefined;
  let closing: Promise<void> | undefined;
  let pressured = false;
  let pressureEvents = 0;
  const pressureListeners = new Set<(p: boolean) => void>();
  let writableWaiters: (() => void)[] = [];
  let fallbackCount = 0;
  /**
   * Traced records (`record.trace`, docs/api.md "Traces") held now in the memory buffer or in
   * flight. While it is 0 no step is looked for: the untraced cost is one check per enqueue and
   * one per batch settlement.
   */
  let traced = 0;
  /** Give-ups not logged yet (no fallback actions), by reason; flushed by `cancelGiveUpLog`'s timer. */
  const unlogged = new Map<string, number>();
  let lastGiveUpLog = -Infinity;
  let cancelGiveUpLog: (() => void) | undefined;
  // Stall detection (health.stall_after): scheduler time of the last acknowledged write (or of
  // the moment something went in flight after nothing was).
  let lastProgress = scheduler.now();
  let stalled = false;
  let stalls = 0;
  let cancelStall: (() => void) | undefined;
  // Write deadlines (write_timeout): ONE timer for all in-flight writes instead of one per write
  // (an rxjs action, a setInterval and a clearInterval per batch cost ~1 µs per record with the
  // small batches of a QoS 1 flood). Armed at the earliest unsettled deadline; a write that
  // settles only resets its batch's `deadline`, and the timer, when it fires, times out the
  // writes past their deadline and re-arms for the next one. Every write has the same timeout,
  // so a later write never needs an earlier timer: each times out exactly at its own deadline.
  let cancelWriteWatch: (() => void) | undefined;

  // Records a previous run left in a disk buffer are queued already: count them in, and make sure
  // the linger timer covers them once the sink connects.
  const replayed = buffer.replay();
  books.matched += replayed;

  const connection = new Connection(
    sink,
    { backoff, random, schedule, logger: log },
    {
      connected() {
        stalled = false;
        lastProgress = scheduler.now();
        const resume = parked;
        parked = [];
        for (const b of resume) resend(b);
        pump();
        armStall(); // resumed batches count from the reconnect
      },
      attemptFailed: expireWhileDisconnected,
      gaveUp(err) {
        // Nothing queued can be written: fail it with the reason, and lift any pressure.
        cancelLinger?.();
        cancelLinger = undefined;
        const lost: SinkRecord[] = [];
        let n = buffer.clear(collecting() ? lost : undefined);
        for (const b of parked) {
          batches.delete(b);
          buffer.ack(b.part, b.taken);
          for (const r of b.records) lost.push(r);
          n += b.records.length;
          inflightRecords -= b.records.length;
        }
        parked = [];
        fail(err.code, lost, n);
        setPressure(false);
        checkDrained();
      },
    },
  );

  // ---- giving up -------------------------------------------------------------------------
  /**
   * Records leave for good (already counted failed/dropped under `reason`): hand them to the
   * fallback actions, or note them for the aggregated warning.
   */
  function giveUp(records: readonly SinkRecord[], reason: string, n: number): void {
    if (onForget && records.length > 0) onForget(records);
    if (onGiveUp) {
      if (records.length === 0) return;
      fallbackCount += records.length;
      try {
        onGiveUp(records, reason);
      } catch (err) {
        log.error(
          { code: 'sink_internal_error', err: describeError(err) },
          'fallback hand-off threw; records lost',
        );
      }
      return;
    }
    noteGiveUp(reason, n);
  }

  /** Count `n` records given up without fallback for the rate-limited `sink_records_given_up` line. */
  function noteGiveUp(reason: string, n: number): void {
    if (n <= 0 || onGiveUp) return;
    unlogged.set(reason, (unlogged.get(reason) ?? 0) + n);
    if (cancelGiveUpLog) return;
    const wait = lastGiveUpLog + GIVE_UP_LOG_WINDOW_MS - scheduler.now();
    if (wait <= 0) logGiveUps();
    else
      cancelGiveUpLog = schedule(() => {
        cancelGiveUpLog = undefined;
        logGiveUps();
      }, wait);
  }

  function logGiveUps(): void {
    if (unlogged.size === 0) return;
    lastGiveUpLog = scheduler.now();
    for (const [reason, records] of unlogged)
      log.warn(
        { code: 'sink_records_given_up', reason, records },
        'sink_records_given_up: records failed or dropped, no fallback_actions configured',
      );
    unlogged.clear();
  }

  /**
   * Count `n` records failed (or dropped) under `reason` and give them up. `records` are those
   * records when the runner collects them (fallback actions configured), else possibly empty.
   */
  function fail(reason: string, records: readonly SinkRecord[], n = records.length): void {
    books.fail(reason, n);
    if (traced > 0) traceGone(records, 'drop', { reason, counted: 'failed' });
    giveUp(records, reason, n);
  }

  function drop(reason: string, records: readonly SinkRecord[], n = records.length): void {
    books.drop(reason, n);
    if (traced > 0) traceGone(records, 'drop', { reason, counted: 'dropped' });
    giveUp(records, reason, n);
  }

  // ---- tracing -------------------------------------------------------------------------------
  /** Record `step` for the traced records among `records` (call only while `traced` > 0). */
  function traceStep(
    records: readonly SinkRecord[],
    step: 'send_attempt',
    detail: Record<string, unknown>,
  ): void {
    for (const r of records) if (r.trace !== undefined) r.trace.step(step, actionName, detail);
  }

  /** The traced records among `records` leave the runner (ack or drop). */
  function traceGone(
    records: readonly SinkRecord[],
    step: 'ack' | 'drop',
    detail: Record<string, unknown> | undefined,
  ): void {
    const t = wallNow();
    for (const r of records) {
      if (r.trace === undefined) continue;
      traced--;
      r.trace.step(step, actionName, detail ?? { latency_ms: Math.max(0, t - r.ingestTs) });
    }
    if (traced < 0) traced = 0;
  }

  /** The records of `records` past the TTL, when collecting them (else none: only counted). */
  function expiredOf(records: readonly SinkRecord[], now: number, ttl: number): SinkRecord[] {
    return collecting() ? records.filter((r) => now - r.ingestTs > ttl) : [];
  }

  // ---- stall detection ---------------------------------------------------------------------
  /** Something went in flight: make sure the stall check is armed (from `lastProgress`). */
  function armStall(): void {
    if (stallAfter === 0 || cancelStall || batches.size === 0) return;
    cancelStall = schedule(checkStall, lastProgress + stallAfter - scheduler.now());
  }

  function checkStall(): void {
    cancelStall = undefined;
    if (batches.size === 0 || connection.state !== 'connected' || draining) return;
    const since = scheduler.now() - lastProgress;
    if (since < stallAfter) {
      armStall();
      return;
    }
    if (stalled) return;
    stalled = true;
    stalls++;
    log.warn(
      { code: 'sink_stalled', inflight: batches.size, records: inflightRecords, since_ms: since },
      'sink_stalled: connected, but no write acknowledged',
    );
  }

  /** A write was acknowledged (wholly or partly answered by the sink). */
  function progress(): void {
    lastProgress = scheduler.now();
    if (stalled) {
      stalled = false;
      log.info({ stalls }, 'sink makes progress again');
    }
    armStall();
  }

  // ---- pressure ----------------------------------------------------------------------------
  function setPressure(p: boolean): void {
    if (p === pressured) return;
    pressured = p;
    if (p) pressureEvents++;
    else {
      const w = writableWaiters;
      writableWaiters = [];
      for (const f of w) f();
    }
    for (const l of pressureListeners) {
      try {
        l(p);
      } catch (err) {
        log.error(
          { code: 'sink_internal_error', err: describeError(err) },
          'pressure listener threw',
        );
      }
    }
  }

  /** Lower the pressure once the buffer is under the low watermark (called whenever it shrinks). */
  function relieve(): void {
    if (pressured && buffer.records <= lowRecords && buffer.bytes <= lowBytes) setPressure(false);
  }

  // ---- buffering ---------------------------------------------------------------------------
  const isFull = (size: number): boolean =>
    buffer.records >= maxRecords || (buffer.records > 0 && buffer.bytes + size > maxBytes);

  function enqueue(record: SinkRecord): boolean {
    books.matched++;
    // A disk buffer stores records encoded: the trace does not survive it (docs/api.md).
    if (record.trace !== undefined && bufferMode === 'memory') traced++;
    if (draining || connection.state === 'stopped') {
      drop('shutdown', [record]);
      return false;
    }
    if (connection.state === 'failed') {
      fail((connection.lastError as SluiceError).code, [record]);
      return false;
    }
    if (connection.state === 'idle') connection.start().catch(() => {});
    let key = SINGLE_PARTITION;
    if (keyOf) {
      try {
        key = keyOf(record);
      } catch (err) {
        log.error(
          { code: 'sink_internal_error', err: describeError(err) },
          'sink partitionKey threw; record failed',
        );
        fail('sink_internal_error', [record]);
        return false;
      }
    }
    let size = 0;
    if (sizeOf) {
      try {
        size = sizeOf(record);
      } catch (err) {
        log.error(
          { code: 'sink_internal_error', err: describeError(err) },
          'sink sizeOf threw; record failed',
        );
        fail('sink_internal_error', [record]);
        return false;
      }
    }
    const grows = buffer.measure(key, record, size);
    if (isFull(grows)) {
      schedulePump(); // buffer pressure: partial batches go out now instead of after linger
      switch (overflow) {
        case 'drop_newest':
          drop('queue_full', [record]);
          return false;
        case 'drop_oldest': {
          const evicted: SinkRecord[] = [];
          let n = 0;
          while (buffer.records > 0 && isFull(grows)) {
            buffer.evictOldest(collecting() ? evicted : undefined);
            n++;
          }
          drop('queue_full', evicted, n);
          break;
        }
        case 'block':
          setPressure(true);
          if (buffer.records >= ceiling) {
            drop('queue_full', [record]);
            return false;
          }
          break;
      }
    }
    return admit(key, record, size);
  }

  let bufferFailing = false;

  /** Put a record into its partition queue; dispatch at once if that completes a batch. */
  function admit(key: string, record: SinkRecord, size: number): boolean {
    const t = scheduler.now();
    let part: Partition;
    try {
      part = buffer.push(key, record, size, t);
    } catch (err) {
      // The disk buffer could not store it (disk full, I/O error): the record is not accepted.
      const code = err instanceof SluiceError ? err.code : 'sink_internal_error';
      if (!bufferFailing)
        log.error(
          { code: 'sink_buffer_io', err: describeError(err) },
          'buffer write failed; records fail until it works again',
        );
      bufferFailing = true;
      fail(code, [record]);
      return false;
    }
    if (bufferFailing) {
      bufferFailing = false;
      log.info({}, 'buffer writes work again');
    }
    if (record.trace !== undefined)
      record.trace.step('buffered', actionName, { queued: buffer.records, mode: bufferMode });
    const q = part.queue;
    if (overflow === 'block' && isFull(0)) setPressure(true);
    if (q.length >= batchSize || q.bytes >= batchBytes) {
      if (canDispatch(part)) dispatch(part);
    } else if (q.length === 1) {
      armLinger(t + linger);
    }
    return true;
  }

  /**
   * While the sink cannot connect nothing is dispatched, so `request_ttl` would never be checked:
   * on every failed connect attempt, queued and parked records older than the ttl leave as
   * `expired` (freeing buffer space, which may lift the pressure).
   */
  function expireWhileDisconnected(): void {
    if (ttl <= 0) return;
    const now = wallNow();
    const expired: SinkRecord[] = [];
    const n = buffer.expire(now, ttl, collecting() ? expired : undefined);
    drop('expired', expired, n);
    const stillParked: Batch[] = [];
    for (const batch of parked) {
      const keep = unexpired(batch.records, now, ttl);
      const gone = batch.records.length - keep.length;
      if (gone > 0) {
        drop('expired', expiredOf(batch.records, now, ttl), gone);
        inflightRecords -= gone;
        batch.records = keep;
      }
      if (keep.length === 0) finish(batch);
      else stillParked.push(batch);
    }
    parked = stillParked;
    relieve();
    checkDrained();
  }

  // ---- batching ----------------------------------------------------------------------------
  /** Pump at the next microtask (coalesced). */
  function schedulePump(): void {
    if (pumpScheduled) return;
    pumpScheduled = true;
    queueMicrotask(() => {
      pumpScheduled = false;
      pump();
    });
  }

  function armLinger(deadline: number): void {
    if (linger === 0) {
      schedulePump();
      return;
    }
    if (cancelLinger && lingerAt <= deadline) return;
    cancelLinger?.();
    lingerAt = deadline;
    cancelLinger = schedule(onLinger, deadline - scheduler.now());
  }

  function onLinger(): void {
    cancelLinger = undefined;
    lingerAt = Infinity;
    // One clock reading for both steps: a partition not ready at `now` (timers may fire a
    // little early) must be covered by the next timer; one that was ready but not dispatched is
    // held by an in-flight limit and is pumped again when a batch finishes.
    const now = scheduler.now();
    pump(now);
    const next = buffer.nextHeadTimeAfter(now - linger);
    if (next !== Infinity && connection.state !== 'stopped') armLinger(next + linger);
  }

  const canDispatch = (part: Partition): boolean =>
    connection.state === 'connected' && batches.size < maxInflight && part.busy < perPartInflight;

  function isReady(part: Partition, now: number): boolean {
    const q = part.queue;
    if (q.length === 0) return false;
    if (flushing || q.length >= batchSize || q.bytes >= batchBytes) return true;
    // A full buffer cannot take more records, so waiting for the batch to fill is pointless.
    if (pressured || isFull(0)) return true;
    return now - (q.firstTime() as number) >= linger;
  }

  /** Start every batch that is ready and allowed by the in-flight limits. */
  function pump(now = scheduler.now()): void {
    if (connection.state !== 'connected') return;
    // Iterate over a snapshot: dispatching moves a partition to the back (round-robin).
    for (const part of [...buffer.parts.values()]) {
      if (batches.size >= maxInflight) break;
      while (canDispatch(part) && isReady(part, now)) dispatch(part);
    }
    checkDrained();
  }

  /** Take one batch from the partition's queue and write it. */
  function dispatch(part: Partition): void {
    const expired: SinkRecord[] = [];
    const taken = buffer.take(
      part,
      batchSize,
      batchBytes,
      ttl > 0 ? wallNow() : 0,
      ttl,
      collecting() ? expired : undefined,
    );
    drop('expired', expired, taken.expired);
    books.drop('sink_buffer_corrupt', taken.corrupt ?? 0);
    // The rest of the queue may be younger than the linger timer's current deadline (or no timer
    // may be armed any more): make sure its own deadline is covered, or it could wait forever.
    const rest = part.queue.firstTime();
    if (rest !== undefined) armLinger(rest + linger);
    relieve();
    if (taken.records.length === 0) return;
    const batch: Batch = {
      part,
      taken,
      records: taken.records,
      failures: 0,
      attempt: 0,
      abandoned: false,
      deadline: Infinity,
      ctl: undefined,
    };
    if (batches.size === 0) lastProgress = scheduler.now(); // idle time is not a stall
    batches.add(batch);
    inflightRecords += batch.records.length;
    armStall();
    write(batch);
  }

  function write(batch: Batch): void {
    if (connection.state !== 'connected') {
      parked.push(batch);
      return;
    }
    const attempt = ++batch.attempt;
    /** The attempt's number as traced steps show it (reconnect waits do not count). */
    const nth = batch.failures + 1;
    const ctl = writeTimeout > 0 ? new AbortController() : undefined;
    let p: Promise<WriteResult | void>;
    try {
      p = sink.write(batch.records, ctl?.signal);
    } catch (err) {
      p = Promise.reject(err);
    }
    if (ctl) {
      batch.ctl = ctl;
      batch.deadline = scheduler.now() + writeTimeout;
      cancelWriteWatch ??= schedule(checkWrites, writeTimeout);
    }
    p.then(
      (res) => {
        if (batch.attempt !== attempt) return;
        batch.deadline = Infinity;
        batch.ctl = undefined;
        if (traced > 0 && !batch.abandoned)
          traceStep(batch.records, 'send_attempt', { attempt: nth });
        onWritten(batch, res);
      },
      (err: unknown) => {
        if (batch.attempt !== attempt) return;
        batch.deadline = Infinity;
        batch.ctl = undefined;
        if (traced > 0 && !batch.abandoned)
          traceStep(batch.records, 'send_attempt', {
            attempt: nth,
            error: describeWriteError(err),
          });
        onWriteError(batch, err);
      },
    );
  }

  /** The write-deadline timer (see `cancelWriteWatch`): time out the writes past their deadline. */
  function checkWrites(): void {
    cancelWriteWatch = undefined;
    const now = scheduler.now();
    for (const batch of [...batches]) {
      if (batch.deadline > now || batch.abandoned) continue;
      const ctl = batch.ctl as AbortController;
      batch.deadline = Infinity;
      batch.ctl = undefined;
      batch.attempt++; // the write's own settlement is ignored from now on
      ctl.abort();
      if (traced > 0)
        traceStep(batch.records, 'send_attempt', {
          attempt: batch.failures + 1,
          error: `sink_write_timeout: no answer within ${writeTimeout} ms`,
        });
      onWriteError(
        batch,
        RunnerErrors.sink_write_timeout(
          `sink write of ${batch.records.length} records did not settle within ${writeTimeout} ms`,
        ),
      );
    }
    // Re-arm for the earliest write still unsettled (one a timeout's handling started included).
    // (`onWriteError` may have armed it again: the cast undoes TypeScript's narrowing.)
    (cancelWriteWatch as (() => void) | undefined)?.();
    cancelWriteWatch = undefined;
    let next = Infinity;
    for (const batch of batches) if (batch.deadline < next) next = batch.deadline;
    if (next !== Infinity) cancelWriteWatch = schedule(checkWrites, next - now);
  }

  function onWritten(batch: Batch, res: WriteResult | void): void {
    if (batch.abandoned) return;
    progress();
    if (isWholeSuccess(res)) {
      succeed(batch.records);
      finish(batch);
      return;
    }
    const split = splitWriteResult(batch.records, res as WriteResult);
    for (let i = 0; i < split.rejected.length; i++)
      fail(split.rejected[i] as string, [split.rejectedRecords[i] as SinkRecord]);
    inflightRecords -= split.rejected.length;
    if (split.expired.length > 0) {
      drop('expired', split.expired);
      inflightRecords -= split.expired.length;
    }
    succeed(split.ok);
    if (split.again.length === 0) {
      finish(batch);
      return;
    }
    batch.records = split.again;
    // No error code to report: if these records run out of attempts they fail as retries exhausted.
    retryLater(batch, 'sink_retries_exhausted');
  }

  function succeed(records: SinkRecord[]): void {
    if (records.length === 0) return;
    books.succeed(records, wallNow());
    inflightRecords -= records.length;
    if (traced > 0) traceGone(records, 'ack', undefined);
  }

  function onWriteError(batch: Batch, err: unknown): void {
    if (batch.abandoned) return;
    connection.lastError = err;
    if (isNotConnected(err)) {
      books.retried += batch.records.length;
      // Waiting for the reconnect does not use up an attempt: only request_ttl bounds it.
      connection.lost(err);
      parked.push(batch);
      return;
    }
    const code = err instanceof SluiceError ? err.code : 'sink_internal_error';
    if (!(err instanceof SluiceError))
      log.error(
        { code: 'sink_internal_error', err: describeError(err) },
        'sink write threw a non-SluiceError; batch failed',
      );
    if (isRetriable(err)) {
      retryLater(batch, code);
      return;
    }
    log.warn(
      { code: 'sink_write_failed', err: describeError(err), records: batch.records.length },
      'sink write failed; batch dropped',
    );
    failBatch(batch, code);
  }

  function failBatch(batch: Batch, code: string): void {
    fail(code, batch.records);
    inflightRecords -= batch.records.length;
    finish(batch);
  }

  function retryLater(batch: Batch, code: string): void {
    batch.failures++;
    if (maxAttempts > 0 && batch.failures >= maxAttempts) {
      log.warn(
        {
          code: 'sink_retries_exhausted',
          last_code: code,
          attempts: batch.failures,
          records: batch.records.length,
        },
        'sink_retries_exhausted: batch failed',
      );
      failBatch(batch, code);
      return;
    }
    books.retried += batch.records.length;
    const delay = backoffDelay(batch.failures - 1, backoff, random);
    log.debug({ code, attempt: batch.failures, retryInMs: delay }, 'sink write will be retried');
    batch.cancelTimer = schedule(() => {
      batch.cancelTimer = undefined;
      resend(batch);
    }, delay);
  }

  /** Write a batch again, without the records that expired meanwhile. */
  function resend(batch: Batch): void {
    if (batch.abandoned) return;
    if (ttl > 0) {
      const now = wallNow();
      const keep = unexpired(batch.records, now, ttl);
      const expired = batch.records.length - keep.length;
      if (expired > 0) {
        drop('expired', expiredOf(batch.records, now, ttl), expired);
        inflightRecords -= expired;
        batch.records = keep;
      }
      if (keep.length === 0) {
        finish(batch);
        return;
      }
    }
    write(batch);
  }

  function finish(batch: Batch): void {
    batches.delete(batch);
    buffer.ack(batch.part, batch.taken);
    pump();
  }

  // ---- shutdown ----------------------------------------------------------------------------
  function checkDrained(): void {
    if (drainDone && buffer.records === 0 && batches.size === 0) {
      const done = drainDone;
      drainDone = undefined;
      done();
    }
  }

  /**
   * Give up everything not yet acknowledged: lost records are dropped as `shutdown` (returns how
   * many); a durable buffer keeps the rest for the next start (they stay `queued`).
   */
  function abandonAll(): number {
    cancelLinger?.();
    cancelLinger = undefined;
    connection.cancel();
    cancelStall?.();
    cancelStall = undefined;
    cancelWriteWatch?.();
    cancelWriteWatch = undefined;
    const inflight = [];
    // A memory buffer loses everything: hand it all to the fallback actions. A durable one keeps
    // what is on disk for the next start; what it loses (a hybrid's memory tier) is only counted.
    const lost: SinkRecord[] = [];
    const handOver = collecting() && !buffer.durable;
    const cleared = handOver ? buffer.clear(lost) : 0;
    for (const b of batches) {
      b.abandoned = true;
      b.cancelTimer?.();
      inflight.push({ taken: b.taken, records: b.records.length });
      if (handOver) for (const r of b.records) lost.push(r);
    }
    const n = cleared + buffer.close(inflight);
    batches.clear();
    parked = [];
    inflightRecords = 0;
    drop('shutdown', lost, n);
    cancelGiveUpLog?.();
    cancelGiveUpLog = undefined;
    logGiveUps();
    setPressure(false);
    return n;
  }

  function closeSink(): Promise<void> {
    if (!closing) {
      closing = (async () => {
        try {
          await sink.close();
        } catch (err) {
          log.warn({ code: 'sink_close_failed', err: describeError(err) }, 'sink close failed');
        }
      })();
    }
    return closing;
  }

  async function drain(timeoutMs: number): Promise<DrainResult> {
    if (connection.state === 'stopped' || draining) {
      if (closing) await closing;
      return { dropped: 0 };
    }
    draining = true;
    flushing = true;
    pump();
    let left = 0;
    await new Promise<void>((resolve) => {
      let cancelDeadline: (() => void) | undefined;
      drainDone = () => {
        cancelDeadline?.();
        resolve();
      };
      checkDrained();
      if (drainDone) {
        cancelDeadline = schedule(() => {
          drainDone = undefined;
          left = abandonAll();
          resolve();
        }, timeoutMs);
      }
    });
    left += abandonAll(); // nothing normally; covers records that raced in
    connection.stop();
    await closeSink();
    log.info({ dropped: left }, 'sink runner drained');
    return { dropped: left };
  }

  async function stop(): Promise<void> {
    if (connection.state !== 'stopped') {
      draining = true;
      const d = drainDone;
      drainDone = undefined;
      abandonAll();
      connection.stop();
      d?.();
    }
    await closeSink();
  }

  if (replayed > 0) armLinger(scheduler.now() + linger);

  function status(): RunnerStatus {
    if (connection.state === 'stopped') return 'stopped';
    if (draining) return 'draining';
    if (connection.state === 'connected' && stalled) return 'stalled';
    return connection.state;
  }

  return {
    start: () => connection.start(),
    enqueue,
    get pressured() {
      return pressured;
    },
    onPressure(listener) {
      pressureListeners.add(listener);
      return () => pressureListeners.delete(listener);
    },
    whenWritable() {
      if (!pressured) return Promise.resolve();
      return new Promise<void>((resolve) => writableWaiters.push(resolve));
    },
    flush() {
      flushing = true;
      pump();
      flushing = draining;
    },
    drain,
    stop,
    metrics: () => ({
      status: status(),
      lastError: errorSummary(connection.lastError),
      matched: books.matched,
      queued: buffer.records,
      queuedBytes: buffer.bytes,
      pressure: pressured,
      pressureEvents,
      inflight: batches.size,
      inflightRecords,
      success: books.success,
      failed: books.failed,
      failedBy: { ...books.failedBy },
      dropped: books.dropped,
      droppedBy: { ...books.droppedBy },
      retried: books.retried,
      fallback: fallbackCount,
      stalls,
      latency: books.latency.summary(),
      bufferMode,
      replayed,
      corruptRecords: buffer.corrupt,
      diskBytes: buffer.diskBytes,
    }),
    status,
    lastError: () => connection.lastError,
    awaitDurable: (cb) => buffer.awaitDurable?.(cb) ?? false,
  };
}

function errorSummary(err: unknown): { code: string; message: string } | undefined {
  if (err === undefined) return undefined;
  if (err instanceof SluiceError) return { code: err.code, message: err.message };
  return { code: 'sink_internal_error', message: err instanceof Error ? err.message : String(err) };
}
