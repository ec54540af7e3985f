/**
 * Protocol strictness in front of Aedes (issue #19 item 4). Installed on each accepted
 * connection's mqtt-packet parser, next to limits.ts' packet-size guard, so a violating packet
 * never reaches Aedes (no PUBACK, no routing, no rule sees it):
 *
 *   malformed strings   every UTF-8 string field the parser reads (CONNECT protocol name,
 *                       client id, will topic, user name; PUBLISH topic; SUBSCRIBE and
 *                       UNSUBSCRIBE filters; MQTT 5 string properties) must be well-formed UTF-8
 *                       [MQTT-1.5.3-1] and must not contain U+0000 [MQTT-1.5.3-2]; otherwise the
 *                       connection is closed. mqtt-packet decodes with `toString('utf8')`, which
 *                       turns bad bytes into U+FFFD, so only a decoded string containing U+FFFD
 *                       has its raw bytes re-checked (`TextDecoder` fatal): a well-formed
 *                       string costs two `indexOf` scans.
 *   protocol name       not `MQTT` / `MQIsdp` → closed without CONNACK [MQTT-3.1.2-1]
 *                       (mqtt-packet refuses it; we count and log it).
 *   connect flags       will QoS 3, or (3.1 / 3.1.1) a password without a user name → closed
 *                       without CONNACK [MQTT-3.1.2-14] [MQTT-3.1.2-22] [MQTT-3.1.4-1].
 *   packet ids, filters a SUBSCRIBE / UNSUBSCRIBE / QoS 1-2 PUBLISH with packet id 0
 *                       [MQTT-2.3.1-1], an UNSUBSCRIBE without a filter [MQTT-3.10.3-2] → closed.
 *   DISCONNECT expiry   (MQTT 5) a DISCONNECT with a non-zero Session Expiry Interval after a
 *                       CONNECT whose interval was 0 (or absent) is a protocol error (§3.14.2.2.2):
 *                       closed as a protocol error, not a normal disconnection, so the will is
 *                       published and the session ends (Aedes ignored the value and took the
 *                       DISCONNECT as normal, discarding the will).
 *   protocol level      not 3, 4 or 5 → CONNACK 0x01 (unacceptable protocol level), then the
 *                       connection is closed [MQTT-3.1.2-2]. mqtt-packet would refuse the packet
 *                       with no answer at all; level 5 (MQTT 5.0) is served by Aedes 2
 *                       (decision 0010).
 *   packet_timeout      a packet whose first byte arrived more than `packet_timeout` ago and
 *                       that is still incomplete closes the connection, whatever the keepalive
 *                       (keepalive 0 disables only the keepalive timer). Time during which the
 *                       broker is not reading the socket (Aedes paused, a batch still being
 *                       handled, back-pressure) restarts the count: the wait is then ours.
 *
 * Cost per socket read: one wrapper call and a few property reads; a clock read only when a
 * read ends inside a packet that started in it. One timer per connection, armed only while a
 * packet is incomplete, never re-armed per read.
 *
 * The fast parser (fast-parser.ts, decision 0015) decodes hot packets without calling the
 * wrapped methods; it leaves every packet these checks would act on (U+FFFD / U+0000 in a
 * string, packet id 0) to mqtt-packet, so they still see it.
 *
 * Aedes / mqtt-packet internals used (README invariant 7): the parser's `parse`, `_parseString`,
 * `_parseConnect`, `_parseMessageId`, `_parseUnsubscribe`, `_parseDisconnect`, `_list` (a BufferList), `_pos`, `_stateCounter`, `packet`, `error`,
 * `_emitError`; the Aedes client's `_paused` and `_parsingBatch`.
 */
import type { Client } from 'aedes';
import type { Logger } from '../core/index.js';
import type { ClientRecord } from './client-records.js';
import type { BrokerMetrics } from './types.js';

