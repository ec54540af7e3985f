/**
 * Crash test of the disk buffer (issue #12): a child process feeds a disk-buffered runner whose
 * sink is stalled, reports which records `enqueue` accepted, and is killed with SIGKILL mid-
 * stream. A runner started on the same directory then delivers every record the child reported
 * accepted at least once (duplicates counted: delivery is at-least-once), in order per key.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/index.js';
import { createMemorySink } from '../../src/sinks/memory/index.js';
import { createSinkRunner, RUNNER_DEFAULTS } from '../../src/sinks/runner/index.js';
import type { RunnerConfig } from '../../src/sinks/runner/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
let dir = '';
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Run the child until it reported `atLeast` accepted records, then SIGKILL it. */
function runAndKill(bufferDir: string, fsync: string, atLeast: number): Promise<Set<number>> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(here, 'disk-buffer-child.ts'), bufferDir, fsync],
      { cwd: root, env: { ...process.env, NODE_OPTIONS: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const accepted = new Set<number>();
    let pending = '';
    let stderr = '';
    let killed = false;
    child.stdout.on('data', (d: Buffer) => {
      pending += d.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.startsWith('acc')) continue;
        for (const s of line.slice(4).split(' ')) if (s) accepted.add(Number(s));
      }
      if (!killed && accepted.size >= atLeast) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`child ended on its own (${code}): ${stderr}`));
      else resolve(accepted);
    });
  });
}

async function replay(
  bufferDir: string,
): Promise<{ seqs: number[]; byKey: Map<string, number[]>; replayed: number }> {
  const sink = createMemorySink({ partition_key: '${key}' });
  const cfg: RunnerConfig = {
    ...RUNNER_DEFAULTS,
    request_ttl: 0,
    buffer: { ...RUNNER_DEFAULTS.buffer, mode: 'disk', dir: bufferDir, max_records: 1_000_000 },
  };
  const runner = createSinkRunner({ logger: silentLogger, now: Date.now }, sink, cfg);
  const replayed = runner.metrics().replayed;
  await runner.start();
  const deadline = Date.now() + 60_000;
  while (runner.metrics().success < replayed && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 20));
  const m = runner.metrics();
  expect(m.success).toBe(replayed);
  expect(m.matched).toBe(m.queued + m.inflightRecords + m.success + m.failed + m.dropped);
  await runner.drain(5000);
  const seqs = sink.records.map((r) => r.data['seq'] as number);
  const byKey = new Map<string, number[]>();
  for (const r of sink.records) {
    const k = String(r.data['key']);
    byKey.set(k, [...(byKey.get(k) ?? []), r.data['seq'] as number]);
  }
  return { seqs, byKey, replayed };
}

describe('disk buffer survives SIGKILL', () => {
  for (const fsync of ['never', 'interval']) {
    it(`fsync ${fsync}: every accepted record is delivered after the restart, in order per key`, async () => {
      dir = mkdtempSync(join(tmpdir(), 'sluice-crash-'));
      const bufferDir = join(dir, 'buf');
      const accepted = await runAndKill(bufferDir, fsync, 20_000);
      expect(accepted.size).toBeGreaterThanOrEqual(20_000);
      const { seqs, byKey, replayed } = await replay(bufferDir);
      const delivered = new Set(seqs);
      const missing = [...accepted].filter((s) => !delivered.has(s));
      const duplicates = seqs.length - delivered.size;
      console.log(
        `fsync ${fsync}: accepted ${accepted.size}, replayed ${replayed}, delivered ${seqs.length}, ` +
          `missing ${missing.length}, duplicates ${duplicates}`,
      );
      expect(missing).toEqual([]);
      // Order per key: each key's first deliveries are increasing.
      for (const [, list] of byKey) {
        const firsts = list.filter((s, i) => list.indexOf(s) === i);
        expect(firsts).toEqual([...firsts].sort((a, b) => a - b));
      }
      // A second start finds nothing left: every delivered record was acknowledged.
      const again = await replay(bufferDir);
      expect(again.replayed).toBe(0);
    });
  }
});
