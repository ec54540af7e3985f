/**
 * Child process of disk-buffer-crash.test.ts: a disk-buffered runner in front of a sink that
 * connects and then never finishes a write (stalled). It enqueues sequence-numbered records
 * forever, in chunks, and after each chunk prints `acc <seq> <seq> …` for the records whose
 * `enqueue` returned true. The test kills it with SIGKILL.
 *
 *   node --import tsx test/integration/disk-buffer-child.ts <dir> <fsync>
 */
import { silentLogger } from '../../src/core/index.js';
import type { Sink, SinkRecord } from '../../src/core/index.js';
import { createSinkRunner, RUNNER_DEFAULTS } from '../../src/sinks/runner/index.js';
import type { RunnerConfig } from '../../src/sinks/runner/index.js';

const [dir, fsync] = process.argv.slice(2) as [string, RunnerConfig['buffer']['fsync']];
const stalled: Sink = {
  connect: async () => {},
  write: () => new Promise(() => {}),
  close: async () => {},
  partitionKey: (r: SinkRecord) => String(r.data['key']),
};
const runner = createSinkRunner({ logger: silentLogger, now: Date.now, name: 'crash' }, stalled, {
  ...RUNNER_DEFAULTS,
  request_ttl: 0,
  write_timeout: 0,
  batch_size: 50,
  max_inflight: 4,
  buffer: {
    ...RUNNER_DEFAULTS.buffer,
    mode: 'disk',
    dir,
    segment_bytes: 256 * 1024,
    fsync,
    max_records: 1_000_000,
    overflow: 'drop_newest',
  },
});
await runner.start();
let seq = 0;
const tick = (): void => {
  const acc: number[] = [];
  for (let i = 0; i < 200; i++) {
    const s = seq++;
    const rec: SinkRecord = {
      data: { seq: s, key: `k${s % 5}`, body: 'x'.repeat(s % 50) },
      ruleId: 'crash',
      ingestTs: Date.now(),
      context: { clientid: `c${s % 5}`, payload: Buffer.from(String(s)) },
    };
    if (runner.enqueue(rec)) acc.push(s);
  }
  process.stdout.write(`acc ${acc.join(' ')}\n`);
  setImmediate(tick);
};
tick();
