import { describe, expect, it } from 'vitest';

import type { BrokerEvent } from '../core/index.js';
import { silentLogger } from '../core/index.js';
import { createEventFeed } from './event-feed.js';

const frozen = (e: BrokerEvent): [boolean, boolean] => [
  Object.isFrozen(e),
  Object.isFrozen(e.columns),
];

describe('event feed freezing (EventFilter.frozen, decision 0020)', () => {
  it('freezes events and their columns by default', () => {
    const feed = createEventFeed(silentLogger);
    const got: BrokerEvent[] = [];
    feed.add((e) => got.push(e));
    feed.emit('message.publish', 'a/b', { topic: 'a/b' });
    expect(got.map(frozen)).toEqual([[true, true]]);
  });

  it('hands events unfrozen to a listener that said frozen: false', () => {
    const feed = createEventFeed(silentLogger);
    const got: BrokerEvent[] = [];
    feed.add((e) => got.push(e), { names: ['message.publish'], frozen: false });
    const columns = { topic: 'a/b' };
    feed.emit('message.publish', 'a/b', columns);
    expect(got.map(frozen)).toEqual([[false, false]]);
    // The same columns object, not a copy.
    expect(got[0]!.columns).toBe(columns);
    expect(got[0]).toEqual({ name: 'message.publish', matchTopic: 'a/b', columns });
  });

  it('freezes for everyone while a listener wanting the event needs it frozen', () => {
    const feed = createEventFeed(silentLogger);
    const unfrozenSide: BrokerEvent[] = [];
    const frozenSide: BrokerEvent[] = [];
    feed.add((e) => unfrozenSide.push(e), { frozen: false });
    const off = feed.add((e) => frozenSide.push(e), { names: ['client.connected'] });
    feed.emit('message.publish', 'a/b', { n: 1 }); // only the frozen: false listener wants it
    feed.emit('client.connected', '$events/client/connected', { n: 2 });
    expect(unfrozenSide.map(frozen)).toEqual([
      [false, false],
      [true, true],
    ]);
    expect(frozenSide.map(frozen)).toEqual([[true, true]]);
    off();
    feed.emit('client.connected', '$events/client/connected', { n: 3 });
    expect(frozen(unfrozenSide[2]!)).toEqual([false, false]);
  });
});
