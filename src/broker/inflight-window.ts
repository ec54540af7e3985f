/**
 * `max_inflight` (issue #11 item 3; EMQX name, default 32): at most that many QoS 1/2 copies
 * are on their way to one client without PUBACK / PUBCOMP. Aedes 1.x has no such window (it
 * writes every copy at once), so it is enforced on the forward path:
 *
 *   - the client's `deliverQoS` (Aedes' QoS 1/2 delivery function, which every subscription of
 *     the client and the retained-message path call) is wrapped when the connection is accepted,
 *     before any subscription captures it;
 *   - while the window is full, a copy is held in a per-client FIFO (EMQX's mqueue) and the
 *     router moves on; authorizeForward counts each copy actually forwarded at QoS 1/2
 *     (`sent`), and PUBACK / PUBCOMP frees its slot and releases the next held copy;
 *   - the FIFO holds at most the listener's `max_mqueue_len` copies (0 = unlimited): past it
 *     the oldest is dropped (delivery.dropped `queue_full`, `dropped_queue_full`), as EMQX
 *     drops from a full mqueue;
 *   - a held copy keeps Aedes' dedupe: a copy of a message the client already has is not held
 *     (overlapping subscriptions still give one copy), and releasing it lowers the client's
 *     dedupe mark for that one call (a later QoS 0 copy may have raised it meanwhile);
 *   - when the client leaves, a persistent session's held copies stay in its stored queue (Aedes
 *     sends them when it returns); a clean session's are dropped with it, except shared
 *     subscription copies, which go to another member (shared-subscriptions.ts).
 *
 * Not paced: the stored queue Aedes sends when a persistent session reconnects (it writes it
 * directly, not through deliverQoS). Those copies do count in the window.
 *
 * Aedes internals used (README invariant 7): `client.deliverQoS`, `client.duplicates`,
 * `client.clean`, `client.closed`, the persistence's `outgoingClearMessageId`.
 */
import type { AedesPublishPacket, Client } from 'aedes';
import { recordOf, type ClientRecord } from './client-records.js';
import type { AedesInternals, BrokerContext, ClientInternals } from './context.js';
import { topicOf } from './event-feed.js';
import { deliveredColumns } from './events/message.js';

interface Held {
  readonly packet: AedesPublishPacket;
  /** The shared subscription group the copy was handed to this client for, if any. */
  readonly group: unknown;
  /** The listeners its route matched (match-context.ts), for authorizeForward at release. */
  readonly matches: readonly unknown[] | undefined;
}

/** One client's window (on its ClientRecord). */
export interface InflightWindow {
  readonly max: number;
  /** Packet ids of QoS 1/2 copies forwarded and not yet acknowledged. */
  readonly ids: Set<number>;
  readonly held: Held[];
}

export interface InflightWindows {
  /** Wrap a just-accepted client's deliverQoS (a no-op when max_inflight is 0). */
  guard(client: Client, rec: ClientRecord): void;
  /** authorizeForward forwarded a QoS 1/2 copy with packet id `mid` to `rec`. */
  sent(rec: ClientRecord, mid: number): void;
  /**
   * MQTT 5 Receive Maximum from CONNECT (preConnect): the window becomes the smaller of
   * max_inflight and it [MQTT-3.3.4-9]. No-op for a client without a window (max_inflight 0).
   */
  receiveMaximum(rec: ClientRecord, n: number): void;
}

const noop = (): void => {};

