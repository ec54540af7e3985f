/**
 * Edge cases of the topic matcher (matcher.ts, decision 0024), each also checked against
 * mqemitter's Qlobber; its installation on Aedes and on the broker; the compact layout; the
 * topic-split cache (decision 0020, formerly split-cache.test.ts).
 */
import { createRequire } from 'node:module';
import { Aedes } from 'aedes';
import type { AedesPublishPacket, PublishPacket } from 'aedes';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../core/index.js';
import { createBrokerInternals } from './broker.js';
import { installMatcher, qlobberEntries, TopicMatcher } from './matcher.js';
import type { Broker } from './types.js';

interface QlobberLike {
  add(topic: string, val: unknown): unknown;
  remove(topic: string, val?: unknown): unknown;
  match(topic: string): unknown[];
}
const require = createRequire(import.meta.url);
const mqemitter = require('mqemitter') as (opts: object) => { _matcher: QlobberLike };

type Fn = (() => void) & { id: string };
const fn = (id: string): Fn => Object.assign(() => {}, { id });
const [f1, f2, f3, f4] = ['f1', 'f2', 'f3', 'f4'].map(fn) as [Fn, Fn, Fn, Fn];

/** Both matchers fed the same calls; `match` returns ours after checking it equals Qlobber's. */
function pair() {
  const q = mqemitter({ matchEmptyLevels: true })._matcher;
  const m = new TopicMatcher<Fn>();
  return {
    m,
    add(topic: string, f: Fn) {
      q.add(topic, f);
      m.add(topic, f);
    },
    remove(topic: string, f?: Fn) {
      q.remove(topic, f);
      m.remove(topic, f);
    },
    match(topic: string): string[] {
      const ours = m.match(topic).map((f) => f.id);
      expect(ours).toEqual(q.match(topic).map((f) => (f as Fn).id));
      return ours;
    },
  };
}

describe('TopicMatcher (Qlobber semantics under mqemitter options)', () => {
  it('matches MQTT wildcards: `+` one level (also an empty one), `#` any number incl. the parent', () => {
    const p = pair();
    p.add('a/+', f1);
    p.add('a/#', f2);
    p.add('#', f3);
    p.add('a/b', f4);
    expect(p.match('a/b')).toEqual(['f3', 'f2', 'f4', 'f1']);
    expect(p.match('a')).toEqual(['f3', 'f2']); // `a/#` matches its parent level
    expect(p.match('a/')).toEqual(['f3', 'f2', 'f1']); // `+` matches the empty level
    expect(p.match('a/b/c')).toEqual(['f3', 'f2']);
    expect(p.match('')).toEqual(['f3']);
    expect(p.match('b')).toEqual(['f3']);
    expect(p.match('/a/b')).toEqual(['f3']);
  });

  it('orders results by the trie walk: `#` first, then exact words before `+`, listeners in add order', () => {
    const p = pair();
    p.add('+/+', f1);
    p.add('x/y', f2);
    p.add('x/+', f3);
    p.add('+/y', f4);
    p.add('x/y', f1);
    expect(p.match('x/y')).toEqual(['f2', 'f1', 'f3', 'f4', 'f1']);
    p.add('x/#', f4);
    expect(p.match('x/y')).toEqual(['f4', 'f2', 'f1', 'f3', 'f4', 'f1']);
  });

  it('keeps duplicates and removes the last-added copy; remove(topic) removes every listener', () => {
    const p = pair();
    p.add('d', f1);
    p.add('d', f2);
    p.add('d', f1);
    expect(p.match('d')).toEqual(['f1', 'f2', 'f1']);
    p.remove('d', f1);
    expect(p.match('d')).toEqual(['f1', 'f2']);
    p.remove('d', f3); // not there: nothing changes
    expect(p.match('d')).toEqual(['f1', 'f2']);
    p.remove('d', f1);
    expect(p.match('d')).toEqual(['f2']);
    p.add('d', f3);
    p.add('d', f3);
    p.remove('d');
    expect(p.match('d')).toEqual([]);
    expect(p.m.filters).toBe(0);
  });

  it('matches literal `+` / `#` words in a topic only by wildcards; `#` mid-filter as Qlobber', () => {
    const p = pair();
    p.add('a/+', f1);
    p.add('a/#/c', f2);
    p.add('a/#', f3);
    expect(p.match('a/+')).toEqual(['f3', 'f1']);
    expect(p.match('a/#')).toEqual(['f3', 'f1']);
    expect(p.match('a/c')).toEqual(['f2', 'f3', 'f1']);
    expect(p.match('a/b/b/c')).toEqual(['f2', 'f3']);
  });

  it('leaves `$` topics to Aedes: `#` and `+` match `$SYS/…` in the matcher itself', () => {
    const p = pair();
    p.add('#', f1);
    p.add('+/x', f2);
    expect(p.match('$SYS/x')).toEqual(['f1', 'f2']);
  });

  it('throws Qlobber’s errors before changing anything', () => {
    const m = new TopicMatcher<Fn>();
    const deep = Array(101).fill('a').join('/');
    expect(() => m.add(deep, f1)).toThrow('too many words');
    expect(() => m.match(deep)).toThrow('too many words');
    expect(() => m.remove(deep, f1)).toThrow('too many words');
    m.add(Array(100).fill('a').join('/'), f1); // 100 levels are fine
    expect(() => m.add('#/#/#/#', f1)).toThrow('too many wildcard somes');
    m.add('#/#/#', f2);
    // Qlobber lists a listener once per way its filter matches: `#/#/#` matches `a` three ways.
    expect(m.match('a').map((f) => f.id)).toEqual(['f2', 'f2', 'f2']);
    expect(m.filters).toBe(2);
    expect(() => m.add('a', undefined as unknown as Fn)).toThrow(TypeError);
  });

  it('returns a new array from every match (never its own storage)', () => {
    const m = new TopicMatcher<Fn>();
    m.add('a', f1);
    const r = m.match('a');
    r.push(f2);
    expect(m.match('a')).toEqual([f1]);
    expect(m.match('a')).not.toBe(m.match('a'));
  });
});

