/**
 * Fallback actions (`onGiveUp`), the rate-limited `sink_records_given_up` warning, and stall
 * detection (`health.stall_after`), issue #12 items 3 and 4. Timers run on vitest fake timers
 * (the runner's default scheduler), except where a VirtualTimeScheduler is injected.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SluiceError } from '../../core/index.js';
import type { Logger, SinkRecord } from '../../core/index.js';
import { createMemorySink } from '../memory/index.js';
import { createSinkRunner, RUNNER_DEFAULTS } from './index.js';
import type { RunnerConfig, RunnerDefaults, RunnerMetrics, SinkRunner } from './index.js';

function cfg(o: RunnerDefaults = {}): RunnerConfig {
  return {
    ...RUNNER_DEFAULTS,
    ...o,
    buffer: { ...RUNNER_DEFAULTS.buffer, ...o.buffer },
    retry: { ...RUNNER_DEFAULTS.retry, ...o.retry },
  };
}

interface Line {
  level: string;
  obj: Record<string, unknown>;
  msg: string | undefined;
}
function collectingLogger(lines: Line[]): Logger {
  const at =
    (level: string) =>
    (obj: object, msg?: string): void => {
      lines.push({ level, obj: obj as Record<string, unknown>, msg });
    };
  const l: Logger = {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: () => l,
  };
  return l;
}

const rec = (i: number, ingestTs = Date.now()): SinkRecord => ({
  data: { i },
  ruleId: 'r1',
  ingestTs,
});
const ids = (records: readonly SinkRecord[]): number[] => records.map((r) => r.data['i'] as number);
const tick = (ms = 0): Promise<void> => vi.advanceTimersByTimeAsync(ms).then(() => undefined);

function expectBalanced(m: RunnerMetrics): void {
  expect(m.matched).toBe(m.queued + m.inflightRecords + m.success + m.failed + m.dropped);
}

interface GivenUp {
  ids: number[];
  reason: string;
}

let runners: SinkRunner[] = [];
function setup(o: RunnerDefaults = {}, withFallback = true) {
  const sink = createMemorySink();
  const given: GivenUp[] = [];
  const lines: Line[] = [];
  const runner = createSinkRunner(
    {
      logger: collectingLogger(lines),
      now: () => Date.now(),
      random: () => 1,
      ...(withFallback
        ? {
            onGiveUp: (rs: readonly SinkRecord[], reason: string) =>
              given.push({ ids: ids(rs), reason }),
          }
        : {}),
    },
    sink,
    cfg(o),
  );
  runners.push(runner);
  return { sink, runner, given, lines };
}

/** Reason → ids handed over, in order. */
function byReason(given: GivenUp[]): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const g of given) (out[g.reason] ??= []).push(...g.ids);
  return out;
}

beforeEach(() => {
  vi.useFakeTimers();
  runners = [];
});
afterEach(async () => {
  for (const r of runners) await r.stop();
  vi.useRealTimers();
});

