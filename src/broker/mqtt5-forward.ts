/**
 * MQTT 5 checks on every copy the broker forwards (called from authorizeForward, hooks.ts), and
 * the No Local drop (wrapped around the client's delivery functions in preConnect):
 *
 *   Message Expiry   a copy whose Message Expiry Interval passed while it waited (offline queue,
 *                    max_inflight FIFO, retained) is not sent: delivery.dropped `expired`,
 *                    `dropped_expired`. A copy still alive goes out with the remaining interval
 *                    [MQTT-3.3.2-6]. Applies to 3.1.1 subscribers too (the property is not sent).
 *   Maximum Packet   a copy larger than the Maximum Packet Size the client declared in CONNECT
 *   Size             is not sent [MQTT-3.1.2-25]: delivery.dropped `too_large`,
 *                    `dropped_too_large` (EMQX counts `delivery.dropped.too_large`).
 *   Topic Alias      to a client that declared Topic Alias Maximum > 0, copies of every QoS use
 *                    aliases: the first copy of a topic carries topic + alias, later ones alias
 *                    only [MQTT-3.3.2-12]. Aliases live as long as the connection
 *                    [MQTT-3.3.2-10]: the map is on the Aedes client, and a copy re-sent after a
 *                    reconnect (DUP 1, persistence-wrap.ts) carries the full topic. A QoS 1/2
 *                    copy that already has a packet id (the stored queue a returning session is
 *                    sent, a shared-subscription redelivery) is written without passing the
 *                    setImmediate queue live copies take, so it keeps its topic and neither
 *                    sets nor uses an alias: a later copy cannot overtake the one that set it.
 *                    The store keeps the full topic: the aliased copy carries it under
 *                    FULL_TOPIC (a symbol key mqtt-packet does not write), and
 *                    persistence-wrap.ts restores it before `outgoingUpdate` stores a packet.
 *   No Local         a copy to the publisher's own No Local subscription [MQTT-3.8.3-3] is
 *                    dropped by Aedes before authorizeForward; we count it and raise
 *                    delivery.dropped `no_local`.
 *
 * Nothing here allocates for a copy without expiry to a client that declared neither limit.
 */
import type { AedesPublishPacket, Client } from 'aedes';
import { generate } from 'mqtt-packet';
import type { ClientRecord } from './client-records.js';
import type { BrokerContext, ClientInternals, ClientV5Internals } from './context.js';
import { topicOf } from './event-feed.js';
import { deliveredColumns } from './events/message.js';

type Expiring = AedesPublishPacket & {
  messageExpiry?: number;
  nl?: boolean;
  clientId?: string;
  properties?: Record<string, unknown>;
};

/** Per-connection outbound alias state. */
interface AliasesOut {
  readonly max: number;
  readonly byTopic: Map<string, number>;
}

const ALIASES = Symbol('sluice.aliases-out');
/** On the properties of an aliased QoS 1/2 copy: its topic (for persistence-wrap.ts). */
export const FULL_TOPIC = Symbol('sluice.full-topic');
type AliasHolder = { [ALIASES]?: AliasesOut | null };

export interface V5Forwarding {
  /** The copy to send to `client` (maybe changed), or null when it is dropped. */
  forward(
    client: Client,
    rec: ClientRecord,
    packet: AedesPublishPacket,
    qos: number,
  ): AedesPublishPacket | null;
  /** Wrap the client's delivery functions so No Local drops are seen (preConnect, once). */
  watchNoLocal(client: Client, rec: ClientRecord): void;
}

export function createV5Forwarding(ctx: BrokerContext): V5Forwarding {
  const { metrics, feed, now, node, idOf } = ctx;
  // Aedes stamps messageExpiry with Date.now() (aedes.js publish); compare on the same clock.
  const wallClock = Date.now;

  function dropped(
    rec: ClientRecord,
    packet: AedesPublishPacket,
    qos: number,
    reason: string,
  ): void {
    if (!feed.wants['delivery.dropped']) return;
    const ts = now();
    const cols = deliveredColumns(
      rec,
      packet,
      qos,
      undefined,
      idOf(packet.brokerCounter),
      ts,
      node,
    );
    cols['reason'] = reason;
    cols['event'] = 'delivery.dropped';
    feed.emit('delivery.dropped', topicOf('delivery.dropped'), cols);
  }

  function aliasesOf(client: Client): AliasesOut | null {
    const h = client as unknown as AliasHolder;
    let a = h[ALIASES];
    if (a === undefined) {
      const max = (client as ClientV5Internals & { _topicAliasMaximumOut?: number })
        ._topicAliasMaximumOut;
      a = h[ALIASES] = max && max > 0 ? { max, byTopic: new Map() } : null;
    }
    return a;
  }

  function forward(
    client: Client,
    rec: ClientRecord,
    packet: AedesPublishPacket,
    qos: number,
  ): AedesPublishPacket | null {
    const p = packet as Expiring;
    let out: Expiring = p;
    if (p.messageExpiry !== undefined) {
      const left = p.messageExpiry - wallClock();
      if (left <= 0) {
        metrics.dropped_expired++;
        dropped(rec, packet, qos, 'expired');
        return null;
      }
      const interval = Math.ceil(left / 1000);
      if (p.properties && p.properties['messageExpiryInterval'] !== interval)
        out = {
          ...p,
          properties: { ...p.properties, messageExpiryInterval: interval },
        } as Expiring;
    }
    if (rec.proto_ver !== 5) return out;
    const c = client as ClientV5Internals;
    const max = c.maximumPacketSize;
    if (max !== undefined && max > 0) {
      const size = generate(
        {
          ...out,
          cmd: 'publish',
          qos: qos as 0 | 1 | 2,
          messageId: qos > 0 ? 1 : undefined,
        } as never,
        { protocolVersion: 5 },
      ).length;
      if (size > max) {
        metrics.dropped_too_large++;
        dropped(rec, packet, qos, 'too_large');
        return null;
      }
    }
    if (qos === 0 || (out.messageId === undefined && !out.dup)) {
      const aliases = aliasesOf(client);
      if (aliases) {
        const known = aliases.byTopic.get(out.topic);
        if (known !== undefined)
          return {
            ...out,
            topic: '',
            properties:
              qos === 0
                ? { ...out.properties, topicAlias: known }
                : { ...out.properties, topicAlias: known, [FULL_TOPIC]: out.topic },
          } as AedesPublishPacket;
        if (aliases.byTopic.size < aliases.max) {
          const alias = aliases.byTopic.size + 1;
          aliases.byTopic.set(out.topic, alias);
          return {
            ...out,
            properties: { ...out.properties, topicAlias: alias },
          } as AedesPublishPacket;
        }
      }
    }
    return out;
  }

  function watchNoLocal(client: Client, rec: ClientRecord): void {
    const c = client as ClientInternals;
    const wrap = (deliver: (p: AedesPublishPacket, cb: () => void) => void, qos0: boolean) =>
      function deliverWatchingNoLocal(p: AedesPublishPacket, cb: () => void): void {
        const e = p as Expiring;
        // deliverQoS hands a QoS 0 message to deliver0 (counted there, not twice).
        if (e.nl === true && e.clientId === client.id && (qos0 || p.qos > 0)) {
          metrics.dropped_no_local++;
          dropped(rec, p, qos0 ? 0 : p.qos, 'no_local');
        }
        deliver(p, cb);
      };
    c.deliver0 = wrap(c.deliver0, true);
    c.deliverQoS = wrap(c.deliverQoS, false);
  }

  return { forward, watchNoLocal };
}
