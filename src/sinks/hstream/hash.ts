/**
 * Partition key → shard (hstream-protocol.md §6): MD5 of the UTF-8 key read as a big-endian
 * unsigned 128-bit integer, looked up against the shards' inclusive [start, end] key ranges
 * (decimal strings from ListShards). Sorted once, binary-searched per key.
 */
import { createHash } from 'node:crypto';

export const KEY_SPACE_MAX = (1n << 128n) - 1n;

export function hashKey(key: string): bigint {
  const d = createHash('md5').update(key, 'utf8').digest();
  return (d.readBigUInt64BE(0) << 64n) | d.readBigUInt64BE(8);
}

export interface ShardRange {
  /** uint64 shard id as decimal text (never a JS number). */
  shardId: string;
  start: bigint;
  end: bigint;
}

/**
 * How the server splits the key space at CreateStream (`devideKeySpace`, §6):
 * step = (2^128 − 1) div n; shard i covers [i·step, i·step + step − 1], the last ends at 2^128 − 1.
 */
export function splitKeySpace(n: number): Array<{ start: bigint; end: bigint }> {
  const step = KEY_SPACE_MAX / BigInt(n);
  const out: Array<{ start: bigint; end: bigint }> = [];
  for (let i = 0; i < n; i++) {
    const start = BigInt(i) * step;
    out.push({ start, end: i === n - 1 ? KEY_SPACE_MAX : start + step - 1n });
  }
  return out;
}

export class ShardTable {
  private readonly ranges: ShardRange[];
  private readonly cache = new Map<string, string>();

  constructor(ranges: readonly ShardRange[]) {
    this.ranges = [...ranges].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  }

  get shardIds(): string[] {
    return this.ranges.map((r) => r.shardId);
  }

  /** Shard id owning `key`, or undefined when the ranges leave a gap there. */
  shardFor(key: string): string | undefined {
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit;
    const h = hashKey(key);
    let lo = 0;
    let hi = this.ranges.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = this.ranges[mid]!;
      if (h < r.start) hi = mid - 1;
      else if (h > r.end) lo = mid + 1;
      else {
        // Bounded memo: keys are usually few (topics/client ids); drop it when it grows large.
        if (this.cache.size >= 100_000) this.cache.clear();
        this.cache.set(key, r.shardId);
        return r.shardId;
      }
    }
    return undefined;
  }
}
