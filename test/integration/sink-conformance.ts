/**
 * The shared sink conformance suite (CONVENTIONS.md #5): every sink must pass it against its
 * real external system. A sink's test file calls
 *
 *   runSinkConformance('kafka', async (testName) => ({ sink, readIds, dropConnection, cleanup }));
 *
 * `make` is called once per test (so each test can use a fresh topic/stream). The suite writes
 * rule outputs shaped `{ id: <number>, run: <string>, note: <string> }`; the harness must configure
 * its sink so that `readIds` can recover `id` from what the external system stored (e.g. a value
 * template of `${.}` = the whole output as JSON).
 *
 * What is checked: connect/close (close idempotent, close without connect); single and batch
 * writes; parallel writes; delivery through the shared runner; recovery after the connection
 * under the sink is dropped; at-least-once delivery under injected failures (every record
 * stored at least once, duplicates counted and bounded below by the acks the suite "lost").
 */
import { describe, expect, it } from 'vitest';
import { SluiceError, silentLogger } from '../../src/core/index.js';
import type { Sink, SinkRecord, ValueMap, WriteResult } from '../../src/core/index.js';
import { createSinkRunner, RUNNER_DEFAULTS } from '../../src/sinks/runner/index.js';
import type { RunnerConfig, RunnerMetrics } from '../../src/sinks/runner/index.js';

export interface SinkHarness {
  /** A fresh, not yet connected sink instance. */
  sink: Sink;
  /**
   * The `id` of every record the external system holds for this harness, duplicates included.
   * May poll until at least `atLeast` ids are visible (or its own timeout passes).
   */
  readIds(atLeast: number): Promise<number[]>;
  /**
   * Break the connection under the connected sink (close its sockets, restart a proxy, …).
   * Afterwards a write must either succeed or reject with a coded SluiceError — retriable, or
   * `sink_not_connected` to ask the runner for `connect()` — and the sink must recover.
   */
  dropConnection(): Promise<void>;
  /** Release the external resources of this harness (topic, stream, servers it started). */
  cleanup(): Promise<void>;
}

export interface ConformanceOptions {
  /** Per-test timeout in ms (default 60 000). */
  timeoutMs?: number;
  /** Records for the bulk tests (default 500). */
  records?: number;
  /** Set when the external system de-duplicates re-sent batches (then duplicates may be 0). */
  dedupes?: boolean;
}

const runnerConfig = (o: Partial<RunnerConfig> = {}): RunnerConfig => ({
  ...RUNNER_DEFAULTS,
  batch_size: 50,
  linger: 5,
  max_inflight: 4,
  retry: { initial_backoff: 20, max_backoff: 500, max_attempts: 0 },
  request_ttl: 0,
  ...o,
});

function records(from: number, n: number, run: string): SinkRecord[] {
  const out: SinkRecord[] = [];
  for (let i = from; i < from + n; i++) {
    const data: ValueMap = { id: i, run, note: `record ${i}` };
    out.push({ data, ruleId: 'conformance', ingestTs: Date.now(), context: { clientid: 'c1' } });
  }
  return out;
}

/** Count how often each expected id was stored. */
function tally(ids: number[], expected: number[]): { missing: number[]; duplicates: number } {
  const counts = new Map<number, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  const missing = expected.filter((id) => !counts.has(id));
  let duplicates = 0;
  for (const id of expected) duplicates += Math.max(0, (counts.get(id) ?? 0) - 1);
  return { missing, duplicates };
}

const range = (from: number, n: number): number[] => Array.from({ length: n }, (_, k) => from + k);

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Run `n` records through a runner over `sink`; returns the metrics after drain. */
async function throughRunner(
  sink: Sink,
  recs: SinkRecord[],
  cfg: RunnerConfig,
  drainMs: number,
): Promise<RunnerMetrics> {
  const runner = createSinkRunner({ logger: silentLogger, now: Date.now }, sink, cfg);
  await runner.start();
  for (const r of recs) {
    if (runner.pressured) await runner.whenWritable();
    expect(runner.enqueue(r)).toBe(true);
  }
  const { dropped } = await runner.drain(drainMs);
  expect(dropped).toBe(0);
  return runner.metrics();
}

