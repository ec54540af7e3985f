/**
 * Memory reclaim when idle (decision 0023, src/engine/memory-reclaim.ts), in child processes
 * (RSS is per process): after 100,000 subscriptions on one connection and its close, RSS comes
 * back under 1.3 × its pre-flood value within 30 s with `memory_reclaim` on — without a forced
 * GC — and stays above that with it off (V8 keeps the freed pages pooled), which shows the test
 * tells the two apart. Both children run at once to keep the file under a minute.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));

interface ChildResult {
  mode: string;
  granted: number;
  before: number;
  peak: number;
  maxAfter: number;
  after: number;
  elapsedMs: number;
  reclaims: Record<string, number>;
  reclaimedBytes: number;
  lastPauseMs: number;
}

function run(mode: 'on' | 'off', watchMs: number): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn(
      process.execPath,
      ['--import', 'tsx', join(here, 'memory-reclaim-child.ts'), mode, String(watchMs)],
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
        reject(new Error(`child ${mode} exited ${code}: ${out}\n${err}`));
      else resolve(JSON.parse(line) as ChildResult);
    });
  });
}

const MB = 1024 * 1024;

describe('memory reclaim after a 100k-subscription flood', () => {
  it('RSS comes back near its pre-flood value with memory_reclaim on, not with it off', async () => {
    const [on, off] = await Promise.all([run('on', 30_000), run('off', 20_000)]);
    const show = (r: ChildResult) =>
      `${r.mode}: before ${(r.before / MB).toFixed(0)} MB, peak ${(r.peak / MB).toFixed(0)}, after ${(r.after / MB).toFixed(0)} at ${r.elapsedMs} ms, reclaims ${JSON.stringify(r.reclaims)}, pause ${r.lastPauseMs.toFixed(1)} ms`;
    console.log(show(on));
    console.log(show(off));
    // The flood happened and grew the process in both.
    expect(on.granted).toBe(100_000);
    expect(off.granted).toBe(100_000);
    expect(on.peak).toBeGreaterThan(1.5 * on.before);
    expect(off.peak).toBeGreaterThan(1.5 * off.before);
    // On: one completed reclaim brought RSS under 1.3 × the pre-flood value within 30 s.
    expect(on.after).toBeLessThan(1.3 * on.before);
    expect(on.reclaims['done']).toBe(1);
    expect(on.reclaimedBytes).toBeGreaterThan(64 * MB);
    // Off: after 20 s idle the pages are still pooled.
    expect(off.after).toBeGreaterThan(1.3 * off.before);
    expect(Object.values(off.reclaims).reduce((a, b) => a + b, 0)).toBe(0);
  });
});
