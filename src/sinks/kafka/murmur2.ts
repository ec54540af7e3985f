/**
 * Kafka's default key partitioner hash: `Utils.murmur2` of the Java client (32-bit MurmurHash2,
 * seed 0x9747b28c) and `toPositive(h) % partitions`. Using the exact Java function keeps
 * `key_dispatch` consistent with Java/librdkafka(murmur2_random) producers writing the same keys.
 */
const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** Signed 32-bit murmur2 of `data`, bit-identical to org.apache.kafka.common.utils.Utils.murmur2. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = (SEED ^ length) | 0;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k =
      (data[i4] as number) |
      ((data[i4 + 1] as number) << 8) |
      ((data[i4 + 2] as number) << 16) |
      ((data[i4 + 3] as number) << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  const tail = length & ~3;
  // Java's switch falls through 3 → 2 → 1; written out as ifs (noFallthroughCasesInSwitch).
  const rest = length & 3;
  if (rest === 3) h ^= (data[tail + 2] as number) << 16;
  if (rest >= 2) h ^= (data[tail + 1] as number) << 8;
  if (rest >= 1) {
    h ^= data[tail] as number;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** Partition of a key among `partitions` (Java: `Utils.toPositive(murmur2(key)) % n`). */
export function keyPartition(key: Uint8Array, partitions: number): number {
  return (murmur2(key) & 0x7fffffff) % partitions;
}
