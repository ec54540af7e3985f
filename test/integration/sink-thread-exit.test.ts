/**
 * A sink thread that dies (`thread_exit`, issue #12 item 3): the records the main thread
 * enqueued and the thread had not yet taken go to the fallback actions with reason
 * `thread_exit`; all lost records are counted dropped `thread_exit`. The thread here dies at
 * start-up (an unknown sink type makes the worker's top level throw), before it takes any.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/index.js';
import type { SinkRecord } from '../../src/core/index.js';
import { createThreadedRunner } from '../../src/engine/sink-thread.js';
import { RUNNER_DEFAULTS } from '../../src/sinks/runner/index.js';
import type { SinkRunner } from '../../src/sinks/runner/index.js';

const rec = (i: number): SinkRecord => ({
  data: { i },
  ruleId: 'r',
  ingestTs: Date.now(),
  context: { clientid: 'c', seq: i },
});

async function waitFor(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

let runner: SinkRunner | undefined;
afterEach(async () => {
  await runner?.stop();
  runner = undefined;
});

describe('sink thread exit', () => {
  it('hands the records in transit to the fallback actions (thread_exit) and counts them', async () => {
    const given: { reason: string; records: SinkRecord[] }[] = [];
    runner = createThreadedRunner(
      silentLogger,
      'crashy',
      'no_such_type',
      {},
      { ...RUNNER_DEFAULTS, thread: 'worker' },
      (records, reason) => given.push({ reason, records: [...records] }),
    );
    for (let i = 0; i < 5; i++) expect(runner.enqueue(rec(i))).toBe(true);
    await waitFor(() => runner!.status() === 'failed', 'the thread to die');
    expect(given.map((g) => g.reason)).toEqual(['thread_exit']);
    expect(given[0]!.records.map((r) => r.data['i'])).toEqual([0, 1, 2, 3, 4]);
    // The originals, context included (fallback templates may read any column).
    expect(given[0]!.records[2]!.context).toEqual({ clientid: 'c', seq: 2 });
    const m = runner.metrics();
    expect(m.droppedBy['thread_exit']).toBe(5);
    expect(runner.enqueue(rec(5))).toBe(false);
  });

  it('without fallback actions the lost records are only counted', async () => {
    runner = createThreadedRunner(
      silentLogger,
      'crashy',
      'no_such_type',
      {},
      {
        ...RUNNER_DEFAULTS,
        thread: 'worker',
      },
    );
    for (let i = 0; i < 3; i++) runner.enqueue(rec(i));
    await waitFor(() => runner!.status() === 'failed', 'the thread to die');
    expect(runner.metrics().droppedBy['thread_exit']).toBe(3);
  });
});
