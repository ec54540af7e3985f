/**
 * MQTT topic-filter matching for rule FROM clauses and the `=~` operator (spec rule-sql §2,
 * §6.3, §11.10; MQTT 5.0 §4.7).
 *
 * - Levels are separated by `/`; `+` matches exactly one level (possibly empty), `#` matches the
 *   parent level and any number of child levels and must be last [MQTT-4.7.1-1].
 * - A filter whose first level is a wildcard never matches a topic starting with `$`
 *   [MQTT-4.7.2-1] — so `FROM "#"` sees neither `$SYS/...` nor `$events/...`.
 * - Event topics exist in two spellings (6.x slash form and legacy underscore form, core
 *   `EVENT_TOPICS`); `topicMatchesAny` maps both the topic and exact filters to the slash form,
 *   so a rule may name either and an event may be announced under either; wildcards see the
 *   slash form only (see `topicMatchesAny`).
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
/** Either spelling of an event topic → its slash (6.x) form. */
const SLASH_FORM = new Map<string, string>();
for (const [name, [slash, legacy]] of Object.entries(EVENT_TOPICS) as [
  EventName,
  readonly [string, string | null],
][]) {
  for (const form of legacy === null ? [slash] : [slash, legacy]) {
    EVENT_BY_TOPIC.set(form, name);
    SLASH_FORM.set(form, slash);
  }
}

/** The event a concrete `$events/...` topic (either spelling) names, if any. */
export function eventOfTopic(topic: string): EventName | undefined {
  return EVENT_BY_TOPIC.get(topic);
}

/**
 * Map a legacy event topic (`$events/client_connected`) to its slash form; anything else
 * (wildcard filters included) unchanged.
 */
export function slashEventTopic(topic: string): string {
  return SLASH_FORM.get(topic) ?? topic;
}

/**
 * `$events/...` topics EMQX once defined that Sluice does not accept, with the name to use
 * instead (EMQX 4.4's ACL check event was renamed `check_authz_complete` in 5.0).
 */
export const UNSUPPORTED_EVENT_TOPICS: ReadonlyMap<string, string> = new Map([
  ['$events/client_check_acl_complete', '$events/auth/check_authz_complete'],
]);

/**
 * Does a trigger topic match any of `filters`? EMQX 5.10 semantics (emqx/emqx#15175):
 *  - an exact event topic matches its event in either spelling
 *    (`FROM "$events/client_connected"` fires on `$events/client/connected` and vice versa);
 *  - a wildcard filter is matched against the slash form only, so `$events/#` matches every
 *    event, `$events/client/+` the client events, `$events/sys/#` the alarms — and `$events/+`
 *    no event at all (the legacy one-level names are not wildcard targets).
 */
export function topicMatchesAny(topic: string, filters: readonly string[]): boolean {
  const t = topic.charCodeAt(0) === 36 ? slashEventTopic(topic) : topic;
  for (const f of filters) if (topicMatches(t, slashEventTopic(f))) return true;
  return false;
}
