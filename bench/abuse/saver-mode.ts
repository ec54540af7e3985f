/**
 * Does `--no-memory-saver-mode` at run time undo `--memory-saver-mode` (decision 0023)? An engine
 * (memory_reclaim off: this script drives the flag itself) is flooded with 100,000 subscriptions
 * (test/integration/memory-reclaim-flooder.ts, its own process), the flooder closes, then per mode:
 *
 *   fresh       no flood at all: the workload on a heap that never grew (the normal growth)
 *   none        nothing: V8 keeps the pages pooled
 *   saver       saver mode on; off again once V8 did two major GCs (what memory_reclaim does)
 *   saver-stay  saver mode on and left on
 *
 * then a synchronous allocation workload (3 M small objects, 100,000 kept at a time) is timed
 * and its GCs counted, twice: with `saver` it must cost what it costs with `fresh` (heap growth back to
 * normal: the heap regrows from its reduced size as a fresh process's does); `none` runs on the
 * pooled, already grown heap; `saver-stay` shows what saver mode costs under load.
 *
 *   npx tsx bench/abuse/saver-mode.ts fresh|none|saver|saver-stay
 */
import { fork } from 'node:child_process';
import path from 'node:path';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';

import { silentLogger } from '../../src/core/index.js';
import { createEngine } from '../../src/engine/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const mode = process.argv[2] ?? 'saver';
const engine = createEngine(
  {
    broker: {
      listeners: {
        tcp: { type: 'tcp', bind: '127.0.0.1', port: 0, max_subscriptions: 100_000 },
      },
    },
    api: { enabled: false },
    memory_reclaim: { enabled: false },
    sinks: { sink: { type: 'memory', linger: 0 } },
    rules: [{ id: 'r', sql: 'SELECT payload FROM "probe/in"', actions: ['sink'] }],
  },
  { logger: silentLogger },
);
const [addr] = await engine.start();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mb = (b: number) => (b / 1048576).toFixed(0);
const t0 = Date.now();
const log = (l: string) => {
  const m = process.memoryUsage();
  console.log(
    `${((Date.now() - t0) / 1000).toFixed(1)} s ${l}: rss ${mb(m.rss)} MB, heap used ${mb(m.heapUsed)}, total ${mb(m.heapTotal)}`,
  );
};
let gcs: { t: number; kind: number; ms: number }[] = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries())
    gcs.push({
      t: (Date.now() - t0) / 1000,
      kind: (e as { detail?: { kind?: number } }).detail?.kind ?? 0,
      ms: e.duration,
    });
}).observe({ entryTypes: ['gc'] });
await sleep(1000);
log('baseline');
if (mode !== 'fresh') {
  const flooder = fork(
    path.join(here, '../../test/integration/memory-reclaim-flooder.ts'),
    [String(addr!.port)],
    {
      execArgv: ['--import', 'tsx'],
    },
  );
  await new Promise((r) => flooder.once('message', r));
  log('subscribed');
  flooder.send('close');
}
await sleep(2000);
log('closed');
gcs = [];
if (mode === 'saver' || mode === 'saver-stay') v8.setFlagsFromString('--memory-saver-mode');
let off = false;
for (let i = 0; i < 20; i++) {
  await sleep(1000);
  const majors = gcs.filter((g) => g.kind === constants.NODE_PERFORMANCE_GC_MAJOR).length;
  if (mode === 'saver' && !off && majors >= 2) {
    v8.setFlagsFromString('--no-memory-saver-mode');
    off = true;
    log('saver mode off');
  }
}
log('idle 20 s');
const major = (g: { kind: number }) => g.kind === constants.NODE_PERFORMANCE_GC_MAJOR;
console.log(
  'major GCs while idle:',
  gcs
    .filter(major)
    .map((g) => `${g.t.toFixed(1)} s ${g.ms.toFixed(1)} ms`)
    .join(', ') || 'none',
);
for (const pass of [1, 2]) {
  gcs = [];
  const keep: object[] = [];
  const a = performance.now();
  for (let i = 0; i < 3_000_000; i++) {
    const o = { a: i, b: 'x' + i, c: [i] };
    if (i % 10 === 0) keep.push(o);
    if (keep.length > 100_000) keep.length = 0;
  }
  const ms = performance.now() - a;
  await sleep(300); // GC entries are delivered asynchronously
  console.log(
    `${mode}: workload pass ${pass} ${ms.toFixed(0)} ms, scavenges ${gcs.filter((g) => g.kind === constants.NODE_PERFORMANCE_GC_MINOR).length}, major GCs ${gcs.filter(major).length}`,
  );
}
log('after workload');
await engine.stop({ drainMs: 10 });
process.exit(0);
