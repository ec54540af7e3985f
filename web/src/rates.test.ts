import { describe, expect, it } from 'vitest';

import { formatRate, RateSeries } from './rates.js';

describe('RateSeries (rates from cumulative counters)', () => {
  it('is 0 until two samples, then the difference per second', () => {
    const s = new RateSeries();
    s.add(10_000, 100);
    expect(s.current).toBe(0);
    expect(s.history).toEqual([]);
    s.add(12_000, 150);
    expect(s.current).toBe(25);
    expect(s.history).toEqual([{ t: 12, rate: 25 }]);
  });

  it('starts over (rate 0) when a counter goes down, and ignores a sample not later in time', () => {
    const s = new RateSeries();
    s.add(1000, 50);
    s.add(2000, 10);
    expect(s.current).toBe(0);
    s.add(2000, 20);
    expect(s.history).toHaveLength(1);
    s.add(3000, 30);
    expect(s.current).toBe(10);
  });

  it('keeps only the last `keep` points', () => {
    const s = new RateSeries(3);
    for (let i = 0; i <= 10; i++) s.add(i * 1000, i * i);
    expect(s.history.map((p) => p.rate)).toEqual([15, 17, 19]);
  });
});

describe('formatRate', () => {
  it.each([
    [0, '0'],
    [0.25, '0.3'],
    [9.94, '9.9'],
    [12.4, '12'],
    [1234, '1.2k'],
    [45_600, '46k'],
  ])('%d → %s', (r, text) => expect(formatRate(r)).toBe(text));
});