/** The BufferList that mqtt-packet parses from. */
interface ParserList {
  readonly length: number;
  readUInt8(offset: number): number;
  readUInt16BE(offset: number): number;
  toString(enc: 'utf8', start: number, end: number): string;
  slice(start: number, end: number): Buffer;
}

interface ParserInternals {
  packet: object;
  error: Error | null;
  _list: ParserList;
  _pos: number;
  _stateCounter: number;
  parse(buf: Buffer): number;
  _parseString(maybeBuffer?: boolean): string | null;
  _parseConnect(): unknown;
  _parseMessageId(): boolean;
  _parseUnsubscribe(): unknown;
  _parseDisconnect(): unknown;
  _emitError(err: Error): void;
}

interface AedesClientInternals {
  _paused?: boolean;
  _parsingBatch?: number;
  closed?: boolean;
}

export type StringFault = 'malformed_utf8' | 'null_character';

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Why a string field is not acceptable, or undefined when it is. `decoded` is what
 * `Buffer.toString('utf8')` made of `raw()`; `raw` is called only when the decoded text holds
 * U+FFFD (a replaced byte or a U+FFFD the client really sent).
 */
export function stringFault(decoded: string, raw: () => Uint8Array): StringFault | undefined {
  if (decoded.indexOf('\u0000') >= 0) return 'null_character';
  if (decoded.indexOf('\uFFFD') < 0) return undefined;
  try {
    fatalUtf8.decode(raw());
    return undefined;
  } catch {
    return 'malformed_utf8';
  }
}

/**
 * What is wrong with a CONNECT's flags byte that mqtt-packet lets through, or undefined: will
 * QoS 3 [MQTT-3.1.2-14] (MQTT 5: a malformed packet), and in 3.1 / 3.1.1 a password without a
 * user name [MQTT-3.1.2-22] (MQTT 5 allows that). Either way the CONNECT does not conform to
 * §3.1 and is closed without CONNACK [MQTT-3.1.4-1]. (Reserved bit, and will QoS / retain with
 * will flag 0 [MQTT-3.1.2-3] [MQTT-3.1.2-13] [MQTT-3.1.2-15], mqtt-packet refuses itself.)
 */
export function connectFlagsFault(level: number, flags: number): string | undefined {
  if ((flags & 0x18) === 0x18) return 'will_qos_3';
  if (level !== 5 && (flags & 0x40) !== 0 && (flags & 0x80) === 0)
    return 'password_without_username';
  return undefined;
}

/** The CONNECT property column holding the Session Expiry Interval (columns.ts). */
const SEI = 'Session-Expiry-Interval';

/** CONNACK, MQTT 3.1.1 form, return code 0x01 "unacceptable protocol level" (§3.2.2.3). */
const CONNACK_UNACCEPTABLE_LEVEL = Buffer.from([0x20, 0x02, 0x00, 0x01]);
/** How long a refused client gets to read its CONNACK before the socket is destroyed anyway. */
const CONNACK_LINGER_MS = 2000;

export interface ProtocolCheck {
  /** Install the string, CONNECT and packet-timeout checks on a client Aedes just made. */
  guard(client: Client, rec: ClientRecord): void;
}

