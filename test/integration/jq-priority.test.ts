/**
 * A rule's looping jq program must not take CPU from the event loop (issue #19: "a jq program
 * that loops costs its own worker, not everyone's latency"). The runner's non-blocking worker
 * runs at nice 19 (jq-runner.ts `JQ_WORKER_NICE`). Two child processes, each pinned to one CPU
 * with the main thread busy while the worker loops: at nice 19 the main thread gets nearly all
 * of the CPU; at nice 0 (the process's own priority, as before) the two share it — which shows
 * the test tells the two apart. Linux only (/proc, taskset).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));

interface Result {
  mainMs: number;
  workerMs: number;
  workerNice: number;
}

function run(nice: number): Promise<Result> {
  return new Promise((resolve, reject) => {
    const proc = spawn(
      'taskset',
      [
        '-c',
        '0',
        process.execPath,
        '--import',
        'tsx',
        join(here, 'jq-priority-child.ts'),
        String(nice),
      ],
      { cwd: join(here, '..', '..'), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    proc.stdout.on('data', (b: Buffer) => (out += b.toString()));
    proc.stderr.on('data', (b: Buffer) => (err += b.toString()));
    proc.on('error', reject);
    proc.on('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{'))
        reject(new Error(`child (nice ${nice}) exited ${code}: ${out}\n${err}`));
      else resolve(JSON.parse(line) as Result);
    });
  });
}

describe.runIf(process.platform === 'linux' && existsSync('/usr/bin/taskset'))(
  'the jq worker runs at the lowest CPU priority',
  () => {
    it('a looping program leaves the event loop its CPU at nice 19, not at nice 0', async () => {
      // One after the other: both pinned to CPU 0, they would compete with each other.
      const low = await run(19);
      const same = await run(0);
      console.log(`nice 19: ${JSON.stringify(low)}; nice 0: ${JSON.stringify(same)}`);
      expect(low.workerNice).toBe(19);
      expect(same.workerNice).toBe(0);
      // Weights 15 vs 1024 (nice 19 vs 0): the worker gets ~1.5 % of what the main thread gets.
      // Other processes on CPU 0 (a loaded CI machine) shrink both alike, not the ratio.
      expect(low.mainMs).toBeGreaterThan(0);
      expect(low.workerMs).toBeLessThan(0.2 * low.mainMs);
      // Equal weights: about half each.
      expect(same.workerMs).toBeGreaterThan(0.5 * same.mainMs);
    });
  },
);
