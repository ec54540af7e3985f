/**
 * End to end — MQTT publishers (a separate process) → Sluice's embedded broker → one rule →
 * a sink: `--sink hstreamdb` (default) writes to the HStreamDB stand-in server (a TEST DOUBLE
 * of the wire protocol, separate process, --no-strict), 4 shards; `--sink kafka` to the real
 * Kafka of `npm run services` (started and stopped by this script), a 4-partition topic,
 * acks=all, key `${clientid}`; the 4 raw publishers get client ids chosen so their keys hash
 * onto the 4 partitions evenly (kafka-keys.ts: what a large fleet does; pid-based ids used 2 or
 * 3 of the partitions, differently in every run).
 *
 *   npm run bench:e2e -- [--sink hstreamdb|kafka] [--total 60000]
 *       [--cases 0:none,1:none] [--runs 1] [--sweep 10000,100000,1000000]
 *       [--publisher raw|mqttjs] [--rate 0] [--thread main|worker] [--warmup 0]
 *       [--ack-after receipt,buffered,remote] [--buffer memory|disk|hybrid] [--fsync interval]
 *       [--client-ids spread|pid] [--kafka-batch 1000] [--memory-reclaim on|off]
 *
 * `--cases` lists QoS:compression pairs (the first run also warms up); `--runs` repeats each;
 * `--sweep` runs every case at each total instead of `--total`, so cost per record shows how
 * it grows with the burst; it then prints the marginal CPU cost per record between consecutive
 * sizes, free of each run's fixed cost. `--publisher raw` (default) is the lean load generator
 * (raw-publisher.ts, < 1 µs per message); `mqttjs` uses mqtt.js (broker-publisher.ts,
 * ~7 µs per message, which on 2 cores takes CPU from Sluice). `--rate` paces the publishers
 * (messages/s in total; 0 = as fast as Sluice takes them) for latency below saturation.
 * `--thread worker` runs the sink in a sink thread (docs/sinks/README.md#sink-threads).
 * `--warmup N` first runs N records unrecorded (JIT), so small bursts show steady-state cost.
 * `--ack-after` runs every case with each listener `ack_after` mode (issue #12 item 2): the
 * publishers' QoS 1 window (500 per client) then waits for the buffer / the remote.
 * `--buffer` / `--fsync` set the sink's buffer mode and fsync policy (disk: a temporary dir).
 * `--client-ids pid` gives the Kafka run the publisher's own pid-based ids (the old behaviour:
 * keys on 1–4 partitions, by chance); `--kafka-batch` sets the Kafka sink's batch_size.
 * `--memory-reclaim off` turns the engine's memory_reclaim off (decision 0023); each JSON line
 * says how many reclaims ran during the run (`memory_reclaims`).
 * `npm run bench:e2e` starts Node with `--max-semi-space-size=8`, as the `sluice` command does
 * (decision 0026); `npx tsx bench/throughput/e2e.bench.ts` would measure V8's default instead.
 * Every run prints one JSON line (records, acked, rate, p50/p99, CPU seconds and µs per
 * record, failed, dropped, peak RSS), then a markdown table at the end.
 *
 * Rate = acknowledged records / (time from the first publish to the last ack). Latency = the
 * runner's ingest (broker receive) → remote ack histogram.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { silentLogger } from '../../src/core/index.js';
import { createEngine } from '../../src/engine/index.js';
import { spawnStandIn } from '../../test/hstream-server/process.js';
import { uniqueStream } from '../../test/hstream-server/helpers.js';
import { startServices } from '../../scripts/services/index.js';
import { spreadClientIdPrefix } from './kafka-keys.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : def;
}
const TOTAL = Number(arg('total', '60000'));
const RUNS = Number(arg('runs', '1'));
const TOTALS = process.argv.includes('--sweep')
  ? arg('sweep', '10000,100000,1000000').split(',').map(Number)
  : [TOTAL];
const PUBLISHER = arg('publisher', 'raw');
const RATE = Number(arg('rate', '0'));
const THREAD = arg('thread', 'main');
const SINK = arg('sink', 'hstreamdb');
const WARMUP = Number(arg('warmup', '0'));
const ACKS = arg('ack-after', 'receipt').split(',');
const BUFFER = arg('buffer', 'memory');
// `--memory-reclaim on|off` (decision 0023): the engine's memory_reclaim (default on).
const RECLAIM = arg('memory-reclaim', 'on') !== 'off';
const FSYNC = arg('fsync', 'interval');
const CLIENT_IDS = arg('client-ids', 'spread');
const KAFKA_BATCH = Number(arg('kafka-batch', '1000'));
if (SINK !== 'hstreamdb' && SINK !== 'kafka') throw new Error('--sink hstreamdb|kafka');
if (PUBLISHER !== 'raw' && PUBLISHER !== 'mqttjs') throw new Error('--publisher raw|mqttjs');
const here = path.dirname(new URL(import.meta.url).pathname);

interface Published {
  sent: number;
  /** First publish, ms since the epoch (the publisher's clock: same machine). */
  t0: number;
  ms: number;
}

