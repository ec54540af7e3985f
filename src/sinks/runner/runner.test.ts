import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { VirtualTimeScheduler, asyncScheduler } from 'rxjs';
import type { SchedulerLike } from 'rxjs';
import { SluiceError, silentLogger } from '../../core/index.js';
import type { Sink, SinkRecord, ValueMap } from '../../core/index.js';
import { createMemorySink } from '../memory/index.js';
import type { MemorySinkConfig } from '../memory/index.js';
import { createSinkRunner, RUNNER_DEFAULTS, sinkNotConnected } from './index.js';
import type { RunnerConfig, RunnerDefaults, RunnerMetrics, SinkRunner } from './index.js';

function cfg(o: RunnerDefaults = {}): RunnerConfig {
  return {
    ...RUNNER_DEFAULTS,
    ...o,
    buffer: { ...RUNNER_DEFAULTS.buffer, ...o.buffer },
    retry: { ...RUNNER_DEFAULTS.retry, ...o.retry },
  };
}

const rec = (i: number, data: ValueMap = {}): SinkRecord => ({
  data: { i, ...data },
  ruleId: 'r1',
  ingestTs: Date.now(),
});

/** matched = queued + in flight + success + failed + dropped, always. */
function expectBalanced(m: RunnerMetrics): void {
  expect(m.matched).toBe(m.queued + m.inflightRecords + m.success + m.failed + m.dropped);
}

const ids = (records: readonly SinkRecord[]): number[] => records.map((r) => r.data['i'] as number);
const range = (n: number, from = 0): number[] => Array.from({ length: n }, (_, k) => k + from);
const tick = (ms = 0): Promise<void> => vi.advanceTimersByTimeAsync(ms).then(() => undefined);

let runners: SinkRunner[] = [];
function setup(
  o: RunnerDefaults = {},
  sinkCfg: MemorySinkConfig = {},
  random: () => number = () => 1,
): { sink: ReturnType<typeof createMemorySink>; runner: SinkRunner } {
  const sink = createMemorySink(sinkCfg);
  const runner = createSinkRunner(
    { logger: silentLogger, now: () => Date.now(), random },
    sink,
    cfg(o),
  );
  runners.push(runner);
  return { sink, runner };
}

beforeEach(() => {
  vi.useFakeTimers();
  runners = [];
});
afterEach(async () => {
  for (const r of runners) await r.stop();
  vi.useRealTimers();
});

