/**
 * A topic-filter index: a trie over topic levels so that finding the rules whose FROM matches
 * one message costs O(levels × matching branches), not O(rules).
 *
 * Matching follows MQTT 5.0 §4.7 as EMQX's rule engine applies it (spec rule-sql §11.10):
 *  - `+` matches exactly one level (an empty level too); `#` matches the parent level and any
 *    number of levels below it (`a/#` matches `a`, `a/b`, `a/b/c`) [MQTT-4.7.1-2].
 *  - A topic whose first level starts with `$` is never matched by a filter whose first level
 *    is `+` or `#` [MQTT-4.7.2-1].
 *  - Event topics may be written in the 6.x slash form (`$events/client/connected`) or the
 *    legacy underscore form (`$events/client_connected`) — spec §7.2. Filters are normalised
 *    to the slash form on insertion (`normaliseFilter`) and the broker's `matchTopic` for an
 *    event is always the slash form, so both spellings match.
 *
 * The index stores opaque values (the runtime stores rule slots) with set semantics per filter.
 */
import { slashEventTopic } from './topic.js';

interface TrieNode<T> {
  readonly children: Map<string, TrieNode<T>>;
  plus: TrieNode<T> | undefined;
  /** Values whose filter ends with `#` right below this node. */
  readonly hash: Set<T>;
  /** Values whose filter ends exactly at this node. */
  readonly exact: Set<T>;
}

function node<T>(): TrieNode<T> {
  return { children: new Map(), plus: undefined, hash: new Set(), exact: new Set() };
}

/** Map a legacy event topic (`$events/client_connected`) to its slash form; others unchanged. */
export function normaliseFilter(filter: string): string {
  return slashEventTopic(filter);
}

export interface TopicIndex<T> {
  add(filter: string, value: T): void;
  /** Remove one (filter, value) pair; a no-op when absent. Empty branches are pruned. */
  remove(filter: string, value: T): void;
  /** Call `visit` once per (matching filter, value); a value under two matching filters is visited twice. */
  match(topic: string, visit: (value: T) => void): void;
  /** Number of (filter, value) pairs stored. */
  readonly size: number;
}

export function createTopicIndex<T>(): TopicIndex<T> {
  const root = node<T>();
  let size = 0;

  function add(filter: string, value: T): void {
    const levels = normaliseFilter(filter).split('/');
    let n = root;
    for (let i = 0; i < levels.length; i++) {
      const level = levels[i] as string;
      if (level === '#' && i === levels.length - 1) {
        if (!n.hash.has(value)) size++;
        n.hash.add(value);
        return;
      }
      if (level === '+') {
        n.plus ??= node<T>();
        n = n.plus;
      } else {
        let next = n.children.get(level);
        if (!next) {
          next = node<T>();
          n.children.set(level, next);
        }
        n = next;
      }
    }
    if (!n.exact.has(value)) size++;
    n.exact.add(value);
  }

  function remove(filter: string, value: T): void {
    const levels = normaliseFilter(filter).split('/');
    const path: { parent: TrieNode<T>; key: string | null }[] = [];
    let n: TrieNode<T> | undefined = root;
    for (let i = 0; i < levels.length && n; i++) {
      const level = levels[i] as string;
      if (level === '#' && i === levels.length - 1) {
        if (n.hash.delete(value)) size--;
        prune(path, n);
        return;
      }
      path.push({ parent: n, key: level === '+' ? null : level });
      n = level === '+' ? n.plus : n.children.get(level);
    }
    if (!n) return;
    if (n.exact.delete(value)) size--;
    prune(path, n);
  }

  function prune(path: { parent: TrieNode<T>; key: string | null }[], leaf: TrieNode<T>): void {
    let n = leaf;
    for (let i = path.length - 1; i >= 0; i--) {
      if (n.exact.size || n.hash.size || n.children.size || n.plus) return;
      const { parent, key } = path[i] as { parent: TrieNode<T>; key: string | null };
      if (key === null) parent.plus = undefined;
      else parent.children.delete(key);
      n = parent;
    }
  }

  function walk(n: TrieNode<T>, levels: string[], i: number, visit: (v: T) => void): void {
    // `#` below this node matches this level and everything under it (incl. the parent level).
    if (n.hash.size && !(i === 0 && (levels[0] as string).startsWith('$'))) n.hash.forEach(visit);
    if (i === levels.length) {
      n.exact.forEach(visit);
      return;
    }
    const level = levels[i] as string;
    const child = n.children.get(level);
    if (child) walk(child, levels, i + 1, visit);
    if (n.plus && !(i === 0 && level.startsWith('$'))) walk(n.plus, levels, i + 1, visit);
  }

  return {
    add,
    remove,
    match: (topic, visit) => walk(root, topic.split('/'), 0, visit),
    get size() {
      return size;
    },
  };
}
