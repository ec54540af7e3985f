/**
 * Our own parse of the hot inbound packets (issues #10, #13 item 5; decision 0015): PUBLISH at
 * QoS 0 / 1 / 2 (MQTT 3.1.1 and 5, with properties) and PUBACK / PUBREC / PUBREL / PUBCOMP,
 * read straight from the socket chunk. Everything else, and every packet we are not sure
 * about, goes to mqtt-packet's parser as before.
 *
 * The parser Aedes gets (lib/client.js, through our patch's `parserFactory`) IS an mqtt-packet
 * Parser: same object, same state, same events. Only its `parse(buf)` is replaced:
 *
 *   - at a packet boundary (nothing buffered, no error), each packet that lies wholly in `buf`
 *     and is *fast-eligible* is decoded here and emitted as 'packet';
 *   - at the first packet that is not (another type, incomplete, anything doubtful), the rest
 *     of the chunk goes to mqtt-packet's own `parse` in one call, exactly as it would have
 *     without us;
 *   - when mqtt-packet holds the first part of a packet from the last read (the payload state)
 *     and `buf` completes it, the packet's bytes are joined (a copy of at most one packet) and
 *     decoded here if eligible; otherwise the whole `buf` goes to mqtt-packet.
 *
 * Fast-eligible means: mqtt-packet would produce this very packet object (same fields in the
 * same order, same prototype, equal Buffers) no matter which bytes follow it, and none of our
 * parser guards would act on it. So the set is deliberately narrow: every field lies inside
 * the packet and inside its property block; every string decodes without U+FFFD or U+0000
 * (protocol-check.ts looks at those, so they go to mqtt-packet); packet id ≠ 0 (protocol-check
 * refuses it on PUBLISH); the packet fits the listener's max_packet_size (limits.ts refuses it
 * on the fixed header: `limitFastPath`); reason codes are valid; the property ids are known.
 * `fast-parser.property.test.ts` feeds random and mutated packets, split at random chunk
 * boundaries, to this parser and to a plain mqtt-packet parser and requires the same packets
 * and errors.
 *
 * Guards on the parser (limits.ts, protocol-check.ts) wrap instance methods of mqtt-packet's
 * parser that the fast path does not call. That is sound only for the methods listed in
 * `FAST_PATH_HONOURS` (the fast path declines exactly what their wrappers would act on);
 * `fast-parser.test.ts` fails if a guard wraps any other method.
 */
import { createRequire } from 'node:module';
import { parser as mqttParser } from 'mqtt-packet';

const require = createRequire(import.meta.url);
const constants = require('mqtt-packet/constants.js') as {
  propertiesCodes: Record<number, string>;
  propertiesTypes: Record<string, string>;
  MQTT5_PUBACK_PUBREC_CODES: Record<number, string>;
  MQTT5_PUBREL_PUBCOMP_CODES: Record<number, string>;
};

/** mqtt-packet Parser internals the fast path reads and resets (README invariant 7). */
export interface ParserInternals {
  packet: Record<string, unknown> & { length: number; cmd: string | null };
  error: Error | null;
  settings: { protocolVersion?: number };
  _list: {
    length: number;
    slice(start?: number, end?: number): Buffer;
    consume(n: number): void;
    append(buf: Buffer): void;
  };
  _stateCounter: number;
  _pos: number;
  parse(buf: Buffer): number;
  emit(event: 'packet', packet: object): boolean;
  /** Set by `limitFastPath`: packets larger than this (whole wire size) take mqtt-packet's path. */
  _fastLimit?: number;
}

/**
 * Parser methods that guards may wrap although the fast path does not call them: for each the
 * fast path declines every packet the wrapper would act on (see the file comment).
 */
export const FAST_PATH_HONOURS: readonly string[] = [
  'parse', // protocol-check's packet_timeout wraps the fast parse itself
  '_parseLength', // limits.ts max_packet_size: limitFastPath
  '_parseString', // protocol-check UTF-8 / U+0000: strings with U+FFFD or U+0000 decline
  '_parseMessageId', // protocol-check packet id 0: declined
  '_parseConnect', // never fast
  '_parseUnsubscribe', // never fast
  '_parseDisconnect', // never fast (protocol-check: MQTT 5 Session Expiry 0 → > 0)
];

type PacketCtor = new () => ParserInternals['packet'];

