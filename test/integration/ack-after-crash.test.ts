/**
 * Acknowledge after durable hand-off, end to end (issue #12 item 2): an engine in a child
 * process (ack-after-child.ts) holds each QoS 1 PUBACK until the record is in its disk buffer
 * (`ack_after: buffered`); a real MQTT.js publisher sends sequence-numbered messages; the child
 * is SIGKILLed mid-stream. An engine started on the same buffer directory then delivers every
 * sequence number that was PUBACKed. Run for fsync `interval` (the ack waits for the fsync)
 * and `never` (written to the file before the ack; a process kill loses no page cache).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
let dir = '';
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Child {
  proc: ChildProcess;
  port: number;
  got: number[];
  replayed: number;
  exited: Promise<void>;
}

function startChild(bufferDir: string, fsync: string, mode: 'hold' | 'deliver'): Promise<Child> {
  return new Promise((resolve, reject) => {
    const proc = spawn(
      process.execPath,
      ['--import', 'tsx', join(here, 'ack-after-child.ts'), bufferDir, fsync, mode],
      { cwd: root, env: { ...process.env, NODE_OPTIONS: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(proc);
    const c: Child = {
      proc,
      port: 0,
      got: [],
      replayed: -1,
      exited: new Promise((r) => proc.once('exit', () => r())),
    };
    let pending = '';
    let stderr = '';
    proc.stdout!.on('data', (d: Buffer) => {
      pending += d.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const l of lines) {
        if (l.startsWith('READY ')) {
          c.port = Number(l.slice(6));
          resolve(c);
        } else if (l.startsWith('GOT ')) c.got = JSON.parse(l.slice(4)) as number[];
        else if (l.startsWith('REPLAYED ')) c.replayed = Number(l.slice(9));
      }
    });
    proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    proc.once('exit', (code) => {
      if (c.port === 0) reject(new Error(`child exited early (${code}): ${stderr}`));
    });
  });
}

async function waitFor(cond: () => boolean, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('ack_after buffered survives SIGKILL', () => {
  it.each(['interval', 'never'])(
    'fsync %s: every PUBACKed sequence number is delivered after the restart',
    async (fsync) => {
      dir = mkdtempSync(join(tmpdir(), 'sluice-ack-crash-'));
      const first = await startChild(dir, fsync, 'hold');
      const pub = await mqtt.connectAsync(`mqtt://127.0.0.1:${first.port}`, {
        clientId: 'crash-pub',
        reconnectPeriod: 0,
      });
      const acked = new Set<number>();
      let sent = 0;
      let stop = false;
      pub.on('error', () => {});
      // Keep up to 100 PUBLISHes unacknowledged, like a client's inflight window.
      const pump = (): void => {
        while (!stop && sent - acked.size < 100) {
          const seq = sent++;
          pub.publish('crash/t', JSON.stringify({ seq }), { qos: 1 }, (err) => {
            if (!err) acked.add(seq);
            if (!err) setImmediate(pump);
          });
        }
      };
      pump();
      await waitFor(() => acked.size >= 500, '500 PUBACKs');
      first.proc.kill('SIGKILL');
      stop = true;
      await first.exited;
      const ackedAtKill = new Set(acked);
      await pub.endAsync(true);
      expect(sent).toBeGreaterThan(ackedAtKill.size); // some were in flight at the kill

      const second = await startChild(dir, fsync, 'deliver');
      await waitFor(() => second.replayed >= 0, 'the restarted engine to report');
      expect(second.replayed).toBeGreaterThanOrEqual(ackedAtKill.size);
      await waitFor(
        () => second.got.length >= second.replayed,
        'the replayed records to be written',
      );
      const delivered = new Set(second.got);
      const lost = [...ackedAtKill].filter((s) => !delivered.has(s));
      expect(lost).toEqual([]);
      second.proc.kill('SIGTERM');
      await second.exited;
    },
  );
});
