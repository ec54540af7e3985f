/**
 * Sluice's MQTT topic matcher for Aedes' mqemitter (issues #19 and #10; decision 0024).
 *
 * mqemitter routes every PUBLISH through a Qlobber trie in which every level is a `Map` (even
 * with one child) and every filter's listeners an array: ≈ 500 bytes of V8 heap per
 * subscription for `subs/<b>/<i>/+`, all of it surviving scavenges while a client subscribes
 * 100,000 filters. This matcher keeps **exactly Qlobber's semantics under the options
 * mqemitter passes** (separator `/`, `+`, `#`, `match_empty_levels: true` as Aedes builds it,
 * Qlobber's default limits of 100 words and 3 `#` per filter) in a compact layout:
 *
 * - a node holds its only child inline (`kids` is the child node) and grows a `Map` only
 *   past one child, shrinking back to inline when removals leave one;
 * - a node holds its only listener inline (`vals` is the value) and an array only past one;
 * - nodes are pruned as soon as they hold neither children nor listeners (as Qlobber's).
 *
 * Semantics kept (the property test against Qlobber, matcher.property.test.ts, checks them):
 * `match` returns every listener of every matching filter, duplicates included, in Qlobber's
 * order (the trie walk: at each level first a `#` child — its deeper levels for every split
 * point, then the `#` filter itself —, then the node's own listeners at the last level, else
 * the exact word, then `+`; within a filter its listeners in the order added); a `+` or `#`
 * word in a topic is only matched by wildcards, and `+` matches an empty level; `#` matches
 * the parent level (`a/#` matches `a`); `add` appends (a listener added twice is listed
 * twice); `remove(topic, fn)` removes the last-added copy of `fn`; `remove(topic)` removes all
 * listeners of the filter; a topic of more than 100 levels throws `too many words` (add,
 * remove and match), a filter with more than three `#` throws `too many wildcard somes` (add),
 * before anything changes. `$` topics are Aedes' concern (it does not route `$SYS` to `#`), not
 * the matcher's.
 *
 * One deliberate difference, not observable through mqemitter: Qlobber returns its own leaf
 * array when exactly one filter matches (the caller must not modify it, and an `add` to that
 * filter during the delivery would grow the array being iterated); `match` here always
 * returns a new array.
 *
 * `match` also caches the topic split (decision 0020, formerly split-cache.ts): devices publish
 * to the same few topics over and over, so the words of at most `SPLIT_CACHE_SIZE` topics are
 * kept and reused (the Map is emptied when full). Only `match` uses it; `add` and `remove`
 * (SUBSCRIBE / UNSUBSCRIBE filters) split afresh, so a subscribe flood neither fills nor churns
 * it. The words arrays are only read.
 */
import type { Aedes } from 'aedes';

/** Topics whose split `match` caches (the cache is emptied when it fills up). */
export const SPLIT_CACHE_SIZE = 4096;

/** Qlobber's default `max_words` (mqemitter does not pass one). */
export const MAX_WORDS = 100;
/** Qlobber's default `max_wildcard_somes`. */
export const MAX_WILDCARD_SOMES = 3;

/** The options mqemitter hands Qlobber (named as mqemitter names them). */
export interface MatcherOptions {
  separator?: string;
  wildcardOne?: string;
  wildcardSome?: string;
  /** `+` also matches an empty level. Aedes: true [MQTT-4.7.1-3]. Default true, as mqemitter. */
  matchEmptyLevels?: boolean;
  /** Topics whose split `match` caches; 0 = none. */
  splitCacheSize?: number;
}

/** A filter's listeners: several are kept in a `Many`, one inline. */
class Many<T> {
  constructor(readonly a: T[]) {}
}

class Node<T> {
  /** This node's word (its key in the parent). */
  readonly word: string;
  /** Children: none, the only one inline, or a Map by word once there are two or more. */
  kids: Node<T> | Map<string, Node<T>> | undefined = undefined;
  /** Listeners of the filter ending here: none, the only one inline, or a `Many`. */
  vals: T | Many<T> | undefined = undefined;
  constructor(word: string) {
    this.word = word;
  }
}

function child<T>(node: Node<T>, word: string): Node<T> | undefined {
  const k = node.kids;
  if (k === undefined) return undefined;
  if (k instanceof Node) return k.word === word ? k : undefined;
  return k.get(word);
}

