/**
 * Fault-injection suite (issue #12 item 5; not a timed test). For each sink × buffer mode ×
 * fault: QoS 1 publishers (publisher.ts, sequence-numbered payloads) → Sluice in a child
 * process (sluice-child.ts: embedded broker → one rule → the sink) → the remote (remotes.ts,
 * behind the loopback fault proxy). The fault starts after `--warm` seconds and lasts
 * `--fault` seconds; publishing goes on for `--post` seconds after it, then the suite waits
 * for the sink to finish, stops Sluice (drain) and reads the stream/topic back.
 *
 *   npx tsx bench/faults/faults.ts [--sinks hstreamdb,kafka] [--modes memory,disk,hybrid]
 *       [--faults killed,stopped,slowed,partitioned,restarted,sluice_killed]
 *       [--rate 2000] [--warm 3] [--fault 5] [--post 5] [--qos 1,2]
 *       [--ack-after receipt,buffered,remote] [--fsync interval|always|never]
 *
 * Faults: `killed` — the remote SIGKILLed, started again after the fault time; `stopped` —
 * SIGSTOP, SIGCONT after it; `slowed` — the proxy adds 200 ms latency each way and caps each
 * direction at 64 KiB/s; `partitioned` — the proxy black-holes both directions (no RST);
 * `restarted` — graceful stop and start at once (the fault time is not used); `sluice_killed`
 * — Sluice SIGKILLed, started again on the same data directory after 1 s, once per `--qos`
 * level (the remote faults use QoS 1: Sluice stays up, so the QoS level changes nothing
 * after the broker took the message); `sluice_killed_backlog` — the same while the remote is
 * partitioned (a backlog waits in the buffer when Sluice dies; the partition heals half the
 * fault time after the restart).
 *
 * Per scenario (one JSON line, then a markdown table): published (PUBLISHes sent), acked
 * (PUBACKs received), delivered (records in the remote, duplicates included), lost (acked but
 * not delivered — must be 0 in the durable modes, see below), lost_unacked (published, never
 * acked, not delivered: the publisher was told nothing), duplicates, recovery_s (fault end →
 * the sink's `success` reaches the `matched` it had at the fault end, i.e. the backlog is
 * written; for sluice_killed from the restart, with the replayed records), stalls, dropped,
 * peak RSS of the Sluice process.
 *
 * With the listener's `ack_after: receipt` (the default) the embedded broker writes a QoS 1
 * PUBACK before the message reaches the rules (a QoS 2 PUBREC only after it was routed), so in
 * `sluice_killed` a QoS 1 message can be acknowledged and die before it is in the disk buffer;
 * the suite measures that window rather than hiding it. `--ack-after buffered` (or `remote`)
 * runs every scenario with that listener mode too (issue #12 item 2, decision 0012): the
 * PUBACK then waits until the record is in the buffer (durable per `--fsync`) or written to
 * the remote. The `ack` column names the mode.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { startPublisher } from './publisher.js';
import { hstreamRemote, kafkaRemote, type Remote } from './remotes.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : def;
}
const SINKS = arg('sinks', 'hstreamdb,kafka').split(',');
const MODES = arg('modes', 'memory,disk,hybrid').split(',');
const FAULTS = arg(
  'faults',
  'killed,stopped,slowed,partitioned,restarted,sluice_killed,sluice_killed_backlog',
).split(',');
const RATE = Number(arg('rate', '2000'));
/** QoS levels for `sluice_killed` (remote faults do not depend on it: Sluice stays up). */
const QOS = arg('qos', '1,2').split(',').map(Number) as (1 | 2)[];
const WARM_MS = Number(arg('warm', '3')) * 1000;
const FAULT_MS = Number(arg('fault', '5')) * 1000;
const POST_MS = Number(arg('post', '5')) * 1000;
/** Listener ack_after modes to run each scenario with. */
const ACKS = arg('ack-after', 'receipt').split(',');
/** The buffer's fsync policy (disk and hybrid). */
const FSYNC = arg('fsync', 'interval');
const CHILD = fileURLToPath(new URL('./sluice-child.ts', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (m: string) => console.error(`[faults] ${m}`);

interface SinkSample {
  matched: number;
  success: number;
  queued: number;
  inflightRecords: number;
  dropped: number;
  failed: number;
  stalls: number;
  replayed: number;
}
interface Sample {
  t: number;
  rss: number;
  sink: SinkSample;
}

/** A running Sluice child: its latest metrics sample and peak RSS. */
interface Sluice {
  child: ChildProcess;
  port: number;
  last: Sample | undefined;
  peakRss: number;
  exited: Promise<void>;
}

function startSluice(configFile: string, peak = 0): Promise<Sluice> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, configFile], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const s: Sluice = {
      child,
      port: 0,
      last: undefined,
      peakRss: peak,
      exited: new Promise((r) => child.once('exit', () => r())),
    };
    let carry = '';
    child.stdout!.on('data', (d: Buffer) => {
      carry += d.toString();
      const lines = carry.split('\n');
      carry = lines.pop() ?? '';
      for (const l of lines) {
        if (l.startsWith('READY ')) {
          s.port = Number(l.slice(6));
          resolve(s);
        } else if (l.startsWith('M ')) {
          const m = JSON.parse(l.slice(2)) as Sample;
          s.last = m;
          s.peakRss = Math.max(s.peakRss, m.rss);
        }
      }
    });
    child.once('exit', (code, signal) => {
      if (s.port === 0) reject(new Error(`sluice child exited early (${code ?? signal})`));
    });
  });
}

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

