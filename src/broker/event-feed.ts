/**
 * The broker's event feed: `onEvent` listeners, which event names anyone listens to, and
 * `emit`. Column builders check `wants[name]` (or `messageColumns`) before building anything,
 * so an event nobody listens to costs one property read.
 *
 * `wants` is one object mutated in place (never replaced): a part may keep a reference to it.
 */
import { EVENT_TOPICS, type BrokerEvent, type EventName, type Logger } from '../core/index.js';
import type { ValueMap } from '../core/index.js';
import type { EventFilter } from './types.js';

export const ALL_EVENTS = ['message.publish', ...Object.keys(EVENT_TOPICS)] as EventName[];

/** The `$events/…` match topic of a non-publish event. */
export function topicOf(name: Exclude<EventName, 'message.publish'>): string {
  return EVENT_TOPICS[name][0];
}

export interface EventFeed {
  /** Per event name, whether at least one listener wants it. Mutated in place. */
  readonly wants: Readonly<Record<EventName, boolean>>;
  /**
   * True while anyone wants message.publish, delivered, acked or dropped: publish columns are
   * the source of all four.
   */
  readonly messageColumns: boolean;
  /**
   * Wrap `columns` in an event and call each interested listener; the event and its columns
   * are frozen unless every interested listener said `frozen: false`.
   */
  emit(name: EventName, matchTopic: string, columns: ValueMap): void;
  /** Add a listener (absent filter = every event); returns its remover. */
  add(listener: (e: BrokerEvent) => void, filter?: EventFilter): () => void;
}

export function createEventFeed(logger: Logger): EventFeed {
  let listeners: Array<{
    fn: (e: BrokerEvent) => void;
    names: ReadonlySet<EventName> | null;
    frozen: boolean;
  }> = [];
  const wants = Object.fromEntries(ALL_EVENTS.map((n) => [n, false])) as Record<EventName, boolean>;
  /** Per event name, whether a listener that wants it needs it frozen (EventFilter.frozen). */
  const freeze = { ...wants };

  const feed = {
    wants,
    messageColumns: false,
    emit(name: EventName, matchTopic: string, columns: ValueMap): void {
      const ev: BrokerEvent = freeze[name]
        ? Object.freeze({ name, matchTopic, columns: Object.freeze(columns) })
        : { name, matchTopic, columns };
      for (const l of listeners) {
        if (l.names !== null && !l.names.has(name)) continue;
        try {
          l.fn(ev);
        } catch (err) {
          logger.error(
            { code: 'broker_event_listener_failed', err, event: name },
            'event listener threw',
          );
        }
      }
    },
    add(listener: (e: BrokerEvent) => void, filter?: EventFilter): () => void {
      const entry = {
        fn: listener,
        names: filter?.names ? new Set(filter.names) : null,
        frozen: filter?.frozen !== false,
      };
      listeners = [...listeners, entry];
      recomputeInterest();
      return () => {
        listeners = listeners.filter((l) => l !== entry);
        recomputeInterest();
      };
    },
  };

  function recomputeInterest(): void {
    for (const n of ALL_EVENTS) {
      wants[n] = listeners.some((l) => l.names === null || l.names.has(n));
      freeze[n] = listeners.some((l) => l.frozen && (l.names === null || l.names.has(n)));
    }
    feed.messageColumns =
      wants['message.publish'] ||
      wants['message.delivered'] ||
      wants['message.acked'] ||
      wants['message.dropped'];
  }

  return feed;
}
