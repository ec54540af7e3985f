import { describe, expect, it } from 'vitest';
import { TokenBucket, parseRate } from './rate-limits.js';

describe('parseRate (EMQX rates)', () => {
  it.each([
    ['infinity', null],
    ['1000/s', { amount: 1000, per: 1000 }],
    ['100/10s', { amount: 100, per: 10_000 }],
    ['60/m', { amount: 60, per: 60_000 }],
    ['5/200ms', { amount: 5, per: 200 }],
    ['1.5/h', { amount: 1.5, per: 3_600_000 }],
  ])('%s', (s, want) => expect(parseRate(s)).toEqual(want));

  it.each(['', '10', '10 per s', '0/s', '/s', '10/d'])('%s is an error', (s) => {
    expect(parseRate(s)).toBeInstanceOf(Error);
  });
});

describe('TokenBucket', () => {
  it('holds one period of tokens, refills continuously, and goes into debt on take()', () => {
    let t = 0;
    const b = new TokenBucket({ amount: 10, per: 1000 }, () => t);
    for (let i = 0; i < 10; i++) expect(b.tryTake()).toBe(true);
    expect(b.tryTake()).toBe(false);
    expect(b.waitMs()).toBe(100);
    t = 100;
    expect(b.tryTake()).toBe(true);
    for (let i = 0; i < 20; i++) b.take(); // a burst read at once: 20 tokens of debt
    expect(b.waitMs()).toBe(2100);
    t = 10_000;
    expect(b.waitMs()).toBe(0);
    for (let i = 0; i < 10; i++) expect(b.tryTake()).toBe(true); // capped at one period
    expect(b.tryTake()).toBe(false);
  });
});
