import { describe, expect, it } from 'vitest';
import fc from 'fast-check';

import { createTopicIndex, normaliseFilter } from './topic-index.js';
import { topicMatches } from './functions/context.js';

function matches(filters: string[], topic: string): string[] {
  const idx = createTopicIndex<string>();
  for (const f of filters) idx.add(f, f);
  const out: string[] = [];
  idx.match(topic, (v) => out.push(v));
  return out.sort();
}

describe('topic index', () => {
  it('matches exact, + and # filters (MQTT 5 §4.7)', () => {
    const fs = ['a/b', 'a/+', 'a/#', '#', '+/b', 'a/b/c', '+', 'a/+/c'];
    expect(matches(fs, 'a/b')).toEqual(['#', '+/b', 'a/#', 'a/+', 'a/b'].sort());
    expect(matches(fs, 'a')).toEqual(['#', '+', 'a/#'].sort());
    expect(matches(fs, 'a/x/c')).toEqual(['#', 'a/#', 'a/+/c'].sort());
    expect(matches(fs, 'a//c')).toEqual(['#', 'a/#', 'a/+/c'].sort());
  });

  it('never matches $-topics with a leading wildcard [MQTT-4.7.2-1]', () => {
    const fs = ['#', '+/x', '$SYS/#', '$events/client/connected'];
    expect(matches(fs, '$SYS/x')).toEqual(['$SYS/#']);
    expect(matches(fs, '$events/client/connected')).toEqual(['$events/client/connected']);
  });

  it('accepts both spellings of event topics (spec §7.2)', () => {
    expect(normaliseFilter('$events/client_connected')).toBe('$events/client/connected');
    expect(normaliseFilter('$events/delivery_dropped')).toBe('$events/message/delivery_dropped');
    expect(matches(['$events/client_connected'], '$events/client/connected')).toEqual([
      '$events/client_connected',
    ]);
  });

  it('removes entries and prunes branches', () => {
    const idx = createTopicIndex<number>();
    idx.add('a/+/c', 1);
    idx.add('a/#', 2);
    idx.add('a/#', 3);
    expect(idx.size).toBe(3);
    idx.remove('a/#', 2);
    idx.remove('a/+/c', 1);
    idx.remove('nope/x', 1);
    expect(idx.size).toBe(1);
    const seen: number[] = [];
    idx.match('a/b/c', (v) => seen.push(v));
    expect(seen).toEqual([3]);
  });

  it('agrees with the reference matcher on random topics and filters', () => {
    const level = fc.constantFrom('a', 'b', '', '$x', 'c');
    const topic = fc.array(level, { minLength: 1, maxLength: 4 }).map((l) => l.join('/'));
    const filter = fc
      .tuple(fc.array(fc.constantFrom('a', 'b', '+', '', '$x'), { maxLength: 3 }), fc.boolean())
      .map(([ls, hash]) => (hash ? [...ls, '#'] : ls.length ? ls : ['a']).join('/'));
    fc.assert(
      fc.property(fc.array(filter, { maxLength: 8 }), topic, (filters, t) => {
        const uniq = [...new Set(filters)];
        expect(matches(uniq, t)).toEqual(uniq.filter((f) => topicMatches(t, f)).sort());
      }),
      { numRuns: 500 },
    );
  });
});
