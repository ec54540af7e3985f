import { describe, expect, it } from 'vitest';
import { deliveryQos } from './granted-qos.js';
import { isShareTopic, parseShare, realFilter } from './shared-subscriptions.js';

describe('parseShare (EMQX emqx_topic:parse)', () => {
  it.each([
    ['$share/g/t', { group: 'g', filter: 't' }],
    ['$share/g/a/+/#', { group: 'g', filter: 'a/+/#' }],
    ['$share/g/#', { group: 'g', filter: '#' }],
    ['$queue/t/1', { group: '$queue', filter: 't/1' }],
    ['$share/$queue/t', { group: '$queue', filter: 't' }],
    ['$share/g/$SYS/x', { group: 'g', filter: '$SYS/x' }],
  ])('%s → %o', (t, want) => {
    expect(parseShare(t)).toEqual(want);
  });

  it.each([
    '$share',
    '$queue',
    '$share/',
    '$share/g',
    '$share/g/',
    '$share//t',
    '$share/+/t',
    '$share/#',
    '$share/a+b/t',
    '$queue/',
    '$share/g/$share/h/t',
    '$share/g/$queue/t',
    '$queue/$share/g/t',
  ])('%s is malformed', (t) => {
    expect(parseShare(t)).toBe('invalid');
  });

  it.each(['t', '$SYS/x', '$sharex/g/t', '$queued/t', 'a/$share/g/t'])('%s is not shared', (t) => {
    expect(parseShare(t)).toBeNull();
    expect(isShareTopic(t)).toBe(false);
    expect(realFilter(t)).toBe(t);
  });
});

describe('deliveryQos with shared subscriptions', () => {
  it('[MQTT-3.8.4-6] the grant of $share/g/<filter> applies to topics matching <filter>', () => {
    expect(deliveryQos({ '$share/g/a/#': { qos: 1 } }, 'a/b', 2)).toBe(1);
    expect(deliveryQos({ '$queue/a/+': { qos: 0 } }, 'a/b', 1)).toBe(0);
    expect(deliveryQos({ '$share/g/a/#': { qos: 2 } }, 'a/b', 2)).toBe(2);
    // The filter's own text is not the topic: no match, left alone.
    expect(deliveryQos({ '$share/g/x': { qos: 0 } }, 'a/b', 2)).toBe(2);
  });
});