export function runSinkConformance(
  name: string,
  make: (testName: string) => Promise<SinkHarness>,
  options: ConformanceOptions = {},
): void {
  const timeout = options.timeoutMs ?? 60_000;
  const n = options.records ?? 500;
  const run = (): string =>
    `${name}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

  /** Create a harness, run `body`, always clean up. */
  const withHarness = async (
    testName: string,
    body: (h: SinkHarness) => Promise<void>,
  ): Promise<void> => {
    const h = await make(testName);
    try {
      await body(h);
    } finally {
      await h.sink.close().catch(() => {});
      await h.cleanup();
    }
  };

  describe(`sink conformance: ${name}`, () => {
    it(
      'connects and closes; close is idempotent',
      () =>
        withHarness('connect-close', async (h) => {
          await withTimeout(h.sink.connect(), timeout, 'connect');
          await h.sink.close();
          await h.sink.close();
        }),
      timeout,
    );

    it(
      'close without connect does not throw',
      () =>
        withHarness('close-only', async (h) => {
          await h.sink.close();
        }),
      timeout,
    );

    it(
      'writes a single record',
      () =>
        withHarness('single', async (h) => {
          await h.sink.connect();
          const [r] = records(1, 1, run());
          const res = await h.sink.write([r as SinkRecord]);
          expect(res?.rejected ?? []).toEqual([]);
          expect(await h.readIds(1)).toEqual([1]);
        }),
      timeout,
    );

    it(
      'writes a batch',
      () =>
        withHarness('batch', async (h) => {
          await h.sink.connect();
          const batch = records(0, 100, run());
          const res: WriteResult | void = await h.sink.write(batch);
          expect(res?.retry ?? []).toEqual([]);
          expect(res?.rejected ?? []).toEqual([]);
          const ids = await h.readIds(100);
          expect(tally(ids, range(0, 100))).toEqual({ missing: [], duplicates: 0 });
          expect(ids).toHaveLength(100);
        }),
      timeout,
    );

    it(
      'accepts parallel writes',
      () =>
        withHarness('parallel', async (h) => {
          await h.sink.connect();
          const tag = run();
          await Promise.all(range(0, 5).map((k) => h.sink.write(records(k * 20, 20, tag))));
          const ids = await h.readIds(100);
          expect(tally(ids, range(0, 100))).toEqual({ missing: [], duplicates: 0 });
        }),
      timeout,
    );

    it(
      `delivers ${n} records through the shared runner`,
      () =>
        withHarness('runner', async (h) => {
          const m = await throughRunner(h.sink, records(0, n, run()), runnerConfig(), timeout / 2);
          expect(m.success).toBe(n);
          expect(m.failed).toBe(0);
          expect(m.dropped).toBe(0);
          const ids = await h.readIds(n);
          expect(tally(ids, range(0, n)).missing).toEqual([]);
        }),
      timeout,
    );

    it(
      'recovers after the connection is dropped',
      () =>
        withHarness('reconnect', async (h) => {
          let connects = 0;
          let notConnected = 0;
          const inner = h.sink;
          const counted: Sink = {
            ...bindSink(inner),
            connect: (signal) => {
              connects++;
              return inner.connect(signal);
            },
            write: async (batch) => {
              try {
                return await inner.write(batch);
              } catch (err) {
                if (err instanceof SluiceError && err.code === 'sink_not_connected') notConnected++;
                throw err;
              }
            },
          };
          const tag = run();
          const runner = createSinkRunner(
            { logger: silentLogger, now: Date.now },
            counted,
            runnerConfig(),
          );
          await runner.start();
          for (const r of records(0, 50, tag)) runner.enqueue(r);
          runner.flush();
          await withTimeout(
            waitFor(() => runner.metrics().success === 50),
            timeout / 3,
            'first 50',
          );
          await h.dropConnection();
          // A direct write now either works or fails with a coded error — never hangs, never a bare Error.
          try {
            await withTimeout(inner.write(records(1000, 1, tag)), timeout / 3, 'write after drop');
          } catch (err) {
            expect(err).toBeInstanceOf(SluiceError);
          }
          for (const r of records(50, 50, tag)) runner.enqueue(r);
          const { dropped } = await runner.drain(timeout / 2);
          expect(dropped).toBe(0);
          const m = runner.metrics();
          expect(m.success).toBe(100);
          expect(m.failed).toBe(0);
          // A sink that asked for a reconnect must have been connected again.
          if (notConnected > 0) expect(connects).toBeGreaterThanOrEqual(2);
          const ids = (await h.readIds(100)).filter((id) => id < 1000);
          expect(tally(ids, range(0, 100)).missing).toEqual([]);
        }),
      timeout,
    );

    it(
      'delivers every record at least once under injected failures',
      () =>
        withHarness('at-least-once', async (h) => {
          // Every 3rd write fails before reaching the system; every 4th fails after it was
          // stored (a lost ack): the runner must re-send both, so the lost ones come twice.
          let writes = 0;
          let lostAckRecords = 0;
          const inner = h.sink;
          const faulty: Sink = {
            ...bindSink(inner),
            write: async (batch) => {
              const k = ++writes;
              if (k % 3 === 0)
                throw new SluiceError('conformance_injected', 'injected failure before write', {
                  retriable: true,
                });
              const res = await inner.write(batch);
              if (k % 4 === 0) {
                const notStored = new Set([
                  ...(res?.retry ?? []),
                  ...(res?.rejected ?? []).map((r) => r.index),
                ]);
                lostAckRecords += batch.length - notStored.size;
                throw new SluiceError('conformance_injected', 'injected lost ack', {
                  retriable: true,
                });
              }
              return res;
            },
          };
          const m = await throughRunner(
            faulty,
            records(0, n, run()),
            runnerConfig({ batch_size: 25 }),
            timeout / 2,
          );
          expect(m.success).toBe(n);
          expect(m.failed).toBe(0);
          expect(m.dropped).toBe(0);
          expect(m.retried).toBeGreaterThan(0);
          const ids = await h.readIds(n + lostAckRecords);
          const { missing, duplicates } = tally(ids, range(0, n));
          expect(missing).toEqual([]);
          if (!options.dedupes) expect(duplicates).toBeGreaterThanOrEqual(lostAckRecords);
          expect(ids.length).toBe(n + duplicates);
        }),
      timeout,
    );
  });
}

/** The sink's methods bound to it, so a wrapper can override some and keep the rest. */
function bindSink(sink: Sink): Sink {
  const out: Sink = {
    connect: sink.connect.bind(sink),
    write: sink.write.bind(sink),
    close: sink.close.bind(sink),
  };
  if (sink.partitionKey) out.partitionKey = sink.partitionKey.bind(sink);
  if (sink.sizeOf) out.sizeOf = sink.sizeOf.bind(sink);
  return out;
}

async function waitFor(cond: () => boolean, stepMs = 5): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, stepMs));
}
