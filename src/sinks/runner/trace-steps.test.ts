/**
 * The sink runner's trace steps (docs/api.md "Traces"): a record with `record.trace` gets
 * buffered → send_attempt (one per settled write, with the error of a failed one) → ack, or
 * drop with the reason it is counted under; untraced records in the same batch record nothing.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { silentLogger } from '../../core/index.js';
import type { MessageTrace, SinkRecord } from '../../core/index.js';
import { createMemorySink } from '../memory/index.js';
import { createSinkRunner, RUNNER_DEFAULTS } from './index.js';
import type { RunnerConfig, RunnerDefaults, SinkRunner } from './index.js';

function cfg(o: RunnerDefaults = {}): RunnerConfig {
  return {
    ...RUNNER_DEFAULTS,
    ...o,
    buffer: { ...RUNNER_DEFAULTS.buffer, ...o.buffer },
    retry: { ...RUNNER_DEFAULTS.retry, ...o.retry },
  };
}

type Seen = [string, string | undefined, Record<string, unknown>];

function traced(i: number, seen: Seen[]): SinkRecord {
  const trace: MessageTrace = { step: (step, action, detail) => seen.push([step, action, detail]) };
  return { data: { i }, ruleId: 'r', ingestTs: Date.now(), trace };
}
const plain = (i: number): SinkRecord => ({ data: { i }, ruleId: 'r', ingestTs: Date.now() });

let runners: SinkRunner[] = [];
beforeEach(() => {
  vi.useFakeTimers();
  runners = [];
});
afterEach(async () => {
  for (const r of runners) await r.stop();
  vi.useRealTimers();
});

function setup(o: RunnerDefaults = {}) {
  const sink = createMemorySink({});
  const runner = createSinkRunner(
    { logger: silentLogger, now: () => Date.now(), random: () => 1, name: 'mem' },
    sink,
    cfg(o),
  );
  runners.push(runner);
  return { sink, runner };
}

describe('traced records in the sink runner', () => {
  it('records buffered, each settled attempt with its error, then ack', async () => {
    const { sink, runner } = setup({
      batch_size: 10,
      linger: 0,
      retry: { initial_backoff: 100, max_backoff: 100, max_attempts: 5 },
    });
    await runner.start();
    sink.failNext(1);
    const seen: Seen[] = [];
    runner.enqueue(plain(0));
    runner.enqueue(traced(1, seen));
    await vi.advanceTimersByTimeAsync(0);
    await vi.advanceTimersByTimeAsync(100);
    expect(sink.records).toHaveLength(2);
    expect(seen.map(([s, a, d]) => [s, a, s === 'ack' ? Object.keys(d) : d])).toEqual([
      ['buffered', 'mem', { queued: 2, mode: 'memory' }],
      [
        'send_attempt',
        'mem',
        { attempt: 1, error: 'memory_injected_failure: injected write failure' },
      ],
      ['send_attempt', 'mem', { attempt: 2 }],
      ['ack', 'mem', ['latency_ms']],
    ]);
  });

  it('records the drop of a record refused by a full buffer, and of one failed for good', async () => {
    const { sink, runner } = setup({
      batch_size: 1,
      linger: 0,
      max_inflight: 1,
      buffer: { max_records: 1, overflow: 'drop_newest' },
    });
    await runner.start();
    sink.failNext(1, { retriable: false });
    const a: Seen[] = [];
    const b: Seen[] = [];
    const c: Seen[] = [];
    // batch_size 1: a goes in flight at once, b waits in the one-record buffer, c finds it full.
    runner.enqueue(traced(1, a));
    runner.enqueue(traced(2, b));
    runner.enqueue(traced(3, c));
    await vi.advanceTimersByTimeAsync(0);
    expect(a.map(([s, , d]) => [s, d])).toEqual([
      ['buffered', { queued: 1, mode: 'memory' }],
      ['send_attempt', { attempt: 1, error: 'memory_injected_failure: injected write failure' }],
      ['drop', { reason: 'memory_injected_failure', counted: 'failed' }],
    ]);
    expect(b.map(([s]) => s)).toEqual(['buffered', 'send_attempt', 'ack']);
    expect(c.map(([s, , d]) => [s, d])).toEqual([
      ['drop', { reason: 'queue_full', counted: 'dropped' }],
    ]);
    expect(runner.metrics()).toMatchObject({ success: 1, failed: 1, dropped: 1 });
  });

  it('records the expiry of a traced record (request_ttl)', async () => {
    const { runner } = setup({ batch_size: 1, linger: 0, request_ttl: 50 });
    const seen: Seen[] = [];
    const r = { ...traced(1, seen), ingestTs: Date.now() - 1000 };
    runner.enqueue(r);
    await runner.start();
    await vi.advanceTimersByTimeAsync(10);
    expect(seen.map(([s, , d]) => [s, d])).toEqual([
      ['buffered', { queued: 1, mode: 'memory' }],
      ['drop', { reason: 'expired', counted: 'dropped' }],
    ]);
  });
});
