/**
 * The shared sink runner (CONVENTIONS.md #5): everything between "a rule produced an output for
 * this sink" and "the external system acknowledged it" that is not specific to one system —
 * buffering with an overflow policy, batching by count/bytes/time, max in-flight batches
 * (global, and one per partition for sinks that declare `partitionKey`), retry of retriable
 * failures with jittered exponential backoff, reconnect after `sink_not_connected`, per-record
 * TTL, graceful drain, and the metrics EMQX users read per action.
 *
 * Record accounting invariant (tested): every record handed to `enqueue` is, at any moment,
 * exactly one of: queued, waiting to be admitted (overflow `block`), in flight, success,
 * failed, dropped. So `matched = queued + blocked + inflightRecords + success + failed + dropped`.
 *
 * This file is longer than most because the pieces share one small state machine; splitting
 * it would spread the invariant over several files.
 */
import { asyncScheduler } from 'rxjs';
import type { SchedulerLike } from 'rxjs';
import { backoffDelay, isRetriable, SluiceError } from '../../core/index.js';
import type { Logger, SinkRecord, Sink, WriteResult } from '../../core/index.js';
import type { RunnerConfig } from './config.js';
import { createLatencyHistogram } from './histogram.js';
import type { LatencySummary } from './histogram.js';
import { isNotConnected } from './errors.js';
import { RecordQueue } from './record-queue.js';

export interface RunnerDeps {
  logger: Logger;
  /** Wall clock in ms, the clock of `SinkRecord.ingestTs` (TTL and latency). */
  now: () => number;
  /** Timers for linger, backoff and drain deadlines (default: RxJS `asyncScheduler`). */
  scheduler?: SchedulerLike;
  /** Jitter source in [0, 1) (default `Math.random`). */
  random?: () => number;
}

export type RunnerStatus = 'idle' | 'connecting' | 'connected' | 'draining' | 'stopped';

export interface RunnerMetrics {
  /** Records handed to `enqueue` (EMQX `matched`). */
  matched: number;
  /** Records waiting in the buffer to be batched (EMQX `queuing`). */
  queued: number;
  queuedBytes: number;
  /** Producers waiting for room (overflow `block`). */
  blocked: number;
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
  /** Record re-sends (after a retriable error or a reconnect). */
  retried: number;
  /** Ingest → acknowledgement latency of successful records. */
  latency: LatencySummary;
}

export interface DrainResult {
  /** Records still queued or in flight at the deadline, counted as dropped `shutdown`. */
  dropped: number;
}

export interface SinkRunner {
  /** Connect the sink (retrying with backoff); resolves once connected. Called by the first enqueue too. */
  start(): Promise<void>;
  /**
   * Hand one record to the sink. Synchronous fast path: `true` = buffered, `false` = dropped
   * (buffer full with `drop_newest`, or the runner is draining/stopped; see metrics). With
   * overflow `block` and a full buffer it returns a promise that resolves `true` once the record
   * is admitted, or `false` if the runner stops first. Never throws for a bad record.
   */
  enqueue(record: SinkRecord): boolean | Promise<boolean>;
  /** Send partly filled batches now instead of waiting for `linger`. */
  flush(): void;
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

interface Part {
  readonly key: string;
  readonly queue: RecordQueue;
  /** In-flight batches of this partition. */
  busy: number;
}

interface Batch {
  readonly part: Part;
  records: SinkRecord[];
  /** Failed attempts so far (not counting waits for a reconnect). */
  failures: number;
  abandoned: boolean;
  cancelTimer?: () => void;
}

interface Waiter {
  record: SinkRecord;
  size: number;
  resolve: (admitted: boolean) => void;
}

const SINGLE = '';

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
  const backoff = { initialMs: config.retry.initial_backoff, maxMs: config.retry.max_backoff };
  const maxAttempts = config.retry.max_attempts;
  const ttl = config.request_ttl;
  const partitioned = typeof sink.partitionKey === 'function';
  const perPartInflight = partitioned ? 1 : maxInflight;
  const sizeOf = sink.sizeOf?.bind(sink);
  const keyOf = sink.partitionKey?.bind(sink);

