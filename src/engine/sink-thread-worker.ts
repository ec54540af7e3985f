/**
 * A sink thread: one sink and its runner, off the main thread (`thread: worker`). The main
 * side is sink-thread.ts; the message protocol is declared there. Records arrive in batches
 * and go to the runner's `enqueue`; every batch is answered with how many were taken and
 * whether the runner is under pressure, so the main thread knows what is in transit. Metrics
 * go back every SNAPSHOT_MS while they change, and with every reply. With fallback actions
 * (`data.fallback`) the records the runner gives up on go back too (`gaveUp`), batched per
 * reason and event-loop turn, and flushed before every reply. With delivery tracking
 * (`data.tracked`) the ids of records written or given up go back as `settled` / `forgotten`,
 * and every batch's `took` (or a later `durable`) says up to which record the buffer holds
 * them durably.
 */
import { parentPort, workerData } from 'node:worker_threads';

import { isRetriable } from '../core/index.js';
import type { Logger, Sink, SinkRecord, SinkType, WriteResult } from '../core/index.js';
import { createSinkRunner } from '../sinks/runner/index.js';
import type { RunnerConfig } from '../sinks/runner/index.js';
import type { FromThread, SinkThreadData, ToThread } from './sink-thread.js';
import { ackIdOf, decodeRecord, WireBatch } from './sink-thread-wire.js';
import { builtinSinkTypes } from './sink-types.js';

const SNAPSHOT_MS = 20;

const port = parentPort!;
const data = workerData as SinkThreadData;
const post = (m: FromThread): void => port.postMessage(m);

/** Given-up records not posted back yet, by reason (only with fallback actions). */
const gaveUp = new Map<string, WireBatch>();
let gaveUpScheduled = false;
function flushGaveUp(): void {
  gaveUpScheduled = false;
  for (const [reason, batch] of gaveUp)
    port.postMessage({ t: 'gaveUp', reason, records: batch.records }, batch.arenas);
  gaveUp.clear();
}
function onGiveUp(records: readonly SinkRecord[], reason: string): void {
  let batch = gaveUp.get(reason);
  if (!batch) gaveUp.set(reason, (batch = new WireBatch('all')));
  for (const r of records) batch.add(r);
  if (!gaveUpScheduled) {
    gaveUpScheduled = true;
    setImmediate(flushGaveUp);
  }
}

/**
 * Delivery tracking (`data.tracked`): the ids of records written (acknowledged by the remote,
 * or failed for good) and of records given up, posted back per event-loop turn — settled
 * first, so a record that failed for good is settled before it is forgotten.
 */
let settled: number[] = [];
let forgotten: number[] = [];
let acksScheduled = false;
function flushAcks(): void {
  acksScheduled = false;
  if (settled.length > 0) post({ t: 'settled', ids: settled });
  if (forgotten.length > 0) post({ t: 'forgotten', ids: forgotten });
  settled = [];
  forgotten = [];
}
function noteAcks(
  records: readonly SinkRecord[],
  into: number[],
  skip?: ReadonlySet<number>,
): void {
  for (let i = 0; i < records.length; i++) {
    if (skip?.has(i)) continue;
    const id = ackIdOf(records[i]!);
    if (id !== undefined) into.push(id);
  }
  if (!acksScheduled && (settled.length > 0 || forgotten.length > 0)) {
    acksScheduled = true;
    setImmediate(flushAcks);
  }
}

/** `sink` whose writes report the tracked records they settled (as delivery.ts decorates). */
function settling(sink: Sink): Sink {
  const write = async (
    batch: readonly SinkRecord[],
    signal?: AbortSignal,
  ): Promise<WriteResult | void> => {
    let result: WriteResult | void;
    try {
      result = await sink.write(batch, signal);
    } catch (err) {
      if (!isRetriable(err)) noteAcks(batch, settled);
      throw err;
    }
    noteAcks(batch, settled, result?.retry ? new Set(result.retry) : undefined);
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

/** Plain data for a log field (Errors lose their own properties when cloned). */
function plain(v: unknown): unknown {
  if (v instanceof Error) {
    const e = v as Error & { code?: unknown; cause?: unknown };
    return { type: e.name, message: e.message, code: e.code, stack: e.stack };
  }
  return v;
}

function threadLogger(bindings: Record<string, unknown>): Logger {
  const at =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (obj: object, msg?: string): void => {
      const o: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(obj)) o[k] = plain(v);
      post({ t: 'log', level, bindings, obj: o, msg });
    };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (more) => threadLogger({ ...bindings, ...more }),
  };
}

const type = builtinSinkTypes.find((t) => t.type === data.type) as SinkType<never>;
const logger = threadLogger({});
const created = type.create({ logger, now: Date.now }, data.sinkConfig as never, data.name);
const sink = data.tracked ? settling(created) : created;
const runner = createSinkRunner(
  {
    logger,
    now: Date.now,
    name: data.name,
    ...(data.fallback ? { onGiveUp } : {}),
    ...(data.tracked ? { onForget: (r: readonly SinkRecord[]) => noteAcks(r, forgotten) } : {}),
  },
  sink,
  data.runnerConfig as unknown as RunnerConfig,
);
/** Records received from the main thread so far (the count `took` / `durable` refer to). */
let received = 0;

/** Counters of the last snapshot posted: a snapshot goes out only when one moved. */
let last = '';
const timer = setInterval(() => {
  const m = runner.metrics();
  const key = `${m.status} ${m.matched} ${m.success} ${m.failed} ${m.dropped} ${m.retried} ${m.queued} ${m.inflight}`;
  if (key === last) return;
  last = key;
  post({ t: 'metrics', metrics: m });
}, SNAPSHOT_MS);
runner.onPressure((p) => post({ t: 'pressure', pressured: p }));

async function reply(id: number, fn: () => Promise<unknown>): Promise<void> {
  try {
    const value = await fn();
    flushGaveUp();
    flushAcks();
    post({ t: 'reply', id, value, metrics: runner.metrics() });
  } catch (err) {
    flushGaveUp();
    flushAcks();
    post({ t: 'reply', id, error: plain(err), metrics: runner.metrics() });
  }
}

port.on('message', (m: ToThread) => {
  switch (m.t) {
    case 'records': {
      let refused = 0;
      for (const w of m.records) if (!runner.enqueue(decodeRecord(w))) refused++;
      received += m.records.length;
      // Durable in the buffer now (memory, fsync always / never), or after the next fsync.
      const upTo = received;
      const later = runner.awaitDurable?.(() => post({ t: 'durable', upTo })) ?? false;
      post({
        t: 'took',
        n: m.records.length,
        refused,
        pressured: runner.pressured,
        ...(later ? {} : { durable: upTo }),
      });
      return;
    }
    case 'flush':
      runner.flush();
      return;
    case 'start':
      void reply(m.id, () => runner.start());
      return;
    case 'drain':
      void reply(m.id, async () => {
        const r = await runner.drain(m.timeoutMs);
        clearInterval(timer);
        return r;
      });
      return;
    case 'stop':
      void reply(m.id, async () => {
        await runner.stop();
        clearInterval(timer);
      });
      return;
  }
});
