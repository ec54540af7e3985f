/**
 * The MQTT 5 acknowledgement of a message that ingress validation / transformation did not
 * route (decision 0013, docs/schema-validation.md "Acknowledgement"). EMQX answers it with
 * PUBACK / PUBREC 0x10 No matching subscribers: the hook sets `allow_publish => false`,
 * `emqx_broker:publish` returns `[]`, and `emqx_channel:puback_reason_code/3` /
 * `pubrec_reason_code/1` turn `[]` into `?RC_NO_MATCHING_SUBSCRIBERS` (emqx/emqx
 * apps/emqx/src/emqx_channel.erl; emqx_message_transformation registers no 'message.puback'
 * hook). `disconnect`: no acknowledgement, DISCONNECT 0x83 (ingress-hook.ts), as EMQX's
 * `puback_reason_code(_, _, disconnect) -> disconnect`.
 *
 * Aedes writes a QoS 1 PUBACK before it routes, so a reason code needs routing first: while
 * ingress is active, `holdAck` (the patched Aedes publish handler's hook, decision 0012) answers
 * for MQTT 5 clients whose listener does not hold acks itself (ack_after receipt) with a hold
 * that sends the ack once routing completed. The publish path sets `sluiceAckReason` on a
 * dropped packet; the patched `PubAck` / `PubRec` constructors copy it into `reasonCode`.
 * Acknowledgements leave in the order the PUBLISHes arrived (a FIFO per client, like
 * ack-after.ts); 3.1.1 clients keep Aedes' PUBACK on receipt (they cannot carry a code).
 */
import type { Client, PublishPacket } from 'aedes';
import type { IngressPort } from '../core/index.js';
import { recordOf, type ClientRecord } from './client-records.js';

/** MQTT 5 0x10 No matching subscribers (EMQX ?RC_NO_MATCHING_SUBSCRIBERS). */
export const INGRESS_DROP_ACK_CODE = 0x10;

/** What the publish path leaves on a packet for its acknowledgement (read by the Aedes patch). */
export type AckReasonPacket = PublishPacket & {
  sluiceAckReason?: number;
  [NO_ACK]?: true;
};

/** Set on a packet whose publisher is being disconnected: its held ack is not sent. */
export const NO_ACK = Symbol('sluice.noAck');

/** An acknowledgement held only for its reason code, leaving in arrival order. */
interface Entry {
  send: ((cb: (err?: Error) => void) => void) | undefined;
  skip: boolean;
  readonly at: number;
}

const QUEUE = Symbol('sluice.ingressAcks');
type Holder = ClientRecord & { [QUEUE]?: { entries: Entry[]; timer?: NodeJS.Timeout } };

/** A head entry whose routing never completed (publish error) stops blocking after this. */
const STUCK_MS = 5_000;

/** Mark a packet that ingress did not route (drop: 0x10; disconnect: no ack at all). */
export function markNotRouted(
  packet: PublishPacket,
  client: Client | null,
  action: 'drop' | 'disconnect',
): void {
  if (!client || packet.qos === 0 || (client as { version?: number }).version !== 5) return;
  const p = packet as AckReasonPacket;
  if (action === 'drop') p.sluiceAckReason = INGRESS_DROP_ACK_CODE;
  else p[NO_ACK] = true;
}

/** An ack_after hold's `send` for `packet`: a no-op when its publisher is being disconnected. */
export function skipIfDisconnected(
  packet: PublishPacket,
  send: (cb: (err?: Error) => void) => void,
): (cb: (err?: Error) => void) => void {
  return (cb) => ((packet as AckReasonPacket)[NO_ACK] === true ? cb() : send(cb));
}

export function createIngressAcks(ingress: IngressPort, now: () => number) {
  const flush = (rec: Holder): void => {
    const q = rec[QUEUE];
    if (!q) return;
    while (q.entries.length > 0) {
      const e = q.entries[0] as Entry;
      if (!e.send) {
        if (now() - e.at < STUCK_MS) break;
        q.entries.shift();
        continue;
      }
      q.entries.shift();
      if (!e.skip) e.send(noop);
    }
    if (q.timer) clearTimeout(q.timer);
    q.timer = undefined;
    if (q.entries.length > 0) {
      q.timer = setTimeout(() => flush(rec), STUCK_MS);
      q.timer.unref();
    }
  };
  return {
    /** The `holdAck` answer for a client the listener's ack_after does not hold. */
    holdAck(
      client: Client,
      packet: PublishPacket,
      duplicate?: boolean,
    ): ((send: (cb: (err?: Error) => void) => void, done: () => void) => void) | undefined {
      if (!ingress.active || (client as { version?: number }).version !== 5) return undefined;
      const rec = recordOf(client) as Holder | undefined;
      if (!rec) return undefined;
      const q = (rec[QUEUE] ??= { entries: [] });
      // A QoS 2 retransmission is not routed again; its PUBREC only waits behind older acks.
      if (duplicate && q.entries.length === 0) return undefined;
      const e: Entry = { send: undefined, skip: false, at: now() };
      q.entries.push(e);
      return (send, done) => {
        e.send = send;
        e.skip = (packet as AckReasonPacket)[NO_ACK] === true;
        flush(rec);
        done();
      };
    },
  };
}

function noop(): void {}
