import { describe, expect, it } from 'vitest';
import { hashKey, KEY_SPACE_MAX, ShardTable, splitKeySpace } from './hash.js';

describe('partition key → shard (hstream-protocol.md §6)', () => {
  it('splits the key space exactly like the server', () => {
    const s = (n: number) => splitKeySpace(n).map((r) => [r.start.toString(), r.end.toString()]);
    expect(s(1)).toEqual([['0', '340282366920938463463374607431768211455']]);
    expect(s(2)).toEqual([
      ['0', '170141183460469231731687303715884105726'],
      ['170141183460469231731687303715884105727', '340282366920938463463374607431768211455'],
    ]);
    expect(s(4)).toEqual([
      ['0', '85070591730234615865843651857942052862'],
      ['85070591730234615865843651857942052863', '170141183460469231731687303715884105725'],
      ['170141183460469231731687303715884105726', '255211775190703847597530955573826158588'],
      ['255211775190703847597530955573826158589', '340282366920938463463374607431768211455'],
    ]);
    expect(splitKeySpace(7).at(-1)!.end).toBe(KEY_SPACE_MAX);
  });

  it('hashes MD5 as a big-endian 128-bit integer', () => {
    expect(hashKey('')).toBe(281949768489412648962353822266799178366n);
    expect(hashKey('').toString(16)).toBe('d41d8cd98f00b204e9800998ecf8427e');
  });

  it('matches the spec test vectors for 4 shards', () => {
    const ranges = splitKeySpace(4).map((r, i) => ({ shardId: String(i), ...r }));
    // Insert unsorted: the table must sort by range start.
    const table = new ShardTable([ranges[2]!, ranges[0]!, ranges[3]!, ranges[1]!]);
    expect(['a', 't/1', 'hello', ''].map((k) => table.shardFor(k))).toEqual(['0', '1', '1', '3']);
    // Memoised lookups answer the same.
    expect(table.shardFor('a')).toBe('0');
  });

  it('reports keys that fall into a gap', () => {
    const table = new ShardTable([{ shardId: '9', start: 0n, end: 10n }]);
    expect(table.shardFor('a')).toBeUndefined();
  });
});