describe('compact layout', () => {
  it('holds single children and single listeners inline, a Map only past one child, and prunes', () => {
    const m = new TopicMatcher<Fn>();
    for (let i = 0; i < 1000; i++) m.add(`subs/${i}/+`, f1);
    // subs → 1000 × (i → +): one Map (under `subs`), no listener arrays.
    expect(m.layout()).toEqual({ nodes: 2001, maps: 1, arrays: 0 });
    m.add('subs/7/+', f2);
    expect(m.layout()).toEqual({ nodes: 2001, maps: 1, arrays: 1 });
    m.remove('subs/7/+', f1);
    expect(m.layout()).toEqual({ nodes: 2001, maps: 1, arrays: 0 });
    expect(m.match('subs/7/x')).toEqual([f2]);
    for (let i = 999; i > 0; i--) m.remove(`subs/${i}/+`, i === 7 ? f2 : f1);
    // One child left under `subs`: back inline.
    expect(m.layout()).toEqual({ nodes: 3, maps: 0, arrays: 0 });
    expect(m.match('subs/0/x')).toEqual([f1]);
    m.remove('subs/0/+', f1);
    expect(m.layout()).toEqual({ nodes: 0, maps: 0, arrays: 0 });
    expect(m.filters).toBe(0);
  });
});

const brokers: Aedes[] = [];
const started: Broker[] = [];
afterEach(async () => {
  for (const a of brokers.splice(0)) await new Promise<void>((r) => a.close(() => r()));
  await Promise.all(started.splice(0).map((b) => b.stop()));
});
function aedes(): Aedes {
  const a = new Aedes();
  brokers.push(a);
  return a;
}
const matcherOf = (a: Aedes): unknown =>
  (a as unknown as { mq: { _matcher: unknown } }).mq._matcher;

/** Topics each subscription received through Aedes, in order. */
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

