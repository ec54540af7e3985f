import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  betterGrantFollows,
  deliveryQos,
  deliveryQosFromMatches,
  filterMatches,
  subscriptionIds,
  subscriptionIdsFromMatches,
} from './granted-qos.js';
import { TopicMatcher } from './matcher.js';

describe('filterMatches (MQTT 3.1.1 §4.7)', () => {
  it.each([
    ['a/b', 'a/b', true],
    ['a/b', 'a/c', false],
    ['a/+', 'a/b', true],
    ['a/+', 'a/b/c', false],
    ['a/+', 'a/', true], // an empty level is a level
    ['a/+', 'a', false],
    ['+/+', '/x', true],
    ['a/#', 'a/b/c', true],
    ['a/#', 'a', true], // '#' includes the parent level [MQTT-4.7.1-2]
    ['a/#', 'ab', false],
    ['#', 'x/y', true],
    ['+/b/#', 'a/b', true],
    ['+/b/#', 'a/c/d', false],
    ['a/+/c', 'a/b/c', true],
    ['a/+/c', 'a/b/d', false],
    ['a/b/c', 'a/b', false],
    ['#', '$SYS/x', false], // [MQTT-4.7.2-1]
    ['+/x', '$SYS/x', false],
    ['$SYS/#', '$SYS/x', true],
  ])('%s ~ %s → %s', (filter, topic, expected) => {
    expect(filterMatches(filter, topic)).toBe(expected);
  });
});

describe('deliveryQos [MQTT-3.8.4-6] [MQTT-3.3.5-1]', () => {
  const subs = (o: Record<string, number>) =>
    Object.fromEntries(Object.entries(o).map(([k, qos]) => [k, { qos }]));
  it('min(published, granted) for wildcard filters', () => {
    expect(deliveryQos(subs({ 'a/#': 1 }), 'a/b', 2)).toBe(1);
    expect(deliveryQos(subs({ 'a/+': 0 }), 'a/b', 2)).toBe(0);
    expect(deliveryQos(subs({ 'a/+': 2 }), 'a/b', 1)).toBe(1);
    expect(deliveryQos(subs({ 'a/#': 1 }), 'a/b', 0)).toBe(0);
  });
  it('the maximum of every matching subscription counts, non-matching ones do not', () => {
    expect(deliveryQos(subs({ 'a/#': 0, 'a/+': 1, 'x/#': 2 }), 'a/b', 2)).toBe(1);
    expect(deliveryQos(subs({ 'a/b': 0, '#': 2 }), 'a/b', 2)).toBe(2);
  });
  it("a known grant that covers the message's QoS answers without reading the client's filters", () => {
    // Reading any key or enumerating them throws: the answer must come from `known` alone.
    const untouchable = new Proxy({} as Record<string, { qos: number }>, {
      get: () => {
        throw new Error('filters read');
      },
      ownKeys: () => {
        throw new Error('filters enumerated');
      },
    });
    expect(deliveryQos(untouchable, 'a/b', 1, 1)).toBe(1);
    expect(deliveryQos(untouchable, 'a/b', 1, 2)).toBe(1);
    expect(deliveryQos(untouchable, 'a/b', 2, 2)).toBe(2);
    expect(() => deliveryQos(untouchable, 'a/b', 2, 1)).toThrow('filters');
  });
  it('a known grant below the QoS still finds a better matching subscription', () => {
    expect(deliveryQos(subs({ 'a/+': 0, 'a/#': 2 }), 'a/b', 2, 0)).toBe(2);
    expect(deliveryQos(subs({ 'a/+': 0, 'a/#': 1 }), 'a/b', 2, 0)).toBe(1);
    expect(deliveryQos(subs({ 'a/+': 0 }), 'a/b', 2, 0)).toBe(0);
  });
});