describe('fallback actions (onGiveUp)', () => {
  it('hands records evicted by drop_oldest and refused by drop_newest to the fallback', async () => {
    for (const overflow of ['drop_oldest', 'drop_newest'] as const) {
      const { sink, runner, given } = setup({
        batch_size: 100,
        linger: 1000,
        max_inflight: 1,
        buffer: { max_records: 3, overflow },
      });
      await runner.start();
      sink.hold();
      runner.enqueue(rec(0));
      runner.flush();
      for (let i = 1; i <= 6; i++) runner.enqueue(rec(i));
      expect(byReason(given)).toEqual({
        queue_full: overflow === 'drop_oldest' ? [1, 2, 3] : [4, 5, 6],
      });
      const m = runner.metrics();
      expect(m.droppedBy).toEqual({ queue_full: 3 });
      expect(m.fallback).toBe(3);
      sink.release();
      await tick();
      expectBalanced(runner.metrics());
    }
  });

  it('hands a batch failed with a non-retriable error over with its code', async () => {
    const { sink, runner, given } = setup({ batch_size: 3 });
    await runner.start();
    sink.failNext(1, { retriable: false });
    for (let i = 0; i < 3; i++) runner.enqueue(rec(i));
    await tick();
    expect(given).toEqual([{ ids: [0, 1, 2], reason: 'memory_injected_failure' }]);
    expect(runner.metrics().failedBy).toEqual({ memory_injected_failure: 3 });
  });

  it('hands records over when retries are exhausted, and per-record rejections', async () => {
    const { sink, runner, given } = setup({
      batch_size: 2,
      retry: { initial_backoff: 10, max_backoff: 10, max_attempts: 2 },
    });
    await runner.start();
    sink.failNext(2);
    runner.enqueue(rec(0));
    runner.enqueue(rec(1));
    await tick(50);
    expect(given).toEqual([{ ids: [0, 1], reason: 'memory_injected_failure' }]);
    sink.respondNext({ rejected: [{ index: 1, code: 'bad_record', message: 'no' }] });
    runner.enqueue(rec(2));
    runner.enqueue(rec(3));
    await tick();
    expect(given[1]).toEqual({ ids: [3], reason: 'bad_record' });
    expect(ids(sink.records)).toEqual([2]);
    expectBalanced(runner.metrics());
  });

  it('hands expired records over: at take, on resend and while disconnected', async () => {
    const { sink, runner, given } = setup({
      batch_size: 100,
      linger: 0,
      request_ttl: 1000,
      retry: { initial_backoff: 2000, max_backoff: 2000, max_attempts: 0 },
    });
    await runner.start();
    // Taken after the TTL: record 0 entered 5 s ago.
    runner.enqueue(rec(0, Date.now() - 5000));
    await tick();
    // On resend: record 1 fails once and its retry comes after the TTL.
    sink.failNext(1);
    runner.enqueue(rec(1));
    await tick(2000);
    // While disconnected: queued record 2 expires at a failed connect attempt.
    sink.failConnect(100);
    sink.disconnect();
    runner.enqueue(rec(2));
    await tick(5000);
    expect(byReason(given)).toEqual({ expired: [0, 1, 2] });
    expect(runner.metrics().droppedBy).toEqual({ expired: 3 });
    expectBalanced(runner.metrics());
  });

  it('hands queued and in-flight records of a memory buffer over at shutdown', async () => {
    const { sink, runner, given } = setup({ batch_size: 2, linger: 1000, max_inflight: 1 });
    await runner.start();
    sink.hold();
    for (let i = 0; i < 5; i++) runner.enqueue(rec(i));
    await tick();
    await runner.stop();
    runner.enqueue(rec(9));
    expect(byReason(given)).toEqual({ shutdown: [2, 3, 4, 0, 1, 9] });
    expect(runner.metrics().droppedBy).toEqual({ shutdown: 6 });
  });

  it('reads expired records back from a disk buffer for the fallback', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sluice-fallback-'));
    try {
      const { runner, given } = setup({
        linger: 0,
        request_ttl: 1000,
        buffer: { mode: 'disk', dir, fsync: 'never' },
      });
      // Not started: records wait on disk until the connect; record 0 is past the TTL by then.
      runner.enqueue(rec(0, Date.now() - 5000));
      runner.enqueue(rec(1));
      await tick(10);
      expect(byReason(given)).toEqual({ expired: [0] });
      expect(runner.metrics().success).toBe(1);
      await runner.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('logs and survives a fallback callback that throws', async () => {
    const sink = createMemorySink();
    const lines: Line[] = [];
    const runner = createSinkRunner(
      {
        logger: collectingLogger(lines),
        now: () => Date.now(),
        onGiveUp: () => {
          throw new Error('boom');
        },
      },
      sink,
      cfg({ buffer: { max_records: 1, overflow: 'drop_newest' }, linger: 1000 }),
    );
    runners.push(runner);
    expect(runner.enqueue(rec(0))).toBe(true);
    expect(runner.enqueue(rec(1))).toBe(false);
    expect(lines.filter((l) => l.obj['code'] === 'sink_internal_error')).toHaveLength(1);
    await tick(1000);
    expect(ids(sink.records)).toEqual([0]);
  });
});

describe('give-ups without fallback actions', () => {
  it('are logged at warn with a code, at most once per reason every 10 s, with the counts', async () => {
    const { sink, runner, lines } = setup(
      { buffer: { max_records: 1, overflow: 'drop_newest' }, linger: 60_000 },
      false,
    );
    sink.hold();
    const warns = () =>
      lines
        .filter((l) => l.level === 'warn' && l.obj['code'] === 'sink_records_given_up')
        .map((l) => [l.obj['reason'], l.obj['records']]);
    runner.enqueue(rec(0));
    runner.enqueue(rec(1)); // first give-up: logged at once
    expect(warns()).toEqual([['queue_full', 1]]);
    for (let i = 2; i < 6; i++) runner.enqueue(rec(i));
    await tick(9_999);
    expect(warns()).toEqual([['queue_full', 1]]);
    await tick(1);
    expect(warns()).toEqual([
      ['queue_full', 1],
      ['queue_full', 4],
    ]);
    expect(runner.metrics().droppedBy).toEqual({ queue_full: 5 });
    expect(runner.metrics().fallback).toBe(0);
    expect(runner.metrics().inflightRecords).toBe(1);
    await runner.stop(); // the held record: logged at shutdown, not left pending
    expect(warns()).toContainEqual(['shutdown', 1]);
  });
});

describe('stall detection (health.stall_after)', () => {
  it('reports stalled while in-flight writes get no ack, connected again after one', async () => {
    const { sink, runner, lines } = setup({
      linger: 0,
      write_timeout: 0,
      health: { stall_after: 1000 },
    });
    await runner.start();
    await tick(60_000); // idle time is not a stall
    sink.hold();
    runner.enqueue(rec(0));
    await tick(999);
    expect(runner.status()).toBe('connected');
    await tick(1);
    expect(runner.status()).toBe('stalled');
    expect(runner.metrics()).toMatchObject({ status: 'stalled', stalls: 1 });
    expect(lines.filter((l) => l.obj['code'] === 'sink_stalled')).toHaveLength(1);
    await tick(5000); // still stalled: counted and logged once
    expect(runner.metrics().stalls).toBe(1);
    sink.release();
    await tick();
    expect(runner.status()).toBe('connected');
    expect(ids(sink.records)).toEqual([0]);
  });

  it('watches batches resumed after a reconnect that took longer than stall_after', async () => {
    const { sink, runner } = setup({
      linger: 0,
      write_timeout: 0,
      request_ttl: 0,
      retry: { initial_backoff: 100, max_backoff: 10_000, max_attempts: 0 },
      health: { stall_after: 1000 },
    });
    await runner.start();
    sink.disconnect();
    sink.failConnect(4); // four failed connects with backoff 100, 200, 400, 800 ms
    runner.enqueue(rec(0));
    await tick();
    sink.hold(); // the write resumed after the reconnect will hang
    let waited = 0;
    while (runner.status() !== 'connected' && waited < 20_000) {
      await tick(100);
      waited += 100;
    }
    expect(waited).toBeGreaterThan(1000); // the first stall check ran while disconnected
    expect(sink.stats.inflight).toBe(1);
    await tick(1100);
    expect(runner.status()).toBe('stalled');
    sink.release();
    await tick();
    expect(ids(sink.records)).toEqual([0]);
  });

  it('counts failing writes as no progress, and can be switched off', async () => {
    const failing = {
      connect: () => Promise.resolve(),
      write: () => Promise.reject(new SluiceError('remote_busy', 'busy', { retriable: true })),
      close: () => Promise.resolve(),
    };
    for (const stallAfter of [500, 0]) {
      const runner = createSinkRunner(
        { logger: collectingLogger([]), now: () => Date.now(), random: () => 1 },
        failing,
        cfg({
          linger: 0,
          write_timeout: 0,
          retry: { initial_backoff: 100, max_backoff: 100, max_attempts: 0 },
          request_ttl: 0,
          health: { stall_after: stallAfter },
        }),
      );
      runners.push(runner);
      await runner.start();
      runner.enqueue(rec(0));
      await tick(1000);
      expect(runner.metrics().retried).toBeGreaterThan(5);
      expect(runner.status()).toBe(stallAfter > 0 ? 'stalled' : 'connected');
      await runner.stop();
    }
  });
});
