import { afterEach, describe, expect, it } from 'vitest';
import { Aedes } from 'aedes';
import type { AedesPublishPacket, PublishPacket } from 'aedes';

import { cacheTopicSplits } from './split-cache.js';

interface Matcher {
  match(topic: string): unknown[];
  _split(topic: string, adding: boolean): string[];
}
const matcherOf = (a: Aedes): Matcher =>
  (a as unknown as { mq: { _matcher: Matcher } }).mq._matcher;

const brokers: Aedes[] = [];
afterEach(async () => {
  for (const a of brokers.splice(0)) await new Promise<void>((r) => a.close(() => r()));
});

function aedes(): Aedes {
  const a = new Aedes();
  brokers.push(a);
  return a;
}

/** Topics each subscription received, in order. */
async function route(a: Aedes, filters: string[], topics: string[]): Promise<string[][]> {
  const got = filters.map(() => [] as string[]);
  await Promise.all(
    filters.map(
      (f, i) =>
        new Promise<void>((resolve) =>
          a.subscribe(
            f,
            (p: AedesPublishPacket, cb: () => void) => {
              got[i]!.push(p.topic);
              cb();
            },
            resolve,
          ),
        ),
    ),
  );
  for (const topic of topics)
    await new Promise<void>((resolve) =>
      a.publish(
        {
          cmd: 'publish',
          topic,
          payload: Buffer.from('x'),
          qos: 0,
          retain: false,
          dup: false,
        } as PublishPacket,
        () => resolve(),
      ),
    );
  return got;
}

describe('cacheTopicSplits', () => {
  const filters = ['a/+', 'a/#', '+/b/c', '#', 'x/y', 'a/+/c'];
  const topics = ['a/b', 'a/b/c', 'x/y', 'a/b', 'q', 'a/b/c', 'x/b/c', 'a//c', 'a/b'];

  it('routes exactly as the uncached matcher, reusing splits of repeated topics', async () => {
    const plain = await route(aedes(), filters, topics);
    const a = aedes();
    const cache = cacheTopicSplits(a);
    expect(cache).toBeDefined();
    const cached = await route(a, filters, topics);
    expect(cached).toEqual(plain);
    expect(cached[0]).toEqual(['a/b', 'a/b', 'a/b']);
    // Six distinct topics among the nine publishes: three lookups answered from the cache.
    expect(cache!.misses).toBe(6);
    expect(cache!.hits).toBe(3);
    expect(cache!.size).toBe(6);
  });

  it('keeps at most `size` topics, and matching stays right across the reset', () => {
    const a = aedes();
    const cache = cacheTopicSplits(a, 8)!;
    const m = matcherOf(a);
    a.subscribe(
      't/+',
      () => {},
      () => {},
    );
    for (let i = 0; i < 100; i++) {
      expect(m.match(`t/${i}`)).toHaveLength(1);
      expect(cache.size).toBeLessThanOrEqual(8);
    }
    expect(cache.misses).toBe(100);
    expect(m.match('t/99')).toHaveLength(1);
    expect(cache.hits).toBe(1);
  });

  it('does not cache the splits of SUBSCRIBE filters (adds), and the wildcard checks still run', () => {
    const a = aedes();
    const cache = cacheTopicSplits(a)!;
    for (let i = 0; i < 50; i++)
      a.subscribe(
        `f/${i}/#`,
        () => {},
        () => {},
      );
    expect(cache.size).toBe(0);
    // qlobber refuses more than 3 `#` in a filter when adding: still enforced.
    expect(() => matcherOf(a)._split('#/#/#/#', true)).toThrow(/too many wildcard somes/);
  });

  it('returns the same words as topic.split for lookups, and caches nothing for a refused topic', () => {
    const a = aedes();
    const cache = cacheTopicSplits(a)!;
    const m = matcherOf(a);
    expect(m._split('a//b/', false)).toEqual(['a', '', 'b', '']);
    expect(m._split('a//b/', false)).toEqual(['a', '', 'b', '']);
    const deep = Array.from({ length: 200 }, () => 'l').join('/');
    expect(() => m._split(deep, false)).toThrow(/too many words/);
    expect(cache.size).toBe(1);
  });

  it('installs once per matcher', () => {
    const a = aedes();
    expect(cacheTopicSplits(a)).toBeDefined();
    const wrapped = matcherOf(a)._split;
    (matcherOf(a) as unknown as { _split_cache: unknown })._split_cache = new Map();
    expect(cacheTopicSplits(a)).toBeUndefined();
    expect(matcherOf(a)._split).toBe(wrapped);
  });
});