describe('installMatcher', () => {
  const filters = ['a/+', 'a/#', '+/b/c', '#', 'x/y', 'a/+/c', '$SYS/#'];
  const topics = ['a/b', 'a/b/c', 'x/y', 'a/b', 'q', 'a/b/c', 'x/b/c', 'a//c', 'a/b', '$SYS/x'];

  it('carries over what Aedes already subscribed (its $SYS listeners), with the same matches', async () => {
    // The broker installs it before `listen`, when nothing is subscribed yet; installed later,
    // the Qlobber's entries come along.
    const a = aedes();
    await (a as unknown as { listen(): Promise<void> }).listen();
    const q = matcherOf(a) as QlobberLike & Parameters<typeof qlobberEntries>[0];
    const before = qlobberEntries(q);
    expect(before.length).toBeGreaterThanOrEqual(3); // Aedes' $SYS heartbeat / birth / new clients
    const probes = ['$SYS/b1/heartbeat', '$SYS/b1/birth', '$SYS/b1/new/clients', 'x'];
    const expected = probes.map((t) => q.match(t));
    const m = installMatcher(a)!;
    expect(matcherOf(a)).toBe(m);
    expect(probes.map((t) => m.match(t))).toEqual(expected);
    expect(m.filters).toBe(new Set(before.map(([f]) => f)).size);
    expect(installMatcher(a)).toBeUndefined(); // once: ours is not a Qlobber
  });

  it('routes through Aedes exactly as the Qlobber does, reusing splits of repeated topics', async () => {
    const plain = await route(aedes(), filters, topics);
    const a = aedes();
    const m = installMatcher(a)!;
    const routed = await route(a, filters, topics);
    expect(routed).toEqual(plain);
    expect(routed[0]).toEqual(['a/b', 'a/b', 'a/b']);
    // Seven distinct topics among the ten publishes: three answered from the cache.
    expect(m.splitCache.misses).toBe(7);
    expect(m.splitCache.hits).toBe(3);
    expect(m.splitCache.size).toBe(7);
  });

  it('is installed by the broker, before anything subscribes', async () => {
    const internals = createBrokerInternals(
      { logger: silentLogger },
      { listeners: { memory: { type: 'tcp', enabled: false } } },
    );
    started.push(internals.broker);
    expect(internals.matcher()).toBeUndefined();
    await internals.broker.start();
    const m = internals.matcher();
    expect(m).toBeInstanceOf(TopicMatcher);
    const got: string[] = [];
    await internals.broker.subscribe('t/+', (msg) => got.push(msg.topic));
    const before = m!.filters;
    await internals.broker.publish({ topic: 't/1', payload: Buffer.from('x') });
    await new Promise((r) => setImmediate(r));
    expect(got).toEqual(['t/1']);
    expect(m!.splitCache.misses).toBeGreaterThan(0);
    expect(before).toBeGreaterThan(3); // Aedes' own, the drain guard, and t/+
  });
});

describe('split cache', () => {
  it('keeps at most `size` topics, and matching stays right across the reset', () => {
    const m = new TopicMatcher<Fn>({ splitCacheSize: 8 });
    m.add('t/+', f1);
    for (let i = 0; i < 100; i++) {
      expect(m.match(`t/${i}`)).toEqual([f1]);
      expect(m.splitCache.size).toBeLessThanOrEqual(8);
    }
    expect(m.splitCache.misses).toBe(100);
    expect(m.match('t/99')).toEqual([f1]);
    expect(m.splitCache.hits).toBe(1);
  });

  it('caches neither adds nor removes, nor a refused topic', () => {
    const m = new TopicMatcher<Fn>();
    for (let i = 0; i < 50; i++) m.add(`f/${i}/#`, f1);
    for (let i = 0; i < 50; i++) m.remove(`f/${i}/#`, f1);
    expect(m.splitCache.size).toBe(0);
    expect(() => m.match(Array(200).fill('l').join('/'))).toThrow(/too many words/);
    expect(m.splitCache.size).toBe(0);
    m.match('a//b/');
    expect(m.splitCache.size).toBe(1);
  });

  it('serves a match after the filters changed (the cache holds words, never results)', () => {
    const m = new TopicMatcher<Fn>();
    expect(m.match('a/b')).toEqual([]);
    m.add('a/+', f1);
    expect(m.match('a/b')).toEqual([f1]);
    m.remove('a/+', f1);
    expect(m.match('a/b')).toEqual([]);
    expect(m.splitCache.hits).toBe(2);
  });
});
