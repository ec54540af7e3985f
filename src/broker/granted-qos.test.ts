import { describe, expect, it } from 'vitest';
import { deliveryQos, filterMatches, subscriptionIds } from './granted-qos.js';

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
