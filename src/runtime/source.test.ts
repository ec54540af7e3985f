import { describe, expect, it } from 'vitest';

import type { EventName } from '../core/index.js';
import { silentLogger } from '../core/index.js';
import { createEventSource } from './source.js';

function setup() {
  const changes: (readonly EventName[])[] = [];
  const source = createEventSource<object>({
    createContext: () => ({}),
    logger: silentLogger,
    now: () => 0,
    onInterestChange: (names) => changes.push(names),
  });
  const target = { deliver: () => {} };
  const other = { deliver: () => {} };
  return { source, target, other, changes };
}

describe('event source interest', () => {
  it('is empty with nothing attached and names message.publish for topic filters', () => {
    const { source, target, changes } = setup();
    expect(source.interest()).toEqual([]);
    source.attach(['sensors/#'], target);
    expect(source.interest()).toEqual(['message.publish']);
    expect(changes).toEqual([['message.publish']]);
    source.detach(['sensors/#'], target);
    expect(source.interest()).toEqual([]);
    expect(changes).toHaveLength(2);
  });

  it('names only the events whose topics match, in either spelling, without message.publish', () => {
    const { source, target } = setup();
    source.attach(['$events/client_connected', '$events/message/delivered'], target);
    expect([...source.interest()].sort()).toEqual(['client.connected', 'message.delivered']);
    source.attach(['$events/#'], target);
    expect(source.interest()).toContain('client.check_authz_complete');
    expect(source.interest()).toContain('message.dropped');
    // `$events/#` can also match a client publish to a `$events/...` topic.
    expect(source.interest()).toContain('message.publish');
  });

  it('keeps an interest while another target still needs it; wildcard-first filters skip $events', () => {
    const { source, target, other, changes } = setup();
    source.attach(['#'], target);
    expect(source.interest()).toEqual(['message.publish']);
    source.attach(['a/b', 'a/b'], other);
    source.detach(['a/b'], other);
    source.detach(['a/b'], other); // already gone: no change
    expect(source.interest()).toEqual(['message.publish']);
    expect(changes).toHaveLength(1);
    source.detach(['#'], target);
    expect(source.interest()).toEqual([]);
  });
});
