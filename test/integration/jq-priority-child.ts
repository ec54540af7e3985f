/**
 * Child of jq-priority.test.ts, pinned to one CPU by the test (`taskset -c 0`): starts a jq
 * program that loops (`def f: f; f`, 10 s timeout) in the runner's non-blocking worker at the
 * given nice value, then keeps the main thread busy for 1 s and reports the CPU time the main
 * thread and the worker got meanwhile (Linux /proc), and the worker thread's nice value.
 *
 *   node --import tsx test/integration/jq-priority-child.ts <nice>
 *   → one JSON line { mainMs, workerMs, workerNice }
 */
import { createJqRunner } from '../../src/runtime/functions/jq-runner.js';
import { threadStats } from './thread-stats.js';

const nice = Number(process.argv[2]);
const runner = createJqRunner({ asyncNice: nice });

// Threads before the runner starts its worker (tsx's module-loader thread is a WorkerThread too).
const preexisting = new Set(threadStats().keys());
// Warm the worker (the WebAssembly loads), then let the program loop.
await runner.runAsync('.', '1', 30_000);
const looping = runner.runAsync('def f: f; f', '1', 10_000).catch(() => undefined);
await new Promise((r) => setTimeout(r, 300));

const before = threadStats();
const end = performance.now() + 1000;
let x = 0;
while (performance.now() < end) x += Math.sqrt(x + 1); // main thread: busy, allocation-free
const after = threadStats();

// The event loop's thread, and the threads the runner started (Node names worker_threads
// `WorkerThread`): V8's helpers (`V8Worker`, GC) and tsx's loader thread are left out.
let mainMs = 0;
let workerMs = 0;
const workerNices = new Set<number>();
for (const [tid, a] of after) {
  const d = a.ms - (before.get(tid)?.ms ?? a.ms);
  if (tid === process.pid) mainMs = d;
  else if (a.name === 'WorkerThread' && !preexisting.has(tid)) {
    workerMs += d;
    workerNices.add(a.nice);
  }
}
const workerNice = workerNices.size === 1 ? [...workerNices][0]! : NaN;
process.stdout.write(`${JSON.stringify({ mainMs, workerMs, workerNice, x: x > 0 })}\n`);
await runner.close();
await looping;
process.exit(0);
