/**
 * `thread: worker`: a sink and its runner in a worker thread, behind the `SinkRunner` the
 * engine already uses (docs/decisions/0006-sink-threads.md). The main thread keeps the broker
 * and the rules; the sink's encoding, batching, compression and network I/O run on another
 * core.
 *
 * Records: `enqueue` converts a record (sink-thread-wire.ts) and appends it to a batch that is
 * posted at the next turn of the event loop (or once it holds BATCH records). The thread
 * answers every batch with how many it took, so the main thread knows how many records are in
 * transit.
 *
 * Back-pressure: `pressured` is the thread's runner under pressure (reported as it changes),
 * or `transitCap` records (at most the runner's `headroom`) enqueued here and not yet taken
 * by the thread, so the thread's buffer never holds more than `max_records + headroom`. Either pauses the feeding
 * clients as for a runner on the main thread; pressure lifts when both are clear.
 *
 * Metrics are the thread's latest snapshot (at most ~20 ms old while records flow; exact after
 * `start`, `drain` and `stop`). `enqueue` returns false only once the runner is stopping or the
 * thread is gone; records the thread's runner refuses are in its `dropped` metrics, and
 * records lost with a crashed thread are counted as dropped `thread_exit`.
 *
 * Fallback actions (issue #12): with `onGiveUp`, the thread's runner collects the records it
 * gives up on and posts them back (`gaveUp`, wire-encoded, batched per event-loop turn and
 * always before a reply, so a drain's give-ups reach the fallback sinks before `drain`
 * resolves); they are handed to `onGiveUp` here, on the main thread, where the fallback sinks
 * live. Such a sink's records carry their whole context to the thread (the fallback sinks'
 * templates may read columns the sink's own do not).
 *
 * Delivery tracking (listener `ack_after`, external sources; decision 0012), as for a sink on
 * the main thread: `awaitDurable` waits for the thread's `took` (memory buffer, fsync always /
 * never) or its later `durable` (fsync interval) covering the records enqueued so far; a record
 * with an `ackToken` (remote mode) travels with an ack id, the thread reports the ids of records
 * written (or failed for good) as `settled` → `onSettled(token)`, and those it gave up on
 * (eviction, expiry, shutdown) as `forgotten`, so the id map holds only records still inside
 * the thread.
 *
 * A crashed thread (`thread_exit`, issue #12): with fallback actions the main thread keeps the
 * records it enqueued until the thread reports them taken (`took`, in posting order), and
 * hands the ones still in transit to the fallback sinks with reason `thread_exit`. The records
 * already inside the thread (its buffer, its in-flight batches) are gone with it: they are
 * counted dropped `thread_exit` (a disk buffer keeps them for the next start).
 */
import { Worker } from 'node:worker_threads';

import type { Logger, SinkRecord } from '../core/index.js';
import type {
  DrainResult,
  RunnerConfig,
  RunnerMetrics,
  RunnerStatus,
  SinkRunner,
} from '../sinks/runner/index.js';
import { createLatencyHistogram } from '../sinks/runner/index.js';
import { contextFields, decodeRecord, WireBatch } from './sink-thread-wire.js';
import type { WireRecord } from './sink-thread-wire.js';

/** `workerData` of a sink thread. */
export interface SinkThreadData {
  name: string;
  type: string;
  sinkConfig: Record<string, unknown>;
  runnerConfig: Record<string, unknown>;
  /** The main thread has fallback actions for this sink: post given-up records back. */
  fallback: boolean;
  /** Delivery tracking: report the ack ids of records written / given up. */
  tracked: boolean;
}

export type ToThread =
  | { t: 'records'; records: WireRecord[] }
  | { t: 'flush' }
  | { t: 'start'; id: number }
  | { t: 'drain'; id: number; timeoutMs: number }
  | { t: 'stop'; id: number };

export type FromThread =
  | { t: 'took'; n: number; refused: number; pressured: boolean; durable?: number }
  | { t: 'durable'; upTo: number }
  | { t: 'settled'; ids: number[] }
  | { t: 'forgotten'; ids: number[] }
  | { t: 'pressure'; pressured: boolean }
  | { t: 'metrics'; metrics: RunnerMetrics }
  | { t: 'gaveUp'; reason: string; records: WireRecord[] }
  | { t: 'reply'; id: number; value?: unknown; error?: unknown; metrics: RunnerMetrics }
  | {
      t: 'log';
      level: 'debug' | 'info' | 'warn' | 'error';
      bindings: Record<string, unknown>;
      obj: Record<string, unknown>;
      msg?: string;
    };

/** Records per posted batch at most (a batch is also posted at the next event-loop turn). */
const BATCH = 2048;

