import { describe, expect, it } from 'vitest';
import type { SinkRecord } from '../../core/index.js';
import { MemoryBuffer } from './buffer.js';

const rec = (i: number, ingestTs = 0): SinkRecord => ({ data: { i }, ruleId: 'r', ingestTs });
const ids = (rs: readonly SinkRecord[]): number[] => rs.map((r) => r.data['i'] as number);

describe('MemoryBuffer', () => {
  it('takes batches FIFO per partition, bounded by count and bytes, and keeps totals', () => {
    const b = new MemoryBuffer(false);
    for (let i = 0; i < 5; i++) b.push('', rec(i), 10, i);
    expect([b.records, b.bytes]).toEqual([5, 50]);
    const part = b.parts.get('')!;
    expect(ids(b.take(part, 3, Infinity, 0, 0).records)).toEqual([0, 1, 2]);
    expect(ids(b.take(part, 10, 15, 0, 0).records)).toEqual([3]); // 10 + 10 > 15
    expect([b.records, b.bytes, part.busy]).toEqual([1, 10, 2]);
    b.ack(part);
    b.ack(part);
    expect(part.busy).toBe(0);
    expect(b.parts.has('')).toBe(true); // unpartitioned: the single queue stays
  });

  it('an oversized record still leaves alone', () => {
    const b = new MemoryBuffer(false);
    b.push('', rec(0), 500, 0);
    b.push('', rec(1), 1, 0);
    expect(ids(b.take(b.parts.get('')!, 10, 100, 0, 0).records)).toEqual([0]);
  });

  it('skips expired records while taking and counts them', () => {
    const b = new MemoryBuffer(false);
    b.push('', rec(0, 0), 1, 0);
    b.push('', rec(1, 90), 1, 0);
    const t = b.take(b.parts.get('')!, 10, Infinity, 100, 50);
    expect(ids(t.records)).toEqual([1]);
    expect(t.expired).toBe(1);
    expect(b.records).toBe(0);
  });

  it('rotates partitions round-robin and forgets empty idle ones', () => {
    const b = new MemoryBuffer(true);
    b.push('a', rec(0), 1, 0);
    b.push('b', rec(1), 1, 1);
    b.push('a', rec(2), 1, 2);
    const a = b.parts.get('a')!;
    b.take(a, 1, Infinity, 0, 0);
    expect([...b.parts.keys()]).toEqual(['b', 'a']);
    b.ack(a);
    expect([...b.parts.keys()]).toEqual(['b', 'a']); // still has record 2
    b.take(a, 1, Infinity, 0, 0);
    b.ack(a);
    expect([...b.parts.keys()]).toEqual(['b']);
  });

  it('evicts the globally oldest record and expires heads across partitions', () => {
    const b = new MemoryBuffer(true);
    b.push('a', rec(0, 0), 1, 5);
    b.push('b', rec(1, 0), 1, 3);
    b.push('b', rec(2, 100), 1, 6);
    expect(b.evictOldest()).toBe(true); // record 1 (time 3)
    expect(ids(b.take(b.parts.get('b')!, 10, Infinity, 0, 0).records)).toEqual([2]);
    expect(b.expire(200, 150)).toBe(1); // record 0 (ingest 0) is 200 ms old
    expect(b.records).toBe(0);
    expect(b.evictOldest()).toBe(false);
  });

  it('reports the next head deadline and clears', () => {
    const b = new MemoryBuffer(true);
    b.push('a', rec(0), 1, 5);
    b.push('b', rec(1), 1, 9);
    expect(b.nextHeadTimeAfter(5)).toBe(9);
    expect(b.nextHeadTimeAfter(0)).toBe(5);
    expect(b.nextHeadTimeAfter(9)).toBe(Infinity);
    expect(b.clear()).toBe(2);
    expect([b.records, b.bytes, b.parts.size]).toEqual([0, 0, 0]);
    expect(b.replay()).toBe(0);
  });

  it('takes a million records in and out (O(1) per record; an O(n) shift would time out)', () => {
    const b = new MemoryBuffer(false);
    for (let i = 0; i < 1_000_000; i++) b.push('', rec(i), 1, i);
    const part = b.parts.get('')!;
    let n = 0;
    while (b.records > 0) n += b.take(part, 1000, Infinity, 0, 0).records.length;
    expect(n).toBe(1_000_000);
  });
});
