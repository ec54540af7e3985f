/**
 * Benchmark (a): the HStreamDB sink alone. Rule outputs are generated in this process →
 * shared runner → hstreamdb sink → grpc-js → the stand-in server (a TEST DOUBLE of the wire
 * protocol, test/hstream-server) in a separate process, started with --no-strict so that, like
 * a real server, it stores batches without decoding them.
 *
 *   npm run bench:hstream [-- --seconds 8 --rate 50000 --only none,gzip,zstd]
 *
 * Two runs per compression:
 *  - max:   closed loop, the producer enqueues as fast as the runner admits (overflow `block`):
 *           acknowledged records/s = the sustainable throughput;
 *  - paced: a fixed offered rate (default 50,000 records/s): ingest → ack latency p50/p99
 *           without queueing in front of a saturated sink.
 * Records: ~200-byte JSON rule outputs, partition key ${clientid} over 1,000 clients, 4 shards.
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { zstdAvailable } from '../../src/sinks/hstream/index.js';
import { spawnStandIn } from '../../test/hstream-server/process.js';
import { createPipeline, uniqueStream } from '../../test/hstream-server/helpers.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : def;
}
const SECONDS = Number(arg('seconds', '8'));
const RATE = Number(arg('rate', '50000'));
const ONLY = arg('only', 'none,gzip,zstd')
  .split(',')
  .filter((c) => c !== 'zstd' || zstdAvailable());
const BATCH = Number(arg('batch', '1000'));

const PAD = 'x'.repeat(96);
function output(i: number) {
  // Encodes to ~200 bytes of JSON, the size of the EMQX/HStreamDB 100k benchmark messages.
  return {
    clientid: `client-${i % 1000}`,
    topic: `sensors/${i % 1000}/temp`,
    seq: i,
    ts: 1_795_000_000_000 + i,
    payload: { temp: 20 + (i % 15), unit: 'C', pad: PAD },
  };
}

interface Result {
  compression: string;
  mode: string;
  acked: number;
  seconds: number;
  rate: number;
  p50: number;
  p99: number;
  failed: number;
  dropped: number;
  appends: number;
  bytesPerRecord: number;
  /** CPU seconds used by this (client) process and by the server process during the run. */
  clientCpu: number;
  serverCpu: number;
}

/** utime + stime of a process in seconds (Linux /proc), 0 when unavailable. */
function procCpu(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // clock ticks (USER_HZ = 100)
  } catch {
    return 0;
  }
}

async function run(
  port: number,
  serverPid: number | undefined,
  compression: string,
  mode: 'max' | 'paced',
): Promise<Result> {
  const { runner, sink } = createPipeline(
    {
      url: `hstream://127.0.0.1:${port}`,
      stream: uniqueStream('bench'),
      partition_key: '${clientid}',
      compression,
      max_inflight_per_shard: 2,
      auto_create: { enable: true, shard_count: 4 },
    },
    {
      batch_size: BATCH,
      linger: 5,
      max_inflight: 8,
      buffer: { max_records: 50_000, overflow: 'block' },
      request_ttl: 0,
    },
  );
  await runner.start();
  let i = 0;
  const cpu0 = process.cpuUsage();
  const scpu0 = procCpu(serverPid);
  const t0 = Date.now();
  const end = t0 + SECONDS * 1000;
  if (mode === 'max') {
    while (Date.now() < end) {
      for (let k = 0; k < 1000; k++) {
        if (runner.pressured) await runner.whenWritable();
        runner.enqueue({ data: output(i++), ruleId: 'bench', ingestTs: Date.now() });
      }
      await new Promise((r) => setImmediate(r));
    }
  } else {
    const tick = 10;
    while (Date.now() < end) {
      const due = Math.floor(((Date.now() - t0) / 1000) * RATE);
      while (i < due) {
        if (runner.pressured) await runner.whenWritable();
        runner.enqueue({ data: output(i++), ruleId: 'bench', ingestTs: Date.now() });
      }
      await new Promise((r) => setTimeout(r, tick));
    }
  }
  await runner.drain(60_000);
  const seconds = (Date.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const m = runner.metrics();
  return {
    compression,
    mode,
    acked: m.success,
    seconds,
    rate: Math.round(m.success / seconds),
    p50: m.latency.p50,
    p99: m.latency.p99,
    failed: m.failed,
    dropped: m.dropped,
    appends: sink.stats.appends,
    bytesPerRecord: Math.round(sink.stats.appendedBytes / Math.max(1, sink.stats.appendedRecords)),
    clientCpu: (cpu.user + cpu.system) / 1e6,
    serverCpu: procCpu(serverPid) - scpu0,
  };
}

// --server-port N: use an already running stand-in (e.g. one started with --cpu-prof).
const external = Number(arg('server-port', '0'));
const server = external
  ? {
      port: external,
      child: { pid: Number(arg('server-pid', '0')) || undefined },
      kill: async () => {},
    }
  : await spawnStandIn(['--port', '0', '--no-strict']);
const results: Result[] = [];
try {
  for (const compression of ONLY) {
    for (const mode of ['max', 'paced'] as const) {
      const r = await run(server.port, server.child.pid, compression, mode);
      results.push(r);
      console.log(JSON.stringify(r));
    }
  }
} finally {
  await server.kill('SIGTERM');
}

console.log(
  `\nnode ${process.version}, ${cpus().length} cpus (${cpus()[0]?.model ?? '?'}), ${SECONDS}s per run, batch_size ${BATCH}, paced rate ${RATE}/s`,
);
console.log(
  `load average at end: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
);
console.log(
  '| compression | mode | acked records/s | p50 ms | p99 ms | appends | wire bytes/record | client CPU s | server CPU s | records per client CPU-s | failed | dropped |',
);
console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
for (const r of results)
  console.log(
    `| ${r.compression} | ${r.mode} | ${fmt(r.rate)} | ${r.p50} | ${r.p99} | ${r.appends} | ${r.bytesPerRecord} | ${r.clientCpu.toFixed(2)} | ${r.serverCpu.toFixed(2)} | ${fmt(r.acked / r.clientCpu)} | ${r.failed} | ${r.dropped} |`,
  );
