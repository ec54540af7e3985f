/**
 * Fault kinds over the hstreamdb sink (issue #12 item 5), one short deterministic scenario
 * each, so CI guards what bench/faults/ measures at length. The stand-in server (a TEST DOUBLE
 * of the HStreamDB wire protocol) runs as a child process with a persistence file, behind the
 * loopback fault proxy (test/fault-proxy.ts; `follow_lookups: false` keeps every append on the
 * proxied connection). Sequence-numbered records (key + seq) are enqueued before, during and
 * after the fault; then the stream is read back from the server directly and every scenario
 * asserts: nothing accepted is missing, duplicates are bounded by what can be in flight when
 * the fault hits (max_inflight × batch_size per fault), first deliveries are in order per key,
 * and the runner's books balance. Nothing here depends on wall-clock thresholds beyond generous
 * deadlines: the fault lasts "long enough" (a second or two), and recovery is waited for.
 *
 * The Sluice-killed scenario runs the runner (disk buffer) in a child process
 * (hstream-fault-child.ts), SIGKILLs it mid-stream and starts a runner on the same directory.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { startFaultProxy, type FaultProxy } from '../fault-proxy.js';
import { createPipeline, readStream, record, uniqueStream } from '../hstream-server/helpers.js';
import { spawnStandIn, type StandInProcess } from '../hstream-server/process.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'sluice-hstream-faults-'));
const persist = join(dir, 'store.jsonl');
let server: StandInProcess;
let proxy: FaultProxy;
const stoppers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  server = await spawnStandIn(['--port', '0', '--persist', persist]);
  proxy = await startFaultProxy(server.port);
});
afterEach(async () => {
  for (const s of stoppers.splice(0)) await s();
  proxy.heal();
  proxy.latencyMs = 0;
  proxy.bytesPerSecond = 0;
  if (server.child.signalCode === 'SIGSTOP' || server.child.exitCode === null)
    server.child.kill('SIGCONT');
});
afterAll(async () => {
  await proxy.close();
  await server.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function waitFor(cond: () => boolean, what: string, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const BATCH = 20;
const INFLIGHT = 4;
/** Duplicates one fault can cause: every batch in flight stored but its ack lost, sent again. */
const DUP_BOUND = BATCH * INFLIGHT;
const KEYS = 6;

function pipeline(stream: string, buffer: Record<string, unknown> = { mode: 'memory' }) {
  return createPipeline(
    {
      url: `hstream://127.0.0.1:${proxy.port}`,
      stream,
      partition_key: '${key}',
      follow_lookups: false,
      auto_create: { enable: true, shard_count: 2 },
      append_timeout: '3s',
      grpc_timeout: '3s',
    },
    {
      batch_size: BATCH,
      linger: 2,
      max_inflight: INFLIGHT,
      retry: { initial_backoff: 20, max_backoff: 200 },
      request_ttl: 0,
      health: { stall_after: 300 },
      buffer: buffer['mode'] === 'memory' ? buffer : { dir: join(dir, `buf-${stream}`), ...buffer },
    },
  );
}

interface Verdict {
  delivered: number;
  missing: number[];
  duplicates: number;
}

/** Read the stream back (from the server, not through the proxy) and judge it. */
async function judge(stream: string, accepted: readonly number[]): Promise<Verdict> {
  const got = await readStream(`hstream://127.0.0.1:${server.port}`, stream);
  const seqs = got.map((r) => (JSON.parse(r.payload.toString('utf8')) as { seq: number }).seq);
  const seen = new Set(seqs);
  const byKey = new Map<string, number[]>();
  for (const s of seqs) byKey.set(`k${s % KEYS}`, [...(byKey.get(`k${s % KEYS}`) ?? []), s]);
  for (const [, list] of byKey) {
    const firsts = list.filter((s, i) => list.indexOf(s) === i);
    expect(firsts).toEqual([...firsts].sort((a, b) => a - b));
  }
  return {
    delivered: seqs.length,
    missing: accepted.filter((s) => !seen.has(s)),
    duplicates: seqs.length - seen.size,
  };
}

/**
 * Enqueue `total` records in three phases around `fault` (which returns once the fault is
 * over), wait until the runner has every record acknowledged, and judge the stream.
 */
async function scenario(
  name: string,
  fault: () => Promise<void>,
  buffer?: Record<string, unknown>,
): Promise<Verdict & { stalls: number }> {
  const stream = uniqueStream(name);
  const { runner } = pipeline(stream, buffer);
  stoppers.push(() => runner.stop());
  await runner.start();
  const accepted: number[] = [];
  let seq = 0;
  const feed = async (n: number, every: number, ms: number): Promise<void> => {
    for (let i = 0; i < n; i++, seq++) {
      if (runner.enqueue(record({ key: `k${seq % KEYS}`, seq }))) accepted.push(seq);
      if (i % every === every - 1) await sleep(ms);
    }
  };
  await feed(100, 10, 2);
  // Records keep arriving for a second or more, so the fault hits batches in flight.
  const during = feed(100, 2, 20);
  await fault();
  await during;
  await feed(100, 10, 2);
  await waitFor(() => runner.metrics().success >= accepted.length, `${name}: every record acked`);
  const m = runner.metrics();
  expect(m.matched).toBe(m.queued + m.inflightRecords + m.success + m.failed + m.dropped);
  expect(m.failed + m.dropped).toBe(0);
  const v = await judge(stream, accepted);
  console.log(
    `${name}: accepted ${accepted.length}, delivered ${v.delivered}, missing ${v.missing.length}, ` +
      `duplicates ${v.duplicates}, retried ${m.retried}, stalls ${m.stalls}`,
  );
  expect(accepted.length).toBe(300);
  expect(v.missing).toEqual([]);
  expect(v.duplicates).toBeLessThanOrEqual(DUP_BOUND);
  return { ...v, stalls: m.stalls };
}

