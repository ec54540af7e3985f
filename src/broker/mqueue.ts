/**
 * `max_mqueue_len` (issue #11 item 3; EMQX name): the QoS 1/2 messages queued for an offline
 * persistent session are bounded. Past the limit the OLDEST queued message is dropped (EMQX's
 * default `mqueue_priorities = disabled`, `mqueue_default_priority = lowest`: the queue drops
 * from its head), counted in `dropped_queue_full` and raised as `delivery.dropped` with reason
 * `queue_full`, EMQX's event for it. 0 means unlimited.
 *
 * The limit is the one of the listener the session last connected through. The count starts
 * when the session goes offline: copies in flight at that moment are not queued messages
 * (EMQX keeps them in the inflight window, not in the mqueue). It ends when the client returns
 * (Aedes then sends the queue).
 *
 * QoS 0 messages are never queued for an offline session: Aedes 1.x does not queue them at all,
 * which is EMQX's `mqueue_store_qos0 = false`. EMQX's default (true) is not available.
 *
 * Aedes internals used (README invariant 7): the persistence's `outgoingEnqueueCombi` (wrapped
 * after persistence-wrap.ts) and `outgoingClearMessageId`, which removes the first stored copy
 * whose packet id equals the one given: a queued copy has none until it is sent, so clearing
 * with an undefined id removes the oldest copy not yet sent.
 */
import type { AedesPublishPacket, Client } from 'aedes';
import { recordOf, type ClientRecord } from './client-records.js';
import type { AedesInternals, BrokerContext } from './context.js';
import { topicOf } from './event-feed.js';
import { deliveredColumns } from './events/message.js';

interface Offline {
  rec: ClientRecord;
  max: number;
  queued: number;
}

export function installMqueueLimit(ctx: BrokerContext, a: AedesInternals): void {
  const { metrics, feed, logger, now, node, idOf } = ctx;
  const offline = new Map<string, Offline>();
  const p = a.persistence as unknown as {
    outgoingEnqueueCombi(
      subs: Array<{ clientId: string }>,
      packet: AedesPublishPacket,
    ): Promise<void>;
    outgoingClearMessageId(
      c: { id: string },
      packet: { messageId?: number },
    ): Promise<AedesPublishPacket | undefined>;
  };

  a.on('clientDisconnect', (client: Client) => {
    const rec = recordOf(client);
    if (!rec || client.clean) return;
    const max = (rec.limits ?? ctx.limits.of(rec.meta.listener)).max_mqueue_len;
    if (max > 0) offline.set(client.id, { rec, max, queued: 0 });
  });
  a.on('client', (client: Client) => {
    offline.delete(client.id);
  });

  function dropOldest(clientId: string, o: Offline): Promise<void> {
    metrics.dropped_queue_full++;
    return p.outgoingClearMessageId({ id: clientId }, { messageId: undefined }).then((old) => {
      o.queued--;
      if (!old || !feed.wants['delivery.dropped']) return;
      const ts = now();
      const cols = deliveredColumns(
        o.rec,
        old,
        old.qos,
        undefined,
        idOf(old.brokerCounter),
        ts,
        node,
      );
      cols['reason'] = 'queue_full';
      cols['event'] = 'delivery.dropped';
      feed.emit('delivery.dropped', topicOf('delivery.dropped'), cols);
    });
  }

  const enqueue = p.outgoingEnqueueCombi.bind(p);
  p.outgoingEnqueueCombi = (subs, packet) => {
    const done = enqueue(subs, packet);
    if (offline.size === 0) return done;
    let drops: Promise<void>[] | undefined;
    for (const s of subs) {
      const o = offline.get(s.clientId);
      if (!o) continue;
      if (++o.queued > o.max) (drops ??= []).push(done.then(() => dropOldest(s.clientId, o)));
    }
    if (!drops) return done;
    logger.debug({ dropped: drops.length }, 'offline queue full: oldest dropped');
    return Promise.all(drops).then(() => undefined);
  };
}