  // ---- state -------------------------------------------------------------------------------
  let state: 'idle' | 'connecting' | 'connected' | 'stopped' = 'idle';
  let draining = false;
  let flushing = false;
  let lastErr: unknown;
  const parts = new Map<string, Part>();
  const batches = new Set<Batch>();
  let parked: Batch[] = [];
  const waiters: Waiter[] = [];
  let queued = 0;
  let queuedBytes = 0;
  let inflightRecords = 0;
  let cancelLinger: (() => void) | undefined;
  let lingerAt = Infinity;
  let pumpScheduled = false;
  let cancelConnectTimer: (() => void) | undefined;
  let connectAttempt = 0;
  let abort = new AbortController();
  let startWaiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  let drainDone: (() => void) | undefined;
  let closing: Promise<void> | undefined;

  const m = {
    matched: 0,
    success: 0,
    failed: 0,
    dropped: 0,
    retried: 0,
    failedBy: {} as Record<string, number>,
    droppedBy: {} as Record<string, number>,
  };
  const latency = createLatencyHistogram();

  const drop = (reason: string, n: number): void => {
    if (n <= 0) return;
    m.dropped += n;
    m.droppedBy[reason] = (m.droppedBy[reason] ?? 0) + n;
  };
  const fail = (reason: string, n: number): void => {
    if (n <= 0) return;
    m.failed += n;
    m.failedBy[reason] = (m.failedBy[reason] ?? 0) + n;
  };

  // ---- connection --------------------------------------------------------------------------
  function start(): Promise<void> {
    if (state === 'connected') return Promise.resolve();
    if (state === 'stopped') return Promise.reject(stoppedError());
    const p = new Promise<void>((resolve, reject) => startWaiters.push({ resolve, reject }));
    if (state === 'idle') {
      state = 'connecting';
      void tryConnect();
    }
    return p;
  }

  function stoppedError(): SluiceError {
    return new SluiceError('shutdown', 'sink runner stopped before the sink connected');
  }

  async function tryConnect(): Promise<void> {
    cancelConnectTimer = undefined;
    if (state !== 'connecting') return;
    const signal = abort.signal;
    try {
      await sink.connect(signal);
    } catch (err) {
      if (state !== 'connecting' || signal.aborted) return;
      lastErr = err;
      expireWhileDisconnected();
      const delay = backoffDelay(connectAttempt++, backoff, random);
      log.warn(
        { err: describe(err), attempt: connectAttempt, retryInMs: delay },
        'sink connect failed',
      );
      cancelConnectTimer = schedule(() => void tryConnect(), delay);
      return;
    }
    if (state !== 'connecting' || signal.aborted) return;
    state = 'connected';
    if (connectAttempt > 0) log.info({ attempts: connectAttempt }, 'sink connected');
    connectAttempt = 0;
    const w = startWaiters;
    startWaiters = [];
    for (const s of w) s.resolve();
    const resume = parked;
    parked = [];
    for (const b of resume) resend(b);
    pump();
  }

  /**
   * While the sink cannot connect nothing is dispatched, so `request_ttl` would never be checked:
   * on every failed connect attempt, queued and parked records older than the ttl leave as
   * `expired` (freeing buffer space for blocked producers).
   */
  function expireWhileDisconnected(): void {
    if (ttl <= 0) return;
    const now = wallNow();
    let expired = 0;
    for (const part of [...parts.values()]) {
      const q = part.queue;
      // Queues are FIFO by arrival, so expired records sit at the head.
      while (q.length > 0 && now - (q.peek() as SinkRecord).ingestTs > ttl) {
        const size = q.peekSize();
        q.shift();
        queued--;
        queuedBytes -= size;
        expired++;
      }
      if (partitioned && part.busy === 0 && q.length === 0) parts.delete(part.key);
    }
    drop('expired', expired);
    const stillParked: Batch[] = [];
    for (const batch of parked) {
      const keep = batch.records.filter((r) => now - r.ingestTs <= ttl);
      const gone = batch.records.length - keep.length;
      if (gone > 0) {
        drop('expired', gone);
        inflightRecords -= gone;
        batch.records = keep;
      }
      if (keep.length === 0) finish(batch);
      else stillParked.push(batch);
    }
    parked = stillParked;
    if (waiters.length > 0) admitWaiters();
    checkDrained();
  }