export function installInflightWindows(ctx: BrokerContext, a: AedesInternals): InflightWindows {
  const { metrics, feed, now, node, idOf } = ctx;
  const windows = new WeakMap<
    ClientRecord,
    InflightWindow & { release: () => void; setMax: (n: number) => void }
  >();
  const p = a.persistence as unknown as {
    outgoingClearMessageId(
      c: { id: string },
      packet: { cmd?: string; messageId?: number },
    ): Promise<unknown>;
  };

  function dropped(rec: ClientRecord, packet: AedesPublishPacket): void {
    metrics.dropped_queue_full++;
    if (!feed.wants['delivery.dropped']) return;
    const ts = now();
    const cols = deliveredColumns(
      rec,
      packet,
      packet.qos,
      undefined,
      idOf(packet.brokerCounter),
      ts,
      node,
    );
    cols['reason'] = 'queue_full';
    cols['event'] = 'delivery.dropped';
    feed.emit('delivery.dropped', topicOf('delivery.dropped'), cols);
  }

  const clear = p.outgoingClearMessageId.bind(p);
  p.outgoingClearMessageId = (c, packet) => {
    if ((packet.cmd === 'puback' || packet.cmd === 'pubcomp') && packet.messageId !== undefined) {
      const rec = recordOf(c as Client);
      const w = rec ? windows.get(rec) : undefined;
      if (w && w.ids.delete(packet.messageId)) {
        const out = clear(c, packet);
        w.release();
        return out;
      }
    }
    return clear(c, packet);
  };

  a.on('clientDisconnect', (client: Client) => {
    const rec = recordOf(client);
    const w = rec ? windows.get(rec) : undefined;
    if (!w || w.held.length === 0) return;
    const held = w.held.splice(0);
    if (!client.clean) return; // still in the session's stored queue
    for (const h of held)
      if (h.group !== undefined) ctx.shared?.redeliver(h.group, h.packet, client);
  });

  return {
    guard(client, rec) {
      let max = (rec.limits ?? ctx.limits.of(rec.meta.listener)).max_inflight;
      if (!(max > 0)) return;
      const c = client as ClientInternals & { duplicates: Record<string, number> };
      const maxHeld = (rec.limits ?? ctx.limits.of(rec.meta.listener)).max_mqueue_len;
      const deliverQoS = c.deliverQoS;
      const w = {
        get max() {
          return max;
        },
        setMax(n: number): void {
          max = Math.min(max, n);
        },
        ids: new Set<number>(),
        held: [] as Held[],
        release(): void {
          while (w.held.length > 0 && w.ids.size < max && !c.closed) {
            const { packet, group, matches } = w.held.shift()!;
            const bid = packet.brokerId;
            const mark = c.duplicates[bid];
            if (mark !== undefined) c.duplicates[bid] = packet.brokerCounter - 1;
            try {
              if (group !== undefined && ctx.shared)
                ctx.shared.within(group, packet, () => deliverQoS(packet, noop));
              else if (ctx.matches)
                ctx.matches.within(packet, matches, () => deliverQoS(packet, noop));
              else deliverQoS(packet, noop);
            } finally {
              if (mark !== undefined) c.duplicates[bid] = Math.max(mark, c.duplicates[bid] ?? 0);
            }
          }
        },
      };
      windows.set(rec, w);
      rec.windowed = true;
      c.deliverQoS = (packet, cb) => {
        if (packet.qos === 0 || (w.ids.size < max && w.held.length === 0))
          return deliverQoS(packet, cb);
        // Aedes' dedupe, done here since the copy is not handed to Aedes yet.
        const bid = packet.brokerId;
        if (bid && (c.duplicates[bid] ?? 0) >= packet.brokerCounter) return setImmediate(cb);
        const last = w.held[w.held.length - 1];
        if (
          last &&
          last.packet.brokerId === bid &&
          last.packet.brokerCounter === packet.brokerCounter
        )
          return setImmediate(cb);
        w.held.push({
          packet,
          group: ctx.shared?.handingGroup(),
          matches: ctx.matches?.matchesOf(packet),
        });
        // A held copy is a delivery of its route (not message.dropped no_subscribers).
        if (bid === a.id) ctx.routing.hit(packet.brokerCounter, 1);
        if (maxHeld > 0 && w.held.length > maxHeld) {
          const old = w.held.shift()!;
          dropped(rec, old.packet);
          // A persistent session stored the copy at publish: the oldest copy not yet sent.
          if (!c.clean) void clear({ id: c.id }, { messageId: undefined }).catch(noop);
        }
        setImmediate(cb);
      };
    },
    sent(rec, mid) {
      windows.get(rec)?.ids.add(mid);
    },
    receiveMaximum(rec, n) {
      if (n > 0) windows.get(rec)?.setMax(n);
    },
  };
}
