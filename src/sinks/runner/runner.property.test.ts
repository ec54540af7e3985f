/**
 * Property test: under any interleaving of enqueues, retriable write failures, per-record retry
 * results, dropped connections, failing reconnects, held writes and time passing, a runner with
 * a blocking buffer and unlimited retries delivers every record to a producer that honours its
 * back-pressure (holds records while `pressured`), keeps its books balanced, never holds more
 * than `max_records` and drains completely (no stalls). With partitions and no per-record
 * retries, order per key holds.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../core/index.js';
import type { SinkRecord } from '../../core/index.js';
import { createMemorySink } from '../memory/index.js';
import { createSinkRunner, RUNNER_DEFAULTS } from './index.js';

type Op =
  | { op: 'enqueue'; n: number; key: number }
  | { op: 'fail'; n: number }
  | { op: 'retryResult' }
  | { op: 'disconnect'; connectFailures: number }
  | { op: 'hold' }
  | { op: 'release' }
  | { op: 'wait'; ms: number };

const opArb = (withRetryResults: boolean): fc.Arbitrary<Op> =>
  fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record({
        op: fc.constant('enqueue' as const),
        n: fc.integer({ min: 1, max: 40 }),
        key: fc.integer({ min: 0, max: 3 }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ op: fc.constant('fail' as const), n: fc.integer({ min: 1, max: 3 }) }),
    },
    ...(withRetryResults
      ? [{ weight: 1, arbitrary: fc.constant({ op: 'retryResult' as const }) }]
      : []),
    {
      weight: 1,
      arbitrary: fc.record({
        op: fc.constant('disconnect' as const),
        connectFailures: fc.integer({ min: 0, max: 3 }),
      }),
    },
    { weight: 1, arbitrary: fc.constant({ op: 'hold' as const }) },
    { weight: 1, arbitrary: fc.constant({ op: 'release' as const }) },
    {
      weight: 3,
      arbitrary: fc.record({
        op: fc.constant('wait' as const),
        ms: fc.integer({ min: 0, max: 300 }),
      }),
    },
  );

const configArb = fc.record({
  batch_size: fc.integer({ min: 1, max: 25 }),
  linger: fc.integer({ min: 0, max: 50 }),
  max_inflight: fc.integer({ min: 1, max: 4 }),
  max_records: fc.integer({ min: 1, max: 60 }),
});

async function run(
  ops: Op[],
  c: { batch_size: number; linger: number; max_inflight: number; max_records: number },
  partitioned: boolean,
): Promise<{ records: SinkRecord[]; matched: number }> {
  const sink = createMemorySink(partitioned ? { partition_key: '${k}' } : {});
  const runner = createSinkRunner(
    { logger: silentLogger, now: () => Date.now(), random: () => 0.5 },
    sink,
    {
      ...RUNNER_DEFAULTS,
      batch_size: c.batch_size,
      linger: c.linger,
      max_inflight: c.max_inflight,
      buffer: {
        max_records: c.max_records,
        max_bytes: 1e9,
        overflow: 'block',
        low_watermark: 0.5,
        headroom: 0,
      },
      retry: { initial_backoff: 10, max_backoff: 200, max_attempts: 0 },
      request_ttl: 0,
    },
  );
  let id = 0;
  // The producer's own backlog: what it holds back while the runner is under pressure.
  const backlog: SinkRecord[] = [];
  const offer = (): void => {
    while (backlog.length > 0 && !runner.pressured)
      if (!runner.enqueue(backlog.shift()!)) throw new Error('a blocking runner refused a record');
  };
  runner.onPressure((p) => {
    if (!p) queueMicrotask(offer);
  });
  for (const o of ops) {
    switch (o.op) {
      case 'enqueue':
        for (let i = 0; i < o.n; i++)
          backlog.push({ data: { i: id++, k: `k${o.key}` }, ruleId: 'p', ingestTs: Date.now() });
        offer();
        break;
      case 'fail':
        sink.failNext(o.n);
        break;
      case 'retryResult':
        sink.respondNext({ retry: [0] });
        break;
      case 'disconnect':
        sink.disconnect();
        sink.failConnect(o.connectFailures);
        break;
      case 'hold':
        sink.hold();
        break;
      case 'release':
        sink.release();
        break;
      case 'wait':
        await vi.advanceTimersByTimeAsync(o.ms);
        break;
    }
    const m = runner.metrics();
    expect(m.matched).toBe(m.queued + m.inflightRecords + m.success + m.failed + m.dropped);
    expect(m.matched + backlog.length).toBe(id);
    expect(m.inflight).toBeLessThanOrEqual(c.max_inflight);
    expect(m.queued).toBeLessThanOrEqual(c.max_records);
  }
  sink.release();
  sink.failConnect(0);
  // Let everything settle (backoffs are ≤ 200 ms), then drain with a generous budget.
  await vi.advanceTimersByTimeAsync(5_000);
  // Liveness without drain: linger ≤ 50 ms and backoffs ≤ 200 ms, so all must be through by now.
  const settled = runner.metrics();
  expect([backlog.length, settled.queued, settled.inflight, settled.success]).toEqual([
    0,
    0,
    0,
    id,
  ]);
  const drained = runner.drain(60_000);
  await vi.advanceTimersByTimeAsync(60_000);
  expect(await drained).toEqual({ dropped: 0 });
  const m = runner.metrics();
  expect(m.success).toBe(id);
  expect(m.failed + m.dropped).toBe(0);
  expect(sink.stats.maxInflight).toBeLessThanOrEqual(c.max_inflight);
  return { records: sink.records, matched: id };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('runner properties', () => {
  it('delivers everything, stays balanced and drains, whatever happens', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(opArb(true), { maxLength: 30 }),
        configArb,
        fc.boolean(),
        async (ops, c, partitioned) => {
          const { records, matched } = await run(ops, c, partitioned);
          const seen = new Set(records.map((r) => r.data['i']));
          expect(seen.size).toBe(matched);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('keeps order per partition key', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb(false), { maxLength: 30 }), configArb, async (ops, c) => {
        const { records } = await run(ops, c, true);
        // First delivery of each record, per key, must follow enqueue order.
        const first = new Map<unknown, number>();
        records.forEach((r, pos) => {
          if (!first.has(r.data['i'])) first.set(r.data['i'], pos);
        });
        const byKey = new Map<unknown, number[]>();
        for (const r of records) {
          if (first.get(r.data['i']) === undefined) continue;
          const list = byKey.get(r.data['k']) ?? [];
          if (!list.includes(r.data['i'] as number)) list.push(r.data['i'] as number);
          byKey.set(r.data['k'], list);
        }
        for (const list of byKey.values()) expect(list).toEqual([...list].sort((a, b) => a - b));
      }),
      { numRuns: 100 },
    );
  });
});

describe('runner properties with losses', () => {
  it('accounts for every record and never stalls, whatever the policies', async () => {
    const lossy = fc.record({
      overflow: fc.constantFrom('drop_oldest' as const, 'drop_newest' as const, 'block' as const),
      max_attempts: fc.integer({ min: 0, max: 3 }),
      request_ttl: fc.constantFrom(0, 100, 400),
      partitioned: fc.boolean(),
      headroom: fc.integer({ min: 0, max: 20 }),
    });
    const lossyOp = fc.oneof(
      opArb(true),
      fc.record({ op: fc.constant('fatal' as const), n: fc.integer({ min: 1, max: 2 }) }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(lossyOp, { maxLength: 30 }),
        configArb,
        lossy,
        async (ops, c, p) => {
          const sink = createMemorySink(p.partitioned ? { partition_key: '${k}' } : {});
          const runner = createSinkRunner(
            { logger: silentLogger, now: () => Date.now(), random: () => 0.5 },
            sink,
            {
              ...RUNNER_DEFAULTS,
              batch_size: c.batch_size,
              linger: c.linger,
              max_inflight: c.max_inflight,
              buffer: {
                max_records: c.max_records,
                max_bytes: 1e9,
                overflow: p.overflow,
                low_watermark: 0.5,
                headroom: p.headroom,
              },
              retry: { initial_backoff: 10, max_backoff: 200, max_attempts: p.max_attempts },
              request_ttl: p.request_ttl,
            },
          );
          let id = 0;
          for (const o of ops) {
            if (o.op === 'enqueue') {
              // A producer that ignores pressure: the buffer stays within max + headroom.
              for (let i = 0; i < o.n; i++)
                runner.enqueue({
                  data: { i: id++, k: `k${o.key}` },
                  ruleId: 'p',
                  ingestTs: Date.now(),
                });
            } else if (o.op === 'fatal') sink.failNext(o.n, { retriable: false });
            else if (o.op === 'fail') sink.failNext(o.n);
            else if (o.op === 'retryResult') sink.respondNext({ retry: [0] });
            else if (o.op === 'disconnect') {
              sink.disconnect();
              sink.failConnect(o.connectFailures);
            } else if (o.op === 'hold') sink.hold();
            else if (o.op === 'release') sink.release();
            else await vi.advanceTimersByTimeAsync(o.ms);
            const m = runner.metrics();
            expect(m.matched).toBe(m.queued + m.inflightRecords + m.success + m.failed + m.dropped);
            expect(m.queued).toBeLessThanOrEqual(
              c.max_records + (p.overflow === 'block' ? p.headroom : 0),
            );
          }
          sink.release();
          sink.failConnect(0);
          await vi.advanceTimersByTimeAsync(5_000);
          const s = runner.metrics();
          expect([s.queued, s.inflight, s.pressure]).toEqual([0, 0, false]);
          expect(s.success + s.failed + s.dropped).toBe(id);
          expect(new Set(sink.records.map((r) => r.data['i'])).size).toBe(s.success);
          expect(await runner.drain(1000)).toEqual({ dropped: 0 });
        },
      ),
      { numRuns: 100 },
    );
  });
});