const PUBACK_PUBREC = constants.MQTT5_PUBACK_PUBREC_CODES;
const PUBREL_PUBCOMP = constants.MQTT5_PUBREL_PUBCOMP_CODES;
const CONFIRMATION: Record<number, string> = {
  4: 'puback',
  5: 'pubrec',
  6: 'pubrel',
  7: 'pubcomp',
};
/** Property id → [name, type] as mqtt-packet's tables have it. */
const PROPERTY: (readonly [string, string] | undefined)[] = [];
for (const [id, name] of Object.entries(constants.propertiesCodes)) {
  const type = constants.propertiesTypes[name];
  if (type !== undefined) PROPERTY[Number(id)] = [name, type];
}

/** Bytes of the Remaining Length field for a value (as limits.ts counts a packet's size). */
function varIntBytes(n: number): number {
  return n < 128 ? 1 : n < 16_384 ? 2 : n < 2_097_152 ? 3 : 4;
}

/** The wire size limits.ts compares with max_packet_size. */
export function wireSize(remainingLength: number): number {
  return 1 + varIntBytes(remainingLength) + remainingLength;
}

const utf8Slice = (buf: Buffer, start: number, end: number): string =>
  (buf as unknown as { utf8Slice(s: number, e: number): string }).utf8Slice(start, end);

/** A string field's text, or undefined when protocol-check would look at it (U+FFFD, U+0000). */
function cleanString(buf: Buffer, start: number, end: number): string | undefined {
  const s = utf8Slice(buf, start, end);
  return s.indexOf('\uFFFD') < 0 && s.indexOf('\u0000') < 0 ? s : undefined;
}

/** mqtt-packet sets `properties` only when the block held any. */
function hasKeys(o: object): boolean {
  for (const k in o) if (Object.hasOwn(o, k)) return true;
  return false;
}

/** Scratch for readProperties: where the block ended (or -1: not eligible). */
let propsEnd = -1;

/**
 * The MQTT 5 property block at `p` (length varint first), every value inside the block and the
 * block inside `[p, end)`; mqtt-packet's result object (plain object, `userProperties` without
 * prototype, repeated properties as arrays with mqtt-packet's truthiness quirks). Returns
 * undefined (propsEnd = -1) when not eligible.
 */
function readProperties(buf: Buffer, p: number, end: number): Record<string, unknown> | undefined {
  propsEnd = -1;
  // Block length: a variable byte integer of at most 4 bytes, terminated inside the packet.
  let len = 0;
  let mul = 1;
  let i = 0;
  for (;;) {
    if (i === 4 || p + i >= end) return undefined;
    const b = buf[p + i++] as number;
    len += mul * (b & 0x7f);
    mul *= 0x80;
    if ((b & 0x80) === 0) break;
  }
  let q = p + i;
  const stop = q + len;
  if (stop > end) return undefined;
  const result: Record<string, unknown> = {};
  while (q < stop) {
    const def = PROPERTY[buf[q++] as number];
    if (def === undefined) return undefined; // id 0 or unknown: mqtt-packet's error
    const [name, type] = def;
    let value: unknown;
    switch (type) {
      case 'byte':
      case 'int8':
        if (q + 1 > stop) return undefined;
        value = type === 'byte' ? buf[q] !== 0 : buf[q];
        q += 1;
        break;
      case 'int16':
        if (q + 2 > stop) return undefined;
        value = ((buf[q] as number) << 8) | (buf[q + 1] as number);
        q += 2;
        break;
      case 'int32':
        if (q + 4 > stop) return undefined;
        value = buf.readUInt32BE(q);
        q += 4;
        break;
      case 'var': {
        let v = 0;
        let m = 1;
        let k = 0;
        for (;;) {
          if (k === 4 || q + k >= stop) return undefined;
          const b = buf[q + k++] as number;
          v += m * (b & 0x7f);
          m *= 0x80;
          if ((b & 0x80) === 0) break;
        }
        q += k;
        value = v;
        break;
      }
      case 'string':
      case 'binary': {
        if (q + 2 > stop) return undefined;
        const n = ((buf[q] as number) << 8) | (buf[q + 1] as number);
        const s = q + 2;
        if (s + n > stop) return undefined;
        if (type === 'binary') value = buf.subarray(s, s + n);
        else if ((value = cleanString(buf, s, s + n)) === undefined) return undefined;
        q = s + n;
        break;
      }
      case 'pair': {
        if (q + 2 > stop) return undefined;
        const n1 = ((buf[q] as number) << 8) | (buf[q + 1] as number);
        const s1 = q + 2;
        if (s1 + n1 + 2 > stop) return undefined;
        const k = cleanString(buf, s1, s1 + n1);
        const n2 = ((buf[s1 + n1] as number) << 8) | (buf[s1 + n1 + 1] as number);
        const s2 = s1 + n1 + 2;
        if (k === undefined || s2 + n2 > stop) return undefined;
        const v = cleanString(buf, s2, s2 + n2);
        if (v === undefined) return undefined;
        q = s2 + n2;
        // mqtt-packet: only userProperties is a pair; repeated names collect into arrays.
        const map = (result[name] ??= Object.create(null)) as Record<string, unknown>;
        const had = map[k];
        if (had) {
          if (Array.isArray(had)) had.push(v);
          else map[k] = [had, v];
        } else map[k] = v;
        continue;
      }
      default:
        return undefined;
    }
    // Repeated properties become arrays (mqtt-packet tests the old value for truthiness).
    const had = result[name];
    if (had) {
      if (Array.isArray(had)) had.push(value);
      else result[name] = [had, value];
    } else result[name] = value;
  }
  propsEnd = stop;
  return result;
}

