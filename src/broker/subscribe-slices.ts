/**
 * Big SUBSCRIBE / UNSUBSCRIBE work spread over event-loop turns (issue #19, decisions 0017 and
 * 0021), so one connection holding 100,000 filters does not stall every other client:
 *
 *   slices          our Aedes patch (lib/handlers/subscribe.js) handles a SUBSCRIBE's filters
 *                   `SUBSCRIBE_SLICE` at a time, one slice per turn; `installSubscribeSlices`
 *                   sets the size on the Aedes instance (`subscribeSlice`). SUBACK after the
 *                   last slice, codes in filter order [MQTT-3.8.4-*]; retained messages after
 *                   it, in filter order, looked up slice by slice.
 *   packet order    Aedes hands every packet of one socket read to its handler at once; a
 *                   SUBSCRIBE that takes several turns would let the packets after it (a
 *                   PUBLISH to a topic it subscribes, an UNSUBSCRIBE of it) run first.
 *                   `guardSubscribeOrder` holds a connection's packets that arrive while one of
 *                   its multi-slice SUBSCRIBEs is in progress and hands them to Aedes, in order,
 *                   once it completes. Held packets count in Aedes' batch (`_parsingBatch`), so
 *                   Aedes reads nothing more from that socket meanwhile: a client sending many
 *                   big SUBSCRIBEs is back-pressured by TCP, and what is held is bounded by one
 *                   socket read. A DISCONNECT among the held packets marks the will discarded at
 *                   once, as Aedes would, in case the socket closes before it is handed over.
 *                   Before CONNACK Aedes queues a connection's packets itself and hands them
 *                   over on 'connected'; a multi-slice SUBSCRIBE / UNSUBSCRIBE pipelined behind
 *                   the CONNECT (and every packet after it) is held here until then instead.
 *   UNSUBSCRIBE     our patch (lib/handlers/unsubscribe.js) validates a big UNSUBSCRIBE whole,
 *                   then handles it a slice per turn; `guardSubscribeOrder` holds the client's
 *                   later packets meanwhile, as for a SUBSCRIBE. A closing client with more than
 *                   a slice of filters ends its session at once and has its filters removed a
 *                   slice per turn after (`unsubscribeOnClose`, decision 0021).
 *   clean-up        removing subscriptions from the matcher (mqemitter defers each removal by
 *                   one setImmediate): when one turn asks for more than `SUBSCRIBE_SLICE`
 *                   removals — a closing client's 100,000 filters, a 100,000-filter
 *                   UNSUBSCRIBE — the rest wait in a FIFO and go at `SUBSCRIBE_SLICE` per turn.
 *                   Removals of distinct (filter, listener) pairs do not depend on each other's
 *                   order, so a removal that fits the turn's budget goes at once.
 *
 * Aedes internals used (README invariant 7): the client's `_parser` ('packet' listeners, the
 * first being Aedes' `enqueue`), `_nextBatch`, `_parsingBatch`, `_disconnected`, `version`, `connackSent` and its 'connected' event;
 * `aedes.unsubscribe` and the patched `subscribeSlice`.
 */
import type { Aedes, Client } from 'aedes';

/** Filters per slice: a slice costs ~2–4 ms on the 2-core bench machine (bench/RESULTS.md). */
export const SUBSCRIBE_SLICE = 500;

interface ParsedPacket {
  cmd: string;
  subscriptions?: unknown[];
  unsubscriptions?: unknown[];
  reasonCode?: number;
}

interface OrderInternals {
  _parser: NodeJS.EventEmitter;
  connackSent: boolean;
  once(event: 'connected', listener: () => void): unknown;
  _nextBatch: (err?: Error) => void;
  _parsingBatch: number;
  _disconnected: boolean;
  version: number | null;
}

/** MQTT 5 DISCONNECT reason 0x04: disconnect with will message. */
const DISCONNECT_WITH_WILL = 0x04;

