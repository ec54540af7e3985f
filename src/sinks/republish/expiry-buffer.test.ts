/**
 * Message expiry counts down inside the sink buffer (issue #13 item 4): a republish sink whose
 * publish stalls, records from PUBLISHes with a Message-Expiry-Interval waiting behind it in a
 * memory, disk or hybrid buffer. The one whose 1 s expiry ran out is dropped as `expired` (counted
 * and handed to the fallback), the other is republished with the interval that remains.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../core/index.js';
import type { SinkRecord } from '../../core/index.js';
import { createSinkRunner, RUNNER_DEFAULTS } from '../runner/index.js';
import type { RunnerConfig } from '../runner/index.js';
import { createRepublishSink } from './index.js';
import type { RepublishMessage } from './index.js';

const tick = (ms = 0): Promise<void> => vi.advanceTimersByTimeAsync(ms).then(() => undefined);

const rec = (i: number, mei: number): SinkRecord => ({
  data: { i },
  ruleId: 'r1',
  ingestTs: Date.now(),
  context: {
    clientid: 'dev',
    qos: 1,
    flags: { retain: false },
    pub_props: { 'Message-Expiry-Interval': mei, 'User-Property': { n: String(i) } },
  },
});

let dir: string;
beforeEach(() => {
  vi.useFakeTimers();
  dir = mkdtempSync(path.join(tmpdir(), 'sluice-repub-expiry-'));
});
afterEach(() => {
  vi.useRealTimers();
  rmSync(dir, { recursive: true, force: true });
});

describe.each(['memory', 'disk', 'hybrid'] as const)('%s buffer', (mode) => {
  it('drops the record whose message expired while waiting; forwards what remains of the other', async () => {
    const sent: RepublishMessage[] = [];
    let release!: () => void;
    let first = true;
    const publish = async (m: RepublishMessage): Promise<void> => {
      if (first) {
        first = false;
        await new Promise<void>((res) => (release = res)); // the stalled publish
      }
      sent.push(m);
    };
    const sink = createRepublishSink(
      { logger: silentLogger, now: () => Date.now() },
      {
        topic: 'out/${i}',
        mqtt_properties: { 'Message-Expiry-Interval': "${pub_props.'Message-Expiry-Interval'}" },
      },
      publish,
    );
    const given: { reason: string; ids: unknown[] }[] = [];
    const config: RunnerConfig = {
      ...RUNNER_DEFAULTS,
      batch_size: 1,
      linger: 0,
      max_inflight: 1,
      buffer: {
        ...RUNNER_DEFAULTS.buffer,
        mode,
        dir,
        fsync: 'never',
        ...(mode === 'hybrid' ? { memory_records: 1 } : {}),
      },
    };
    const runner = createSinkRunner(
      {
        logger: silentLogger,
        now: () => Date.now(),
        onGiveUp: (rs, reason) => given.push({ reason, ids: rs.map((r) => r.data['i']) }),
      },
      sink,
      config,
    );
    await runner.start();
    runner.enqueue(rec(0, 0));
    await tick(1);
    runner.enqueue(rec(1, 1)); // 1 s expiry
    runner.enqueue(rec(2, 60));
    runner.enqueue(rec(3, 5));
    await tick(1500);
    expect(sent).toHaveLength(0);
    release();
    await tick(10);
    const m = runner.metrics();
    expect(m.droppedBy).toEqual({ expired: 1 });
    expect(given).toEqual([{ reason: 'expired', ids: [1] }]);
    expect(m.success).toBe(3);
    expect(m.matched).toBe(m.queued + m.inflightRecords + m.success + m.failed + m.dropped);
    expect(sent.map((s) => [s.topic, s.properties?.messageExpiryInterval])).toEqual([
      ['out/0', 0],
      ['out/2', 59],
      ['out/3', 4],
    ]);
    // The context came through the buffer (for disk: the record codec) whole.
    expect(sent[1]?.properties?.userProperties).toEqual({ n: '2' });
    await runner.stop();
  });
});
