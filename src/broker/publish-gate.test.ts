import { describe, expect, it } from 'vitest';
import { PublishGate } from './publish-gate.js';

describe('PublishGate', () => {
  it('passes at once while open and holds in order while paused', () => {
    const g = new PublishGate();
    const seen: number[] = [];
    g.pass(() => seen.push(1));
    g.pause();
    g.pass(() => seen.push(2));
    g.pass(() => seen.push(3));
    expect([seen, g.size]).toEqual([[1], 2]);
    g.resume();
    expect([seen, g.size]).toEqual([[1, 2, 3], 0]);
  });

  it('a release that pauses again stops the releasing; arrivals meanwhile keep their place', () => {
    const g = new PublishGate();
    const seen: number[] = [];
    g.pause();
    g.pass(() => {
      seen.push(1);
      g.pause();
    });
    g.pass(() => seen.push(2));
    g.resume();
    expect(seen).toEqual([1]);
    g.pass(() => seen.push(3)); // paused: behind 2
    g.resume();
    expect(seen).toEqual([1, 2, 3]);
  });

  it('a packet arriving during a release queues behind the held ones', () => {
    const g = new PublishGate();
    const seen: number[] = [];
    g.pause();
    g.pass(() => {
      seen.push(1);
      g.pass(() => seen.push(3));
    });
    g.pass(() => seen.push(2));
    g.resume();
    expect(seen).toEqual([1, 2, 3]);
  });

  it('flush releases everything even while paused', () => {
    const g = new PublishGate();
    let n = 0;
    g.pause();
    for (let i = 0; i < 100_000; i++) g.pass(() => n++);
    g.flush();
    expect([n, g.size]).toEqual([100_000, 0]);
  });
});