function publish(port: number, qos: number, total: number, idPrefix?: string): Promise<Published> {
  return new Promise((resolve, reject) => {
    const script = PUBLISHER === 'raw' ? 'raw-publisher.ts' : 'broker-publisher.ts';
    const args = [String(port), String(qos), String(total), '4', '100'];
    if (PUBLISHER === 'raw') args.push(String(RATE), '4', ...(idPrefix ? [idPrefix] : []));
    else if (RATE > 0) throw new Error('--rate needs --publisher raw');
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, script), ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) =>
      code === 0
        ? resolve(JSON.parse(out.trim()) as Published)
        : reject(new Error(`publisher exited ${code}`)),
    );
  });
}

/** The remote: where records go, and how to stop it. */
interface Remote {
  /** Sink config for one run (a fresh stream/topic each time). */
  sink(compression: string): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
  /** Client id prefix for the raw publisher (default: its pid-based one). */
  clientIdPrefix?: string;
  /** Records per partition of the last run's stream/topic (Kafka: the high watermarks). */
  perPartition?(): Promise<number[]>;
}

async function hstreamRemote(): Promise<Remote> {
  const server = await spawnStandIn(['--port', '0', '--no-strict']);
  return {
    sink: async (compression) => ({
      type: 'hstreamdb',
      url: `hstream://127.0.0.1:${server.port}`,
      stream: uniqueStream('e2e'),
      partition_key: '${clientid}',
      compression,
      auto_create: { enable: true, shard_count: 4 },
      batch_size: 1000,
      linger: '5ms',
      max_inflight: 8,
    }),
    stop: () => server.kill('SIGTERM'),
  };
}

async function kafkaRemote(): Promise<Remote> {
  const { Kafka, logLevel } = await import('kafkajs');
  const services = await startServices({ heap: '1g', log: (m) => console.error(m) });
  const bootstrap = services.facts.kafka.plaintext;
  let n = 0;
  let last = '';
  return {
    sink: async (compression) => {
      const topic = (last = `e2e-${process.pid}-${n++}`);
      const admin = new Kafka({ brokers: [bootstrap], logLevel: logLevel.NOTHING }).admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic, numPartitions: 4 }], waitForLeaders: true });
      await admin.disconnect();
      return {
        type: 'kafka',
        bootstrap_hosts: bootstrap,
        topic,
        message: { key: '${clientid}', value: '${.}', timestamp: '' },
        partition_strategy: 'key_dispatch',
        compression,
        acks: 'all',
        batch_size: KAFKA_BATCH,
        linger: '5ms',
        max_inflight: 8,
      };
    },
    stop: () => services.stop(),
    // 4 clients → one per partition of the 4 (murmur2 of `${clientid}`).
    ...(CLIENT_IDS === 'spread'
      ? { clientIdPrefix: spreadClientIdPrefix('bench-raw-k', 4, 4) }
      : {}),
    perPartition: async () => {
      const admin = new Kafka({ brokers: [bootstrap], logLevel: logLevel.NOTHING }).admin();
      await admin.connect();
      try {
        const offsets = await admin.fetchTopicOffsets(last);
        return offsets.sort((a, b) => a.partition - b.partition).map((o) => Number(o.high));
      } finally {
        await admin.disconnect();
      }
    },
  };
}

