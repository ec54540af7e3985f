/**
 * Held acknowledgements (listener `ack_after: buffered | remote`, issue #12 item 2, decision
 * 0012). The patched Aedes publish handler (lib/handlers/publish.js) asks `holdAck(client,
 * packet)` before it publishes a QoS 1/2 PUBLISH. For a client whose listener holds acks it
 * returns `hold(sendAck, done)`; Aedes then routes the message first and calls `hold` after
 * routing, instead of writing the PUBACK (QoS 2: PUBREC) before routing (QoS 1) or right after it
 * (QoS 2).
 *
 * While routing, the publish path (publish-path.ts) runs the message's rule work inside the
 * engine's `AckGatePort.track`, which says when every record it produced is buffered / acked
 * by the remote. Per client:
 *
 *   - acknowledgements leave in the order the PUBLISHes arrived (a FIFO with a moving head):
 *     a finished message waits behind an unfinished older one [MQTT-4.6.0-2..4];
 *   - the broker keeps reading the client while fewer than `max_awaiting_ack` acks are held
 *     (so a client with an inflight window streams); at the bound, Aedes' `done` for the packet
 *     is held until the oldest ack leaves, which stops the socket reading. Aedes handles every
 *     packet of one socket read before it reads again, so the bound can be passed by the
 *     packets of the read in progress (as with PublishGate);
 *   - an ack held longer than `ack_timeout` is sent anyway, counted (`acks_timed_out`) and
 *     warned about (`broker_ack_timeout`, at most one line per 10 s with the count);
 *   - when the connection closes, held acks are forgotten (counted `acks_abandoned`): the
 *     client did not get them, so it resends those messages when it reconnects with its
 *     session (the rule work already done may then run twice: at least once).
 *
 * Wait times (hold to send) go to a histogram with the core LATENCY_BOUNDS_MS buckets.
 */
import type { Client, PublishPacket } from 'aedes';
import { LATENCY_BOUNDS_MS } from '../core/index.js';
import type { AckAfterMode, AckGatePort, Logger } from '../core/index.js';
import { recordOf, type ClientRecord } from './client-records.js';

/** One held acknowledgement. */
interface Held {
  /** Set by the Aedes patch once routing completed. */
  send: ((cb: (err?: Error) => void) => void) | undefined;
  finished: boolean;
  readonly at: number;
}

/** A client's held acknowledgements, oldest first. */
class ClientAcks {
  entries: (Held | undefined)[] = [];
  head = 0;
  /** Aedes' `done`s held because `max_awaiting_ack` acks were held (packets of one read). */
  blocked: (() => void)[] = [];
  closed = false;
  get size(): number {
    return this.entries.length - this.head;
  }
}

export interface AckWaitSummary {
  count: number;
  sum: number;
  /** Cumulative counts per LATENCY_BOUNDS_MS bound. */
  buckets: number[];
}

export interface AckAfterMetrics {
  /** Acknowledgements held now (all clients). */
  pending: number;
  /** Acknowledgements held and sent since start. */
  held_total: number;
  /** Sent because ack_timeout passed. */
  timed_out: number;
  /** Forgotten because the connection closed first. */
  abandoned: number;
  /** Times a client's reading was stopped at max_awaiting_ack. */
  window_full: number;
  waits: AckWaitSummary;
}

/** Symbol tagging a packet whose acknowledgement is held (read by the publish path). */
export const HELD = Symbol('sluice.heldAck');
export type HeldPacket = PublishPacket & { [HELD]?: { finish: () => void; mode: AckAfterMode } };

export interface AckAfter {
  /** The Aedes hook (installed as `aedes.holdAck`). */
  /**
   * `duplicate`: a QoS 2 retransmission of a message whose first copy is stored (not routed
   * again); its PUBREC queues behind the acknowledgements held before it, so it never leaves
   * before the first copy's.
   */
  holdAck(
    client: Client,
    packet: PublishPacket,
    duplicate?: boolean,
  ): ((send: (cb: (err?: Error) => void) => void, done: () => void) => void) | undefined;
  /** The connection closed: forget its held acks, release its reading. */
  closed(rec: ClientRecord): void;
  metrics(): AckAfterMetrics;
  stop(): void;
}

const ACKS = Symbol('sluice.acks');
type AckHolder = ClientRecord & { [ACKS]?: ClientAcks };