describe('subscriptionIds (MQTT 5 [MQTT-3.3.4-4])', () => {
  it('every matching subscription’s identifier, ascending; one as a number; none as undefined', () => {
    const subs = { 'a/+': { si: 9 }, 'a/b': { si: 7 }, 'a/#': {}, 'x/#': { si: 3 } };
    expect(subscriptionIds(subs, 'a/b')).toEqual([7, 9]);
    expect(subscriptionIds(subs, 'a/c')).toBe(9);
    expect(subscriptionIds(subs, 'a/b/c')).toBeUndefined();
  });
  it('shared subscriptions are left out (their copy is the group’s); $SYS filters are not', () => {
    const subs = { '$share/g/a/b': { si: 5 }, 'a/b': { si: 2 }, '$SYS/#': { si: 4 } };
    expect(subscriptionIds(subs, 'a/b')).toBe(2);
    expect(subscriptionIds(subs, '$SYS/x')).toBe(4);
  });
});

describe('from the listeners the route matched ≡ the scan of the client’s filters (issue #19)', () => {
  // Delivery functions as our subscribe.js hunk makes and tags them: one per (QoS, leading
  // wildcard) kind shared by the client's filters without an identifier, one per filter with.
  const word = fc.constantFrom('a', 'b', '+', '$SYS');
  const filter = fc
    .tuple(fc.array(word, { minLength: 1, maxLength: 3 }), fc.boolean())
    .map(([ws, hash]) =>
      [...ws.map((w, i) => (w === '$SYS' && i > 0 ? 'a' : w)), ...(hash ? ['#'] : [])].join('/'),
    );
  const sub = fc.record({
    filter,
    qos: fc.constantFrom(0, 1, 2),
    si: fc.option(fc.integer({ min: 1, max: 9 }), { nil: undefined }),
  });
  const topic = fc
    .array(fc.constantFrom('a', 'b', '$SYS', ''), { minLength: 1, maxLength: 4 })
    .map((ws) => ws.map((w, i) => (w === '$SYS' && i > 0 ? 'b' : w)).join('/'));

  it('gives the same QoS and identifiers for any filters, topic and QoS', () => {
    fc.assert(
      fc.property(fc.array(sub, { maxLength: 8 }), topic, fc.constantFrom(1, 2), (list, t, qos) => {
        const client = { id: 'c' };
        const other = { id: 'o' };
        const m = new TopicMatcher<object>();
        const subs: Record<string, { qos: number; si?: number }> = {};
        const shared = new Map<number, object>();
        for (const s of list) {
          if (subs[s.filter]) continue; // a filter is held once (the first SUBSCRIBE of it here)
          subs[s.filter] = { qos: s.qos, si: s.si };
          const sharp = s.filter[0] === '+' || s.filter[0] === '#';
          const kind = s.qos | (sharp ? 4 : 0);
          const fn =
            s.si === undefined
              ? (shared.get(kind) ??
                shared.set(kind, { client, grantedQos: s.qos, sharp }).get(kind)!)
              : { client, grantedQos: s.qos, si: s.si, sharp };
          m.add(s.filter, fn);
          m.add(s.filter, { client: other, grantedQos: 2, si: 1, sharp });
        }
        const matched = m.match(t);
        expect(deliveryQosFromMatches(matched, client, t, qos)).toBe(deliveryQos(subs, t, qos));
        expect(subscriptionIdsFromMatches(matched, client, t)).toEqual(subscriptionIds(subs, t));
      }),
      { numRuns: 2000 },
    );
  });

  it('a QoS 0 copy yields to a later matching subscription granting more, unless No Local skips it', () => {
    const client = { id: 'c' };
    const q0 = { client, grantedQos: 0, sharp: false };
    const q1 = { client, grantedQos: 1, sharp: true };
    const q1nl = { client, grantedQos: 1, sharp: false, nl: true };
    expect(betterGrantFollows([q0, q1], client, 'a/b', 'someone')).toBe(true);
    expect(betterGrantFollows([q0], client, 'a/b', 'someone')).toBe(false);
    expect(betterGrantFollows([q0, { ...q1, client: {} }], client, 'a/b', 'someone')).toBe(false);
    // `+/…` never delivers a `$` topic [MQTT-4.7.2-1]; No Local skips the client's own message.
    expect(betterGrantFollows([q0, q1], client, '$SYS/b', 'someone')).toBe(false);
    expect(betterGrantFollows([q0, q1nl], client, 'a/b', 'c')).toBe(false);
    expect(betterGrantFollows([q0, q1nl], client, 'a/b', 'someone')).toBe(true);
  });
});