describe('batching', () => {
  it('sends full batches at once and the rest after linger', async () => {
    const { sink, runner } = setup({ batch_size: 10, linger: 1000 });
    await runner.start();
    for (let i = 0; i < 25; i++) expect(runner.enqueue(rec(i))).toBe(true);
    await tick();
    expect(sink.batches.map((b) => b.length)).toEqual([10, 10]);
    expect(runner.metrics().queued).toBe(5);
    await tick(999);
    expect(sink.batches).toHaveLength(2);
    await tick(1);
    expect(sink.batches.map((b) => b.length)).toEqual([10, 10, 5]);
    expect(ids(sink.records)).toEqual(range(25));
    expectBalanced(runner.metrics());
  });

  it('linger counts from the oldest waiting record', async () => {
    const { sink, runner } = setup({ batch_size: 100, linger: 100 });
    await runner.start();
    runner.enqueue(rec(0));
    await tick(60);
    runner.enqueue(rec(1));
    await tick(40);
    expect(sink.batches.map(ids)).toEqual([[0, 1]]);
    runner.enqueue(rec(2));
    await tick(99);
    expect(sink.batches).toHaveLength(1);
    await tick(1);
    expect(sink.batches.map(ids)).toEqual([[0, 1], [2]]);
  });

  it('linger 0 sends at the next tick, batching what arrived synchronously', async () => {
    const { sink, runner } = setup({ batch_size: 100, linger: 0 });
    await runner.start();
    for (let i = 0; i < 7; i++) runner.enqueue(rec(i));
    expect(sink.attempts).toHaveLength(0);
    await Promise.resolve();
    expect(sink.attempts.map((b) => b.length)).toEqual([7]);
  });

  it('limits batches by bytes (via sizeOf); an oversized record goes alone', async () => {
    const { sink, runner } = setup({ batch_size: 100, batch_bytes: 100, linger: 10 });
    await runner.start();
    const small = { s: 'x'.repeat(20) }; // {"i":N,"s":"xxx…"} ≈ 34 bytes
    for (let i = 0; i < 5; i++) runner.enqueue(rec(i, small));
    runner.enqueue(rec(5, { s: 'y'.repeat(300) }));
    runner.enqueue(rec(6, small));
    await tick(10);
    await tick(10);
    expect(sink.batches.map(ids)).toEqual([[0, 1], [2, 3], [4], [5], [6]]);
    for (const b of sink.batches) {
      const bytes = b.reduce((n, r) => n + (sink.sizeOf as (r: SinkRecord) => number)(r), 0);
      expect(bytes <= 100 || b.length === 1).toBe(true);
    }
  });

  it('a remainder left behind by a full batch still gets its own linger deadline', async () => {
    const { sink, runner } = setup({ batch_size: 3, linger: 100, max_inflight: 1 });
    await runner.start();
    sink.hold();
    runner.enqueue(rec(0));
    await tick(100); // [0] goes out and is held in flight
    expect(sink.attempts.map(ids)).toEqual([[0]]);
    await tick(50);
    for (const i of [1, 2, 3]) runner.enqueue(rec(i)); // a full batch, blocked by max_inflight
    await tick(130);
    runner.enqueue(rec(4)); // joins a non-empty queue: arms no timer of its own
    await tick(20);
    sink.release(); // [0] acked → [1,2,3] sent; [4] must still go out 100 ms after it arrived
    await tick();
    expect(sink.attempts.map(ids)).toEqual([[0], [1, 2, 3]]);
    await tick(79);
    expect(sink.attempts).toHaveLength(2);
    await tick(1);
    expect(sink.attempts.map(ids)).toEqual([[0], [1, 2, 3], [4]]);
  });

  it('re-arms when the linger timer fires before the deadline', async () => {
    // A scheduler whose timers (of more than 1 ms) fire 1 ms early, as Node timers may when
    // compared with Date.now().
    let t = 0;
    const tasks: { at: number; fn: () => void; closed: boolean }[] = [];
    const early = {
      now: () => t,
      schedule: (fn: () => void, delay = 0) => {
        const task = { at: t + (delay > 1 ? delay - 1 : delay), fn, closed: false };
        tasks.push(task);
        return { unsubscribe: () => void (task.closed = true) };
      },
    } as unknown as SchedulerLike;
    const runTo = (to: number): void => {
      for (;;) {
        const next = tasks.filter((k) => !k.closed && k.at <= to).sort((a, b) => a.at - b.at)[0];
        if (!next) break;
        next.closed = true;
        t = next.at;
        next.fn();
      }
      t = to;
    };
    const sink = createMemorySink();
    const runner = createSinkRunner(
      { logger: silentLogger, now: () => t, scheduler: early },
      sink,
      cfg({ batch_size: 10, linger: 50 }),
    );
    runners.push(runner);
    await runner.start();
    runner.enqueue({ data: { i: 0 }, ruleId: 'r', ingestTs: 0 });
    runTo(49); // fires at 49: not ready yet
    expect(sink.attempts).toHaveLength(0);
    runTo(50);
    expect(sink.attempts.map(ids)).toEqual([[0]]);
  });

  it('flush() sends partial batches without waiting for linger', async () => {
    const { sink, runner } = setup({ batch_size: 100, linger: 60_000 });
    await runner.start();
    runner.enqueue(rec(0));
    runner.flush();
    await tick();
    expect(sink.batches.map(ids)).toEqual([[0]]);
  });

  it('accepts an injected RxJS scheduler for its timers', async () => {
    const vts = new VirtualTimeScheduler();
    const sink = createMemorySink();
    const runner = createSinkRunner(
      { logger: silentLogger, now: () => vts.now(), scheduler: vts },
      sink,
      // No write deadline or stall check: flush() would run them at once, before the write's
      // promise settles.
      cfg({ batch_size: 100, linger: 250, write_timeout: 0, health: { stall_after: 0 } }),
    );
    await runner.start();
    runner.enqueue({ data: { i: 0 }, ruleId: 'r', ingestTs: 0 });
    runner.enqueue({ data: { i: 1 }, ruleId: 'r', ingestTs: 0 });
    expect(sink.attempts).toHaveLength(0);
    vts.flush(); // runs the linger timer in virtual time; the write starts synchronously
    expect(vts.now()).toBe(250);
    expect(sink.attempts.map(ids)).toEqual([[0, 1]]);
    await runner.stop();
  });
});

