/**
 * Hand-written protobuf codec for the hot path: `BatchHStreamRecords` (hstream-protocol.md §3.4,
 * §4), the plaintext inside `BatchedRecord.payload`. Equivalent to the messages in
 * proto/hstream.proto (checked against protobufjs in record-codec.test.ts) but without
 * reflection: one pass to size, one pass to write into a single Buffer.
 *
 *   BatchHStreamRecords { repeated HStreamRecord records = 1; }
 *   HStreamRecord       { HStreamRecordHeader header = 1; bytes payload = 2; }
 *   HStreamRecordHeader { Flag flag = 1; map<string,string> attributes = 2; string key = 3; }
 *
 * Flag: JSON = 0 is the proto3 default and therefore not written; RAW = 1 is what EMQX writes
 * (hstream-sink.md §3.2). Attributes (map entries `{string key = 1; string value = 2}`, field
 * 2 of the header) are written when a record has any (the sink's `record_attributes`, issue #13).
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import * as zlib from 'node:zlib';
import { HStreamErrors } from './errors.js';

export const FLAG_JSON = 0;
export const FLAG_RAW = 1;

export interface HRecord {
  /** Partition key ("" = the default key every official client uses). */
  key: string;
  /** Bytes, or text written as UTF-8 (saves a copy on the hot path). */
  payload: Buffer | string;
  /** 1 = RAW (default), 0 = JSON (payload must then be a protobuf-encoded Struct). */
  flag?: number;
  attributes?: Record<string, string>;
}

export type Compression = 'none' | 'gzip' | 'zstd';
/** Wire enum names of `CompressionType` (§3.4). */
export const COMPRESSION_ENUM = { none: 'None', gzip: 'Gzip', zstd: 'Zstd' } as const;

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

function writeVarint(buf: Buffer, pos: number, n: number): number {
  while (n >= 0x80) {
    buf[pos++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[pos++] = n;
  return pos;
}

/** Encoded size of one attributes map entry body: key = 1 and value = 2, both always written. */
function entrySize(kb: number, vb: number): number {
  return 1 + varintSize(kb) + kb + 1 + varintSize(vb) + vb;
}

/** Bytes the `attributes` field adds to a header (0 without attributes). */
function attributesSize(attrs: Record<string, string> | undefined): number {
  if (attrs === undefined) return 0;
  let n = 0;
  for (const k in attrs) {
    if (!Object.prototype.hasOwnProperty.call(attrs, k)) continue;
    const e = entrySize(Buffer.byteLength(k), Buffer.byteLength(attrs[k]!));
    n += 1 + varintSize(e) + e;
  }
  return n;
}

function headerSize(keyBytes: number, flag: number, attrBytes: number): number {
  return (flag ? 2 : 0) + attrBytes + (keyBytes ? 1 + varintSize(keyBytes) + keyBytes : 0);
}

/** Encoded size of one HStreamRecord message body (without its outer tag/length). */
function recordBodySize(
  keyBytes: number,
  payloadBytes: number,
  flag: number,
  attrBytes = 0,
): number {
  const header = headerSize(keyBytes, flag, attrBytes);
  return (
    1 +
    varintSize(header) +
    header +
    (payloadBytes ? 1 + varintSize(payloadBytes) + payloadBytes : 0)
  );
}

/** Bytes one record adds to an encoded BatchHStreamRecords (for batch splitting). */
export function encodedRecordSize(record: HRecord): number {
  const body = recordBodySize(
    Buffer.byteLength(record.key),
    payloadLength(record.payload),
    record.flag ?? FLAG_RAW,
    attributesSize(record.attributes),
  );
  return 1 + varintSize(body) + body;
}

function payloadLength(p: Buffer | string): number {
  return typeof p === 'string' ? Buffer.byteLength(p, 'utf8') : p.length;
}

/** Serialize `BatchHStreamRecords{records}`. */
export function encodeBatch(records: readonly HRecord[]): Buffer {
  const keyLens = new Array<number>(records.length);
  const payLens = new Array<number>(records.length);
  const bodies = new Array<number>(records.length);
  const attrLens = new Array<number>(records.length);
  let total = 0;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    const kl = r.key.length === 0 ? 0 : Buffer.byteLength(r.key);
    const pl = payloadLength(r.payload);
    const al = attributesSize(r.attributes);
    const body = recordBodySize(kl, pl, r.flag ?? FLAG_RAW, al);
    attrLens[i] = al;
    keyLens[i] = kl;
    payLens[i] = pl;
    bodies[i] = body;
    total += 1 + varintSize(body) + body;
  }
  const buf = Buffer.allocUnsafe(total);
  let pos = 0;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    const flag = r.flag ?? FLAG_RAW;
    const kl = keyLens[i]!;
    buf[pos++] = 0x0a; // records = 1, length-delimited
    pos = writeVarint(buf, pos, bodies[i]!);
    const header = headerSize(kl, flag, attrLens[i]!);
    buf[pos++] = 0x0a; // header = 1
    pos = writeVarint(buf, pos, header);
    if (flag) {
      buf[pos++] = 0x08; // flag = 1, varint
      buf[pos++] = flag;
    }
    if (attrLens[i]! > 0) {
      const attrs = r.attributes!;
      for (const k in attrs) {
        if (!Object.prototype.hasOwnProperty.call(attrs, k)) continue;
        const v = attrs[k]!;
        const kb = Buffer.byteLength(k);
        const vb = Buffer.byteLength(v);
        buf[pos++] = 0x12; // attributes = 2, one map entry
        pos = writeVarint(buf, pos, entrySize(kb, vb));
        buf[pos++] = 0x0a; // entry key = 1
        pos = writeVarint(buf, pos, kb);
        pos += buf.write(k, pos, 'utf8');
        buf[pos++] = 0x12; // entry value = 2
        pos = writeVarint(buf, pos, vb);
        pos += buf.write(v, pos, 'utf8');
      }
    }
    if (kl) {
      buf[pos++] = 0x1a; // key = 3
      pos = writeVarint(buf, pos, kl);
      pos += buf.write(r.key, pos, 'utf8');
    }
    const pl = payLens[i]!;
    if (pl) {
      buf[pos++] = 0x12; // payload = 2
      pos = writeVarint(buf, pos, pl);
      pos +=
        typeof r.payload === 'string'
          ? buf.write(r.payload, pos, 'utf8')
          : r.payload.copy(buf, pos);
    }
  }
  return buf;
}

