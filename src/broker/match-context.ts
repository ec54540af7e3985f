/**
 * The listeners the message being routed matched (issue #19): what authorizeForward needs to
 * find a client's best grant [MQTT-3.3.5-1] and all its Subscription Identifiers
 * [MQTT-3.3.4-4] without scanning every filter the client holds (O(filters held) per copy —
 * 15–33 ms per copy at 100,000 filters).
 *
 * mqemitter routes a message in `_do(message)`: one `match(topic)` of the matcher, then every
 * matched listener called synchronously in one loop (fastparallel); Aedes' delivery functions
 * call authorizeForward synchronously from there for live copies. `installMatchContext` wraps
 * `_do` so that, during that loop, the message and its matches are known; a nested route (a
 * listener publishing synchronously) saves and restores the outer one. A copy the inflight
 * window holds keeps its route's matches and is released `within` them. Outside (retained
 * copies, the stored queue of a persistent session, a copy from a broker that routes another
 * way) there is no context and the caller scans as before.
 *
 * Our Aedes patch (lib/handlers/subscribe.js) tags each delivery function it makes with the
 * client it delivers to (`client`), the QoS it grants (`grantedQos`), its Subscription
 * Identifier (`si`, if any), No Local (`nl`) and whether it is a leading-wildcard filter's (`sharp`: it skips
 * `$` topics [MQTT-4.7.2-1]). Shared subscriptions deliver through their group's listener,
 * which carries no client: a client that holds one is left to the scan (its grants count in
 * it, shared-subscriptions.ts).
 *
 * Aedes/mqemitter internals used (README invariant 7): `aedes.mq._do(message, cb)`, called for
 * every routed message (also those mqemitter queued) and calling the listeners synchronously.
 */
import type { Aedes } from 'aedes';

/** What our subscribe.js hunk puts on a delivery function. */
export interface TaggedListener {
  client?: object;
  grantedQos?: number;
  si?: number;
  /** MQTT 5 No Local: the function skips the client's own messages [MQTT-3.8.3-3]. */
  nl?: boolean;
  sharp?: boolean;
}

interface Routed {
  brokerId?: string;
  brokerCounter?: number;
  topic?: string;
}

export interface MatchContext {
  /**
   * The listeners matched by the route `packet` (a copy of the routed message: same broker id,
   * counter and topic) is being delivered in, or undefined outside it.
   */
  matchesOf(packet: Routed): readonly unknown[] | undefined;
  /**
   * Run `fn` as if in `packet`'s route again, with the `matches` it had (`matchesOf` then):
   * a copy the inflight window held and now releases (inflight-window.ts).
   */
  within(packet: Routed, matches: readonly unknown[] | undefined, fn: () => void): void;
}

/**
 * Wraps `aedes.mq._do` and its matcher's `match` (install after `installMatcher`); undefined
 * (no context, callers scan) when the emitter has neither.
 */
export function installMatchContext(aedes: Aedes): MatchContext | undefined {
  const mq = (aedes as unknown as { mq?: Record<string, unknown> }).mq;
  const route = mq?.['_do'];
  const matcher = mq?.['_matcher'] as { match(topic: string): unknown[] } | undefined;
  if (!mq || typeof route !== 'function' || !matcher || typeof matcher.match !== 'function')
    return undefined;
  let message: Routed | undefined;
  let matches: readonly unknown[] | undefined;
  const doRoute = route as (this: unknown, m: Routed, cb: unknown) => unknown;
  mq['_do'] = function routeWithContext(this: unknown, m: Routed, cb: unknown): unknown {
    const outerMessage = message;
    const outerMatches = matches;
    message = m;
    matches = undefined;
    try {
      return doRoute.call(this, m, cb);
    } finally {
      message = outerMessage;
      matches = outerMatches;
    }
  };
  const match = matcher.match;
  matcher.match = function matchInRoute(topic: string): unknown[] {
    const found = match.call(this, topic);
    // The route's own match: the first one while `_do` runs for a message on this topic.
    if (message !== undefined && matches === undefined && message.topic === topic) matches = found;
    return found;
  };
  return {
    matchesOf(packet) {
      const m = message;
      if (
        m === undefined ||
        m.brokerCounter !== packet.brokerCounter ||
        m.brokerId !== packet.brokerId ||
        m.topic !== packet.topic
      )
        return undefined;
      return matches;
    },
    within(packet, again, fn) {
      if (again === undefined) return fn();
      const outerMessage = message;
      const outerMatches = matches;
      message = packet;
      matches = again;
      try {
        fn();
      } finally {
        message = outerMessage;
        matches = outerMatches;
      }
    },
  };
}
