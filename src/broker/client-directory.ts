/**
 * `Broker.clients()` (with `Broker.kick`, the core `ClientDirectory` port): the connected
 * clients for the management API and the dashboard, read from Aedes' client table and the
 * per-connection records. Per request, never on the message path.
 */
import type { ConnectedClient } from '../core/index.js';
import { recordOf } from './client-records.js';
import type { BrokerContext, SubCounting } from './context.js';

/** A snapshot of the connected (CONNACKed, not closing) clients. */
export function listClients(ctx: BrokerContext): ConnectedClient[] {
  const a = ctx.aedes;
  if (!a || ctx.state !== 'running') return [];
  const out: ConnectedClient[] = [];
  for (const c of Object.values(a.clients)) {
    if (!c || c.closed) continue;
    const rec = recordOf(c);
    if (!rec) continue;
    out.push({
      clientid: rec.clientid,
      username: rec.username,
      peerhost: rec.peerhost,
      listener: rec.meta.listener,
      proto_ver: rec.proto_ver,
      keepalive: rec.keepalive,
      clean_start: rec.clean_start,
      connected_at: rec.connected_at,
      // Kept by our Aedes hunks (decision 0025): no key list of a client's 100,000 filters per poll.
      subscriptions: (c as SubCounting)._subCount ?? 0,
      paused: rec.gate?.paused === true,
    });
  }
  return out;
}