describe('hstreamdb sink under faults: nothing accepted is lost', () => {
  it('remote killed (SIGKILL) and started again after a pause', async () => {
    await scenario('killed', async () => {
      await sleep(50);
      await server.kill('SIGKILL');
      await sleep(1000);
      server = await spawnStandIn(['--port', String(server.port), '--persist', persist]);
    });
  });

  it('remote restarted (SIGTERM, started again at once)', async () => {
    await scenario('restarted', async () => {
      await sleep(50);
      await server.kill('SIGTERM');
      server = await spawnStandIn(['--port', String(server.port), '--persist', persist]);
    });
  });

  it('remote stopped (SIGSTOP) then continued: reported stalled, then recovers', async () => {
    const v = await scenario('stopped', async () => {
      await sleep(50);
      server.child.kill('SIGSTOP');
      await sleep(1500);
      server.child.kill('SIGCONT');
    });
    // 1.5 s without an acknowledgement while appends were in flight, stall_after 300 ms.
    expect(v.stalls).toBeGreaterThanOrEqual(1);
  });

  it('network slowed (latency and a bandwidth cap through the proxy)', async () => {
    await scenario('slowed', async () => {
      proxy.latencyMs = 100;
      proxy.bytesPerSecond = 16 * 1024;
      await sleep(1500);
      proxy.latencyMs = 0;
      proxy.bytesPerSecond = 0;
    });
  });

  it('network partitioned (black hole, no reset) then healed: reported stalled', async () => {
    const v = await scenario('partitioned', async () => {
      await sleep(50);
      proxy.partition();
      await sleep(1500);
      proxy.heal();
    });
    expect(v.stalls).toBeGreaterThanOrEqual(1);
  });

  it('remote killed with a disk buffer, and with a hybrid buffer that spills', async () => {
    const kill = async () => {
      await sleep(50);
      await server.kill('SIGKILL');
      await sleep(500);
      server = await spawnStandIn(['--port', String(server.port), '--persist', persist]);
    };
    await scenario('killed_disk', kill, { mode: 'disk', fsync: 'never' });
    await scenario('killed_hybrid', kill, { mode: 'hybrid', memory_records: 20, fsync: 'never' });
  });
});

describe('Sluice killed (SIGKILL) mid-stream with a disk buffer', () => {
  it('a restarted runner delivers every record the killed one accepted', async () => {
    const stream = uniqueStream('sluice_killed');
    const bufDir = join(dir, 'killed-buffer');
    // A slow link (each append ~100 ms round trip) so a backlog builds up in the disk buffer.
    proxy.latencyMs = 50;
    const accepted = await new Promise<number[]>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          join(here, 'hstream-fault-child.ts'),
          String(proxy.port),
          stream,
          bufDir,
        ],
        { cwd: root, env: { ...process.env, NODE_OPTIONS: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const acc: number[] = [];
      let carry = '';
      let stderr = '';
      let killed = false;
      child.stdout.on('data', (d: Buffer) => {
        carry += d.toString();
        const lines = carry.split('\n');
        carry = lines.pop() ?? '';
        for (const l of lines)
          if (l.startsWith('acc ')) for (const s of l.slice(4).split(' ')) if (s) acc.push(+s);
        // Kill with some records acknowledged by the remote and more still buffered.
        if (!killed && acc.length >= 1500) {
          killed = true;
          child.kill('SIGKILL');
        }
      });
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', (code, signal) =>
        signal === 'SIGKILL' ? resolve(acc) : reject(new Error(`child ended (${code}): ${stderr}`)),
      );
    });
    expect(accepted.length).toBeGreaterThanOrEqual(1500);
    proxy.latencyMs = 0;
    const { runner } = pipeline(stream, { mode: 'disk', dir: bufDir });
    stoppers.push(() => runner.stop());
    await runner.start();
    const replayed = runner.metrics().replayed;
    await waitFor(() => runner.metrics().success >= replayed, 'the replayed records acked');
    const v = await judge(stream, accepted);
    console.log(
      `sluice killed: accepted ${accepted.length}, replayed ${replayed}, delivered ${v.delivered}, ` +
        `missing ${v.missing.length}, duplicates ${v.duplicates}`,
    );
    expect(v.missing).toEqual([]);
    expect(v.duplicates).toBeLessThanOrEqual(DUP_BOUND);
  });
});
