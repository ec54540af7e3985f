/**
 * Session-family events (spec rule-sql §7.2): session.subscribed / unsubscribed from Aedes'
 * 'subscribe' / 'unsubscribe'. session.unsubscribed's `qos` column is the granted QoS Aedes
 * held for the filter (our unsubscribe.js hunk passes it as the event's third argument), so no
 * per-filter copy is kept here (issue #19, decision 0025).
 */
import type { Client } from 'aedes';

import { recordOf } from '../client-records.js';
import { EMPTY_MAP, propsToColumns } from '../columns.js';
import type { AedesInternals, BrokerContext } from '../context.js';
import { topicOf } from '../event-feed.js';

export function wireSessionEvents(ctx: BrokerContext, a: AedesInternals): void {
  const { now, node, feed } = ctx;
  const wants = feed.wants;
  const emit = feed.emit;

  a.on('subscribe', (subs, client) => {
    // Nothing is kept per filter (issue #19, decision 0025): session.unsubscribed's qos comes
    // from Aedes (the 'unsubscribe' event's third argument, our unsubscribe.js hunk).
    if (!wants['session.subscribed']) return;
    const rec = recordOf(client);
    if (!rec) return;
    for (const s of subs) {
      if ((s.qos as number) === 128) continue;
      emit('session.subscribed', topicOf('session.subscribed'), {
        clientid: rec.clientid,
        username: rec.username,
        peerhost: rec.peerhost,
        peername: rec.peername,
        topic: s.topic,
        qos: s.qos,
        sub_props: propsToColumns(
          rec.subProps?.get(s.topic) ?? (s as { properties?: Record<string, unknown> }).properties,
        ),
        client_attrs: rec.client_attrs,
        event: 'session.subscribed',
        timestamp: now(),
        node,
      });
    }
  });
  a.on('unsubscribe', (topics: string[], client: Client, held?: (number | undefined)[]) => {
    // Aedes also reports the clean-up of a closing clean session; EMQX raises no
    // session.unsubscribed for that, so neither do we.
    if (client.closed || !wants['session.unsubscribed'] || held === undefined) return;
    const rec = recordOf(client);
    if (!rec) return;
    for (let i = 0; i < topics.length; i++) {
      const t = topics[i]!;
      // The granted QoS of a filter the client held; undefined: it held none (no event).
      const qos = held[i];
      if (qos !== undefined)
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
