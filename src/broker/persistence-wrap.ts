/**
 * Wrappers around two Aedes persistence calls (installed after `aedes.listen()`, when the
 * persistence is ready):
 *
 *  - `outgoingClearMessageId`: a PUBACK / PUBCOMP for a forwarded QoS 1/2 copy → messages_acked
 *    and message.acked, matched by packet id to the delivered columns authorizeForward kept
 *    (README invariant 6);
 *  - `outgoingEnqueueCombi`: copies queued for offline sessions count as deliveries, so such a
 *    message is not reported as dropped (invariant 5);
 *  - `outgoingUpdate`: an aliased QoS 1/2 copy (mqtt5-forward.ts) is stored with its topic and
 *    without the alias, so a later re-send on another connection is whole;
 *  - `outgoingStream` (what a returning persistent session is sent): a PUBLISH that already
 *    has a packet id was sent before and never acknowledged, so it is re-sent with DUP 1
 *    [MQTT-3.3.1-1] [MQTT-4.4.0-1]; Aedes re-sends it with the DUP it had (0). A copy queued
 *    while the client was offline has no packet id yet and keeps DUP 0 (first attempt).
 */
import type { Client } from 'aedes';
import { recordOf } from './client-records.js';
import type { AedesInternals, BrokerContext } from './context.js';
import { topicOf } from './event-feed.js';
import { ackedColumns } from './events/message.js';
import { propsToColumns } from './columns.js';
import { FULL_TOPIC } from './mqtt5-forward.js';

export function wrapPersistence(
  ctx: BrokerContext,
  a: AedesInternals,
  hasRetained?: () => boolean,
): void {
  const { now, node, feed, routing, metrics } = ctx;
  const wants = feed.wants;
  const emit = feed.emit;

  function onAck(
    client: Client,
    mid: number | undefined,
    props: Record<string, unknown> | undefined,
  ): void {
    metrics.messages_acked++;
    const rec = recordOf(client);
    const delivered = mid === undefined ? undefined : rec?.inflight?.get(mid);
    if (!rec || !delivered || mid === undefined) return;
    rec.inflight!.delete(mid);
    if (!wants['message.acked']) return;
    emit(
      'message.acked',
      topicOf('message.acked'),
      ackedColumns(delivered, now(), node, propsToColumns(props)),
    );
  }

  const p = a.persistence as {
    outgoingClearMessageId: (
      c: Client,
      packet: { cmd?: string; messageId?: number; properties?: Record<string, unknown> },
    ) => Promise<unknown>;
    outgoingEnqueueCombi: (
      subs: unknown[],
      packet: { brokerId?: string; brokerCounter?: number },
    ) => Promise<void>;
    outgoingStream: (c: Client) => AsyncIterable<OutgoingPacket>;
    outgoingUpdate: (c: Client, packet: OutgoingPacket) => Promise<void>;
  };
  // Retained topics, so a SUBSCRIBE skips the store's look-up while none is held (our
  // subscribe.js hunk asks `persistence.hasRetained`; decision 0025). The disk store answers
  // from its own mirror (restored messages included); Aedes' memory store starts empty, and its
  // topics are tracked here as the store does: an empty payload removes the topic's message.
  const r = a.persistence as {
    storeRetained: (packet: { topic: string; payload?: { length: number } }) => Promise<unknown>;
    hasRetained?: () => boolean;
  };
  if (hasRetained !== undefined) r.hasRetained = hasRetained;
  else {
    const topics = new Set<string>();
    const storeRetained = r.storeRetained.bind(r);
    r.storeRetained = (packet) => {
      if (packet.payload !== undefined && packet.payload.length > 0) topics.add(packet.topic);
      else topics.delete(packet.topic);
      return storeRetained(packet);
    };
    r.hasRetained = () => topics.size > 0;
  }
  const clear = p.outgoingClearMessageId.bind(p);
  p.outgoingClearMessageId = (c, packet) => {
    if (packet.cmd === 'puback' || packet.cmd === 'pubcomp')
      onAck(c, packet.messageId, packet.properties);
    return clear(c, packet);
  };
  const enqueue = p.outgoingEnqueueCombi.bind(p);
  p.outgoingEnqueueCombi = (subs, packet) => {
    if (subs.length > 0 && packet.brokerId === a.id && packet.brokerCounter !== undefined) {
      routing.hit(packet.brokerCounter, subs.length);
    }
    return enqueue(subs, packet);
  };
  // An aliased QoS 1/2 copy (mqtt5-forward.ts) goes out as topic '' + alias; the store must
  // keep the topic (and no alias): aliases die with the connection [MQTT-3.3.2-10].
  const update = p.outgoingUpdate.bind(p);
  p.outgoingUpdate = (c, packet) => update(c, withFullTopic(packet));
  const stream = p.outgoingStream.bind(p);
  p.outgoingStream = (c) => markResent(stream(c));
}

interface OutgoingPacket {
  cmd?: string;
  messageId?: number;
  dup?: boolean;
  topic?: string;
  properties?: Record<string | symbol, unknown>;
}

/** The packet as it is to be stored: an aliased copy gets its topic back, without the alias. */
export function withFullTopic(packet: OutgoingPacket): OutgoingPacket {
  const full = packet.properties?.[FULL_TOPIC];
  if (typeof full !== 'string' || packet.topic !== '') return packet;
  const { topicAlias: _alias, [FULL_TOPIC]: _full, ...properties } = packet.properties!;
  return { ...packet, topic: full, properties };
}

/** The stored queue with DUP 1 on PUBLISHes sent before (they have a packet id); copies. */
async function* markResent(src: AsyncIterable<OutgoingPacket>): AsyncIterable<OutgoingPacket> {
  for await (const packet of src)
    yield packet.cmd === 'publish' && packet.messageId !== undefined && !packet.dup
      ? { ...packet, dup: true }
      : packet;
}
