import { describe, expect, it } from 'vitest';
import { createLatencyHistogram } from './histogram.js';

describe('latency histogram', () => {
  it('is empty at first', () => {
    expect(createLatencyHistogram().summary()).toEqual({ count: 0, p50: 0, p99: 0, max: 0 });
  });

  it('reports quantiles within the bucket resolution', () => {
    const h = createLatencyHistogram();
    for (let i = 1; i <= 1000; i++) h.record(i);
    const s = h.summary();
    expect(s.count).toBe(1000);
    expect(s.max).toBe(1000);
    // true p50 = 500, p99 = 990; buckets are at most 1/16 wide above 16 ms
    expect(s.p50).toBeGreaterThanOrEqual(500);
    expect(s.p50).toBeLessThanOrEqual(500 * (1 + 1 / 16));
    expect(s.p99).toBeGreaterThanOrEqual(990);
    expect(s.p99).toBeLessThanOrEqual(1000);
  });

  it('is exact to the millisecond below 16 ms and clamps odd values', () => {
    const h = createLatencyHistogram();
    for (const v of [0, -5, Number.NaN, 3.2, 3.7, 3.9]) h.record(v);
    const s = h.summary();
    expect(s.count).toBe(6);
    expect(s.p50).toBe(1); // 0, -5, NaN land in the first bucket [0, 1)
    expect(s.p99).toBe(3.9);
    h.record(1e15);
    expect(h.summary().max).toBe(1e15);
    h.reset();
    expect(h.summary().count).toBe(0);
  });
});
