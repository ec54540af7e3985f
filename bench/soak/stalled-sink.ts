/**
 * Soak (not timed; issue #10 item 5): memory stays bounded while a sink is stalled and the
 * publishers keep sending. Publishers (raw-publisher.ts, separate processes, QoS 0 and QoS 1)
 * flood an engine whose only sink (`overflow: block`) stops acknowledging for `--stall`
 * seconds; RSS, heap, queued records, paused clients and held PUBLISHes are sampled every
 * second. Then the sink is released and everything must arrive: nothing dropped.
 *
 *   npx tsx bench/soak/stalled-sink.ts [--stall 60] [--total 3000000]
 *
 * Verdict printed at the end: bounded = RSS in the second half of the stall never exceeds
 * the first half's peak by more than 10 % and the buffer never exceeds max_records +
 * headroom (batches in flight are bounded apart, by max_inflight × batch_size);
 * complete = every record the broker took was delivered, 0 dropped. `request_ttl` is off
 * here: with the default 45 s a longer stall expires (drops and counts) the waiting records.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';

import { silentLogger } from '../../src/core/index.js';
import { createEngine } from '../../src/engine/index.js';
import type { MemorySink } from '../../src/sinks/memory/index.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : def;
}
const STALL_S = Number(arg('stall', '60'));
const TOTAL = Number(arg('total', '3000000'));
const MAX = 50_000;
const HEADROOM = 10_000;
const here = path.dirname(new URL(import.meta.url).pathname);

const engine = createEngine(
  {
    broker: { listeners: { tcp: { type: 'tcp', bind: '127.0.0.1', port: 0 } } },
    sinks: {
      out: {
        type: 'memory',
        batch_size: 1000,
        linger: '5ms',
        buffer: { max_records: MAX, overflow: 'block', headroom: HEADROOM },
        // Records wait as long as the stall lasts (the default 45 s request_ttl would expire
        // them: dropped and counted as `expired`, by design — not what this soak measures).
        request_ttl: 0,
      },
    },
    rules: [{ id: 'soak', sql: 'SELECT payload, clientid FROM "bench/#"', actions: ['out'] }],
  },
  { logger: silentLogger },
);
const [addr] = await engine.start();
const sink = engine.sink('out') as MemorySink;
sink.hold();

function publisher(qos: number): ChildProcess {
  return spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(here, '../throughput/raw-publisher.ts'),
      String(addr!.port),
      String(qos),
      String(TOTAL),
      '2',
      '100',
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
}
const pubs = [publisher(0), publisher(1)];

interface Sample {
  s: number;
  rss: number;
  heap: number;
  queued: number;
  inflight: number;
  paused: number;
  held: number;
  inBroker: number;
}
const samples: Sample[] = [];
const t0 = Date.now();
for (let s = 1; s <= STALL_S; s++) {
  await new Promise((r) => setTimeout(r, 1000));
  const m = engine.metrics();
  const mem = process.memoryUsage();
  samples.push({
    s,
    rss: Math.round(mem.rss / 1048576),
    heap: Math.round(mem.heapUsed / 1048576),
    queued: m.sinks['out']!.queued,
    inflight: m.sinks['out']!.inflightRecords,
    paused: m.broker.clients_paused,
    held: m.broker.publishes_held,
    inBroker: m.broker.messages_in,
  });
}
for (const p of pubs) p.kill('SIGKILL');
const taken = engine.metrics().broker.messages_in;
sink.release();
const deadline = Date.now() + 120_000;
while (engine.metrics().sinks['out']!.success < taken && Date.now() < deadline)
  await new Promise((r) => setTimeout(r, 50));
const end = engine.metrics().sinks['out']!;
await engine.stop({ drainMs: 2000 });

const half = Math.floor(samples.length / 2);
const firstPeak = Math.max(...samples.slice(0, half).map((x) => x.rss));
const secondPeak = Math.max(...samples.slice(half).map((x) => x.rss));
const maxQueued = Math.max(...samples.map((x) => x.queued));
const bounded = secondPeak <= firstPeak * 1.1 && maxQueued <= MAX + HEADROOM;
const complete = end.success >= taken && end.dropped === 0;
console.log(
  '| s | RSS MB | heap MB | buffered | in flight | paused clients | held PUBLISHes | messages in |',
);
console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const x of samples.filter((_, i) => i % Math.max(1, Math.floor(samples.length / 12)) === 0))
  console.log(
    `| ${x.s} | ${x.rss} | ${x.heap} | ${x.queued} | ${x.inflight} | ${x.paused} | ${x.held} | ${x.inBroker} |`,
  );
console.log(
  JSON.stringify({
    bench: 'soak-stalled-sink',
    stall_s: STALL_S,
    seconds: Math.round((Date.now() - t0) / 1000),
    first_half_peak_rss_mb: firstPeak,
    second_half_peak_rss_mb: secondPeak,
    max_queued: maxQueued,
    limit: MAX + HEADROOM,
    taken_by_broker: taken,
    delivered: end.success,
    dropped: end.dropped,
    bounded,
    complete,
  }),
);
process.exit(bounded && complete ? 0 : 1);
