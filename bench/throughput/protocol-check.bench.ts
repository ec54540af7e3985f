/**
 * Cost of the broker's protocol checks (src/broker/protocol-check.ts) on the packet path:
 * mqtt-packet's parser alone vs the same parser with the checks installed (string-field
 * UTF-8 / U+0000 scan, CONNECT hook, packet_timeout bookkeeping per read). Input: 64 KB reads
 * of QoS 1 PUBLISH packets (CPU time per packet, median of 9 interleaved runs) (topic `sensors/<n>/temperature`, 100-byte payload); a second case
 * splits every read mid-packet so the packet_timeout path arms its clock on each read.
 *
 *   npx tsx bench/throughput/protocol-check.bench.ts
 */
import { EventEmitter } from 'node:events';
import { generate, parser } from 'mqtt-packet';

import { silentLogger } from '../../src/core/index.js';
import type { ClientRecord } from '../../src/broker/client-records.js';
import { createProtocolCheck } from '../../src/broker/protocol-check.js';
import type { BrokerMetrics } from '../../src/broker/types.js';

const packets = Array.from({ length: 500 }, (_, i) =>
  generate({
    cmd: 'publish',
    topic: `sensors/${i}/temperature`,
    payload: Buffer.alloc(100, 0x61),
    qos: 1,
    messageId: (i % 65535) + 1,
    retain: false,
    dup: false,
  }),
);
const stream = Buffer.concat(packets);
const aligned = [stream];
// Reads that end inside a packet: 7 uneven pieces.
const cuts = [0, 9_001, 17_333, 26_000, 33_777, 41_010, 50_505, stream.length];
const split = cuts.slice(1).map((end, i) => stream.subarray(cuts[i], end));

function setup(checked: boolean) {
  const p = parser();
  let n = 0;
  p.on('packet', () => n++);
  p.on('error', (e: Error) => {
    throw e;
  });
  if (checked) {
    const conn = Object.assign(new EventEmitter(), { destroyed: false, destroy() {}, end() {} });
    const client = { _parser: p, conn, closed: false };
    const rec = { meta: { listener: 'bench' }, limits: { packet_timeout: 30_000 } };
    createProtocolCheck({} as BrokerMetrics, silentLogger).guard(
      client as never,
      rec as unknown as ClientRecord,
    );
  }
  return { p, count: () => n };
}

function run(checked: boolean, reads: Buffer[], rounds: number): number {
  const { p, count } = setup(checked);
  // CPU time, not wall clock: the machine is shared, waiting for a core must not count.
  const t0 = process.cpuUsage();
  for (let r = 0; r < rounds; r++) for (const b of reads) p.parse(b);
  const d = process.cpuUsage(t0);
  return ((d.user + d.system) * 1000) / count();
}

for (const [name, reads] of [
  ['aligned reads', aligned],
  ['reads split mid-packet', split],
] as const) {
  run(false, reads, 200);
  run(true, reads, 200); // warm-up
  const base: number[] = [];
  const with_: number[] = [];
  for (let i = 0; i < 9; i++) {
    base.push(run(false, reads, 400));
    with_.push(run(true, reads, 400));
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[4]!;
  console.log(
    `${name}: parser ${med(base).toFixed(0)} ns/packet, with checks ${med(with_).toFixed(0)} ns/packet (+${(med(with_) - med(base)).toFixed(0)} ns)`,
  );
}