const remote = SINK === 'kafka' ? await kafkaRemote() : await hstreamRemote();
const rows: string[] = [];
const runs: { group: string; records: number; cpuS: number }[] = [];
try {
  // --runs "0:none,1:none,0:zstd" (QoS:compression, in order; the first run also warms up).
  const cases = arg('cases', SINK === 'kafka' ? '0:none,1:none' : '0:none,1:none,0:zstd')
    .split(',')
    .map((r) => r.split(':') as [string, string]);
  const plan: [number, string, number, string][] = [];
  if (WARMUP > 0) plan.push([Number(cases[0]![0]), cases[0]![1], -WARMUP, ACKS[0]!]);
  for (const total of TOTALS)
    for (const [qosText, compression] of cases)
      for (let k = 0; k < RUNS; k++)
        for (const ack of ACKS) plan.push([Number(qosText), compression, total, ack]);
  for (const [qos, compression, planned, ack] of plan) {
    const dataDir = BUFFER === 'memory' ? undefined : mkdtempSync(path.join(tmpdir(), 'e2e-'));
    const warmup = planned < 0;
    const TOTAL = Math.abs(planned);
    const engine = createEngine(
      {
        broker: {
          listeners: { tcp: { type: 'tcp', bind: '127.0.0.1', port: 0, ack_after: ack } },
        },
        memory_reclaim: { enabled: RECLAIM },
        sinks: {
          hs: {
            ...((await remote.sink(compression)) as { type: string }),
            ...(dataDir ? { data_dir: dataDir } : {}),
            buffer: { max_records: 100000, overflow: 'block', mode: BUFFER, fsync: FSYNC },
            thread: THREAD,
          },
        },
        rules: [
          {
            id: 'to_hstream',
            sql: 'SELECT clientid, topic, payload, qos FROM "bench/#"',
            actions: ['hs'],
          },
        ],
      },
      { logger: silentLogger },
    );
    const [addr] = await engine.start();
    let peakRss = process.memoryUsage().rss;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }, 50);
    const cpu0 = process.cpuUsage();
    const mainCpu0 = process.threadCpuUsage();
    const pub = await publish(addr!.port, qos, TOTAL, remote.clientIdPrefix);
    const deadline = Date.now() + 120_000 + TOTAL / 10;
    while ((engine.metrics().sinks['hs']?.success ?? 0) < TOTAL && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 5));
    const ms = Date.now() - pub.t0;
    const cpu = process.cpuUsage(cpu0);
    const mainCpu = process.threadCpuUsage(mainCpu0);
    clearInterval(sampler);
    const m = engine.metrics().sinks['hs']!;
    if (m.success < TOTAL)
      console.error(
        'not all records acknowledged:',
        JSON.stringify({
          sink: m,
          rules: engine.metrics().rules,
          broker: engine.metrics().broker,
        }).slice(0, 6000),
      );
    const paused = engine.metrics().sinks['hs']!.pressureEvents;
    const reclaims = Object.values(engine.memoryReclaim.metrics().reclaims).reduce(
      (a, b) => a + b,
      0,
    );
    await engine.stop({ drainMs: 2000 });
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    const perPartition = warmup ? undefined : await remote.perPartition?.();
    const cpuS = (cpu.user + cpu.system) / 1e6;
    const mainS = (mainCpu.user + mainCpu.system) / 1e6;
    if (warmup) continue;
    console.log(
      JSON.stringify({
        bench: 'e2e',
        sink: SINK,
        qos,
        compression,
        ack_after: ack,
        buffer: BUFFER,
        publisher: PUBLISHER,
        thread: THREAD,
        offered_rate: RATE,
        records: TOTAL,
        acked: m.success,
        rate: Math.round((m.success / ms) * 1000),
        publish_rate: Math.round((TOTAL / pub.ms) * 1000),
        p50_ms: m.latency.p50,
        p99_ms: m.latency.p99,
        cpu_s: Number(cpuS.toFixed(2)),
        cpu_us_per_record: Number(((cpuS * 1e6) / Math.max(1, m.success)).toFixed(2)),
        main_thread_cpu_s: Number(mainS.toFixed(2)),
        failed: m.failed,
        dropped: m.dropped,
        pressure_events: paused,
        peak_rss_mb: Math.round(peakRss / 1048576),
        memory_reclaim: RECLAIM,
        memory_reclaims: reclaims,
        ...(perPartition ? { per_partition: perPartition } : {}),
        load: loadavg().map((x) => Number(x.toFixed(2))),
      }),
    );
    if (!warmup) runs.push({ group: `${qos} ${compression} ${ack}`, records: m.success, cpuS });
    rows.push(
      `| ${qos} | ${compression} | ${ack} | ${TOTAL.toLocaleString('en-US')} | ${m.success.toLocaleString('en-US')} | ${Math.round((m.success / ms) * 1000).toLocaleString('en-US')} | ${Math.round((TOTAL / pub.ms) * 1000).toLocaleString('en-US')} | ${m.latency.p50} | ${m.latency.p99} | ${cpuS.toFixed(2)} | ${((cpuS * 1e6) / Math.max(1, m.success)).toFixed(1)} | ${m.failed} | ${m.dropped} | ${Math.round(peakRss / 1048576)} |`,
    );
  }
} finally {
  await remote.stop();
}
console.log(
  `\nnode ${process.version}, ${cpus().length} cpus (${cpus()[0]?.model ?? '?'}), 4 ${PUBLISHER === 'raw' ? 'raw-socket' : 'mqtt.js'} clients${RATE > 0 ? ` paced at ${RATE}/s` : ''}, 100 topics, ~100-byte payloads, sink ${SINK}, thread ${THREAD}, buffer ${BUFFER}${BUFFER === 'memory' ? '' : ` (fsync ${FSYNC})`}; load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')} at end`,
);
console.log(
  '| QoS | compression | ack_after | published | acked by the remote | acked records/s | publish rate/s | p50 ms | p99 ms | Sluice CPU s | CPU µs/record | failed | dropped | peak RSS MB |',
);
console.log(
  '| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
);
for (const r of rows) console.log(r);
if (TOTALS.length > 1) {
  // Scaling: each run pays a fixed cost (a new engine, its connections, the last linger) on top
  // of the per-record one, which dominates small bursts. The marginal cost between two sizes,
  // (CPU(b) − CPU(a)) / (b − a), is the per-record cost alone: flat if nothing grows with the
  // backlog.
  console.log(
    '\n| QoS compression ack_after | from → to records | marginal CPU µs/record | fixed CPU s (estimate) |',
  );
  console.log('| --- | --- | ---: | ---: |');
  const groups = new Map<string, { records: number; cpuS: number }[]>();
  for (const r of runs) {
    const g = groups.get(r.group) ?? [];
    g.push(r);
    groups.set(r.group, g);
  }
  for (const [group, list] of groups) {
    // Median CPU per size when --runs repeats a size.
    const bySize = new Map<number, number[]>();
    for (const r of list) bySize.set(r.records, [...(bySize.get(r.records) ?? []), r.cpuS]);
    const sizes = [...bySize.keys()].sort((a, b) => a - b);
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    for (let i = 1; i < sizes.length; i++) {
      const a = sizes[i - 1]!;
      const b = sizes[i]!;
      const ca = med(bySize.get(a)!);
      const cb = med(bySize.get(b)!);
      const marginal = (cb - ca) / (b - a);
      console.log(
        `| ${group} | ${a.toLocaleString('en-US')} → ${b.toLocaleString('en-US')} | ${(marginal * 1e6).toFixed(2)} | ${(ca - marginal * a).toFixed(3)} |`,
      );
    }
  }
}
