/**
 * CPU per record of the Kafka sink's enqueue-side work (`partitionKey` + `sizeOf`: render key,
 * value and timestamp, pick the partition) for records shaped like the e2e bench's (rule
 * output `{clientid, topic, payload (100-byte Buffer), qos}`, key `${clientid}` of 4 clients,
 * value `${.}`, no timestamp). No broker: the partition count is learnt from a stub first.
 *
 *   npx tsx bench/throughput/kafka-prepare.bench.ts [--records 1000000] [--rounds 5]
 */
import { loadavg } from 'node:os';
import { silentLogger, validate } from '../../src/core/index.js';
import type { SinkRecord } from '../../src/core/index.js';
import { kafkaSpec } from '../../src/sinks/kafka/config.js';
import type { KafkaSinkConfig } from '../../src/sinks/kafka/config.js';
import { createMessageMapper } from '../../src/sinks/kafka/message.js';

const args = process.argv.slice(2);
const opt = (name: string, d: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : d;
};
const RECORDS = opt('records', 1_000_000);
const ROUNDS = opt('rounds', 5);

const v = validate<KafkaSinkConfig>(kafkaSpec, {
  bootstrap_hosts: '127.0.0.1:1',
  topic: 'e2e',
  message: { key: '${clientid}', value: '${.}', timestamp: '' },
  partition_strategy: 'key_dispatch',
});
if (!v.ok) throw new Error(JSON.stringify(v.issues));
const map = createMessageMapper(v.value, silentLogger);
const payload = Buffer.from(`{"ts":1765000000000.123,"seq":1,"pad":"${'x'.repeat(60)}"}`);
const make = (i: number): SinkRecord => ({
  data: { clientid: `bench-raw-k6-${i & 3}`, topic: `bench/r${i % 100}/x`, payload, qos: 0 },
  ruleId: 'r',
  ingestTs: 0,
});
const records = Array.from({ length: 4096 }, (_, i) => make(i));
let sink = 0;
const out: number[] = [];
for (let r = 0; r < ROUNDS + 1; r++) {
  const t0 = process.cpuUsage();
  for (let i = 0; i < RECORDS; i++) sink += map(records[i & 4095]!).size;
  const d = process.cpuUsage(t0);
  if (r > 0) out.push((d.user + d.system) / RECORDS);
}
out.sort((a, b) => a - b);
console.log(
  JSON.stringify({
    bench: 'kafka-prepare',
    records: RECORDS,
    us_per_record_median: Number(out[out.length >> 1]!.toFixed(3)),
    runs: out.map((x) => Number(x.toFixed(3))),
    load: loadavg().map((x) => Number(x.toFixed(2))),
    check: sink > 0,
  }),
);
