/** FROM matching: MQTT filters, the `$` rule and event topics in both spellings (spec rule-sql §2, §7, §11.10). */
import { describe, expect, it } from 'vitest';
import { compileRule } from '../../../src/index.js';
import { EVENT_TOPICS } from '../../../src/core/index.js';
import { topicFilterProblem, topicMatches } from '../../../src/runtime/topic.js';

describe('topicMatches (MQTT 5.0 §4.7)', () => {
  const table: [string, string, boolean][] = [
    ['a/b', 'a/b', true],
    ['a/b', 'a/c', false],
    ['a/b', 'a/+', true],
    ['a/b/c', 'a/+', false],
    ['a/b/c', 'a/#', true],
    ['a', 'a/#', true],
    ['a', '#', true],
    ['a//b', 'a/+/b', true],
    ['/a', '+/a', true],
    ['a/b', '+/+', true],
    ['a/b', 'a/b/c', false],
    ['a/b/c', 'a/b', false],
    ['$SYS/x', '#', false],
    ['$SYS/x', '+/x', false],
    ['$SYS/x', '$SYS/#', true],
    ['$events/client/connected', '$events/#', true],
    ['$events/client/connected', '$events/client/+', true],
  ];
  for (const [topic, filter, want] of table)
    it(`${topic} ${want ? 'matches' : 'does not match'} ${filter}`, () =>
      expect(topicMatches(topic, filter)).toBe(want));

  it('validates filters', () => {
    expect(topicFilterProblem('a/#')).toBeUndefined();
    expect(topicFilterProblem('+/b/+')).toBeUndefined();
    expect(topicFilterProblem('a/#/b')).toMatch(/#/);
    expect(topicFilterProblem('a/b#')).toMatch(/#/);
    expect(topicFilterProblem('a+/b')).toMatch(/\+/);
    expect(topicFilterProblem('')).toMatch(/empty/);
  });
});

describe('CompiledRule.matches (§2, §7, §11.10)', () => {
  it('matches any of several FROM entries', () => {
    const r = compileRule(`SELECT * FROM "a/+", 'b/#', c`);
    expect(r.sources).toEqual(['a/+', 'b/#', 'c']);
    expect(r.matches('a/x')).toBe(true);
    expect(r.matches('b/x/y')).toBe(true);
    expect(r.matches('c')).toBe(true);
    expect(r.matches('d')).toBe(false);
  });

  it('FROM "#" sees neither $SYS nor events', () => {
    const r = compileRule('SELECT * FROM "#"');
    expect(r.matches('x/y')).toBe(true);
    expect(r.matches('$SYS/brokers')).toBe(false);
    expect(r.matches('$events/client/connected')).toBe(false);
  });

  for (const [event, [slash, legacy]] of Object.entries(EVENT_TOPICS)) {
    it(`${event}: the slash form matches both spellings`, () => {
      const r = compileRule(`SELECT * FROM "${slash}"`);
      expect(r.matches(slash)).toBe(true);
      if (legacy) expect(r.matches(legacy)).toBe(true);
      expect(r.matches('$events/other/thing')).toBe(false);
    });
    if (legacy)
      it(`${event}: the legacy form matches both spellings`, () => {
        const r = compileRule(`SELECT * FROM "${legacy}"`);
        expect(r.matches(slash)).toBe(true);
        expect(r.matches(legacy)).toBe(true);
      });
  }

  it('wildcard event filters', () => {
    const r = compileRule('SELECT * FROM "$events/client/+"');
    expect(r.matches('$events/client/connected')).toBe(true);
    expect(r.matches('$events/client_connected')).toBe(true);
    expect(r.matches('$events/session/subscribed')).toBe(false);
  });

  it('an event is matched by its event topic, never by its topic column', () => {
    const r = compileRule('SELECT topic FROM "t/#"');
    expect(r.matches('$events/session/subscribed')).toBe(false);
    expect(r.evaluate({ topic: 't/1', event: 'session.subscribed' })).toEqual([{ topic: 't/1' }]);
  });

  it('$bridges/ and $sources/ hooks match exactly', () => {
    const r = compileRule('SELECT * FROM "$bridges/mqtt:b1", "$sources/kafka:k"');
    expect(r.matches('$bridges/mqtt:b1')).toBe(true);
    expect(r.matches('$sources/kafka:k')).toBe(true);
    expect(r.matches('$bridges/mqtt:b2')).toBe(false);
  });
});

describe('§7 event columns through rules', () => {
  const connected = {
    clientid: 'c9',
    username: 'u9',
    peername: '127.0.0.1:5555',
    proto_ver: 5,
    keepalive: 60,
    conn_props: { 'Session-Expiry-Interval': 30 },
    connected_at: 1700000000000,
    timestamp: 1700000000001,
    node: 'sluice@127.0.0.1',
    event: 'client.connected',
  };

  it('selects event columns, including quoted property names', () => {
    const r = compileRule(
      'SELECT clientid, event, conn_props.\'Session-Expiry-Interval\' AS sei FROM "$events/client_connected" WHERE keepalive >= 30',
    );
    expect(r.matches('$events/client/connected')).toBe(true);
    expect(r.evaluate(connected)).toStrictEqual([
      { clientid: 'c9', event: 'client.connected', sei: 30 },
    ]);
  });

  it('an event without payload: payload paths are undefined, no error', () => {
    const r = compileRule('SELECT payload.x AS x, clientid FROM "$events/client/connected"');
    expect(r.evaluate(connected)).toStrictEqual([{ x: undefined, clientid: 'c9' }]);
  });

  it('one rule over several event types distinguishes them by the event column', () => {
    const r = compileRule(
      "SELECT CASE event WHEN 'client.connected' THEN 'up' ELSE 'down' END AS s FROM \"$events/client/+\"",
    );
    expect(r.evaluate(connected)).toStrictEqual([{ s: 'up' }]);
    expect(r.evaluate({ ...connected, event: 'client.disconnected' })).toStrictEqual([
      { s: 'down' },
    ]);
  });
});
