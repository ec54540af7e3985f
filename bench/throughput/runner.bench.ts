/**
 * Sink runner overhead: records/s through createSinkRunner → memory sink, compared with
 * handing the same batches to the sink directly. Target: ≥ 1M records/s with batch 500, so the
 * runner is never the bottleneck for sinks that do ~100k records/s.
 *
 * Fixed inputs: 1 000 distinct rule outputs `{id, temp, clientid, part}` reused round-robin; each
 * enqueue allocates one SinkRecord (as the engine does). The producer enqueues in chunks of
 * 1 000 and yields to the event loop between chunks (events arrive from I/O callbacks).
 *
 *   npx tsx bench/throughput/runner.bench.ts [records=3000000]
 *
 * Disk buffer (issue #12): the cost of `buffer.mode: disk` per `buffer.fsync` policy at 10k,
 * 100k and 1M records (records carry an event context with a 64-byte payload, as the engine's
 * do), against the memory buffer with the same records. Buffer directory: $BENCH_DIR or the OS
 * temp dir (say which disk it is on when recording figures).
 *
 *   npx tsx bench/throughput/runner.bench.ts disk [max records=1000000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { silentLogger } from '../../src/core/index.js';
import type { SinkRecord, ValueMap } from '../../src/core/index.js';
import { createMemorySink } from '../../src/sinks/memory/index.js';
import type { MemorySinkConfig } from '../../src/sinks/memory/index.js';
import { createSinkRunner, RUNNER_DEFAULTS } from '../../src/sinks/runner/index.js';
import type { RunnerConfig } from '../../src/sinks/runner/index.js';

const DISK = process.argv[2] === 'disk';
let N = Number((DISK ? undefined : process.argv[2]) ?? 3_000_000);
const CHUNK = 1000;
const outputs: ValueMap[] = Array.from({ length: 1000 }, (_, i) => ({
  id: i,
  temp: 20 + (i % 17) / 10,
  clientid: `dev-${i % 64}`,
  part: i % 8,
}));
const yieldLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

interface Result {
  name: string;
  records: number;
  seconds: number;
  perSec: number;
  nsPerRecord: number;
  p50?: number;
  p99?: number;
}

async function direct(): Promise<Result> {
  const sink = createMemorySink({ measure: false });
  await sink.connect();
  const t0 = performance.now();
  let batch: SinkRecord[] = [];
  for (let i = 0; i < N; i++) {
    batch.push({ data: outputs[i % 1000] as ValueMap, ruleId: 'bench', ingestTs: Date.now() });
    if (batch.length === 500) {
      await sink.write(batch);
      batch = [];
      if (sink.records.length > 100_000) sink.reset();
    }
  }
  if (batch.length) await sink.write(batch);
  const s = (performance.now() - t0) / 1000;
  return { name: 'direct sink.write, batches of 500 (baseline)', ...rate(N, s) };
}

function rate(records: number, seconds: number) {
  return {
    records,
    seconds,
    perSec: records / seconds,
    nsPerRecord: (seconds * 1e9) / records,
  };
}

async function viaRunner(
  name: string,
  cfg: Partial<RunnerConfig>,
  sinkCfg: MemorySinkConfig = { measure: false },
  buffer: Partial<RunnerConfig['buffer']> = {},
  context?: ValueMap,
): Promise<Result> {
  const sink = createMemorySink(sinkCfg);
  const runner = createSinkRunner({ logger: silentLogger, now: Date.now, name: 'bench' }, sink, {
    ...RUNNER_DEFAULTS,
    request_ttl: 0,
    ...cfg,
    buffer: { ...RUNNER_DEFAULTS.buffer, overflow: 'block', ...buffer },
  });
  await runner.start();
  const t0 = performance.now();
  for (let i = 0; i < N;) {
    const now = Date.now();
    for (const end = Math.min(N, i + CHUNK); i < end; i++) {
      if (runner.pressured) await runner.whenWritable();
      const ok = runner.enqueue({
        data: outputs[i % 1000] as ValueMap,
        ruleId: 'bench',
        ingestTs: now,
        ...(context ? { context } : {}),
      });
      if (!ok) throw new Error('record not admitted');
    }
    if (sink.records.length > 100_000) sink.reset();
    await yieldLoop();
  }
  const { dropped } = await runner.drain(60_000);
  const s = (performance.now() - t0) / 1000;
  const m = runner.metrics();
  if (dropped !== 0 || m.success !== N)
    throw new Error(`lost records: success=${m.success} dropped=${m.dropped}`);
  return { name, ...rate(N, s), p50: m.latency.p50, p99: m.latency.p99 };
}

const results: Result[] = [];
if (DISK) await diskMatrix();
else {
  results.push(await direct());
  results.push(await viaRunner('runner, batch 500, linger 5ms, no sizeOf', { batch_size: 500 }));
  results.push(await viaRunner('runner, batch 500, linger 0', { batch_size: 500, linger: 0 }));
  results.push(
    await viaRunner(
      'runner, batch 500, with sizeOf (JSON length per record)',
      { batch_size: 500 },
      { measure: true },
    ),
  );
  results.push(
    await viaRunner(
      'runner, batch 500, 8 partitions (partitionKey template), max_inflight 8',
      { batch_size: 500, max_inflight: 8 },
      { measure: false, partition_key: 'p${part}' },
    ),
  );
  results.push(
    await viaRunner(
      'runner, batch 500, 1000 partitions, max_inflight 8',
      { batch_size: 500, max_inflight: 8 },
      { measure: false, partition_key: 'p${id}' },
    ),
  );
  results.push(await viaRunner('runner, batch 100, linger 5ms', { batch_size: 100 }));
}

/** The disk buffer per fsync policy and size, against the memory buffer with the same records. */
async function diskMatrix(): Promise<void> {
  const max = Number(process.argv[3] ?? 1_000_000);
  const context: ValueMap = {
    clientid: 'dev-1',
    topic: 't/dev-1/temp',
    qos: 1,
    payload: Buffer.alloc(64, 0x61),
  };
  const base = process.env['BENCH_DIR'] ?? tmpdir();
  for (const n of [10_000, 100_000, 1_000_000].filter((x) => x <= max)) {
    N = n;
    results.push(
      await viaRunner(`${n} records, memory buffer`, { batch_size: 500 }, undefined, {}, context),
    );
    for (const fsync of ['never', 'interval', 'always'] as const) {
      if (fsync === 'always' && n > 100_000) continue; // one fsync per record: see RESULTS.md
      const dir = mkdtempSync(join(base, 'sluice-bench-'));
      try {
        results.push(
          await viaRunner(
            `${n} records, disk buffer, fsync ${fsync}`,
            { batch_size: 500 },
            undefined,
            { mode: 'disk', dir, fsync, max_records: 2_000_000, max_bytes: 4 * 1024 ** 3 },
            context,
          ),
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
}

if (!DISK) console.log(`records per scenario: ${N}`);
console.log('| scenario | records/s | ns/record | ingest→ack p50 / p99 (ms) |');
console.log('| --- | ---: | ---: | --- |');
for (const r of results)
  console.log(
    `| ${r.name} | ${Math.round(r.perSec).toLocaleString('en-US')} | ${r.nsPerRecord.toFixed(0)} | ${
      r.p50 === undefined ? '—' : `${r.p50.toFixed(1)} / ${r.p99?.toFixed(1)}`
    } |`,
  );
