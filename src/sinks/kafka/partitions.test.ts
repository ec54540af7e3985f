import { describe, it, expect } from 'vitest';
import { createPartitionTable } from './partitions.js';

describe('partition count table', () => {
  it('fetches on first use, serves the cached count, refreshes after the interval', async () => {
    let now = 0;
    let counts = 3;
    const fetched: string[] = [];
    const t = createPartitionTable({
      refreshMs: 60_000,
      now: () => now,
      fetch: async (topic) => {
        fetched.push(topic);
        return counts;
      },
    });
    expect(t.count('a')).toBeUndefined(); // unknown: starts a fetch, does not wait
    expect(await t.ensure('a')).toBe(3);
    expect(t.count('a')).toBe(3);
    expect(fetched).toEqual(['a']);
    counts = 6; // partitions were added
    now = 59_999;
    expect(t.count('a')).toBe(3);
    expect(fetched).toEqual(['a']);
    now = 60_000;
    expect(t.count('a')).toBe(3); // stale: old value now, refresh in the background
    await new Promise((r) => setTimeout(r, 0));
    expect(t.count('a')).toBe(6);
    expect(fetched).toEqual(['a', 'a']);
  });

  it('shares one fetch between concurrent callers and reports failures', async () => {
    let calls = 0;
    const errors: string[] = [];
    const t = createPartitionTable({
      refreshMs: 1000,
      now: () => 0,
      fetch: async (topic) => {
        calls++;
        if (topic === 'missing') throw new Error('UNKNOWN_TOPIC_OR_PARTITION');
        return 2;
      },
      onError: (topic) => errors.push(topic),
    });
    expect(await Promise.all([t.ensure('x'), t.ensure('x')])).toEqual([2, 2]);
    expect(calls).toBe(1);
    expect(t.count('missing')).toBeUndefined();
    await new Promise((r) => setTimeout(r, 0));
    expect(errors).toEqual(['missing']);
    await expect(t.ensure('missing')).rejects.toThrow(/UNKNOWN_TOPIC/);
  });
});