function emptyMetrics(status: RunnerStatus, config: RunnerConfig): RunnerMetrics {
  return {
    status,
    bufferMode: config.buffer.mode ?? 'memory',
    replayed: 0,
    corruptRecords: 0,
    diskBytes: 0,
    matched: 0,
    queued: 0,
    queuedBytes: 0,
    pressure: false,
    pressureEvents: 0,
    fallback: 0,
    stalls: 0,
    inflight: 0,
    inflightRecords: 0,
    success: 0,
    failed: 0,
    failedBy: {},
    dropped: 0,
    droppedBy: {},
    retried: 0,
    latency: createLatencyHistogram().summary(),
  };
}

/** The worker entry: compiled JavaScript next to this file, or TypeScript under tsx (dev, tests). */
function workerEntry(): { url: URL; execArgv: string[] } {
  const ts = import.meta.url.endsWith('.ts');
  const url = new URL(ts ? './sink-thread-worker.ts' : './sink-thread-worker.js', import.meta.url);
  const execArgv = [...process.execArgv];
  if (ts && !execArgv.some((a, i) => a === 'tsx' && execArgv[i - 1] === '--import'))
    execArgv.push('--import', 'tsx');
  return { url, execArgv };
}

export function createThreadedRunner(
  logger: Logger,
  name: string,
  type: string,
  sinkConfig: Record<string, unknown>,
  runnerConfig: RunnerConfig,
  onGiveUp?: (records: readonly SinkRecord[], reason: string) => void,
  onSettled?: (ackToken: object) => void,
): SinkRunner {
  const entry = workerEntry();
  const data: SinkThreadData = {
    name,
    type,
    sinkConfig,
    runnerConfig: runnerConfig as unknown as Record<string, unknown>,
    fallback: onGiveUp !== undefined,
    tracked: onSettled !== undefined,
  };
  const worker = new Worker(entry.url, { workerData: data, execArgv: entry.execArgv });
  worker.unref();
  const fields = onGiveUp ? 'all' : contextFields(sinkConfig);
  const transitCap = Math.max(
    1,
    Math.min(runnerConfig.buffer.max_records, runnerConfig.buffer.headroom, 10 * BATCH),
  );

  let batch = new WireBatch(fields);
  let scheduled = false;
  let posted = 0;
  let taken = 0;
  let remotePressure = false;
  let pressured = false;
  let closing = false;
  let gone: Error | undefined;
  let lostOnExit = 0;
  /** With fallback actions: records enqueued and not yet taken by the thread, oldest first. */
  let kept: SinkRecord[] | undefined = onGiveUp ? [] : undefined;
  let keptHead = 0;
  let snapshot = emptyMetrics('idle', runnerConfig);
  const listeners = new Set<(p: boolean) => void>();
  const writable: (() => void)[] = [];
  let nextId = 1;
  const calls = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  /** Delivery tracking: ack id → the record's `ackToken`, until the thread settles or forgets it. */
  const acks = new Map<number, object>();
  let nextAck = 1;
  /** Records (by enqueue count) the thread's buffer holds durably; waiters for more, in order. */
  let durableUpTo = 0;
  let durableWaiters: { upTo: number; cb: () => void }[] = [];
  let durableHead = 0;
  const durableTo = (upTo: number): void => {
    if (upTo <= durableUpTo) return;
    durableUpTo = upTo;
    while (durableHead < durableWaiters.length) {
      const w = durableWaiters[durableHead]!;
      if (w.upTo > upTo) break;
      durableWaiters[durableHead++] = undefined as never;
      w.cb();
    }
    if (durableHead === durableWaiters.length) {
      durableWaiters = [];
      durableHead = 0;
    }
  };

  /** Records enqueued here and not yet taken by the thread's runner. */
  const inTransit = (): number => posted - taken + batch.length;
  const updatePressure = (): void => {
    const p = !gone && (remotePressure || inTransit() >= transitCap);
    if (p === pressured) return;
    pressured = p;
    for (const l of listeners) l(p);
    if (!p) for (const w of writable.splice(0)) w();
  };

  const post = (m: ToThread): void => {
    if (!gone) worker.postMessage(m);
  };
  const send = (): void => {
    scheduled = false;
    if (batch.length === 0) return;
    posted += batch.length;
    if (!gone) worker.postMessage({ t: 'records', records: batch.records }, batch.arenas);
    batch = new WireBatch(fields);
    updatePressure();
  };
  const call = (m: { t: 'start' | 'stop' } | { t: 'drain'; timeoutMs: number }): Promise<unknown> =>
    new Promise((resolve, reject) => {
      if (gone) return reject(gone);
      const id = nextId++;
      calls.set(id, { resolve, reject });
      post({ ...m, id } as ToThread);
    });

  worker.on('message', (m: FromThread) => {
    switch (m.t) {
      case 'took':
        taken += m.n;
        if (m.durable !== undefined) durableTo(m.durable);
        if (kept) {
          keptHead += m.n;
          if (keptHead >= kept.length) {
            kept = [];
            keptHead = 0;
          } else if (keptHead > 4096 && keptHead * 2 > kept.length) {
            kept = kept.slice(keptHead);
            keptHead = 0;
          }
        }
        remotePressure = m.pressured;
        updatePressure();
        return;
      case 'pressure':
        remotePressure = m.pressured;
        updatePressure();
        return;
      case 'durable':
        durableTo(m.upTo);
        return;
      case 'settled':
        for (const id of m.ids) {
          const token = acks.get(id);
          if (token === undefined) continue;
          acks.delete(id);
          onSettled?.(token);
        }
        return;
      case 'forgotten':
        for (const id of m.ids) acks.delete(id);
        return;
      case 'metrics':
        snapshot = m.metrics;
        return;
      case 'gaveUp':
        if (!onGiveUp) return;
        try {
          onGiveUp(m.records.map(decodeRecord), m.reason);
        } catch (err) {
          logger.error(
            { code: 'sink_internal_error', err, records: m.records.length },
            'fallback hand-off of a sink thread threw; records lost',
          );
        }
        return;
      case 'reply': {
        snapshot = m.metrics;
        const c = calls.get(m.id);
        calls.delete(m.id);
        if (m.error !== undefined) c?.reject(m.error);
        else c?.resolve(m.value);
        return;
      }
      case 'log':
        (Object.keys(m.bindings).length > 0 ? logger.child(m.bindings) : logger)[m.level](
          m.obj,
          m.msg,
        );
        return;
    }
  });
  const onGone = (err: Error): void => {
    if (gone) return;
    gone = err;
    lostOnExit = posted - taken + batch.length + snapshot.queued + snapshot.inflightRecords;
    batch = new WireBatch(fields);
    if (!closing)
      logger.error({ code: 'sink_thread_exit', err: err.message }, 'sink thread exited');
    const transit = kept ? kept.slice(keptHead) : [];
    kept = kept ? [] : undefined;
    keptHead = 0;
    if (!closing && onGiveUp && transit.length > 0) {
      try {
        onGiveUp(transit, 'thread_exit');
      } catch (e) {
        logger.error(
          { code: 'sink_internal_error', err: e, records: transit.length },
          'fallback hand-off of a crashed sink thread threw; records lost',
        );
      }
    }
    for (const c of calls.values()) c.reject(err);
    calls.clear();
    // Their records are lost with the thread: never settled (the broker's ack_timeout, or the
    // source's, ends the wait).
    acks.clear();
    durableWaiters = [];
    durableHead = 0;
    updatePressure();
  };
  worker.on('error', onGone);
  worker.on('exit', (code) => onGone(new Error(`sink thread exited with code ${code}`)));

  const finish = async (): Promise<void> => {
    closing = true;
    await worker.terminate();
  };

  return {
    start: async () => {
      await call({ t: 'start' });
    },
    enqueue(record: SinkRecord): boolean {
      if (closing || gone) return false;
      if (onSettled && record.ackToken) {
        const id = nextAck++;
        acks.set(id, record.ackToken);
        batch.add(record, id);
      } else batch.add(record);
      kept?.push(record);
      if (!pressured && inTransit() >= transitCap) updatePressure();
      if (batch.length >= BATCH) send();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(send);
      }
      return true;
    },
    get pressured() {
      return pressured;
    },
    onPressure(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    whenWritable: () =>
      pressured ? new Promise<void>((resolve) => writable.push(resolve)) : Promise.resolve(),
    flush() {
      send();
      post({ t: 'flush' });
    },
    async drain(timeoutMs: number): Promise<DrainResult> {
      send();
      closing = true;
      try {
        return (await call({ t: 'drain', timeoutMs })) as DrainResult;
      } catch {
        return { dropped: lostOnExit };
      } finally {
        await finish();
        remotePressure = false;
        updatePressure();
      }
    },
    async stop() {
      closing = true;
      batch = new WireBatch(fields);
      if (kept) kept = [];
      keptHead = 0;
      try {
        await call({ t: 'stop' });
      } catch {
        // the thread is gone already: nothing left to stop
      } finally {
        await finish();
        remotePressure = false;
        updatePressure();
      }
    },
    metrics(): RunnerMetrics {
      const transit = gone ? 0 : inTransit();
      const m: RunnerMetrics = {
        ...snapshot,
        matched: snapshot.matched + transit,
        queued: snapshot.queued + transit,
        pressure: pressured,
      };
      if (gone && lostOnExit > 0) {
        m.status = 'failed';
        m.dropped += lostOnExit;
        m.droppedBy = { ...m.droppedBy, thread_exit: lostOnExit };
      }
      return m;
    },
    status: () => (gone && !closing ? 'failed' : snapshot.status),
    lastError: () => snapshot.lastError,
    awaitDurable(cb: () => void): boolean {
      const upTo = posted + batch.length;
      if (upTo <= durableUpTo) return false;
      durableWaiters.push({ upTo, cb });
      return true;
    },
  };
}
