/**
 * MQTT topic-filter matching for rule FROM clauses and the `=~` operator (spec rule-sql §2,
 * §6.3, §11.10; MQTT 5.0 §4.7).
 *
 * - Levels are separated by `/`; `+` matches exactly one level (possibly empty), `#` matches the
 *   parent level and any number of child levels and must be last [MQTT-4.7.1-1].
 * - A filter whose first level is a wildcard never matches a topic starting with `$`
 *   [MQTT-4.7.2-1] — so `FROM "#"` sees neither `$SYS/...` nor `$events/...`.
 * - Event topics exist in two spellings (6.x slash form and legacy underscore form, core
 *   `EVENT_TOPICS`); `topicMatchesAny` tries both spellings of an event topic, so a rule may
 *   name either and an event may be announced under either.
 */
import { EVENT_TOPICS } from '../core/index.js';
import type { EventName } from '../core/index.js';

/** Does `topic` (a concrete topic name) match `filter`? Pure MQTT semantics, no aliases. */
export function topicMatches(topic: string, filter: string): boolean {
  if (filter === '#') return topic.length === 0 || topic.charCodeAt(0) !== 36; /* $ */
  const t = topic.split('/');
  const f = filter.split('/');
  const first = f[0];
  if ((first === '+' || first === '#') && topic.charCodeAt(0) === 36) return false;
  const n = f.length;
  for (let i = 0; i < n; i++) {
    const level = f[i];
    if (level === '#') return true; // matches the parent level too (`a/#` matches `a`)
    if (i >= t.length) return false;
    if (level !== '+' && level !== t[i]) return false;
  }
  return t.length === n;
}

/** Why `filter` is not a valid MQTT topic filter, or undefined if it is valid. */
export function topicFilterProblem(filter: string): string | undefined {
  if (filter.length === 0) return 'a topic filter must not be empty';
  if (filter.includes('\u0000')) return 'a topic filter must not contain NUL';
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i] as string;
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1))
      return "'#' must be a whole level and the last one";
    if (level.includes('+') && level !== '+') return "'+' must occupy a whole level";
  }
  return undefined;
}

const EVENT_BY_TOPIC = new Map<string, EventName>();
/** Every spelling of each event topic (slash form first). */
const SPELLINGS = new Map<string, readonly string[]>();
for (const [name, [slash, legacy]] of Object.entries(EVENT_TOPICS) as [
  EventName,
  readonly [string, string | null],
][]) {
  const forms = legacy === null ? [slash] : [slash, legacy];
  for (const form of forms) {
    EVENT_BY_TOPIC.set(form, name);
    SPELLINGS.set(form, forms);
  }
}

/** The event a concrete `$events/...` topic (either spelling) names, if any. */
export function eventOfTopic(topic: string): EventName | undefined {
  return EVENT_BY_TOPIC.get(topic);
}

/** Event topics EMQX defines but Sluice never emits (spec §7.2). */
export const UNSUPPORTED_EVENT_TOPICS: ReadonlySet<string> = new Set([
  '$events/sys/alarm_activated',
  '$events/sys/alarm_deactivated',
  '$events/schema_validation/failed',
  '$events/schema_validation_failed',
  '$events/message_transformation/failed',
  '$events/message_transformation_failed',
]);

/**
 * Does a trigger topic match any of `filters`? For an event topic every spelling of it is tried
 * (so `FROM "$events/client_connected"` fires on `$events/client/connected` and vice versa).
 */
export function topicMatchesAny(topic: string, filters: readonly string[]): boolean {
  const spellings = topic.charCodeAt(0) === 36 ? SPELLINGS.get(topic) : undefined;
  if (spellings === undefined) {
    for (const f of filters) if (topicMatches(topic, f)) return true;
    return false;
  }
  for (const form of spellings) for (const f of filters) if (topicMatches(form, f)) return true;
  return false;
}