function addChild<T>(node: Node<T>, c: Node<T>): void {
  const k = node.kids;
  if (k === undefined) node.kids = c;
  else if (k instanceof Node)
    node.kids = new Map([
      [k.word, k],
      [c.word, c],
    ]);
  else k.set(c.word, c);
}

function removeChild<T>(node: Node<T>, c: Node<T>): void {
  const k = node.kids;
  if (k === c) node.kids = undefined;
  else if (k instanceof Map) {
    k.delete(c.word);
    if (k.size === 1) for (const only of k.values()) node.kids = only;
  }
}

/** Counters of the split cache, for tests and the broker's checks. */
export interface SplitCacheStats {
  readonly size: number;
  readonly hits: number;
  readonly misses: number;
}

/**
 * The matcher. `T` is the listener type; values are compared with `===` (as Qlobber's
 * `lastIndexOf`) and must not be `undefined` (mqemitter asserts every listener).
 */
export class TopicMatcher<T> {
  readonly #sep: string;
  readonly #one: string;
  readonly #some: string;
  readonly #empty: boolean;
  readonly #root = new Node<T>('');
  readonly #cacheSize: number;
  readonly #cache = new Map<string, string[]>();
  #hits = 0;
  #misses = 0;
  #filters = 0;

  constructor(opts: MatcherOptions = {}) {
    this.#sep = opts.separator || '/';
    this.#one = opts.wildcardOne || '+';
    this.#some = opts.wildcardSome || '#';
    this.#empty = opts.matchEmptyLevels === undefined ? true : !!opts.matchEmptyLevels;
    this.#cacheSize = opts.splitCacheSize ?? SPLIT_CACHE_SIZE;
  }

  /** Filters held (distinct filter strings with at least one listener). */
  get filters(): number {
    return this.#filters;
  }

  get splitCache(): SplitCacheStats {
    const m = this.#cache;
    const hits = (): number => this.#hits;
    const misses = (): number => this.#misses;
    return {
      get size() {
        return m.size;
      },
      get hits() {
        return hits();
      },
      get misses() {
        return misses();
      },
    };
  }