/** Raised by `decodeBatch` on malformed input (programmer-facing, used by the test server). */
export class ProtobufDecodeError extends Error {}

/** A read position in a protobuf buffer (shared with struct-codec.ts). */
export interface Cursor {
  buf: Buffer;
  pos: number;
}

export function readVarint(c: Cursor): number {
  let result = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (c.pos >= c.buf.length) throw new ProtobufDecodeError('truncated varint');
    const b = c.buf[c.pos++]!;
    result += (b & 0x7f) * mul;
    if (b < 0x80) return result;
    mul *= 128;
  }
  throw new ProtobufDecodeError('varint too long');
}

export function readBytes(c: Cursor): Buffer {
  const len = readVarint(c);
  if (c.pos + len > c.buf.length) throw new ProtobufDecodeError('truncated length-delimited field');
  const out = c.buf.subarray(c.pos, c.pos + len);
  c.pos += len;
  return out;
}

export function skip(c: Cursor, wire: number): void {
  if (wire === 0) readVarint(c);
  else if (wire === 2) readBytes(c);
  else if (wire === 1) c.pos += 8;
  else if (wire === 5) c.pos += 4;
  else throw new ProtobufDecodeError(`unsupported wire type ${wire}`);
  if (c.pos > c.buf.length) throw new ProtobufDecodeError('truncated field');
}

function decodeMapEntry(buf: Buffer): [string, string] {
  const c: Cursor = { buf, pos: 0 };
  let k = '';
  let v = '';
  while (c.pos < buf.length) {
    const tag = readVarint(c);
    if (tag === 0x0a) k = readBytes(c).toString('utf8');
    else if (tag === 0x12) v = readBytes(c).toString('utf8');
    else skip(c, tag & 7);
  }
  return [k, v];
}

/** Decoded record; `hasHeader` is false when the header field was absent on the wire. */
export interface DecodedRecord extends Required<HRecord> {
  payload: Buffer;
  hasHeader: boolean;
}

function decodeRecord(buf: Buffer): DecodedRecord {
  const c: Cursor = { buf, pos: 0 };
  const rec: DecodedRecord = {
    key: '',
    payload: Buffer.alloc(0),
    flag: 0,
    attributes: {},
    hasHeader: false,
  };
  while (c.pos < buf.length) {
    const tag = readVarint(c);
    if (tag === 0x0a) {
      rec.hasHeader = true;
      const h: Cursor = { buf: readBytes(c), pos: 0 };
      while (h.pos < h.buf.length) {
        const ht = readVarint(h);
        if (ht === 0x08) rec.flag = readVarint(h);
        else if (ht === 0x12) {
          const [k, v] = decodeMapEntry(readBytes(h));
          rec.attributes[k] = v;
        } else if (ht === 0x1a) rec.key = readBytes(h).toString('utf8');
        else skip(h, ht & 7);
      }
    } else if (tag === 0x12) rec.payload = readBytes(c);
    else skip(c, tag & 7);
  }
  return rec;
}

/** Parse `BatchHStreamRecords`; throws ProtobufDecodeError on malformed bytes. */
export function decodeBatch(buf: Buffer): DecodedRecord[] {
  const c: Cursor = { buf, pos: 0 };
  const out: DecodedRecord[] = [];
  while (c.pos < buf.length) {
    const tag = readVarint(c);
    if (tag === 0x0a) out.push(decodeRecord(readBytes(c)));
    else skip(c, tag & 7);
  }
  return out;
}

type ZstdZlib = {
  zstdCompressSync?: (b: Buffer) => Buffer;
  zstdDecompressSync?: (b: Buffer) => Buffer;
};