describe('retry and backoff', () => {
  it('retries retriable failures with exponential backoff capped at max_backoff', async () => {
    const { sink, runner } = setup({
      batch_size: 5,
      retry: { initial_backoff: 100, max_backoff: 400, max_attempts: 0 },
    });
    await runner.start();
    sink.failNext(4);
    for (let i = 0; i < 5; i++) runner.enqueue(rec(i));
    await tick();
    expect(sink.stats.writes).toBe(1);
    // random() = 1 → delay = full base: 100, 200, 400, 400
    const schedule = [100, 200, 400, 400];
    let writes = 1;
    for (const d of schedule) {
      await tick(d - 1);
      expect(sink.stats.writes).toBe(writes);
      await tick(1);
      expect(sink.stats.writes).toBe(++writes);
    }
    expect(ids(sink.records)).toEqual(range(5));
    const m = runner.metrics();
    expect(m.retried).toBe(20);
    expect(m.success).toBe(5);
    expect(m.inflight).toBe(0);
    expectBalanced(m);
  });

  it('applies jitter from the injected random source', async () => {
    const { sink, runner } = setup(
      { batch_size: 1, retry: { initial_backoff: 1000, max_backoff: 1000, max_attempts: 0 } },
      {},
      () => 0.25,
    );
    await runner.start();
    sink.failNext(1);
    runner.enqueue(rec(0));
    await tick(249);
    expect(sink.stats.writes).toBe(1);
    await tick(1);
    expect(sink.stats.writes).toBe(2);
    expect(runner.metrics().success).toBe(1);
  });

  it('does not retry non-retriable failures', async () => {
    const { sink, runner } = setup({ batch_size: 3 });
    await runner.start();
    sink.failNext(1, { retriable: false });
    for (let i = 0; i < 6; i++) runner.enqueue(rec(i));
    await tick(60_000);
    expect(sink.stats.writes).toBe(2);
    const m = runner.metrics();
    expect(m.failed).toBe(3);
    expect(m.failedBy).toEqual({ memory_injected_failure: 3 });
    expect(m.retried).toBe(0);
    expect(ids(sink.records)).toEqual([3, 4, 5]);
    expectBalanced(m);
  });

  it('gives up after max_attempts and counts the records failed with the last code', async () => {
    const { sink, runner } = setup({
      batch_size: 2,
      retry: { initial_backoff: 10, max_backoff: 10, max_attempts: 3 },
    });
    await runner.start();
    sink.failNext(5);
    runner.enqueue(rec(0));
    runner.enqueue(rec(1));
    await tick(1000);
    expect(sink.stats.writes).toBe(3);
    const m = runner.metrics();
    expect(m.failedBy).toEqual({ memory_injected_failure: 2 });
    expect(m.retried).toBe(4);
    expectBalanced(m);
  });

  it('records asked back for retry that run out of attempts fail as sink_retries_exhausted', async () => {
    const { sink, runner } = setup({
      batch_size: 2,
      retry: { initial_backoff: 10, max_backoff: 10, max_attempts: 2 },
    });
    await runner.start();
    sink.respondNext({ retry: [1] });
    sink.respondNext({ retry: [0] });
    runner.enqueue(rec(0));
    runner.enqueue(rec(1));
    await tick(100);
    expect(sink.attempts.map(ids)).toEqual([[0, 1], [1]]);
    const m = runner.metrics();
    expect(m.success).toBe(1);
    expect(m.failedBy).toEqual({ sink_retries_exhausted: 1 });
    expectBalanced(m);
  });

  it('counts a thrown non-SluiceError as sink_internal_error without retrying', async () => {
    const sink: Sink = {
      connect: async () => {},
      write: () => {
        throw new TypeError('bug');
      },
      close: async () => {},
    };
    const runner = createSinkRunner(
      { logger: silentLogger, now: () => Date.now() },
      sink,
      cfg({ batch_size: 2 }),
    );
    runners.push(runner);
    await runner.start();
    runner.enqueue(rec(0));
    runner.enqueue(rec(1));
    await tick(1000);
    expect(runner.metrics().failedBy).toEqual({ sink_internal_error: 2 });
  });

  it('handles per-record results: retry some, reject some, succeed the rest', async () => {
    const { sink, runner } = setup({ batch_size: 4 });
    await runner.start();
    sink.respondNext({ retry: [1], rejected: [{ index: 2, code: 'too_large', message: 'x' }] });
    for (let i = 0; i < 4; i++) runner.enqueue(rec(i));
    await tick(1000);
    expect(sink.attempts.map(ids)).toEqual([[0, 1, 2, 3], [1]]);
    expect(ids(sink.records)).toEqual([0, 3, 1]);
    const m = runner.metrics();
    expect(m.success).toBe(3);
    expect(m.failedBy).toEqual({ too_large: 1 });
    expect(m.retried).toBe(1);
    expectBalanced(m);
  });

  it('drops records the sink reports expired as dropped.expired, not failed or retried', async () => {
    const { sink, runner } = setup({ batch_size: 3 });
    await runner.start();
    sink.respondNext({ expired: [0, 2] });
    for (let i = 0; i < 3; i++) runner.enqueue(rec(i));
    await tick(1000);
    expect(sink.attempts.map(ids)).toEqual([[0, 1, 2]]);
    const m = runner.metrics();
    expect(m.success).toBe(1);
    expect(m.droppedBy).toEqual({ expired: 2 });
    expect(m.failedBy).toEqual({});
    expect(m.retried).toBe(0);
    expectBalanced(m);
  });
});