  /** Nodes (root excluded), child Maps and listener arrays held: O(n), for tests and benches. */
  layout(): { nodes: number; maps: number; arrays: number } {
    const r = { nodes: 0, maps: 0, arrays: 0 };
    const walk = (n: Node<T>): void => {
      if (n.vals instanceof Many) r.arrays++;
      const k = n.kids;
      if (k === undefined) return;
      if (k instanceof Node) {
        r.nodes++;
        walk(k);
        return;
      }
      r.maps++;
      for (const c of k.values()) {
        r.nodes++;
        walk(c);
      }
    };
    walk(this.#root);
    return r;
  }

  #split(topic: string): string[] {
    const words = topic.split(this.#sep);
    if (words.length > MAX_WORDS) throw new Error('too many words');
    return words;
  }

  #matchWords(topic: string): string[] {
    if (this.#cacheSize <= 0) return this.#split(topic);
    let words = this.#cache.get(topic);
    if (words !== undefined) {
      this.#hits++;
      return words;
    }
    this.#misses++;
    words = this.#split(topic); // may throw (too many words): then nothing is cached
    if (this.#cache.size >= this.#cacheSize) this.#cache.clear();
    this.#cache.set(topic, words);
    return words;
  }

  add(topic: string, val: T): this {
    if (val === undefined) throw new TypeError('matcher: a listener must not be undefined');
    const words = this.#split(topic);
    let somes = 0;
    for (const w of words) if (w === this.#some) somes++;
    if (somes > MAX_WILDCARD_SOMES) throw new Error('too many wildcard somes');
    let node = this.#root;
    for (const w of words) {
      let c = child(node, w);
      if (c === undefined) {
        c = new Node<T>(w);
        addChild(node, c);
      }
      node = c;
    }
    const v = node.vals;
    if (v === undefined) {
      node.vals = val;
      this.#filters++;
    } else if (v instanceof Many) v.a.push(val);
    else node.vals = new Many([v, val]);
    return this;
  }

  /** Remove the last-added copy of `val` from `topic`'s listeners, or all of them without `val`. */
  remove(topic: string, val?: T): this {
    const words = this.#split(topic);
    const path: Node<T>[] = [this.#root];
    let node = this.#root;
    for (const w of words) {
      const c = child(node, w);
      if (c === undefined) return this;
      path.push(c);
      node = c;
    }
    const v = node.vals;
    if (v === undefined) return this;
    if (val === undefined) node.vals = undefined;
    else if (v instanceof Many) {
      const i = v.a.lastIndexOf(val);
      if (i < 0) return this;
      v.a.splice(i, 1);
      if (v.a.length === 1) node.vals = v.a[0];
    } else if (v === val) node.vals = undefined;
    else return this;
    if (node.vals !== undefined) return this;
    this.#filters--;
    // Prune the nodes left with neither listeners nor children, deepest first.
    for (let i = path.length - 1; i > 0; i--) {
      const n = path[i]!;
      if (n.vals !== undefined || n.kids !== undefined) break;
      removeChild(path[i - 1]!, n);
    }
    return this;
  }

  /** Every listener of every filter matching `topic`, in Qlobber's order (a new array). */
  match(topic: string): T[] {
    const out: T[] = [];
    this.#match(out, 0, this.#matchWords(topic), this.#root);
    return out;
  }

  #match(out: T[], i: number, words: string[], node: Node<T>): void {
    const n = words.length;
    let st = child(node, this.#some);
    if (st !== undefined) {
      // `#` with more levels after it: every split point.
      if (st.kids !== undefined) for (let j = i; j < n; j++) this.#match(out, j, words, st);
      // `#` matching the rest of the topic (or none of it).
      this.#match(out, n, words, st);
    }
    if (i === n) {
      const v = node.vals;
      if (v === undefined) return;
      if (v instanceof Many) for (const x of v.a) out.push(x);
      else out.push(v);
      return;
    }
    const w = words[i]!;
    if (w !== this.#one && w !== this.#some) {
      st = child(node, w);
      if (st !== undefined) this.#match(out, i + 1, words, st);
    }
    if (w !== '' || this.#empty) {
      st = child(node, this.#one);
      if (st !== undefined) this.#match(out, i + 1, words, st);
    }
  }
}

/** The part of qlobber's Qlobber `installMatcher` reads to carry entries over. */
interface QlobberLike {
  add(topic: string, val: unknown): unknown;
  match(topic: string): unknown[];
  visit(): Iterable<{ type: string; key?: string; value?: unknown }>;
  _separator: string;
  _wildcard_one: string;
  _wildcard_some: string;
  _match_empty_levels: boolean;
  _trie: unknown;
}

function isQlobber(m: unknown): m is QlobberLike {
  const q = m as Partial<QlobberLike> | undefined;
  return (
    !!q &&
    typeof q.add === 'function' &&
    typeof q.match === 'function' &&
    typeof q.visit === 'function' &&
    q._trie instanceof Map &&
    typeof q._separator === 'string'
  );
}

/** Every (filter, listener) of a Qlobber in its per-filter order (through `visit`). */
export function qlobberEntries(
  q: Pick<QlobberLike, 'visit' | '_separator'>,
): [filter: string, val: unknown][] {
  const out: [string, unknown][] = [];
  const path: string[] = [];
  let key: string | undefined;
  for (const e of q.visit()) {
    if (e.type === 'entry') key = e.key;
    else if (e.type === 'start_entries') {
      if (key !== undefined) path.push(key);
      key = undefined;
    } else if (e.type === 'end_entries') path.pop();
    else if (e.type === 'value') out.push([path.join(q._separator), e.value]);
  }
  return out;
}

/**
 * Replace `aedes.mq._matcher` (mqemitter's Qlobber) with a `TopicMatcher` built with the same
 * options, carrying over what Aedes' constructor already subscribed (its `$SYS` listeners).
 * Call it right after `new Aedes`. Returns undefined and changes nothing when the matcher is not
 * the Qlobber this was written for.
 */
export function installMatcher(aedes: Aedes): TopicMatcher<unknown> | undefined {
  const mq = (aedes as unknown as { mq?: { _matcher?: unknown } }).mq;
  const q = mq?._matcher;
  if (!mq || !isQlobber(q)) return undefined;
  const m = new TopicMatcher<unknown>({
    separator: q._separator,
    wildcardOne: q._wildcard_one,
    wildcardSome: q._wildcard_some,
    matchEmptyLevels: q._match_empty_levels,
  });
  for (const [filter, val] of qlobberEntries(q)) m.add(filter, val);
  mq._matcher = m;
  return m;
}
