/**
 * Client ids for the end-to-end Kafka bench (e2e.bench.ts `--sink kafka`) whose keys spread
 * evenly over the topic's partitions.
 *
 * The bench keys records by `${clientid}` (EMQX's default message key) with Kafka's murmur2
 * partitioner. A fleet of thousands of clients spreads its keys over every partition; the bench
 * stands for it with 4 publishers, and 4 random ids hash onto 4 distinct partitions of 4 only
 * 4!/4^4 ≈ 9 % of the time (the old ids `bench-raw-<pid>-<i>` put 75 % of the records on one
 * partition in one measured run, and the spread changed from run to run with the pid). Choosing
 * the id prefix so that the ids cover the partitions evenly makes every run use every partition
 * equally, as the large fleet would, and makes runs comparable.
 */
import { keyPartition } from '../../src/sinks/kafka/murmur2.js';

/** The ids the raw publisher gives its clients: `${prefix}-${i}` (raw-publisher.ts). */
export function clientIds(prefix: string, clients: number): string[] {
  return Array.from({ length: clients }, (_, i) => `${prefix}-${i}`);
}

/** Records per partition for `clients` ids of `prefix` publishing equally. */
export function partitionLoad(prefix: string, clients: number, partitions: number): number[] {
  const load = new Array<number>(partitions).fill(0);
  for (const id of clientIds(prefix, clients)) load[keyPartition(Buffer.from(id), partitions)]!++;
  return load;
}

/**
 * The first prefix `${base}${n}` (n = 0, 1, …) whose `clients` ids put the same number of
 * clients (± 1 when they do not divide) on every partition.
 */
export function spreadClientIdPrefix(base: string, clients: number, partitions: number): string {
  for (let n = 0; n < 1_000_000; n++) {
    const prefix = `${base}${n}`;
    const load = partitionLoad(prefix, clients, partitions);
    if (Math.max(...load) - Math.min(...load) <= (clients % partitions === 0 ? 0 : 1))
      return prefix;
  }
  throw new Error(`no client id prefix spreads ${clients} clients over ${partitions} partitions`);
}