describe('reconnect', () => {
  it('reconnects after sink_not_connected and resends without using up attempts', async () => {
    const { sink, runner } = setup({
      batch_size: 5,
      retry: { initial_backoff: 100, max_backoff: 1000, max_attempts: 1 },
    });
    await runner.start();
    expect(sink.stats.connects).toBe(1);
    sink.disconnect();
    sink.failConnect(2);
    for (let i = 0; i < 5; i++) runner.enqueue(rec(i));
    await tick();
    expect(runner.status()).toBe('connecting');
    expect(runner.lastError()).toBeInstanceOf(SluiceError);
    // reconnect after 100, then connect failures back off 200, 400
    await tick(100);
    expect(sink.stats.connects).toBe(2);
    await tick(200);
    expect(sink.stats.connects).toBe(3);
    await tick(399);
    expect(sink.stats.connects).toBe(3);
    await tick(1);
    expect(sink.stats.connects).toBe(4);
    expect(runner.status()).toBe('connected');
    expect(ids(sink.records)).toEqual(range(5));
    const m = runner.metrics();
    expect(m.failed).toBe(0);
    expect(m.retried).toBe(5);
    expectBalanced(m);
  });

  it('keeps buffering while disconnected and sends in order after the reconnect', async () => {
    const { sink, runner } = setup({ batch_size: 3, linger: 5 });
    await runner.start();
    sink.disconnect();
    sink.failConnect(50);
    for (let i = 0; i < 10; i++) runner.enqueue(rec(i));
    await tick(5000);
    expect(runner.status()).toBe('connecting');
    expect(sink.records).toHaveLength(0);
    sink.failConnect(0); // let the next connect succeed
    await tick(30_000);
    expect(runner.status()).toBe('connected');
    expect(ids(sink.records).sort((a, b) => a - b)).toEqual(range(10));
    expectBalanced(runner.metrics());
  });

  it('a sink may ask for a reconnect with context.reconnect = true', async () => {
    let connects = 0;
    let fail = true;
    const written: SinkRecord[] = [];
    const sink: Sink = {
      connect: async () => {
        connects++;
      },
      write: async (b) => {
        if (fail) {
          fail = false;
          throw new SluiceError('x_conn_reset', 'reset', { context: { reconnect: true } });
        }
        written.push(...b);
      },
      close: async () => {},
    };
    const runner = createSinkRunner(
      { logger: silentLogger, now: () => Date.now(), random: () => 1 },
      sink,
      cfg({ batch_size: 1 }),
    );
    runners.push(runner);
    await runner.start();
    runner.enqueue(rec(0));
    await tick(1000);
    expect(connects).toBe(2);
    expect(ids(written)).toEqual([0]);
  });

  it('start() retries the first connect with backoff', async () => {
    const { sink, runner } = setup({
      retry: { initial_backoff: 50, max_backoff: 50, max_attempts: 0 },
    });
    sink.failConnect(3);
    let connected = false;
    void runner.start().then(() => (connected = true));
    await tick(149);
    expect(connected).toBe(false);
    await tick(1);
    expect(connected).toBe(true);
    expect(sink.stats.connects).toBe(4);
  });

  it('the first enqueue starts the runner', async () => {
    const { sink, runner } = setup({ batch_size: 1 });
    expect(runner.status()).toBe('idle');
    runner.enqueue(rec(0));
    await tick();
    expect(sink.stats.connects).toBe(1);
    expect(ids(sink.records)).toEqual([0]);
  });
});

describe('in-flight limits', () => {
  it('never has more than max_inflight batches outstanding', async () => {
    const { sink, runner } = setup({ batch_size: 10, max_inflight: 2 });
    await runner.start();
    sink.hold();
    for (let i = 0; i < 50; i++) runner.enqueue(rec(i));
    await tick(100);
    expect(sink.stats.inflight).toBe(2);
    const m = runner.metrics();
    expect(m.inflight).toBe(2);
    expect(m.inflightRecords).toBe(20);
    expect(m.queued).toBe(30);
    expectBalanced(m);
    sink.release();
    await tick(100);
    expect(sink.records).toHaveLength(50);
    expect(sink.stats.maxInflight).toBe(2);
  });

  it('a batch waiting for its retry keeps its in-flight slot', async () => {
    const { sink, runner } = setup({
      batch_size: 1,
      max_inflight: 1,
      retry: { initial_backoff: 1000, max_backoff: 1000, max_attempts: 0 },
    });
    await runner.start();
    sink.failNext(1);
    runner.enqueue(rec(0));
    runner.enqueue(rec(1));
    await tick(999);
    expect(sink.stats.writes).toBe(1);
    expect(runner.metrics().queued).toBe(1);
    await tick(1);
    await tick();
    expect(ids(sink.records)).toEqual([0, 1]);
  });

  it('keeps one batch in flight per partition, so per-key order holds', async () => {
    const seen: string[] = [];
    const inflightKeys = new Set<string>();
    let maxParallel = 0;
    let violations = 0;
    let seed = 7;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const written: SinkRecord[] = [];
    const sink: Sink = {
      connect: async () => {},
      close: async () => {},
      partitionKey: (r) => r.data['k'] as string,
      write: async (batch) => {
        const keys = new Set(batch.map((r) => r.data['k'] as string));
        expect(keys.size).toBe(1);
        const key = [...keys][0] as string;
        if (inflightKeys.has(key)) violations++;
        inflightKeys.add(key);
        maxParallel = Math.max(maxParallel, inflightKeys.size);
        seen.push(key);
        await new Promise((r) => setTimeout(r, Math.floor(rnd() * 20)));
        inflightKeys.delete(key);
        written.push(...batch);
      },
    };
    const runner = createSinkRunner(
      { logger: silentLogger, now: () => Date.now() },
      sink,
      cfg({ batch_size: 3, max_inflight: 3, linger: 1 }),
    );
    runners.push(runner);
    await runner.start();
    const keys = ['a', 'b', 'c', 'd', 'e'];
    for (let i = 0; i < 200; i++) runner.enqueue(rec(i, { k: keys[i % 5] as string }));
    await tick(5000);
    expect(written).toHaveLength(200);
    expect(violations).toBe(0);
    expect(maxParallel).toBe(3);
    for (const k of keys) {
      const order = written.filter((r) => r.data['k'] === k).map((r) => r.data['i'] as number);
      expect(order).toEqual([...order].sort((a, b) => a - b));
    }
    expectBalanced(runner.metrics());
  });
});