export function createProtocolCheck(
  metrics: BrokerMetrics,
  logger: Logger,
  clock: () => number = () => performance.now(),
): ProtocolCheck {
  const where = (rec: ClientRecord) => ({
    listener: rec.meta.listener,
    peer: rec.peername,
    clientid: rec.clientid || undefined,
  });

  return {
    guard(client, rec) {
      const parser = (client as unknown as { _parser: ParserInternals })._parser;
      const conn = client.conn;

      // [MQTT-1.5.3-1] [MQTT-1.5.3-2] on every string field, before the packet is emitted.
      const parseString = parser._parseString;
      parser._parseString = function checkedParseString(
        this: ParserInternals,
        maybeBuffer?: boolean,
      ): string | null {
        const start = this._pos + 2;
        const s = parseString.call(this, maybeBuffer);
        // Fast path: no U+0000 and no replacement character, nothing to look at.
        if (s === null || this.error || (s.indexOf('\u0000') < 0 && s.indexOf('\uFFFD') < 0))
          return s;
        const end = this._pos;
        const fault = stringFault(s, () => this._list.slice(start, end));
        if (fault === undefined) return s;
        if (fault === 'null_character') metrics.protocol_null_character++;
        else metrics.protocol_malformed_utf8++;
        const cmd = (this.packet as { cmd?: string }).cmd;
        logger.info(
          { ...where(rec), code: 'broker_malformed_string', fault, cmd },
          fault === 'null_character'
            ? 'connection closed: string field contains U+0000 [MQTT-1.5.3-2]'
            : 'connection closed: string field is not well-formed UTF-8 [MQTT-1.5.3-1]',
        );
        // The error stops the parse loop before `packet` is emitted; Aedes closes the connection.
        this._emitError(new Error(`malformed UTF-8 string in ${cmd ?? 'packet'} (${fault})`));
        return s;
      };

      // [MQTT-3.1.2-1] / [MQTT-3.1.2-2]: look at the protocol name and level before mqtt-packet.
      const parseConnect = parser._parseConnect;
      parser._parseConnect = function checkedParseConnect(this: ParserInternals): unknown {
        const list = this._list;
        if (list.length < 2) return parseConnect.call(this);
        const n = list.readUInt16BE(0);
        if (list.length < 3 + n) return parseConnect.call(this);
        const name = list.toString('utf8', 2, 2 + n);
        if (name !== 'MQTT' && name !== 'MQIsdp') {
          metrics.protocol_unknown_name++;
          logger.info(
            {
              ...where(rec),
              code: 'broker_unsupported_protocol',
              protocol_name: name.slice(0, 32),
            },
            'connection closed: unknown protocol name [MQTT-3.1.2-1]',
          );
          return parseConnect.call(this); // mqtt-packet refuses it: closed without CONNACK
        }
        const level = list.readUInt8(2 + n) & 0x7f; // 0x80 is the bridge bit
        if (level === 3 || level === 4 || level === 5) {
          const fault =
            list.length < 4 + n ? undefined : connectFlagsFault(level, list.readUInt8(3 + n));
          if (fault === undefined) return parseConnect.call(this);
          logger.info(
            { ...where(rec), code: 'broker_malformed_packet', fault },
            `connection closed: malformed CONNECT flags (${fault}) [MQTT-3.1.4-1]`,
          );
          rec.reason ??= 'protocol_error';
          // The error stops the parse loop before `packet` is emitted; Aedes closes the connection.
          this._emitError(new Error(`malformed CONNECT: ${fault}`));
          return undefined;
        }
        metrics.protocol_unsupported_level++;
        logger.info(
          { ...where(rec), code: 'broker_unsupported_protocol', protocol_level: level },
          'connection refused: unsupported protocol level, CONNACK 0x01 [MQTT-3.1.2-2]',
        );
        // Stop parsing for good without telling Aedes (it would destroy the socket before the
        // CONNACK is out): the parse loop ends on `error`, later reads are dropped.
        this.error = new Error(`unsupported protocol level ${level}`);
        this.parse = () => 0;
        rec.reason ??= 'protocol_error';
        conn.end(CONNACK_UNACCEPTABLE_LEVEL);
        conn.once('finish', () => conn.destroy());
        const linger = setTimeout(() => conn.destroy(), CONNACK_LINGER_MS);
        linger.unref();
        conn.once('close', () => clearTimeout(linger));
        return undefined;
      };

      // Packets mqtt-packet parses but MQTT forbids; closed before Aedes answers them.
      const malformed = (self: ParserInternals, fault: string, clause: string) => {
        logger.info(
          { ...where(rec), code: 'broker_malformed_packet', fault },
          `connection closed: malformed packet (${fault}) ${clause}`,
        );
        rec.reason ??= 'protocol_error';
        self._emitError(new Error(`malformed packet: ${fault}`));
      };
      // [MQTT-2.3.1-1]: SUBSCRIBE, UNSUBSCRIBE and QoS 1/2 PUBLISH carry a non-zero packet id
      // (Aedes would answer SUBACK / PUBACK 0).
      const parseMessageId = parser._parseMessageId;
      parser._parseMessageId = function checkedParseMessageId(this: ParserInternals): boolean {
        if (!parseMessageId.call(this)) return false;
        const p = this.packet as { cmd?: string; messageId?: number };
        if (p.messageId !== 0) return true;
        if (p.cmd !== 'publish' && p.cmd !== 'subscribe' && p.cmd !== 'unsubscribe') return true;
        malformed(this, `${p.cmd}_packet_id_0`, '[MQTT-2.3.1-1]');
        return false;
      };
      // [MQTT-3.10.3-2]: an UNSUBSCRIBE names at least one filter (mqtt-packet accepts none).
      const parseUnsubscribe = parser._parseUnsubscribe;
      parser._parseUnsubscribe = function checkedParseUnsubscribe(this: ParserInternals): unknown {
        const r = parseUnsubscribe.call(this);
        const list = (this.packet as { unsubscriptions?: string[] }).unsubscriptions;
        if (!this.error && list?.length === 0)
          malformed(this, 'unsubscribe_without_filter', '[MQTT-3.10.3-2]');
        return r;
      };

      // MQTT 5 §3.14.2.2.2: a session that began with Session Expiry 0 cannot be made persistent
      // by its DISCONNECT. The error keeps the packet from Aedes: the close is a protocol error,
      // the will (if any) is published, the session ends with the connection.
      const parseDisconnect = parser._parseDisconnect;
      parser._parseDisconnect = function checkedParseDisconnect(this: ParserInternals): unknown {
        const r = parseDisconnect.call(this);
        if (this.error || rec.proto_ver !== 5) return r;
        const asked = (this.packet as { properties?: { sessionExpiryInterval?: number } })
          .properties?.sessionExpiryInterval;
        if (asked !== undefined && asked > 0 && !(Number(rec.conn_props[SEI]) > 0))
          malformed(this, 'disconnect_session_expiry', '(MQTT 5 §3.14.2.2.2)');
        return r;
      };

      // packet_timeout: bounded time from a packet's first byte to its last.
      const timeout = rec.limits?.packet_timeout ?? 0;
      if (timeout <= 0) return;
      const c = client as unknown as AedesClientInternals;
      const parse = parser.parse;
      let since = 0; // clock() when the incomplete packet began; 0 = none pending
      let timer: NodeJS.Timeout | undefined;
      const arm = (ms: number) => {
        timer = setTimeout(check, ms);
        timer.unref();
      };
      const check = () => {
        timer = undefined;
        if (since === 0 || c.closed || conn.destroyed) return;
        if (c._paused || (c._parsingBatch ?? 0) > 0 || rec.gate?.paused) {
          // The broker is not reading this socket: the rest of the packet may be waiting in it.
          since = clock();
          return arm(timeout);
        }
        const left = since + timeout - clock();
        if (left > 0) return arm(Math.ceil(left));
        metrics.refused_packet_timeout++;
        rec.reason ??= 'packet_timeout';
        logger.info(
          { ...where(rec), code: 'broker_packet_timeout', packet_timeout: timeout },
          'connection closed: packet not completed within packet_timeout',
        );
        conn.destroy();
      };
      parser.parse = function timedParse(this: ParserInternals, buf: Buffer): number {
        const before = this.packet;
        const r = parse.call(this, buf);
        if (this._stateCounter === 0 && this._list.length === 0) since = 0;
        else if (since === 0 || this.packet !== before) {
          // A packet is incomplete and it began in this read.
          since = clock();
          if (timer === undefined) arm(timeout);
        }
        return r;
      };
      conn.once('close', () => {
        since = 0;
        if (timer !== undefined) clearTimeout(timer);
      });
    },
  };
}