interface Result {
  sink: string;
  mode: string;
  ack: string;
  fault: string;
  qos: number;
  published: number;
  acked: number;
  delivered: number;
  lost: number;
  lost_unacked: number;
  duplicates: number;
  recovery_s: number | null;
  stalls: number;
  dropped: number;
  peak_rss_mb: number;
}

async function scenario(
  remote: Remote,
  mode: string,
  ack: string,
  fault: string,
  qos: 1 | 2,
): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-faults-'));
  const configFile = join(dir, 'config.json');
  const sink = await remote.sinkConfig();
  const writeConfig = (port: number) =>
    writeFileSync(
      configFile,
      JSON.stringify({
        broker: {
          listeners: { tcp: { type: 'tcp', bind: '127.0.0.1', port, ack_after: ack } },
        },
        sinks: {
          out: {
            ...sink,
            batch_size: 200,
            linger: '5ms',
            max_inflight: 4,
            data_dir: join(dir, 'data'),
            buffer: {
              mode,
              fsync: FSYNC,
              memory_records: 2000,
              max_records: 200_000,
            },
            // A few seconds of outage: nothing here should expire.
            request_ttl: '120s',
            health: { stall_after: '2s' },
          },
        },
        rules: [
          {
            id: 'faults',
            sql: 'SELECT payload.key AS key, payload.seq AS seq FROM "fault/#"',
            actions: ['out'],
          },
        ],
      }),
    );
  writeConfig(0);
  let sluice = await startSluice(configFile);
  writeConfig(sluice.port); // a restart listens on the same port
  const pub = startPublisher(sluice.port, RATE, qos);
  let stalls = 0;
  let dropped = 0;
  await sleep(WARM_MS);

  let faultEnd = 0;
  let backlog = 0;
  let recoveredAt: number | null = null;
  const sinkOf = () => sluice.last?.sink;
  switch (fault) {
    case 'killed':
      await remote.kill();
      await sleep(FAULT_MS);
      await remote.start();
      break;
    case 'stopped':
      remote.pause();
      await sleep(FAULT_MS);
      remote.resume();
      break;
    case 'slowed':
      remote.proxy.latencyMs = 200;
      remote.proxy.bytesPerSecond = 64 * 1024;
      await sleep(FAULT_MS);
      remote.proxy.latencyMs = 0;
      remote.proxy.bytesPerSecond = 0;
      break;
    case 'partitioned':
      remote.proxy.partition();
      await sleep(FAULT_MS);
      remote.proxy.heal();
      break;
    case 'restarted':
      await remote.restart();
      break;
    case 'sluice_killed':
    case 'sluice_killed_backlog': {
      // _backlog: the remote is partitioned first, so a backlog waits in the buffer when
      // Sluice dies; the partition heals half the fault time after the restart.
      const withBacklog = fault === 'sluice_killed_backlog';
      if (withBacklog) {
        remote.proxy.partition();
        await sleep(FAULT_MS / 2);
      }
      const before = sinkOf();
      stalls += before?.stalls ?? 0;
      dropped += before?.dropped ?? 0;
      sluice.child.kill('SIGKILL');
      await sluice.exited;
      await sleep(1000);
      sluice = await startSluice(configFile, sluice.peakRss);
      if (withBacklog) {
        await sleep(FAULT_MS / 2);
        remote.proxy.heal();
      }
      break;
    }
    default:
      throw new Error(`unknown fault ${fault}`);
  }
  faultEnd = Date.now();
  // The backlog at the fault end: what had reached the sink by then (the first sample of a
  // restarted Sluice includes its replayed records; with sluice_killed_backlog the fault ends
  // when the partition heals).
  await waitFor(() => (sluice.last?.t ?? 0) >= faultEnd, 10_000);
  backlog = sinkOf()?.matched ?? 0;
  const watch = setInterval(() => {
    const s = sinkOf();
    if (recoveredAt === null && s && s.success >= backlog) recoveredAt = Date.now();
  }, 50);
  await sleep(POST_MS);
  await waitFor(() => recoveredAt !== null, 120_000);
  clearInterval(watch);
  await pub.stop();
  // Everything the broker took is written (or counted failed/dropped).
  await waitFor(() => {
    const s = sinkOf();
    return (
      !!s &&
      s.queued === 0 &&
      s.inflightRecords === 0 &&
      s.success + s.failed + s.dropped >= s.matched
    );
  }, 120_000);
  const end = sinkOf();
  stalls += end?.stalls ?? 0;
  dropped += (end?.dropped ?? 0) + (end?.failed ?? 0);
  sluice.child.kill('SIGTERM');
  await sluice.exited;

  const seqs = await remote.delivered();
  const seen = new Set(seqs);
  const acked = pub.stats.acked;
  let lost = 0;
  for (const s of acked) if (!seen.has(s)) lost++;
  let lostUnacked = 0;
  for (let s = 0; s < pub.stats.published; s++) if (!acked.has(s) && !seen.has(s)) lostUnacked++;
  rmSync(dir, { recursive: true, force: true });
  return {
    sink: remote.name,
    mode,
    ack,
    fault,
    qos,
    published: pub.stats.published,
    acked: acked.size,
    delivered: seqs.length,
    lost,
    lost_unacked: lostUnacked,
    duplicates: seqs.length - seen.size,
    recovery_s: recoveredAt === null ? null : Number(((recoveredAt - faultEnd) / 1000).toFixed(2)),
    stalls,
    dropped,
    peak_rss_mb: Math.round(sluice.peakRss / 1048576),
  };
}

