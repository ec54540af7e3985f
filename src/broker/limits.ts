/**
 * Per-listener limits (issue #11 item 3; EMQX names): each is checked as early as the protocol
 * allows, counted in broker metrics (`refused_*`) and logged once per refusal (never per
 * message: every refusal but max_subscriptions ends the connection).
 *
 *   max_connections     at accept, before Aedes sees the socket: the socket is destroyed
 *   idle_timeout        a socket whose CONNECT has not been parsed in time is destroyed
 *                       (a CONNECT dribbled byte by byte counts as not sent)
 *   max_packet_size     on the fixed header: as soon as the parser has read the Remaining
 *                       Length of any packet, one larger than the limit closes the connection,
 *                       so at most one socket read (≤ 64 KB) of it is ever buffered
 *   max_topic_levels    PUBLISH → connection closed (authorizePublish); SUBSCRIBE → SUBACK 0x80
 *   max_subscriptions   the filter past the limit gets SUBACK 0x80 [MQTT-3.9.3-2]; resubscribing
 *                       a filter the client holds does not count
 *
 * Aedes / mqtt-packet internals used (README invariant 7): `client._parser` (mqtt-packet
 * Parser), its `_parseLength` state, `packet.length` and `_emitError`.
 */
import type { Client } from 'aedes';
import type { Logger } from '../core/index.js';
import type { ClientRecord } from './client-records.js';
import type { ClientV5Internals } from './context.js';
import type { BrokerConfig, ListenerLimits } from './config.js';
import { LISTENER_LIMIT_DEFAULTS } from './config.js';
import { limitFastPath, wireSize } from './fast-parser.js';
import type { BrokerMetrics } from './types.js';

interface ParserInternals {
  packet: { length: number; cmd?: string };
  _parseLength(): boolean;
  _emitError(err: Error): void;
}

/** Number of levels of a topic or filter (`a/b/c` → 3). */
export function topicLevels(topic: string): number {
  let levels = 1;
  for (let i = 0; i < topic.length; i++) if (topic.charCodeAt(i) === 47) levels++;
  return levels;
}

export interface Limits {
  /** The limits of the listener named `listener` (defaults for connections handed in directly). */
  of(listener: string): ListenerLimits;
  /** Accept-time check: false (socket destroyed, counted) when the listener is full. */
  admit(
    stream: { destroy(): void; once(e: 'close', f: () => void): unknown },
    listener: string,
    peer: string | undefined,
  ): boolean;
  /** Install the packet-size guard and the CONNECT timer on a client Aedes just made. */
  guard(client: Client, rec: ClientRecord): void;
  /** CONNECT arrived (preConnect): stop the idle timer. */
  connected(rec: ClientRecord): void;
}

export function createLimits(config: BrokerConfig, metrics: BrokerMetrics, logger: Logger): Limits {
  const byListener = new Map<string, ListenerLimits>();
  for (const [name, l] of Object.entries(config.listeners)) byListener.set(name, l);
  const defaults: ListenerLimits = {
    ...LISTENER_LIMIT_DEFAULTS,
    idle_timeout: config.connect_timeout,
  };
  const open = new Map<string, number>();
  const idleTimers = new WeakMap<ClientRecord, NodeJS.Timeout>();

  const of = (listener: string): ListenerLimits => byListener.get(listener) ?? defaults;

  return {
    of,
    admit(stream, listener, peer) {
      const max = of(listener).max_connections;
      const n = open.get(listener) ?? 0;
      if (n >= max) {
        metrics.refused_max_connections++;
        logger.info({ listener, peer, max_connections: max }, 'connection refused: listener full');
        stream.destroy();
        return false;
      }
      open.set(listener, n + 1);
      stream.once('close', () => open.set(listener, (open.get(listener) ?? 1) - 1));
      return true;
    },
    guard(client, rec) {
      const lim = of(rec.meta.listener);
      rec.limits = lim;
      const max = lim.max_packet_size;
      const parser = (client as unknown as { _parser: ParserInternals })._parser;
      // The fast path (fast-parser.ts) leaves packets over the limit to the guard below.
      limitFastPath(parser, max);
      const parseLength = parser._parseLength;
      parser._parseLength = function guardedParseLength(this: ParserInternals): boolean {
        if (!parseLength.call(this)) return false;
        const size = wireSize(this.packet.length);
        if (size <= max) return true;
        metrics.refused_packet_too_large++;
        rec.reason ??= 'frame_too_large';
        logger.info(
          {
            listener: rec.meta.listener,
            peer: rec.peername,
            clientid: rec.clientid || undefined,
            cmd: this.packet.cmd,
            size,
            max_packet_size: max,
          },
          'connection closed: packet larger than max_packet_size',
        );
        const c = client as unknown as ClientV5Internals;
        // MQTT 5: tell the client why, DISCONNECT 0x95 packet too large [MQTT-3.2.2-15]; Aedes'
        // rejectPacketTooLarge also stops the read loop. 3.1.1 has no reason code: just close.
        if (c.version === 5 && c.connected) c.rejectPacketTooLarge(size);
        else this._emitError(new Error(`packet of ${size} bytes exceeds max_packet_size ${max}`));
        return false;
      };
      const timer = setTimeout(() => {
        metrics.refused_idle_timeout++;
        logger.info(
          { listener: rec.meta.listener, peer: rec.peername, idle_timeout: lim.idle_timeout },
          'connection closed: no CONNECT within idle_timeout',
        );
        client.conn.destroy();
      }, lim.idle_timeout);
      timer.unref();
      idleTimers.set(rec, timer);
      client.conn.once('close', () => clearTimeout(timer));
    },
    connected(rec) {
      const t = idleTimers.get(rec);
      if (t) clearTimeout(t);
    },
  };
}
