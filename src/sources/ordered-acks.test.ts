import { describe, expect, it } from 'vitest';
import { OrderedAcks } from './ordered-acks.js';

describe('OrderedAcks', () => {
  it('releases in arrival order only the finished prefix', () => {
    const out: number[] = [];
    const acks = new OrderedAcks<number>(
      (n) => out.push(n),
      () => 0,
    );
    const [a, b, c] = [acks.add(1), acks.add(2), acks.add(3)];
    acks.complete(c);
    acks.complete(b);
    expect(out).toEqual([]);
    expect(acks.size).toBe(3);
    acks.complete(a);
    expect(out).toEqual([1, 2, 3]);
    expect(acks.size).toBe(0);
  });

  it('forces entries older than the timeout and counts them', () => {
    let t = 0;
    const out: string[] = [];
    const acks = new OrderedAcks<string>(
      (s) => out.push(s),
      () => t,
    );
    acks.add('old');
    t = 100;
    const young = acks.add('young');
    t = 150;
    expect(acks.forceOlderThan(100)).toBe(1);
    expect(out).toEqual(['old']);
    expect(acks.forceOlderThan(0)).toBe(0);
    acks.complete(young);
    expect(out).toEqual(['old', 'young']);
  });

  it('clear forgets unreleased entries', () => {
    const out: number[] = [];
    const acks = new OrderedAcks<number>(
      (n) => out.push(n),
      () => 0,
    );
    const a = acks.add(1);
    acks.clear();
    acks.complete(a);
    expect(out).toEqual([]);
    expect(acks.size).toBe(0);
  });
});