describe('buffer overflow', () => {
  /** Record 0 held in flight (max_inflight 1), then records 1..8 into a 5-record buffer. */
  async function filled(overflow: 'drop_oldest' | 'drop_newest' | 'block', headroom = 10) {
    const ctx = setup({
      batch_size: 100,
      linger: 1000,
      max_inflight: 1,
      buffer: { max_records: 5, overflow, headroom, low_watermark: 0.4 },
    });
    await ctx.runner.start();
    ctx.sink.hold();
    ctx.runner.enqueue(rec(0));
    ctx.runner.flush();
    const results = range(8, 1).map((i) => ctx.runner.enqueue(rec(i)));
    await tick();
    expect(ctx.sink.stats.inflight).toBe(1);
    return { ...ctx, results };
  }

  it('drop_newest refuses new records when full', async () => {
    const { sink, runner, results } = await filled('drop_newest');
    expect(results).toEqual([true, true, true, true, true, false, false, false]);
    sink.release();
    await tick();
    expect(ids(sink.records)).toEqual([0, 1, 2, 3, 4, 5]);
    const m = runner.metrics();
    expect(m.droppedBy).toEqual({ queue_full: 3 });
    expectBalanced(m);
  });

  it('drop_oldest evicts the oldest waiting records', async () => {
    const { sink, runner, results } = await filled('drop_oldest');
    expect(results.every((r) => r === true)).toBe(true);
    expect(runner.metrics().queued).toBe(5);
    sink.release();
    await tick();
    expect(ids(sink.records)).toEqual([0, 4, 5, 6, 7, 8]);
    expect(runner.metrics().droppedBy).toEqual({ queue_full: 3 });
    expectBalanced(runner.metrics());
  });

  it('block raises pressure when full, takes late records into the headroom, and lifts it below the low watermark', async () => {
    const ctx = setup({
      batch_size: 100,
      linger: 1000,
      max_inflight: 1,
      buffer: { max_records: 5, overflow: 'block', headroom: 10, low_watermark: 0.4 },
    });
    const { sink, runner } = ctx;
    await runner.start();
    const changes: boolean[] = [];
    runner.onPressure((p) => changes.push(p));
    sink.hold();
    runner.enqueue(rec(0));
    runner.flush(); // record 0 in flight, held
    const r = range(4, 1).map((i) => runner.enqueue(rec(i)));
    expect(r).toEqual([true, true, true, true]);
    expect(runner.pressured).toBe(false);
    expect(runner.enqueue(rec(5))).toBe(true); // the 5th queued record fills the buffer
    expect(runner.pressured).toBe(true);
    expect(changes).toEqual([true]);
    let writable = false;
    void runner.whenWritable().then(() => (writable = true));
    // A producer that cannot be paused at once still gets its records in (headroom).
    expect(range(3, 6).map((i) => runner.enqueue(rec(i)))).toEqual([true, true, true]);
    expect(runner.metrics()).toMatchObject({
      queued: 8,
      dropped: 0,
      pressure: true,
      pressureEvents: 1,
    });
    expectBalanced(runner.metrics());
    await tick(5000);
    expect(writable).toBe(false); // nothing moves while the sink holds the batch
    sink.release();
    await tick();
    // The full buffer went out at once (no linger); 8 records → 0 queued ≤ 40 %: pressure lifted.
    expect(runner.pressured).toBe(false);
    expect(changes).toEqual([true, false]);
    expect(writable).toBe(true);
    await tick();
    expect(ids(sink.records)).toEqual(range(9));
    expect(runner.metrics().dropped).toBe(0);
  });

  it('block drops past max_records + headroom, counted as queue_full', async () => {
    const { sink, runner, results } = await filled('block', 2);
    expect(results).toEqual([true, true, true, true, true, true, true, false]);
    expect(runner.pressured).toBe(true);
    expect(runner.metrics().droppedBy).toEqual({ queue_full: 1 });
    expectBalanced(runner.metrics());
    sink.release();
    await tick();
    expect(ids(sink.records)).toEqual(range(8));
    expect(runner.pressured).toBe(false);
  });

  it('block pressure stays up until the buffer is under the low watermark', async () => {
    const { sink, runner } = setup({
      batch_size: 2,
      linger: 1000,
      max_inflight: 1,
      buffer: { max_records: 10, overflow: 'block', headroom: 0, low_watermark: 0.5 },
    });
    await runner.start();
    sink.hold();
    for (const i of range(12)) runner.enqueue(rec(i)); // 2 in flight, 10 queued
    expect(runner.metrics().queued).toBe(10);
    expect(runner.pressured).toBe(true);
    const seen: number[] = [];
    runner.onPressure((p) => {
      if (!p) seen.push(runner.metrics().queued);
    });
    // Each released batch of 2 lets the next one out: 8, 6 queued (still above 5) … then 4.
    sink.release();
    sink.hold();
    await tick();
    expect(runner.metrics().queued).toBe(8);
    expect(runner.pressured).toBe(true);
    sink.release();
    await tick();
    expect(seen).toEqual([4]);
  });

  it('a full buffer sends its partial batches without waiting for linger', async () => {
    const { sink, runner } = setup({
      batch_size: 100,
      linger: 60_000,
      buffer: { max_records: 3, overflow: 'drop_newest' },
    });
    await runner.start();
    for (const i of range(4)) runner.enqueue(rec(i));
    await tick();
    expect(sink.batches.map(ids)).toEqual([[0, 1, 2]]);
    expect(runner.metrics().droppedBy).toEqual({ queue_full: 1 });
  });

  it('bounds the buffer by bytes too', async () => {
    const { sink, runner } = setup({
      batch_size: 100,
      linger: 100,
      buffer: { max_records: 1000, max_bytes: 100, overflow: 'drop_newest' },
    });
    await runner.start();
    const r = range(5).map((i) => runner.enqueue(rec(i, { s: 'x'.repeat(20) })));
    expect(r).toEqual([true, true, false, false, false]);
    expect(runner.metrics().queuedBytes).toBeLessThanOrEqual(100);
    await tick(100);
    expect(sink.records).toHaveLength(2);
  });

  it('drop_oldest evicts the globally oldest record across partitions', async () => {
    const { sink, runner } = setup(
      { batch_size: 100, linger: 1000, buffer: { max_records: 3, overflow: 'drop_oldest' } },
      { partition_key: '${k}' },
    );
    await runner.start();
    runner.enqueue(rec(0, { k: 'a' }));
    await tick(1);
    runner.enqueue(rec(1, { k: 'b' }));
    await tick(1);
    runner.enqueue(rec(2, { k: 'a' }));
    await tick(1);
    runner.enqueue(rec(3, { k: 'c' }));
    await tick(1000);
    expect(ids(sink.records).sort()).toEqual([1, 2, 3]);
  });
});

