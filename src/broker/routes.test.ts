import { describe, expect, it } from 'vitest';

import { RouteTable } from './routes.js';

describe('RouteTable', () => {
  it('counts deliveries per routing message and forgets it on close', () => {
    const t = new RouteTable();
    const cols = Object.freeze({ id: 'x' });
    t.open(7, cols);
    t.open(8, null);
    expect(t.hit(7, 1)).toBe(true);
    expect(t.hit(7, 2)).toBe(true);
    expect(t.columns(7)).toBe(cols);
    expect(t.columns(8)).toBeNull();
    expect(t.close(8)).toBe(0);
    expect(t.close(7)).toBe(3);
    expect(t.hit(7, 1)).toBe(false);
    expect(t.columns(7)).toBeUndefined();
    expect(t.close(7)).toBe(-1);
  });

  it('stays exact when more messages route at once than the ring holds (overflow)', () => {
    const t = new RouteTable();
    const n = 10_000; // > ring size: counters 1 and 4097 share a slot, and so on
    for (let c = 1; c <= n; c++) t.open(c, null);
    for (let c = 1; c <= n; c++) expect(t.hit(c, c % 3)).toBe(true);
    // Close out of order: every message reports its own count.
    for (let c = n; c >= 1; c -= 2) expect(t.close(c)).toBe(c % 3);
    for (let c = 1; c <= n; c += 2) expect(t.close(c)).toBe(c % 3);
    for (const c of [1, 4097, n]) expect(t.close(c)).toBe(-1);
    // Slots are reusable afterwards.
    t.open(4097, null);
    expect(t.hit(4097, 1)).toBe(true);
    t.clear();
    expect(t.hit(4097, 1)).toBe(false);
  });

  it('handles large counters (beyond 32 bits)', () => {
    const t = new RouteTable();
    const big = 2 ** 40 + 5;
    t.open(big, null);
    t.open(5, null); // same low bits: goes to overflow
    expect(t.hit(big, 2)).toBe(true);
    expect(t.hit(5, 1)).toBe(true);
    expect(t.close(5)).toBe(1);
    expect(t.close(big)).toBe(2);
  });
});
