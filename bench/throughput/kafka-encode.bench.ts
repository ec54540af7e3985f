/**
 * Client-side cost of one produce request in kafkajs, per record, with and without the Kafka
 * sink's kafkajs replacements (src/sinks/kafka/kafkajs-patch.ts): grouping per partition
 * (`groupMessagesPerPartition`), record encoding, the batch CRC-32C and the produce v3 request
 * encoding, for batches shaped like the e2e bench's (one partition per batch, an 18-byte key,
 * a ~190-byte JSON value, no headers). No broker: this isolates the CPU kafkajs spends before
 * the socket write.
 *
 *   npx tsx bench/throughput/kafka-encode.bench.ts [--batch 1000] [--batches 300] [--rounds 3]
 *
 * Each round runs three child processes, alternately: `original` (kafkajs loaded before the
 * replacements, so its own modules are used), `records` (every replacement but the produce
 * request: the state of branch kafka10) and `replaced`. Prints µs of CPU per record.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const BATCH = opt('batch', 1000);
const BATCHES = opt('batches', 300);
const ROUNDS = opt('rounds', 3);
const mode = args.includes('--child-original')
  ? 'original'
  : args.includes('--child-records')
    ? 'records'
    : args.includes('--child-replaced')
      ? 'replaced'
      : undefined;

if (mode === undefined) {
  const results: Record<string, number[]> = { original: [], records: [], replaced: [] };
  const load0 = loadavg().map((l) => l.toFixed(1));
  for (let r = 0; r < ROUNDS; r++) {
    for (const m of ['original', 'records', 'replaced'] as const) {
      const child = spawnSync(
        process.execPath,
        [...process.execArgv, new URL(import.meta.url).pathname, `--child-${m}`, ...args],
        { encoding: 'utf8' },
      );
      if (child.status !== 0) throw new Error(child.stderr);
      results[m]!.push(Number(child.stdout.trim()));
    }
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const o = med(results['original']!);
  const n = med(results['replaced']!);
  console.log(
    `batch ${BATCH} × ${BATCHES}, ${ROUNDS} alternating rounds; load ${load0.join(' ')} → ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  console.log(`| kafkajs modules | CPU µs/record (median) | runs |`);
  console.log(`| --- | ---: | --- |`);
  for (const m of ['original', 'records', 'replaced'] as const)
    console.log(
      `| ${m} | ${med(results[m]!).toFixed(2)} | ${results[m]!.map((x) => x.toFixed(2)).join(', ')} |`,
    );
  console.log(`ratio records / original: ${(med(results['records']!) / o).toFixed(2)}`);
  console.log(`ratio replaced / original: ${(n / o).toFixed(2)}`);
} else {
  const require = createRequire(import.meta.url);
  if (mode === 'original') {
    // Load kafkajs and the lazily loaded modules first: the replacements then stay out.
    require('kafkajs');
    require('kafkajs/src/protocol/recordBatch/record/v0/index.js');
    require('kafkajs/src/protocol/recordBatch/crc32C/index.js');
  }
  if (mode === 'original') require('kafkajs/src/protocol/requests/produce/v3/request.js');
  const { kafkajsPatchInstalled } = await import('../../src/sinks/kafka/index.js');
  const { loadUncached } = await import('../../src/sinks/kafka/kafkajs-patch.js');
  if (kafkajsPatchInstalled !== (mode !== 'original')) throw new Error(`${mode}: patch state`);
  const produceFile = require.resolve('kafkajs/src/protocol/requests/produce/v3/request.js');
  const group = require('kafkajs/src/producer/groupMessagesPerPartition.js') as (a: {
    topic: string;
    partitionMetadata: unknown[];
    messages: unknown[];
    partitioner: (a: { message: { partition: number } }) => number;
  }) => Record<string, unknown[]>;
  // `records`: kafkajs' own request module (fresh) over the replaced record encoder and CRC.
  const produce = (mode === 'records' ? loadUncached(produceFile) : require(produceFile)) as (a: {
    acks: number;
    timeout: number;
    topicData: unknown[];
  }) => { encode(): Promise<{ buffer: Buffer }> };
  const meta = [0, 1, 2, 3].map((p) => ({ partitionId: p, leader: 0 }));
  const makeBatch = (b: number) =>
    Array.from({ length: BATCH }, (_, i) => ({
      key: Buffer.from(`bench-raw-12345-${b % 4}`),
      value: Buffer.from(
        JSON.stringify({
          clientid: `bench-raw-12345-${b % 4}`,
          topic: `bench/${i % 100}`,
          payload: 'x'.repeat(100),
          qos: 0,
        }),
      ),
      partition: b % 4,
      timestamp: undefined,
      headers: undefined,
    }));
  const run = async (n: number) => {
    let bytes = 0;
    for (let b = 0; b < n; b++) {
      const messages = makeBatch(b);
      const t0 = process.cpuUsage();
      const per = group({
        topic: 't',
        partitionMetadata: meta,
        messages,
        partitioner: ({ message }) => message.partition,
      });
      const topicData = [
        {
          topic: 't',
          partitions: Object.keys(per).map((p) => ({
            partition: Number(p),
            firstSequence: 0,
            messages: per[p],
          })),
        },
      ];
      const enc = await produce({ acks: -1, timeout: 30000, topicData }).encode();
      bytes += enc.buffer.length;
      const d = process.cpuUsage(t0);
      cpu += d.user + d.system;
    }
    return bytes;
  };
  let cpu = 0;
  await run(Math.min(50, BATCHES)); // warm-up
  cpu = 0;
  await run(BATCHES);
  console.log(String(cpu / (BATCHES * BATCH)));
}
