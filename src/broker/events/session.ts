/**
 * Session-family events (spec rule-sql §7.2): session.subscribed / unsubscribed from Aedes'
 * 'subscribe' / 'unsubscribe'. The granted QoS of each filter is kept on the ClientRecord for
 * session.unsubscribed's `qos` column.
 */
import { recordOf } from '../client-records.js';
import { EMPTY_MAP, propsToColumns } from '../columns.js';
import type { AedesInternals, BrokerContext } from '../context.js';
import { topicOf } from '../event-feed.js';

export function wireSessionEvents(ctx: BrokerContext, a: AedesInternals): void {
  const { now, node, feed } = ctx;
  const wants = feed.wants;
  const emit = feed.emit;

  a.on('subscribe', (subs, client) => {
    const rec = recordOf(client);
    if (!rec) return;
    for (const s of subs) {
      if ((s.qos as number) === 128) continue;
      rec.subs.set(s.topic, s.qos);
      if (wants['session.subscribed'])
        emit('session.subscribed', topicOf('session.subscribed'), {
          clientid: rec.clientid,
          username: rec.username,
          peerhost: rec.peerhost,
          peername: rec.peername,
          topic: s.topic,
          qos: s.qos,
          sub_props: propsToColumns(
            rec.subProps?.get(s.topic) ??
              (s as { properties?: Record<string, unknown> }).properties,
          ),
          client_attrs: rec.client_attrs,
          event: 'session.subscribed',
          timestamp: now(),
          node,
        });
    }
  });
  a.on('unsubscribe', (topics, client) => {
    const rec = recordOf(client);
    if (!rec) return;
    // Aedes also reports the clean-up of a closing clean session; EMQX raises no
    // session.unsubscribed for that, so neither do we.
    const explicit = !client.closed;
    if (!explicit) {
      // A closing client's record is dropped with it: one clear, not a delete per filter (a
      // client holding 100,000 filters closes in one event-loop turn; issue #19).
      rec.subs.clear();
      rec.counted?.clear();
      return;
    }
    for (const t of topics) {
      const qos = rec.subs.get(t);
      rec.subs.delete(t);
      rec.counted?.delete(t);
      if (qos !== undefined && wants['session.unsubscribed'])
        emit('session.unsubscribed', topicOf('session.unsubscribed'), {
          clientid: rec.clientid,
          username: rec.username,
          peerhost: rec.peerhost,
          peername: rec.peername,
          topic: t,
          qos,
          unsub_props: EMPTY_MAP,
          client_attrs: rec.client_attrs,
          event: 'session.unsubscribed',
          timestamp: now(),
          node,
        });
    }
  });
}
