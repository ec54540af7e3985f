/**
 * Event topics over wildcards (EMQX 5.10, emqx/emqx#15175): which events `$events/#`,
 * `$events/<ns>/+`, `$events/sys/#` and `$events/+` reach — checked through both the compiled
 * rule's `matches` and the shared event source's topic trie, which must agree for every event.
 */
import { describe, expect, it } from 'vitest';

import { compileRule } from '../../../src/index.js';
import { EVENT_TOPICS, silentLogger } from '../../../src/core/index.js';
import type { BrokerEvent, EventName } from '../../../src/core/index.js';
import { createEventSource } from '../../../src/runtime/source.js';

type NonPublish = Exclude<EventName, 'message.publish'>;
const ALL = Object.keys(EVENT_TOPICS) as NonPublish[];

/** The events a FROM filter reaches through the real event source (topic trie). */
function reachedBySource(filter: string): NonPublish[] {
  const source = createEventSource<object>({
    createContext: () => ({}),
    logger: silentLogger,
    now: () => 0,
  });
  const hit: NonPublish[] = [];
  source.attach([filter], {
    deliver: (t) => hit.push(t.event.name as NonPublish),
  });
  for (const name of ALL) {
    const ev: BrokerEvent = { name, matchTopic: EVENT_TOPICS[name][0], columns: {} };
    source.push(ev);
  }
  source.close();
  return hit;
}

function reachedByRule(filter: string): NonPublish[] {
  const r = compileRule(`SELECT * FROM "${filter}"`);
  return ALL.filter((n) => r.matches(EVENT_TOPICS[n][0]));
}

const CLIENT: NonPublish[] = [
  'client.connected',
  'client.disconnected',
  'client.connack',
  'client.ping',
];

describe('event wildcards (EMQX 5.10 semantics)', () => {
  const table: [string, NonPublish[]][] = [
    ['$events/#', ALL],
    ['$events/client/+', CLIENT],
    ['$events/+/connected', ['client.connected']],
    ['$events/sys/#', ['alarm.activated', 'alarm.deactivated']],
    ['$events/sys/+', ['alarm.activated', 'alarm.deactivated']],
    [
      '$events/message/+',
      ['message.delivered', 'message.acked', 'message.dropped', 'delivery.dropped'],
    ],
    ['$events/auth/#', ['client.check_authz_complete', 'client.check_authn_complete']],
    ['$events/schema_validation/+', ['schema.validation_failed']],
    // The legacy one-level names are not wildcard targets: `$events/+` reaches no event.
    ['$events/+', []],
  ];
  for (const [filter, want] of table) {
    it(`${filter} → ${want.length === ALL.length ? 'every event' : want.join(', ') || 'no event'}`, () => {
      expect(reachedByRule(filter).sort()).toEqual([...want].sort());
      expect(reachedBySource(filter).sort()).toEqual([...want].sort());
    });
  }

  it('an event announced in its legacy spelling is matched by wildcards like its slash form', () => {
    const r = compileRule('SELECT * FROM "$events/client/+"');
    expect(r.matches('$events/client_connected')).toBe(true);
    expect(compileRule('SELECT * FROM "$events/+"').matches('$events/client_connected')).toBe(
      false,
    );
  });

  it('`#` and `+/…` never reach events or alarms ([MQTT-4.7.2-1])', () => {
    expect(reachedBySource('#')).toEqual([]);
    expect(reachedByRule('+/sys/#')).toEqual([]);
  });

  for (const name of ALL) {
    const [slash, legacy] = EVENT_TOPICS[name];
    it(`${name}: both spellings reach exactly it through the source`, () => {
      expect(reachedBySource(slash)).toEqual([name]);
      if (legacy) expect(reachedBySource(legacy)).toEqual([name]);
    });
  }
});