describe('request_ttl', () => {
  it('drops records that expired while the sink was down', async () => {
    const { sink, runner } = setup({ batch_size: 10, linger: 1, request_ttl: 1000 });
    await runner.start();
    sink.disconnect();
    sink.failConnect(3); // reconnects at ~100, 300, 700, 1500 ms
    for (let i = 0; i < 4; i++) runner.enqueue(rec(i));
    await tick(1000);
    runner.enqueue(rec(4)); // fresh: still young when the sink is back (~1500 ms)
    await tick(5000);
    expect(ids(sink.records)).toEqual([4]);
    const m = runner.metrics();
    expect(m.droppedBy).toEqual({ expired: 4 });
    expectBalanced(m);
  });

  it('expires buffered records while the sink cannot connect at all', async () => {
    const { sink, runner } = setup({
      batch_size: 10,
      linger: 1,
      request_ttl: 1000,
      retry: { initial_backoff: 100, max_backoff: 200, max_attempts: 0 },
    });
    await runner.start();
    sink.disconnect();
    sink.failConnect(1_000_000); // the sink never comes back
    for (let i = 0; i < 6; i++) runner.enqueue(rec(i));
    await tick(500);
    expect(runner.metrics().dropped).toBe(0); // younger than the ttl: still buffered
    await tick(1000);
    const m = runner.metrics();
    expect(m.droppedBy).toEqual({ expired: 6 });
    expect(m.queued + m.inflightRecords).toBe(0);
    expect(sink.records).toHaveLength(0);
    expectBalanced(m);
  });

  it('drops expired records of a batch that is being retried', async () => {
    const { sink, runner } = setup({
      batch_size: 10,
      request_ttl: 300,
      retry: { initial_backoff: 100, max_backoff: 100, max_attempts: 0 },
    });
    await runner.start();
    sink.failNext(1000);
    runner.enqueue(rec(0));
    runner.flush();
    await tick(1000);
    const m = runner.metrics();
    expect(m.droppedBy).toEqual({ expired: 1 });
    expect(m.inflight).toBe(0);
    // writes at 0, 100, 200, 300 (age 300 = ttl: still kept); at 400 it is dropped
    expect(sink.stats.writes).toBe(4);
    expectBalanced(m);
  });

  it('drops records already older than the ttl when a batch is formed', async () => {
    const { sink, runner } = setup({ batch_size: 2, request_ttl: 1000 });
    await runner.start();
    runner.enqueue({ data: { i: 0 }, ruleId: 'r', ingestTs: Date.now() - 5000 });
    runner.enqueue(rec(1));
    await tick();
    expect(ids(sink.records)).toEqual([1]);
    expect(runner.metrics().droppedBy).toEqual({ expired: 1 });
  });
});

