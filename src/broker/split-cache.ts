/**
 * Cache the topic splits of Aedes' subscription matcher (issue #10; decision 0020).
 *
 * Every PUBLISH is routed by mqemitter's Qlobber, whose `match` first splits the topic on `/`
 * (`topic.split('/')`: an array and one string per level, ~0.25 µs for a three-level topic —
 * 3–4 % of the broker's CPU in a QoS 0 flood). Devices publish to the same few topics over and
 * over, so the split of a topic is kept in a bounded Map and reused. Qlobber only reads the
 * words array (`_match`, `_remove` and `_test` never write to it), so one array can serve every
 * match of its topic.
 *
 * Only lookups (`adding === false`: match, remove, test) use the cache; `add` (SUBSCRIBE) splits
 * afresh as before and checks its `#` count, so a subscribe flood neither fills nor churns it.
 * The Map holds at most `size` topics and is emptied when it is full (as the rule source's match
 * cache is): a fleet publishing to more distinct topics than that pays one extra Map lookup and
 * insert per message, and memory stays bounded.
 *
 * Qlobber's own `cache_splits` option would do the same but is not reachable (mqemitter builds
 * its Qlobber without it) and evicts one entry per miss through a fresh key iterator.
 */
import type { Aedes } from 'aedes';

/** Topics whose split is cached (the cache is emptied when it fills up). */
export const SPLIT_CACHE_SIZE = 4096;

/** The part of qlobber's Qlobber the cache wraps. */
interface QlobberLike {
  _split(topic: string, adding: boolean): string[];
  _split_cache?: unknown;
}

/** What `cacheTopicSplits` installed, for tests and the broker's own checks. */
export interface SplitCache {
  /** Topics cached now. */
  readonly size: number;
  /** Lookups answered from the cache / that had to split. */
  readonly hits: number;
  readonly misses: number;
}

/**
 * Wrap the matcher's `_split` of `aedes.mq` with a bounded cache. Returns undefined (and changes
 * nothing) when the matcher is not the Qlobber this was written for, or already caches splits.
 */
export function cacheTopicSplits(aedes: Aedes, size = SPLIT_CACHE_SIZE): SplitCache | undefined {
  const matcher = (aedes as unknown as { mq?: { _matcher?: QlobberLike } }).mq?._matcher;
  if (!matcher || typeof matcher._split !== 'function' || matcher._split_cache !== undefined)
    return undefined;
  const split = matcher._split.bind(matcher);
  const cache = new Map<string, string[]>();
  let hits = 0;
  let misses = 0;
  matcher._split = (topic: string, adding: boolean): string[] => {
    if (adding) return split(topic, adding);
    let words = cache.get(topic);
    if (words !== undefined) {
      hits++;
      return words;
    }
    misses++;
    words = split(topic, false); // may throw (too many words): then nothing is cached
    if (cache.size >= size) cache.clear();
    cache.set(topic, words);
    return words;
  };
  return {
    get size() {
      return cache.size;
    },
    get hits() {
      return hits;
    },
    get misses() {
      return misses;
    },
  };
}