/** True when this Node.js has zlib zstd (≥ 22.15 / 23.8). */
export function zstdAvailable(): boolean {
  return typeof (zlib as ZstdZlib).zstdCompressSync === 'function';
}

/**
 * Compress an encoded batch exactly as the server's decoders accept it (hstream-protocol.md §5):
 * gzip = one complete RFC 1952 member (`gzipSync`); zstd = one frame whose header carries the
 * content size (Node's one-shot `zstdCompressSync` compresses with ZSTD_e_end on the whole
 * input, which writes the size — asserted by `zstdFrameHasContentSize` in the tests).
 */
export function compress(payload: Buffer, compression: Compression): Buffer {
  switch (compression) {
    case 'none':
      return payload;
    case 'gzip':
      return gzipSync(payload, { level: 1 });
    case 'zstd': {
      const fn = (zlib as ZstdZlib).zstdCompressSync;
      if (!fn)
        throw HStreamErrors.hstream_zstd_unavailable(
          `zstd needs Node.js >= 22.15, running ${process.version}`,
        );
      return fn(payload);
    }
  }
}

export function decompress(payload: Buffer, compression: Compression): Buffer {
  switch (compression) {
    case 'none':
      return payload;
    case 'gzip':
      return gunzipSync(payload);
    case 'zstd': {
      const fn = (zlib as ZstdZlib).zstdDecompressSync;
      if (!fn)
        throw HStreamErrors.hstream_zstd_unavailable(
          `zstd needs Node.js >= 22.15, running ${process.version}`,
        );
      return fn(payload);
    }
  }
}

/**
 * True when `frame` starts with a zstd frame header that declares the decompressed size
 * (RFC 8878 §3.1.1.1.1: Frame_Content_Size_Flag > 0, or Single_Segment_Flag set, which implies
 * a 1-byte size field). The server's decoder treats a size-less frame as empty (§5).
 */
export function zstdFrameHasContentSize(frame: Buffer): boolean {
  if (frame.length < 5 || frame.readUInt32LE(0) !== 0xfd2fb528) return false;
  const fhd = frame[4]!;
  return fhd >> 6 > 0 || ((fhd >> 5) & 1) === 1;
}

/** True when `buf` is a complete gzip member: magic, and the ISIZE trailer matches. */
export function isCompleteGzipMember(buf: Buffer): boolean {
  if (buf.length < 18 || buf[0] !== 0x1f || buf[1] !== 0x8b) return false;
  try {
    const out = gunzipSync(buf, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    return buf.readUInt32LE(buf.length - 4) === out.length >>> 0;
  } catch {
    return false;
  }
}

/** Encoded size of `BatchedRecord{compressionType, batchSize, payload}` without publishTime. */
export function batchedRecordSize(
  compression: Compression,
  batchSize: number,
  payloadLen: number,
): number {
  return (
    (compression === 'none' ? 0 : 2) +
    (batchSize ? 1 + varintSize(batchSize) : 0) +
    (payloadLen ? 1 + varintSize(payloadLen) + payloadLen : 0)
  );
}

function readVarint64(c: Cursor): bigint {
  let result = 0n;
  let shift = 0n;
  for (let i = 0; i < 10; i++) {
    if (c.pos >= c.buf.length) throw new ProtobufDecodeError('truncated varint');
    const b = c.buf[c.pos++]!;
    result |= BigInt(b & 0x7f) << shift;
    if (b < 0x80) return result;
    shift += 7n;
  }
  throw new ProtobufDecodeError('varint too long');
}

/** What the sink needs from an AppendResponse (§3.4), without one object per record id. */
export interface AppendAck {
  streamName: string;
  /** uint64 as decimal text. */
  shardId: string;
  /** Number of RecordIds (must equal the batch size). */
  recordCount: number;
  /** batchId (LSN) of the first record id, decimal text ('' if none). */
  batchId: string;
}

/**
 * Decode `AppendResponse{streamName = 1, shardId = 2, repeated RecordId recordIds = 3}` by hand:
 * a batch of 1,000 records otherwise costs 1,000 RecordId objects with two uint64 → string
 * conversions each on every acknowledgement (seen in the benchmark profile).
 */
export function decodeAppendAck(buf: Buffer): AppendAck {
  const c: Cursor = { buf, pos: 0 };
  const ack: AppendAck = { streamName: '', shardId: '0', recordCount: 0, batchId: '' };
  while (c.pos < buf.length) {
    const tag = readVarint(c);
    if (tag === 0x0a) ack.streamName = readBytes(c).toString('utf8');
    else if (tag === 0x10) ack.shardId = readVarint64(c).toString();
    else if (tag === 0x1a) {
      const id = readBytes(c);
      if (ack.recordCount++ === 0) {
        const r: Cursor = { buf: id, pos: 0 };
        ack.batchId = '0';
        while (r.pos < id.length) {
          const t = readVarint(r);
          if (t === 0x10) ack.batchId = readVarint64(r).toString();
          else skip(r, t & 7);
        }
      }
    } else skip(c, tag & 7);
  }
  return ack;
}