describe('shutdown', () => {
  it('drain flushes partial batches, waits for acks and closes the sink', async () => {
    const { sink, runner } = setup({ batch_size: 10, linger: 60_000 }, { delay: 50 });
    await runner.start();
    for (let i = 0; i < 25; i++) runner.enqueue(rec(i));
    const done = runner.drain(1000);
    expect(runner.status()).toBe('draining');
    expect(runner.enqueue(rec(99))).toBe(false);
    await tick(100);
    expect(await done).toEqual({ dropped: 0 });
    expect(ids(sink.records)).toEqual(range(25));
    expect(sink.stats.closes).toBe(1);
    expect(runner.status()).toBe('stopped');
    const m = runner.metrics();
    expect(m.droppedBy).toEqual({ shutdown: 1 });
    expectBalanced(m);
    expect(await runner.drain(1000)).toEqual({ dropped: 0 });
    await runner.stop();
    expect(sink.stats.closes).toBe(1);
  });

  it('drain counts what is left at the deadline as dropped shutdown', async () => {
    const { sink, runner } = setup({ batch_size: 10, max_inflight: 1 });
    await runner.start();
    sink.hold();
    for (let i = 0; i < 25; i++) runner.enqueue(rec(i));
    const done = runner.drain(500);
    await tick(499);
    expect(runner.status()).toBe('draining');
    await tick(1);
    expect(await done).toEqual({ dropped: 25 });
    const m = runner.metrics();
    expect(m.droppedBy).toEqual({ shutdown: 25 });
    expect(m.inflight).toBe(0);
    expect(sink.stats.closes).toBe(1);
    sink.release();
    await tick();
    expectBalanced(runner.metrics());
    expect(runner.metrics().success).toBe(0); // a late ack of an abandoned batch is ignored
  });

  it('drain flushes a buffer that is under pressure and lifts the pressure', async () => {
    const { sink, runner } = setup({
      batch_size: 100,
      linger: 60_000,
      buffer: { max_records: 2, overflow: 'block' },
    });
    await runner.start();
    const r = range(4).map((i) => runner.enqueue(rec(i)));
    expect(r).toEqual([true, true, true, true]);
    expect(runner.pressured).toBe(true);
    const done = runner.drain(1000);
    await tick();
    expect(await done).toEqual({ dropped: 0 });
    expect(ids(sink.records)).toEqual(range(4));
    expect(runner.pressured).toBe(false);
  });

  it('stop drops everything at once, lifts the pressure, and is idempotent', async () => {
    const { sink, runner } = setup({
      batch_size: 100,
      linger: 60_000,
      buffer: { max_records: 2, overflow: 'block' },
    });
    await runner.start();
    range(3).map((i) => runner.enqueue(rec(i)));
    const writable = runner.whenWritable();
    await runner.stop();
    await writable;
    expect(runner.pressured).toBe(false);
    expect(runner.enqueue(rec(9))).toBe(false);
    await runner.stop();
    const m = runner.metrics();
    expect(m.droppedBy).toEqual({ shutdown: 4 });
    expect(sink.stats.closes).toBe(1);
    expectBalanced(m);
    await expect(runner.start()).rejects.toMatchObject({ code: 'shutdown' });
  });

  it('stop while the first connect is failing rejects start()', async () => {
    const { sink, runner } = setup();
    sink.failConnect(1000);
    const started = runner.start();
    await tick(1000);
    await runner.stop();
    await expect(started).rejects.toBeInstanceOf(SluiceError);
    const connects = sink.stats.connects;
    await tick(60_000);
    expect(sink.stats.connects).toBe(connects);
  });
});

