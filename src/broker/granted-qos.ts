/**
 * The QoS a forwarded copy goes out at [MQTT-3.8.4-6]: min(published QoS, granted QoS), where
 * the granted QoS is the maximum over every subscription of the client whose filter matches the
 * topic [MQTT-3.3.5-1]. Aedes 1.x downgrades only when the client holds an exact-topic
 * subscription (`client.subscriptions[packet.topic]`), so `a/#` granted QoS 1 received QoS 2
 * copies; authorizeForward (hooks.ts) applies this to every copy, live, retained and queued.
 */
import { isShareTopic, realFilter } from './shared-subscriptions.js';

/** True when `filter` matches `topic` (MQTT 3.1.1 §4.7; `$…` topics never match a leading wildcard [MQTT-4.7.2-1]). */
export function filterMatches(filter: string, topic: string): boolean {
  if (filter === topic) return true;
  const f0 = filter.charCodeAt(0);
  if (topic.charCodeAt(0) === 36 /* $ */ && (f0 === 43 /* + */ || f0 === 35) /* # */) return false;
  let fi = 0;
  let ti = 0;
  const fl = filter.length;
  const tl = topic.length;
  for (;;) {
    // One level of each: [fi, fEnd) and [ti, tEnd).
    let fEnd = filter.indexOf('/', fi);
    if (fEnd < 0) fEnd = fl;
    let tEnd = topic.indexOf('/', ti);
    if (tEnd < 0) tEnd = tl;
    const single = fEnd - fi === 1;
    if (single && filter.charCodeAt(fi) === 35) return true; // '#' matches the rest, incl. the parent
    if (!(single && filter.charCodeAt(fi) === 43)) {
      if (fEnd - fi !== tEnd - ti || filter.slice(fi, fEnd) !== topic.slice(ti, tEnd)) return false;
    }
    const fDone = fEnd >= fl;
    const tDone = tEnd >= tl;
    if (fDone && tDone) return true;
    if (fDone) return false;
    if (tDone) {
      // Only a trailing '/#' can still match ('a/#' matches 'a').
      return filter.length - (fEnd + 1) === 1 && filter.charCodeAt(fEnd + 1) === 35;
    }
    fi = fEnd + 1;
    ti = tEnd + 1;
  }
}

/**
 * The QoS a copy of a `qos` message on `topic` is delivered at to a client holding `subs`
 * (filter → granted). Returns `qos` itself when any matching subscription grants at least it.
 *
 * `known`: a grant the copy is already known to have — the QoS of the subscription it is being
 * delivered for (our Aedes patch puts it on the copy as `grantedQos`; for retained copies, the
 * lowest grant among the SUBSCRIBE's filters that looked them up). When it covers `qos` the
 * answer is `qos` without looking at the client's filters: scanning them costs O(filters held)
 * per copy — 15–33 ms per copy for a client holding 100,000 (bench/abuse/many-subs-delivery.ts).
 */
export function deliveryQos(
  subs: Record<string, { qos: number }>,
  topic: string,
  qos: number,
  known?: number,
): number {
  if (qos === 0) return 0;
  if (known !== undefined && known >= qos) return qos;
  const exact = subs[topic];
  if (exact && exact.qos >= qos) return qos;
  let granted = -1;
  for (const filter in subs) {
    const g = subs[filter]!.qos;
    if (g <= granted) continue;
    // A shared subscription's grant applies to its real filter (shared-subscriptions.ts).
    const f = filter.charCodeAt(0) === 36 ? realFilter(filter) : filter;
    if (!filterMatches(f, topic)) continue;
    if (g >= qos) return qos;
    granted = g;
  }
  // No matching subscription (a copy Aedes forwards for some other reason): leave it alone.
  return granted < 0 ? qos : granted;
}

/**
 * MQTT 5 [MQTT-3.3.4-4]: the Subscription Identifiers of every subscription in `subs` (filter →
 * Aedes Subscription, `si` = identifier) whose filter matches `topic`, ascending; a single one
 * as a number, none as `undefined`. Shared subscriptions are left out: their copy is the
 * group's, sent for that one subscription, and Aedes gives it that subscription's identifier.
 */
export function subscriptionIds(
  subs: Record<string, { si?: number }>,
  topic: string,
): number | number[] | undefined {
  let one: number | undefined;
  let many: number[] | undefined;
  for (const filter in subs) {
    const si = subs[filter]!.si;
    if (si === undefined || isShareTopic(filter)) continue;
    if (!filterMatches(filter, topic)) continue;
    if (one === undefined) one = si;
    else (many ??= [one]).push(si);
  }
  return many ? many.sort((a, b) => a - b) : one;
}
