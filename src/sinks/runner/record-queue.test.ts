import { describe, expect, it } from 'vitest';

import type { SinkRecord } from '../../core/index.js';
import { RecordQueue } from './record-queue.js';

const rec = (i: number): SinkRecord => ({ data: { i }, ruleId: 'r', ingestTs: i });
const ids = (rs: (SinkRecord | undefined)[]): unknown[] => rs.map((r) => r?.data['i']);
const arrays = (q: RecordQueue): { records: unknown[] } => q as unknown as { records: unknown[] };

/** Shift everything out. */
function drain(q: RecordQueue): SinkRecord[] {
  const out: SinkRecord[] = [];
  for (let r = q.shift(); r !== undefined; r = q.shift()) out.push(r);
  return out;
}

describe('RecordQueue', () => {
  it('stays FIFO with exact length, bytes and first time across empty/refill cycles', () => {
    const q = new RecordQueue();
    let next = 0;
    let expected = 0;
    for (let cycle = 0; cycle < 50; cycle++) {
      const n = 1 + (cycle % 7);
      for (let k = 0; k < n; k++) {
        q.push(rec(next), 10 + next, 1000 + next);
        next++;
      }
      expect(q.length).toBe(n);
      expect(q.firstTime()).toBe(1000 + expected);
      expect(q.peekSize()).toBe(10 + expected);
      // Take some, push one more, then empty it.
      expect(ids([q.shift()])).toEqual([expected++]);
      q.push(rec(next), 10 + next, 1000 + next);
      next++;
      const rest = drain(q);
      expect(ids(rest)).toEqual(Array.from({ length: n }, (_, k) => expected + k));
      expected += n;
      expect([q.length, q.bytes, q.firstTime(), q.peek(), q.peekSize()]).toEqual([
        0,
        0,
        undefined,
        undefined,
        0,
      ]);
    }
    expect(expected).toBe(next);
  });

  it('reuses its arrays after emptying (no regrowth), and releases big ones', () => {
    const q = new RecordQueue();
    for (let i = 0; i < 8; i++) q.push(rec(i), 1, i);
    const before = arrays(q).records;
    drain(q);
    for (let i = 0; i < 8; i++) q.push(rec(i), 1, i);
    expect(arrays(q).records).toBe(before);
    // The emptied slots hold no records (nothing kept alive by the queue).
    drain(q);
    expect(arrays(q).records.every((r) => r === undefined)).toBe(true);
    // After a backlog an emptied queue keeps at most 4,096 slots.
    for (let i = 0; i < 50_000; i++) q.push(rec(i), 1, i);
    expect(arrays(q).records).toHaveLength(50_000);
    expect(ids(drain(q))).toEqual(Array.from({ length: 50_000 }, (_, k) => k));
    expect(arrays(q).records.length).toBeLessThanOrEqual(4096);
  });

  it('compacts a long-lived queue and keeps the order', () => {
    const q = new RecordQueue();
    let next = 0;
    let head = 0;
    // Never empty: always 100 records behind.
    for (let i = 0; i < 20_000; i++) {
      q.push(rec(next), 2, next);
      next++;
      if (q.length > 100) expect(ids([q.shift()])).toEqual([head++]);
    }
    expect(arrays(q).records.length).toBeLessThan(10_000);
    expect(q.length).toBe(100);
    expect(q.bytes).toBe(200);
    expect(ids(q.clear())).toEqual(Array.from({ length: 100 }, (_, k) => head + k));
    expect([q.length, q.bytes]).toEqual([0, 0]);
  });
});