/**
 * The packet mqtt-packet would emit for the fixed-header byte `h` and the body `[s, e)` of
 * `buf`, or undefined when the packet is not fast-eligible.
 */
export function parseHotPacket(
  Packet: PacketCtor,
  h: number,
  buf: Buffer,
  s: number,
  e: number,
  v5: boolean,
): object | undefined {
  const type = h >> 4;
  if (type === 3) {
    const qos = (h >> 1) & 3;
    if (qos === 3 || s + 2 > e) return undefined;
    const tlen = ((buf[s] as number) << 8) | (buf[s + 1] as number);
    let p = s + 2 + tlen;
    if (p > e) return undefined;
    const topic = cleanString(buf, s + 2, p);
    if (topic === undefined) return undefined;
    const packet = new Packet();
    packet['cmd'] = 'publish';
    packet['retain'] = (h & 1) !== 0;
    packet['qos'] = qos;
    packet['dup'] = (h & 8) !== 0;
    packet.length = e - s;
    packet['topic'] = topic;
    if (qos > 0) {
      if (p + 2 > e) return undefined;
      const id = ((buf[p] as number) << 8) | (buf[p + 1] as number);
      if (id === 0) return undefined;
      packet['messageId'] = id;
      p += 2;
    }
    if (v5) {
      const props = readProperties(buf, p, e);
      if (props === undefined) return undefined;
      if (hasKeys(props)) packet['properties'] = props;
      p = propsEnd;
    }
    packet['payload'] = buf.subarray(p, e);
    return packet;
  }
  const cmd = CONFIRMATION[type];
  if (cmd === undefined || (h & 0x0f) !== (type === 6 ? 2 : 0)) return undefined;
  const n = e - s;
  if (n < 2 || (!v5 && n !== 2)) return undefined;
  const id = ((buf[s] as number) << 8) | (buf[s + 1] as number);
  if (id === 0) return undefined;
  const packet = new Packet();
  packet['cmd'] = cmd;
  packet['retain'] = false;
  packet['qos'] = (h >> 1) & 3;
  packet['dup'] = false;
  packet.length = n;
  packet['messageId'] = id;
  if (!v5) return packet;
  if (n === 2) {
    packet['reasonCode'] = 0;
    return packet;
  }
  const rc = buf[s + 2] as number;
  if ((type === 4 || type === 5 ? PUBACK_PUBREC[rc] : PUBREL_PUBCOMP[rc]) === undefined)
    return undefined;
  packet['reasonCode'] = rc;
  if (n === 3) return packet;
  const props = readProperties(buf, s + 3, e);
  if (props === undefined || propsEnd !== e) return undefined;
  if (hasKeys(props)) packet['properties'] = props;
  return packet;
}

/** Packets larger than `maxPacketSize` (whole wire size) are left to mqtt-packet's guards. */
export function limitFastPath(parser: object, maxPacketSize: number): void {
  (parser as ParserInternals)._fastLimit = maxPacketSize;
}

