/**
 * The end-to-end Kafka bench's client ids (bench/throughput/kafka-keys.ts): the ids it gives the
 * raw publishers must hash (murmur2 of `${clientid}`, Kafka's default partitioner) onto every
 * partition evenly, or the bench measures a topic with fewer partitions than it claims.
 */
import { describe, expect, it } from 'vitest';
import { keyPartition } from '../../src/sinks/kafka/murmur2.js';
import {
  clientIds,
  partitionLoad,
  spreadClientIdPrefix,
} from '../../bench/throughput/kafka-keys.js';

describe('bench kafka-keys', () => {
  it('picks ids that put one client on each of 4 partitions (the e2e bench)', () => {
    const prefix = spreadClientIdPrefix('bench-raw-k', 4, 4);
    const parts = clientIds(prefix, 4).map((id) => keyPartition(Buffer.from(id), 4));
    expect([...parts].sort()).toEqual([0, 1, 2, 3]);
    expect(partitionLoad(prefix, 4, 4)).toEqual([1, 1, 1, 1]);
  });

  it('spreads other shapes evenly (± 1 when clients do not divide)', () => {
    for (const [clients, partitions] of [
      [8, 4],
      [6, 4],
      [3, 3],
      [5, 2],
    ] as const) {
      const load = partitionLoad(
        spreadClientIdPrefix('x', clients, partitions),
        clients,
        partitions,
      );
      expect(load.reduce((a, b) => a + b, 0)).toBe(clients);
      expect(Math.max(...load) - Math.min(...load)).toBeLessThanOrEqual(
        clients % partitions === 0 ? 0 : 1,
      );
    }
  });

  it('the pid-based ids it replaces usually do not spread (why the bench chooses them)', () => {
    let even = 0;
    for (let pid = 1000; pid < 1100; pid++)
      if (partitionLoad(`bench-raw-${pid}`, 4, 4).every((n) => n === 1)) even++;
    // 4!/4^4 ≈ 9 % of random 4-id sets cover 4 partitions.
    expect(even).toBeLessThan(30);
  });

  it('the ids are `${prefix}-${i}`, as raw-publisher.ts names its clients', () => {
    expect(clientIds('p', 3)).toEqual(['p-0', 'p-1', 'p-2']);
  });
});