  function lostConnection(err: unknown): void {
    lastErr = err;
    if (state !== 'connected') return;
    log.warn({ err: describe(err) }, 'sink reported not connected; reconnecting');
    state = 'connecting';
    connectAttempt = 0;
    // First reconnect after a backoff step, so a flapping peer is not hammered.
    const delay = backoffDelay(connectAttempt++, backoff, random);
    cancelConnectTimer = schedule(() => void tryConnect(), delay);
  }

  // ---- buffering ---------------------------------------------------------------------------
  const isFull = (size: number): boolean =>
    queued >= maxRecords || (queued > 0 && queuedBytes + size > maxBytes);

  function enqueue(record: SinkRecord): boolean | Promise<boolean> {
    m.matched++;
    if (draining || state === 'stopped') {
      drop('shutdown', 1);
      return false;
    }
    if (state === 'idle') start().catch(() => {});
    let size = 0;
    if (sizeOf) {
      try {
        size = sizeOf(record);
      } catch (err) {
        log.error({ err: describe(err) }, 'sink sizeOf threw; record failed');
        fail('sink_internal_error', 1);
        return false;
      }
    }
    if (waiters.length > 0 || isFull(size)) {
      schedulePump(); // buffer pressure: partial batches go out now instead of after linger
      switch (overflow) {
        case 'drop_newest':
          drop('queue_full', 1);
          return false;
        case 'drop_oldest':
          while (queued > 0 && isFull(size)) evictOldest();
          break;
        case 'block':
          return new Promise<boolean>((resolve) => waiters.push({ record, size, resolve }));
      }
    }
    return admit(record, size);
  }

  /** Put a record into its partition queue; dispatch at once if that completes a batch. */
  function admit(record: SinkRecord, size: number): boolean {
    let key = SINGLE;
    if (keyOf) {
      try {
        key = keyOf(record);
      } catch (err) {
        log.error({ err: describe(err) }, 'sink partitionKey threw; record failed');
        fail('sink_internal_error', 1);
        return false;
      }
    }
    let part = parts.get(key);
    if (!part) {
      part = { key, queue: new RecordQueue(), busy: 0 };
      parts.set(key, part);
    }
    const q = part.queue;
    const wasEmpty = q.length === 0;
    const t = scheduler.now();
    q.push(record, size, t);
    queued++;
    queuedBytes += size;
    if (q.length >= batchSize || q.bytes >= batchBytes) {
      if (canDispatch(part)) dispatch(part);
    } else if (wasEmpty) {
      armLinger(t + linger);
    }
    return true;
  }

  function evictOldest(): void {
    let oldest: Part | undefined;
    let oldestT = Infinity;
    for (const p of parts.values()) {
      const t = p.queue.firstTime();
      if (t !== undefined && t < oldestT) {
        oldestT = t;
        oldest = p;
      }
    }
    if (!oldest) return;
    const size = oldest.queue.peekSize();
    oldest.queue.shift();
    queued--;
    queuedBytes -= size;
    drop('queue_full', 1);
    if (partitioned && oldest.busy === 0 && oldest.queue.length === 0) parts.delete(oldest.key);
  }

  function admitWaiters(): void {
    while (waiters.length > 0) {
      const w = waiters[0] as Waiter;
      if (isFull(w.size) && !draining) return;
      waiters.shift();
      w.resolve(admit(w.record, w.size));
    }
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
    let next = Infinity;
    for (const p of parts.values()) {
      const t = p.queue.firstTime();
      if (t !== undefined && t + linger > now && t + linger < next) next = t + linger;
    }
    if (next !== Infinity && state !== 'stopped') armLinger(next);
  }

  const canDispatch = (part: Part): boolean =>
    state === 'connected' && batches.size < maxInflight && part.busy < perPartInflight;

  function isReady(part: Part, now: number): boolean {
    const q = part.queue;
    if (q.length === 0) return false;
    if (flushing || q.length >= batchSize || q.bytes >= batchBytes) return true;
    // A full buffer cannot take more records, so waiting for the batch to fill is pointless.
    if (waiters.length > 0 || isFull(0)) return true;
    return now - (q.firstTime() as number) >= linger;
  }