/** Sets the slice size our subscribe.js patch reads, and slices the matcher's removals. */
export function installSubscribeSlices(aedes: Aedes, slice = SUBSCRIBE_SLICE): void {
  (aedes as unknown as { subscribeSlice: number }).subscribeSlice = slice;
  const a = aedes as unknown as {
    unsubscribe(topic: string, func: unknown, done?: (err?: Error) => void): void;
  };
  const remove = a.unsubscribe.bind(aedes);
  // The waiting removals, flat (topic, func, done, topic, …): a closing client's 100,000 filters
  // are pushed in one turn, so no object per entry.
  const waiting: unknown[] = [];
  let head = 0;
  let used = 0;
  let turn: NodeJS.Immediate | undefined;
  const nextTurn = (): void => {
    turn = undefined;
    used = 0;
    const end = Math.min(waiting.length, head + 3 * slice);
    while (head < end) {
      const topic = waiting[head] as string;
      const func = waiting[head + 1];
      const done = waiting[head + 2] as ((err?: Error) => void) | undefined;
      waiting[head] = waiting[head + 1] = waiting[head + 2] = undefined;
      head += 3;
      used++;
      remove(topic, func, done);
    }
    if (head === waiting.length) {
      waiting.length = 0;
      head = 0;
    }
    if (head < waiting.length || used > 0) turn = setImmediate(nextTurn);
  };
  a.unsubscribe = (topic, func, done) => {
    if (used < slice) {
      used++;
      remove(topic, func, done);
    } else waiting.push(topic, func, done);
    turn ??= setImmediate(nextTurn);
  };
}

/**
 * Hold the connection's packets while one of its SUBSCRIBEs or UNSUBSCRIBEs larger than a slice
 * is in progress
 * (see the file comment). Call once, right after Aedes made the client.
 */
export function guardSubscribeOrder(client: Client, slice = SUBSCRIBE_SLICE): void {
  const c = client as unknown as OrderInternals;
  const parser = c._parser;
  const listeners = parser.rawListeners('packet') as ((p: ParsedPacket) => void)[];
  // Aedes' own listener (lib/client.js `enqueue`), registered in the Client constructor.
  const enqueue = listeners[0];
  if (typeof enqueue !== 'function' || enqueue.name !== 'enqueue') return;
  let busy = false;
  const held: ParsedPacket[] = [];

  const dispatch = (p: ParsedPacket): void => {
    const filters =
      p.cmd === 'subscribe'
        ? (p.subscriptions?.length ?? 0)
        : p.cmd === 'unsubscribe'
          ? (p.unsubscriptions?.length ?? 0)
          : 0;
    if (filters <= slice) {
      enqueue.call(parser, p);
      return;
    }
    busy = true;
    const next = c._nextBatch;
    // Aedes passes `client._nextBatch` to the handler as its completion callback.
    c._nextBatch = (err?: Error): void => {
      busy = false;
      release();
      next(err);
    };
    try {
      enqueue.call(parser, p);
    } finally {
      c._nextBatch = next;
    }
  };
  // Before CONNACK Aedes queues a connection's packets (`enqueue` → `_parser._queue`) and hands
  // them over on 'connected' with the `_nextBatch` of that moment, so the completion hook above
  // would never run for a big SUBSCRIBE pipelined behind its CONNECT (allowed: MQTT 5 §3.1.4,
  // clients may send packets right after CONNECT), and the connection would hold every later
  // packet forever. Such a packet, and everything after it, is held here until 'connected';
  // Aedes' own queue (the packets before it) is handed over first, as its listener came first.
  let waitingConnack = false;
  const big = (p: ParsedPacket): boolean =>
    (p.cmd === 'subscribe' ? (p.subscriptions?.length ?? 0) : 0) > slice ||
    (p.cmd === 'unsubscribe' ? (p.unsubscriptions?.length ?? 0) : 0) > slice;
  const release = (): void => {
    if (!c.connackSent) return;
    while (!busy && held.length > 0) {
      const p = held.shift()!;
      c._parsingBatch--;
      dispatch(p);
    }
  };
  const onPacket = function (this: unknown, p: ParsedPacket): void {
    if (!busy && held.length === 0 && (c.connackSent || !big(p))) return dispatch(p);
    if (!c.connackSent && !waitingConnack) {
      waitingConnack = true;
      c.once('connected', () => {
        waitingConnack = false;
        release();
      });
    }
    held.push(p);
    // Counted as in progress: Aedes reads the socket again only when its batch is done.
    c._parsingBatch++;
    if (p.cmd === 'disconnect' && !(c.version === 5 && p.reasonCode === DISCONNECT_WITH_WILL))
      c._disconnected = true;
  };
  parser.removeListener('packet', enqueue);
  parser.prependListener('packet', onPacket);
}
