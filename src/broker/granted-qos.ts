/**
 * The QoS a forwarded copy goes out at [MQTT-3.8.4-6]: min(published QoS, granted QoS), where
 * the granted QoS is the maximum over every subscription of the client whose filter matches the
 * topic [MQTT-3.3.5-1]. Aedes 1.x downgrades only when the client holds an exact-topic
 * subscription (`client.subscriptions[packet.topic]`), so `a/#` granted QoS 1 received QoS 2
 * copies; authorizeForward (hooks.ts) applies this to every copy, live, retained and queued.
 */
import type { TaggedListener } from './match-context.js';
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

/**
 * `deliveryQos` from the listeners the route matched (match-context.ts) instead of the
 * client's filters: the best grant among `client`'s delivery functions in `matches`
 * [MQTT-3.3.5-1], capped at `qos`; `qos` when none of them is the client's (a copy Aedes
 * forwards for some other reason, as `deliveryQos`). O(listeners matched), not O(filters held).
 * Not for a client holding shared subscriptions (their grants are not on its functions).
 */
export function deliveryQosFromMatches(
  matches: readonly unknown[],
  client: object,
  topic: string,
  qos: number,
): number {
  const dollar = topic.charCodeAt(0) === 36;
  let granted = -1;
  for (let i = 0; i < matches.length; i++) {
    const l = matches[i] as TaggedListener;
    if (l.client !== client) continue;
    if (dollar && l.sharp) continue; // [MQTT-4.7.2-1] a leading wildcard never matches `$…`
    const g = l.grantedQos!;
    if (g >= qos) return qos;
    if (g > granted) granted = g;
  }
  return granted < 0 ? qos : granted;
}

/**
 * `subscriptionIds` from the listeners the route matched: the identifiers of `client`'s
 * matching subscriptions, ascending; one as a number, none as `undefined`. A delivery function
 * with an identifier belongs to one filter (our subscribe.js hunk shares only those without),
 * so each identifier is listed once per matching filter, as the scan lists it.
 */
export function subscriptionIdsFromMatches(
  matches: readonly unknown[],
  client: object,
  topic: string,
): number | number[] | undefined {
  const dollar = topic.charCodeAt(0) === 36;
  let one: number | undefined;
  let many: number[] | undefined;
  for (let i = 0; i < matches.length; i++) {
    const l = matches[i] as TaggedListener;
    if (l.client !== client || l.si === undefined) continue;
    if (dollar && l.sharp) continue;
    if (one === undefined) one = l.si;
    else (many ??= [one]).push(l.si);
  }
  return many ? many.sort((a, b) => a - b) : one;
}

/**
 * Aedes delivers a QoS 1/2 message through the QoS 0 delivery function (`deliver0`, always
 * QoS 0) when the client's first matching subscription in the route's order grants 0, and
 * drops the copies of its other matching subscriptions as duplicates — QoS 0 although another
 * grants more [MQTT-3.3.5-1]. True when another of `client`'s matched listeners grants QoS 1/2
 * and will run for this message (not No Local for the client's own message, not a leading
 * wildcard on a `$` topic): that copy is the one to deliver. It comes later in `matches` (one
 * before it would have been the copy delivered, and this one the duplicate).
 */
export function betterGrantFollows(
  matches: readonly unknown[],
  client: object & { id?: string },
  topic: string,
  publisher: string | undefined,
): boolean {
  const dollar = topic.charCodeAt(0) === 36;
  const own = publisher !== undefined && publisher === client.id;
  for (let i = 0; i < matches.length; i++) {
    const l = matches[i] as TaggedListener;
    if (l.client !== client || !(l.grantedQos! > 0)) continue;
    if ((dollar && l.sharp) || (own && l.nl)) continue;
    return true;
  }
  return false;
}