  /** Start every batch that is ready and allowed by the in-flight limits. */
  function pump(now = scheduler.now()): void {
    if (state !== 'connected') return;
    // Iterate over a snapshot: dispatching moves a partition to the back (round-robin).
    for (const part of [...parts.values()]) {
      if (batches.size >= maxInflight) break;
      while (canDispatch(part) && isReady(part, now)) dispatch(part);
    }
    admitWaiters();
    checkDrained();
  }

  /** Take one batch from the partition's queue and write it. */
  function dispatch(part: Part): void {
    const q = part.queue;
    const records: SinkRecord[] = [];
    let bytes = 0;
    const now = ttl > 0 ? wallNow() : 0;
    let expired = 0;
    while (q.length > 0 && records.length < batchSize) {
      const size = q.peekSize();
      if (records.length > 0 && bytes + size > batchBytes) break;
      const r = q.shift() as SinkRecord;
      queued--;
      queuedBytes -= size;
      if (ttl > 0 && now - r.ingestTs > ttl) {
        expired++;
        continue;
      }
      records.push(r);
      bytes += size;
    }
    drop('expired', expired);
    // The rest of the queue may be younger than the linger timer's current deadline (or no timer
    // may be armed any more): make sure its own deadline is covered, or it could wait forever.
    const rest = q.firstTime();
    if (rest !== undefined) armLinger(rest + linger);
    if (partitioned) {
      // Round-robin across partitions; forget empty idle partitions.
      parts.delete(part.key);
      if (q.length > 0 || records.length > 0) parts.set(part.key, part);
    }
    if (records.length === 0) return;
    const batch: Batch = { part, records, failures: 0, abandoned: false };
    part.busy++;
    batches.add(batch);
    inflightRecords += records.length;
    write(batch);
    if (waiters.length > 0) admitWaiters();
  }

  function write(batch: Batch): void {
    if (state !== 'connected') {
      parked.push(batch);
      return;
    }
    let p: Promise<WriteResult | void>;
    try {
      p = sink.write(batch.records);
    } catch (err) {
      p = Promise.reject(err);
    }
    p.then(
      (res) => onWritten(batch, res),
      (err: unknown) => onWriteError(batch, err),
    );
  }

  function onWritten(batch: Batch, res: WriteResult | void): void {
    if (batch.abandoned) return;
    const records = batch.records;
    const retry = res?.retry;
    const rejected = res?.rejected;
    if ((!retry || retry.length === 0) && (!rejected || rejected.length === 0)) {
      succeed(records);
      finish(batch);
      return;
    }
    const outcome = new Uint8Array(records.length); // 0 success, 1 retry, 2 rejected
    for (const i of retry ?? []) if (i >= 0 && i < records.length) outcome[i] = 1;
    for (const rej of rejected ?? []) {
      if (rej.index >= 0 && rej.index < records.length) {
        outcome[rej.index] = 2;
        fail(rej.code, 1);
      }
    }
    const ok: SinkRecord[] = [];
    const again: SinkRecord[] = [];
    for (let i = 0; i < records.length; i++) {
      if (outcome[i] === 0) ok.push(records[i] as SinkRecord);
      else if (outcome[i] === 1) again.push(records[i] as SinkRecord);
    }
    succeed(ok);
    inflightRecords -= records.length - ok.length - again.length;
    if (again.length === 0) {
      finish(batch);
      return;
    }
    batch.records = again;
    // No error code to report: if these records run out of attempts they fail as retries exhausted.
    retryLater(batch, 'sink_retries_exhausted');
  }

  function succeed(records: SinkRecord[]): void {
    if (records.length === 0) return;
    const now = wallNow();
    for (let i = 0; i < records.length; i++)
      latency.record(now - (records[i] as SinkRecord).ingestTs);
    m.success += records.length;
    inflightRecords -= records.length;
  }

  function onWriteError(batch: Batch, err: unknown): void {
    if (batch.abandoned) return;
    lastErr = err;
    if (isNotConnected(err)) {
      m.retried += batch.records.length;
      // Waiting for the reconnect does not use up an attempt: only request_ttl bounds it.
      lostConnection(err);
      parked.push(batch);
      return;
    }
    const code = err instanceof SluiceError ? err.code : 'sink_internal_error';
    if (!(err instanceof SluiceError))
      log.error({ err: describe(err) }, 'sink write threw a non-SluiceError; batch failed');
    if (isRetriable(err)) {
      retryLater(batch, code);
      return;
    }
    log.warn(
      { err: describe(err), records: batch.records.length },
      'sink write failed; batch dropped',
    );
    failBatch(batch, code);
  }