export function createAckAfter(deps: {
  port: AckGatePort | undefined;
  now: () => number;
  logger: Logger;
}): AckAfter {
  const { now, logger } = deps;
  const live = new Set<ClientAcks>();
  const buckets = new Array<number>(LATENCY_BOUNDS_MS.length).fill(0);
  const m = { held_total: 0, timed_out: 0, abandoned: 0, window_full: 0, count: 0, sum: 0 };
  let pending = 0;
  const timeouts = new Map<ClientAcks, number>();
  let unlogged = 0;
  let lastLog = -Infinity;

  const record = (ms: number): void => {
    m.count++;
    m.sum += ms;
    for (let i = 0; i < LATENCY_BOUNDS_MS.length; i++)
      if (ms <= (LATENCY_BOUNDS_MS[i] as number)) buckets[i] = (buckets[i] as number) + 1;
  };

  /** Let Aedes read the client again: every held `done` of the last read. */
  const release = (q: ClientAcks): void => {
    const b = q.blocked;
    q.blocked = [];
    for (const d of b) d();
  };

  const flush = (q: ClientAcks, max: number): void => {
    while (q.head < q.entries.length) {
      const e = q.entries[q.head] as Held;
      if (!e.finished || !e.send) break;
      q.entries[q.head++] = undefined;
      pending--;
      m.held_total++;
      record(now() - e.at);
      e.send(noop);
    }
    if (q.head === q.entries.length) {
      q.entries = [];
      q.head = 0;
      live.delete(q);
    } else if (q.head > 1024 && q.head * 2 > q.entries.length) {
      q.entries = q.entries.slice(q.head);
      q.head = 0;
    }
    if (q.blocked.length > 0 && q.size < max) release(q);
  };

  // ack_timeout: one timer for the broker (from the first held ack on), scanning only clients
  // with held acks.
  let timer: NodeJS.Timeout | undefined;
  const scan = (): void => {
    const t = now();
    let forced = 0;
    for (const [q, timeout] of timeouts) {
      if (q.closed || q.size === 0) {
        if (q.closed) timeouts.delete(q);
        continue;
      }
      if (timeout <= 0) continue;
      let n = 0;
      for (let i = q.head; i < q.entries.length; i++) {
        const e = q.entries[i] as Held;
        if (t - e.at < timeout) break;
        if (!e.finished) {
          e.finished = true;
          n++;
        }
      }
      if (n > 0) {
        forced += n;
        flush(q, maxOf.get(q) ?? 1);
      }
    }
    if (forced > 0) {
      m.timed_out += forced;
      unlogged += forced;
    }
    if (unlogged > 0 && t - lastLog >= 10_000) {
      lastLog = t;
      logger.warn(
        { code: 'broker_ack_timeout', count: unlogged },
        'held acknowledgements sent after ack_timeout although their records were not yet buffered / acknowledged',
      );
      unlogged = 0;
    }
  };
  const maxOf = new WeakMap<ClientAcks, number>();

  return {
    holdAck(client, packet, duplicate) {
      const port = deps.port;
      if (!port) return undefined;
      const rec = recordOf(client) as AckHolder | undefined;
      const lim = rec?.limits;
      if (!rec || !lim || lim.ack_after === 'receipt') return undefined;
      const mode: AckAfterMode = lim.ack_after;
      let q = rec[ACKS];
      if (!q) {
        if (!timer) {
          timer = setInterval(scan, 250);
          timer.unref();
        }
        q = rec[ACKS] = new ClientAcks();
        maxOf.set(q, lim.max_awaiting_ack);
        timeouts.set(q, lim.ack_timeout);
      }
      const queue = q;
      const max = lim.max_awaiting_ack;
      const e: Held = { send: undefined, finished: duplicate === true, at: now() };
      queue.entries.push(e);
      live.add(queue);
      pending++;
      if (!duplicate)
        (packet as HeldPacket)[HELD] = {
          mode,
          finish: () => {
            if (e.finished) return;
            e.finished = true;
            if (!queue.closed && e.send) flush(queue, max);
          },
        };
      return (send, done) => {
        (packet as HeldPacket)[HELD] = undefined;
        if (queue.closed) return done();
        e.send = send;
        if (e.finished) flush(queue, max);
        if (queue.size < max) return done();
        if (queue.blocked.length === 0) m.window_full++;
        queue.blocked.push(done);
      };
    },
    closed(rec) {
      const q = (rec as AckHolder)[ACKS];
      if (!q || q.closed) return;
      q.closed = true;
      const left = q.size;
      pending -= left;
      m.abandoned += left;
      q.entries = [];
      q.head = 0;
      live.delete(q);
      timeouts.delete(q);
      release(q);
    },
    metrics() {
      return {
        pending,
        held_total: m.held_total,
        timed_out: m.timed_out,
        abandoned: m.abandoned,
        window_full: m.window_full,
        waits: { count: m.count, sum: m.sum, buckets: [...buckets] },
      };
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}

function noop(): void {}
