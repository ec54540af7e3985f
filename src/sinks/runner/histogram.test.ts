import { describe, expect, it } from 'vitest';
import { createLatencyHistogram, LATENCY_BOUNDS_MS } from './histogram.js';

describe('latency histogram', () => {
  it('is empty at first', () => {
    expect(createLatencyHistogram().summary()).toEqual({
      count: 0,
      p50: 0,
      p99: 0,
      max: 0,
      sum: 0,
      buckets: LATENCY_BOUNDS_MS.map(() => 0),
    });
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

  it('exports cumulative bucket counts and the sum for a Prometheus histogram', () => {
    const h = createLatencyHistogram();
    for (const v of [0.5, 3, 7, 40, 40, 300, 2000, 1e6]) h.record(v);
    const s = h.summary();
    expect(s.sum).toBeCloseTo(0.5 + 3 + 7 + 40 + 40 + 300 + 2000 + 1e6);
    const at = (ms: number) => s.buckets[LATENCY_BOUNDS_MS.indexOf(ms)];
    expect(at(1)).toBe(1);
    expect(at(5)).toBe(2);
    expect(at(10)).toBe(3);
    expect(at(50)).toBe(5);
    expect(at(500)).toBe(6);
    expect(at(2500)).toBe(7);
    expect(at(60000)).toBe(7); // 1e6 ms is only in +Inf (= count)
    for (let i = 1; i < s.buckets.length; i++)
      expect(s.buckets[i]).toBeGreaterThanOrEqual(s.buckets[i - 1]!);
  });
});