const results: Result[] = [];
const load0 = loadavg();
const started = Date.now();
for (const name of SINKS) {
  const tmp = mkdtempSync(join(tmpdir(), 'sluice-faults-remote-'));
  const remote =
    name === 'kafka' ? await kafkaRemote(log) : await hstreamRemote(join(tmp, 'store.jsonl'));
  try {
    for (const mode of MODES)
      for (const ack of ACKS)
        for (const fault of FAULTS)
          for (const qos of fault.startsWith('sluice_killed') ? QOS : [1 as const]) {
            log(`${name} ${mode} ack_after ${ack} ${fault} qos ${qos}`);
            const r = await scenario(remote, mode, ack, fault, qos);
            console.log(JSON.stringify({ bench: 'faults', ...r }));
            results.push(r);
          }
  } finally {
    await remote.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}
const load1 = loadavg();
console.log(
  `\nnode ${process.version}, ${cpus().length} cpus (${cpus()[0]?.model ?? '?'}), ${RATE} msg/s from 4 raw-socket clients, ` +
    `warm ${WARM_MS / 1000} s, fault ${FAULT_MS / 1000} s, post ${POST_MS / 1000} s, fsync ${FSYNC}; load average ` +
    `${load0.map((x) => x.toFixed(2)).join(' ')} at start, ${load1.map((x) => x.toFixed(2)).join(' ')} at end; ` +
    `${Math.round((Date.now() - started) / 1000)} s in all`,
);
console.log(
  '| sink | buffer | ack | fault | QoS | published | acked | delivered | lost (acked) | lost (unacked) | duplicates | recovery s | stalls | dropped | peak RSS MB |',
);
console.log(
  '| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
);
for (const r of results)
  console.log(
    `| ${r.sink} | ${r.mode} | ${r.ack} | ${r.fault} | ${r.qos} | ${r.published} | ${r.acked} | ${r.delivered} | ${r.lost} | ${r.lost_unacked} | ${r.duplicates} | ${r.recovery_s ?? 'n/a'} | ${r.stalls} | ${r.dropped} | ${r.peak_rss_mb} |`,
  );