  function failBatch(batch: Batch, code: string): void {
    fail(code, batch.records.length);
    inflightRecords -= batch.records.length;
    finish(batch);
  }

  function retryLater(batch: Batch, code: string): void {
    batch.failures++;
    if (maxAttempts > 0 && batch.failures >= maxAttempts) {
      log.warn(
        { code, attempts: batch.failures, records: batch.records.length },
        'sink_retries_exhausted: batch failed',
      );
      failBatch(batch, code);
      return;
    }
    m.retried += batch.records.length;
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
      const keep = batch.records.filter((r) => now - r.ingestTs <= ttl);
      const expired = batch.records.length - keep.length;
      if (expired > 0) {
        drop('expired', expired);
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
    batch.part.busy--;
    const part = batch.part;
    if (partitioned && part.busy === 0 && part.queue.length === 0) parts.delete(part.key);
    pump();
  }

  // ---- shutdown ----------------------------------------------------------------------------
  function checkDrained(): void {
    if (drainDone && queued === 0 && batches.size === 0 && waiters.length === 0) {
      const done = drainDone;
      drainDone = undefined;
      done();
    }
  }

  /** Drop everything not yet acknowledged as `shutdown`; returns how many records. */
  function abandonAll(): number {
    let n = 0;
    cancelLinger?.();
    cancelLinger = undefined;
    cancelConnectTimer?.();
    cancelConnectTimer = undefined;
    abort.abort();
    abort = new AbortController();
    for (const p of parts.values()) n += p.queue.clear().length;
    parts.clear();
    queued = 0;
    queuedBytes = 0;
    for (const b of batches) {
      b.abandoned = true;
      b.cancelTimer?.();
      n += b.records.length;
    }
    batches.clear();
    parked = [];
    inflightRecords = 0;
    for (const w of waiters.splice(0)) {
      n++;
      w.resolve(false);
    }
    drop('shutdown', n);
    return n;
  }

  function closeSink(): Promise<void> {
    if (!closing) {
      closing = (async () => {
        try {
          await sink.close();
        } catch (err) {
          log.warn({ err: describe(err) }, 'sink close failed');
        }
      })();
    }
    return closing;
  }

  function becomeStopped(): void {
    const wasConnecting = state !== 'connected';
    state = 'stopped';
    if (wasConnecting) {
      const w = startWaiters;
      startWaiters = [];
      for (const s of w) s.reject(stoppedError());
    }
  }

  async function drain(timeoutMs: number): Promise<DrainResult> {
    if (state === 'stopped' || draining) {
      if (closing) await closing;
      return { dropped: 0 };
    }
    draining = true;
    flushing = true;
    // Producers blocked on a full buffer are let in: their records get flushed too.
    admitWaiters();
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
    becomeStopped();
    await closeSink();
    log.info({ dropped: left }, 'sink runner drained');
    return { dropped: left };
  }

  async function stop(): Promise<void> {
    if (state !== 'stopped') {
      draining = true;
      const d = drainDone;
      drainDone = undefined;
      abandonAll();
      becomeStopped();
      d?.();
    }
    await closeSink();
  }

  return {
    start,
    enqueue,
    flush() {
      flushing = true;
      pump();
      flushing = draining;
    },
    drain,
    stop,
    metrics: () => ({
      matched: m.matched,
      queued,
      queuedBytes,
      blocked: waiters.length,
      inflight: batches.size,
      inflightRecords,
      success: m.success,
      failed: m.failed,
      failedBy: { ...m.failedBy },
      dropped: m.dropped,
      droppedBy: { ...m.droppedBy },
      retried: m.retried,
      latency: latency.summary(),
    }),
    status: () => (state === 'stopped' ? 'stopped' : draining ? 'draining' : state),
    lastError: () => lastErr,
  };
}

function describe(err: unknown): Record<string, unknown> {
  if (err instanceof SluiceError)
    return { code: err.code, message: err.message, retriable: err.retriable };
  if (err instanceof Error) return { name: err.name, message: err.message };
  return { value: String(err) };
}