describe('write deadline', () => {
  it('aborts a write that never settles, retries the batch, and ignores the late answer', async () => {
    const signals: AbortSignal[] = [];
    let calls = 0;
    const settle: (() => void)[] = [];
    const hung: Sink = {
      connect: async () => {},
      write(_batch, signal) {
        calls++;
        if (signal) signals.push(signal);
        // The first write never settles on its own; later ones succeed at once.
        if (calls === 1) return new Promise((resolve) => settle.push(() => resolve()));
        return Promise.resolve();
      },
      close: async () => {},
    };
    const runner = createSinkRunner(
      { logger: silentLogger, now: () => Date.now(), random: () => 0 },
      hung,
      cfg({ batch_size: 2, write_timeout: 1000, retry: { initial_backoff: 10 } }),
    );
    runners.push(runner);
    await runner.start();
    runner.enqueue(rec(0));
    runner.enqueue(rec(1));
    await tick(999);
    expect([calls, signals[0]!.aborted]).toEqual([1, false]);
    await tick(1);
    expect(signals[0]!.aborted).toBe(true);
    await tick(20);
    expect(calls).toBe(2);
    settle[0]!(); // the aborted write answers late: not counted twice
    await tick();
    const m = runner.metrics();
    expect([m.success, m.retried, m.inflight]).toEqual([2, 2, 0]);
    expectBalanced(m);
  });

  it('times out each of several unsettled writes exactly at its own deadline', async () => {
    const signals: AbortSignal[] = [];
    let calls = 0;
    const hung: Sink = {
      connect: async () => {},
      write(_batch, signal) {
        calls++;
        signals.push(signal as AbortSignal);
        // The first two writes (records 0 and 1) never settle; the rest succeed at once.
        return calls <= 2 ? new Promise(() => {}) : Promise.resolve();
      },
      close: async () => {},
    };
    const runner = createSinkRunner(
      { logger: silentLogger, now: () => Date.now(), random: () => 0 },
      hung,
      cfg({
        batch_size: 1,
        max_inflight: 4,
        write_timeout: 1000,
      }),
    );
    runners.push(runner);
    await runner.start();
    runner.enqueue(rec(0)); // written at t = 0
    await tick(400);
    runner.enqueue(rec(1)); // written at t = 400
    await tick(100);
    runner.enqueue(rec(2)); // written at t = 500, settles at once
    await tick(499); // t = 999
    expect(signals.map((s) => s.aborted)).toEqual([false, false, false]);
    await tick(1); // t = 1000
    expect(signals.map((s) => s.aborted)).toEqual([true, false, false]);
    await tick(399); // t = 1399
    expect(signals[1]!.aborted).toBe(false);
    await tick(1); // t = 1400
    expect(signals[1]!.aborted).toBe(true);
    await tick(100); // both retried (immediately: random 0 gives no back-off) and written
    const m = runner.metrics();
    expect([calls, m.success, m.retried, m.inflightRecords]).toEqual([5, 3, 2, 0]);
    expectBalanced(m);
  });

  it('arms one deadline timer for a run of writes, not one per write', async () => {
    let scheduled = 0;
    const counting: SchedulerLike = {
      now: () => asyncScheduler.now(),
      schedule: ((work: () => void, delay?: number) => {
        scheduled++;
        return asyncScheduler.schedule(work, delay);
      }) as SchedulerLike['schedule'],
    };
    const sink = createMemorySink({});
    const runner = createSinkRunner(
      { logger: silentLogger, now: () => Date.now(), scheduler: counting },
      sink,
      cfg({ batch_size: 1, linger: 0, write_timeout: 30_000, health: { stall_after: 0 } }),
    );
    runners.push(runner);
    await runner.start();
    for (let i = 0; i < 200; i++) {
      runner.enqueue(rec(i));
      await tick(1);
    }
    expect(sink.records).toHaveLength(200);
    expect(scheduled).toBeLessThanOrEqual(2);
    // The timer outliving the last write fires once and finds nothing to time out.
    await tick(30_000);
    expect(runner.metrics().success).toBe(200);
    expect(runner.metrics().retried).toBe(0);
  });

  it('write_timeout 0 waits as long as the write takes', async () => {
    const { sink, runner } = setup({ batch_size: 1, write_timeout: 0 });
    await runner.start();
    sink.hold();
    runner.enqueue(rec(0));
    await tick(3_600_000);
    expect(runner.metrics().inflight).toBe(1);
    sink.release();
    await tick();
    expect(runner.metrics().success).toBe(1);
  });
});

describe('metrics', () => {
  it('records ingest→ack latency', async () => {
    const { runner } = setup({ batch_size: 1 }, { delay: 40 });
    await runner.start();
    for (let i = 0; i < 10; i++) runner.enqueue({ ...rec(i), ingestTs: Date.now() - 10 });
    await tick(1000);
    const l = runner.metrics().latency;
    expect(l.count).toBe(10);
    expect(l.p50).toBeGreaterThanOrEqual(50);
    expect(l.p50).toBeLessThanOrEqual(54);
    expect(l.max).toBeGreaterThanOrEqual(50);
  });

  it('sinkNotConnected makes a retriable coded error', () => {
    const e = sinkNotConnected('down');
    expect(e.code).toBe('sink_not_connected');
    expect(e.retriable).toBe(true);
  });
});

describe('non-retriable connect errors', () => {
  it('mark the runner failed: no more attempts, queued and new records fail with the code', async () => {
    let connects = 0;
    const broken: Sink = {
      connect: async () => {
        connects++;
        throw new SluiceError('addon_missing', 'the native addon is not installed', {
          retriable: false,
        });
      },
      write: async () => {},
      close: async () => {},
    };
    const runner = createSinkRunner(
      { logger: silentLogger, now: () => Date.now(), random: () => 0 },
      broken,
      cfg({ batch_size: 100, linger: 1000 }),
    );
    runners.push(runner);
    expect(runner.enqueue(rec(0))).toBe(true); // queued while the first connect runs
    await tick();
    await expect(runner.start()).rejects.toMatchObject({ code: 'addon_missing' });
    expect(runner.status()).toBe('failed');
    expect(runner.enqueue(rec(1))).toBe(false);
    await tick(600_000);
    expect(connects).toBe(1);
    const m = runner.metrics();
    expect(m).toMatchObject({
      status: 'failed',
      failed: 2,
      failedBy: { addon_missing: 2 },
      queued: 0,
      lastError: { code: 'addon_missing' },
    });
    expectBalanced(m);
    expect(await runner.drain(100)).toEqual({ dropped: 0 });
  });

  it('retriable connect errors keep retrying', async () => {
    const { sink, runner } = setup();
    sink.failConnect(3);
    const started = runner.start();
    await tick(10_000);
    await started;
    expect(runner.status()).toBe('connected');
    expect(sink.stats.connects).toBeGreaterThanOrEqual(4);
  });
});