/** An mqtt-packet parser whose `parse` takes the fast path for hot packets. */
export function createFastParser(): ParserInternals {
  const parser = mqttParser() as unknown as ParserInternals;
  const slowParse = parser.parse;
  const Packet = parser.packet.constructor as PacketCtor;

  parser.parse = function fastParse(this: ParserInternals, buf: Buffer): number {
    // After an error mqtt-packet keeps a stale `_pos`, which its next Remaining Length read
    // uses as an offset (a quirk we must not "fix" silently): leave all of that to it.
    if (this.error !== null || this._pos || !Buffer.isBuffer(buf)) return slowParse.call(this, buf);
    const limit = this._fastLimit ?? Infinity;
    const v5 = this.settings.protocolVersion === 5;
    const n = buf.length;
    let i = 0;
    if (this._stateCounter !== 0 || this._list.length !== 0) {
      // mqtt-packet holds the start of a packet from the last read; if `buf` completes it and
      // it is eligible, decode it here, else all of `buf` goes to mqtt-packet.
      i = completePending(this, buf, Packet, v5, limit);
      if (i < 0) return slowParse.call(this, buf);
      if (this.error !== null) return rest(this, buf, i);
    }
    while (i < n) {
      const h = buf[i] as number;
      // Remaining Length: at most 4 bytes; an incomplete or invalid one goes to mqtt-packet.
      let len = 0;
      let mul = 1;
      let j = i + 1;
      for (;;) {
        if (j >= n || j - i > 4) return slowParse.call(this, i === 0 ? buf : buf.subarray(i));
        const b = buf[j++] as number;
        len += mul * (b & 0x7f);
        mul *= 0x80;
        if ((b & 0x80) === 0) break;
      }
      const end = j + len;
      if (end > n || wireSize(len) > limit)
        return slowParse.call(this, i === 0 ? buf : buf.subarray(i));
      const packet = parseHotPacket(Packet, h, buf, j, end, v5);
      if (packet === undefined) return slowParse.call(this, i === 0 ? buf : buf.subarray(i));
      this.emit('packet', packet);
      i = end;
      // A listener stopped the parser: keep the rest as mqtt-packet's loop would have.
      if (this.error !== null) return rest(this, buf, i);
    }
    return this._list.length;
  };
  return parser;
}

/**
 * Finish the packet mqtt-packet has begun (its fixed-header byte read, state 1, or also its
 * Remaining Length, state 2) with the start of `buf`: when `buf` holds the rest and the packet
 * is eligible, emit it, reset mqtt-packet to a packet boundary and return the offset in `buf`
 * after it; otherwise -1 (nothing changed).
 */
function completePending(
  self: ParserInternals,
  buf: Buffer,
  Packet: PacketCtor,
  v5: boolean,
  limit: number,
): number {
  const pending = self.packet;
  const h = pendingHeader(pending);
  if (h < 0) return -1;
  const have = self._list.length;
  let packet: object | undefined;
  let used: number;
  if (self._stateCounter === 2) {
    // Header and length read (limits.ts has passed the size); `have` body bytes buffered.
    used = pending.length - have;
    if (used < 0 || used > buf.length) return -1;
    const body = Buffer.concat([self._list.slice(0, have), buf.subarray(0, used)]);
    packet = parseHotPacket(Packet, h, body, 0, body.length, v5);
  } else if (self._stateCounter === 1 && pending.length === -1 && have < 4) {
    // Only part of the Remaining Length arrived (`have` bytes, each with the continuation bit).
    const head = self._list.slice(0, have);
    let len = 0;
    let mul = 1;
    let k = 0;
    let j = 0;
    for (;;) {
      if (k === 4) return -1;
      let b: number;
      if (k < have) b = head[k] as number;
      else if (j < buf.length) b = buf[j++] as number;
      else return -1;
      k++;
      len += mul * (b & 0x7f);
      mul *= 0x80;
      if ((b & 0x80) === 0) break;
    }
    if (k <= have) return -1; // a complete length mqtt-packet has not read: not our state
    used = j + len;
    if (used > buf.length || wireSize(len) > limit) return -1;
    packet = parseHotPacket(Packet, h, buf, j, used, v5);
  } else return -1;
  if (packet === undefined) return -1;
  self._list.consume(have);
  self._stateCounter = 0;
  self._pos = 0;
  self.packet = new Packet();
  self.emit('packet', packet);
  return used;
}

/** The fixed-header byte of mqtt-packet's pending packet, when it is one we decode; else -1. */
function pendingHeader(p: ParserInternals['packet']): number {
  const qos = p['qos'] as number;
  switch (p.cmd) {
    case 'publish':
      return 0x30 | (p['dup'] ? 8 : 0) | (qos << 1) | (p['retain'] ? 1 : 0);
    case 'puback':
      return 0x40;
    case 'pubrec':
      return 0x50;
    case 'pubrel':
      return 0x62;
    case 'pubcomp':
      return 0x70;
    default:
      return -1;
  }
}

/** After an error mid-chunk, mqtt-packet keeps the unparsed bytes in its list. */
function rest(self: ParserInternals, buf: Buffer, from: number): number {
  if (from < buf.length) self._list.append(buf.subarray(from));
  return self._list.length;
}

/** Aedes (our patch, lib/client.js) builds each client's parser with this. */
export function installFastParser(aedes: object): void {
  (aedes as { parserFactory?: () => unknown }).parserFactory = createFastParser;
}
