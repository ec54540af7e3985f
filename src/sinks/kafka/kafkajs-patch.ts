/**
 * Replacements for four kafkajs 2.2.4 modules on the produce path, placed in Node's CommonJS
 * module cache under the original files' paths BEFORE kafkajs loads them (kafkajs is
 * unmaintained upstream, so no patch file is carried):
 *
 *  - `producer/groupMessagesPerPartition.js`: the original rebuilds a partition's array with a
 *    spread for every message (`{ [partition]: [...current, message] }`), quadratic in the records
 *    per partition per request: 1.1–1.9 µs per record at batch 1 000, 15–25 % of the producer's
 *    CPU in `npm run bench:kafka` (bench/results/kafka.md). Loaded with kafkajs itself.
 *  - `protocol/recordBatch/record/v0/index.js` (one record of a v2 record batch): the original
 *    allocates a zero-filled 512-byte Encoder per record and computes every varint through Long;
 *    ours writes the exact bytes into one pooled buffer of the exact size. Records with headers
 *    or a timestamp delta outside ±2^31 ms go to the original. Loaded lazily (first produce).
 *  - `protocol/recordBatch/crc32C/crc32C.js`: byte-at-a-time table → slicing-by-8 (one CRC over
 *    every produced batch). Loaded lazily (first produce or fetch).
 *  - `protocol/requests/produce/v3/request.js` (v4–v7 wrap it): the original builds a record
 *    batch from one spread copy of every message, one Encoder per record, and a zero-filled,
 *    doubling Encoder per level (records, batch body, batch, partition, topic, request), copying
 *    the records five times. Ours computes the request's exact size and writes every byte once
 *    into one buffer. Requests with compression, headers or timestamp deltas outside int32 go to
 *    the original. Loaded lazily (first produce).
 *
 * Contract: the same output, bit for bit (kafkajs-patch.test.ts compares them with the
 * originals on generated inputs). This module must be imported before anything imports
 * `kafkajs` (it is the first import of every file in this folder that imports kafkajs, and the
 * engine loads this folder before the Kafka source). A replacement whose module kafkajs already
 * loaded is not installed; `installed` says whether all three are in effect.
 */
import { readFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import path from 'node:path';

interface GroupArgs<M> {
  topic: string;
  partitionMetadata: readonly unknown[];
  messages: readonly M[];
  partitioner: (args: {
    topic: string;
    partitionMetadata: readonly unknown[];
    message: M;
  }) => number;
}

export function groupMessagesPerPartition<M>({
  topic,
  partitionMetadata,
  messages,
  partitioner,
}: GroupArgs<M>): Record<number, M[]> {
  if (partitionMetadata.length === 0) return {};
  const result: Record<number, M[]> = {};
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    (result[partition] ??= []).push(message);
  }
  return result;
}

// ---- one record of a v2 record batch -------------------------------------------------------

interface RecordArgs {
  offsetDelta?: number;
  timestampDelta?: number;
  key?: Buffer | string | null;
  value?: Buffer | string | null;
  headers?: Record<string, unknown>;
}

/** kafkajs' Encoder shape as its record batch code reads a record (`.buf`, `.buffer`). */
interface EncoderLike {
  buf: Buffer;
  offset: number;
}

const zigzag = (v: number): number => ((v << 1) ^ (v >> 31)) >>> 0;

function varintSize(z: number): number {
  return z < 0x80 ? 1 : z < 0x4000 ? 2 : z < 0x200000 ? 3 : z < 0x10000000 ? 4 : 5;
}

function writeVarint(buf: Buffer, off: number, z: number): number {
  while (z >= 0x80) {
    buf[off++] = (z & 0x7f) | 0x80;
    z >>>= 7;
  }
  buf[off++] = z;
  return off;
}

const isInt32 = (v: number): boolean => Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff;

function bytesLength(v: Buffer | string | null | undefined): number {
  if (v === null || v === undefined) return -1;
  return Buffer.isBuffer(v) ? v.length : Buffer.byteLength(String(v), 'utf8');
}

function writeBytes(buf: Buffer, off: number, v: Buffer | string | null | undefined, n: number) {
  off = writeVarint(buf, off, zigzag(n));
  if (n <= 0) return off;
  if (Buffer.isBuffer(v)) v.copy(buf, off);
  else buf.write(String(v), off, n, 'utf8');
  return off + n;
}

/**
 * Builds a kafkajs `Record` function: the fast path for records without headers, `original`
 * (kafkajs' own) for everything else. `proto` is kafkajs' Encoder prototype, so the result is a
 * real Encoder to every method kafkajs may call on it.
 */
export function createRecordEncoder(
  original: (args: RecordArgs) => EncoderLike,
  proto: object,
): (args: RecordArgs) => EncoderLike {
  return function record(args: RecordArgs): EncoderLike {
    const { offsetDelta = 0, timestampDelta = 0, key, value, headers } = args;
    if (
      !isInt32(offsetDelta) ||
      !isInt32(timestampDelta) ||
      (headers !== undefined && headers !== null && Object.keys(headers).length > 0) ||
      (key !== null && key !== undefined && !Buffer.isBuffer(key) && typeof key !== 'string') ||
      (value !== null &&
        value !== undefined &&
        !Buffer.isBuffer(value) &&
        typeof value !== 'string')
    )
      return original(args);
    const kn = bytesLength(key);
    const vn = bytesLength(value);
    const ts = zigzag(timestampDelta);
    const od = zigzag(offsetDelta);
    const kz = zigzag(kn);
    const vz = zigzag(vn);
    // attributes (1) + timestampDelta + offsetDelta + key + value + header count (0 → 1 byte)
    const body =
      1 +
      varintSize(ts) +
      varintSize(od) +
      varintSize(kz) +
      Math.max(0, kn) +
      varintSize(vz) +
      Math.max(0, vn) +
      1;
    const bz = zigzag(body);
    const total = varintSize(bz) + body;
    const buf = Buffer.allocUnsafe(total);
    let off = writeVarint(buf, 0, bz);
    buf[off++] = 0; // attributes
    off = writeVarint(buf, off, ts);
    off = writeVarint(buf, off, od);
    off = writeBytes(buf, off, key, kn);
    off = writeBytes(buf, off, value, vn);
    buf[off++] = 0; // zigzag(0 headers)
    const e = Object.create(proto) as EncoderLike;
    e.buf = buf;
    e.offset = off;
    return e;
  };
}

// ---- CRC-32C, slicing-by-8 -------------------------------------------------------------------

const CRC_TABLES: Int32Array[] = (() => {
  const t = Array.from({ length: 8 }, () => new Int32Array(256));
  const t0 = t[0]!;
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t0[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    let c = t0[n]!;
    for (let k = 1; k < 8; k++) {
      c = t0[c & 0xff]! ^ (c >>> 8);
      t[k]![n] = c;
    }
  }
  return t;
})();

/** CRC-32C (Castagnoli) of `buf`, unsigned — the value kafkajs' crc32C.js returns. */
export function crc32C(buf: Uint8Array): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = CRC_TABLES as [
    Int32Array,
    Int32Array,
    Int32Array,
    Int32Array,
    Int32Array,
    Int32Array,
    Int32Array,
    Int32Array,
  ];
  let crc = -1;
  let i = 0;
  const n = buf.length;
  const end8 = n - (n & 7);
  while (i < end8) {
    const a = (buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24)) ^ crc;
    crc =
      t7[a & 0xff]! ^
      t6[(a >>> 8) & 0xff]! ^
      t5[(a >>> 16) & 0xff]! ^
      t4[a >>> 24]! ^
      t3[buf[i + 4]!]! ^
      t2[buf[i + 5]!]! ^
      t1[buf[i + 6]!]! ^
      t0[buf[i + 7]!]!;
    i += 8;
  }
  while (i < n) crc = t0[(crc ^ buf[i++]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}

// ---- a whole produce request (v3 layout) ----------------------------------------------------

interface ProduceMessage extends RecordArgs {
  timestamp?: number | string | null;
}
interface ProducePartition {
  partition: number | string;
  firstSequence?: number;
  messages: readonly ProduceMessage[];
}
interface ProduceArgs {
  acks: number;
  timeout: number;
  transactionalId?: string | null;
  producerId?: unknown;
  producerEpoch?: number;
  compression?: number;
  topicData: readonly { topic: string; partitions: readonly ProducePartition[] }[];
}
interface ProduceRequest {
  apiKey: number;
  apiVersion: number;
  apiName: string;
  expectResponse: () => boolean;
  encode: () => Promise<EncoderLike>;
}
/** kafkajs' Long (utils/long.js): 64-bit values as its Encoder writes them. */
interface LongLike {
  getHighBits(): number;
  getLowBits(): number;
}
interface LongClass {
  fromValue(v: unknown): LongLike;
  fromInt(v: number): LongLike;
}

/** Per record of one request: body length and key/value byte lengths (-1 = null). */
interface Plan {
  n: number;
  size: number;
  /** Per partition: first timestamp, max timestamp, and the per-record numbers. */
  parts: {
    first: unknown;
    max: unknown;
    deltas: Int32Array;
    kn: Int32Array;
    vn: Int32Array;
    body: Int32Array;
    bytes: number;
  }[];
}

/** Produce requests encoded by the lean path / by kafkajs' own (tests and diagnostics). */
export const produceEncodings = { lean: 0, original: 0 };

const isRecordValue = (v: unknown): boolean =>
  v === null || v === undefined || Buffer.isBuffer(v) || typeof v === 'string';

/**
 * Builds kafkajs' produce request v3 function around `original` (kafkajs' own): the same
 * request object, whose `encode` writes the whole request into one exact-size buffer when
 * every record can take the lean path, else calls the original's.
 */
export function createProduceRequest(
  original: (args: ProduceArgs) => ProduceRequest,
  proto: object,
  Long: LongClass,
): (args: ProduceArgs) => ProduceRequest {
  /** The numbers the original computes per partition (kafkajs request.js partitionsEncoder). */
  function plan(args: ProduceArgs, dateNow: number): Plan | undefined {
    if ((args.compression ?? 0) !== 0) return undefined;
    let size = 2 + Buffer.byteLength(args.transactionalId ?? '', 'utf8') + 2 + 4 + 4;
    const parts: Plan['parts'] = [];
    let n = 0;
    for (const t of args.topicData) {
      if (typeof t.topic !== 'string') return undefined;
      size += 2 + Buffer.byteLength(t.topic, 'utf8') + 4;
      for (const p of t.partitions) {
        const messages = p.messages;
        const count = messages.length;
        if (count === 0) return undefined;
        // kafkajs: the non-null timestamps, sorted as `.sort()` does (as text), first and last.
        const stamps = messages.map((m) => m.timestamp).filter((ts) => ts != null);
        stamps.sort();
        const timestamps = stamps.length === 0 ? [dateNow] : stamps;
        const first = timestamps[0];
        const max = timestamps[timestamps.length - 1];
        const deltas = new Int32Array(count);
        const kn = new Int32Array(count);
        const vn = new Int32Array(count);
        const body = new Int32Array(count);
        let bytes = 0;
        for (let i = 0; i < count; i++) {
          const m = messages[i]!;
          const { key, value, headers } = m;
          if (headers !== undefined && headers !== null && Object.keys(headers).length > 0)
            return undefined;
          if (!isRecordValue(key) || !isRecordValue(value)) return undefined;
          const delta = ((m.timestamp || dateNow) as number) - (first as number);
          if (!isInt32(delta)) return undefined;
          deltas[i] = delta;
          const k = bytesLength(key);
          const v = bytesLength(value);
          kn[i] = k;
          vn[i] = v;
          const b =
            1 +
            varintSize(zigzag(delta)) +
            varintSize(zigzag(i)) +
            varintSize(zigzag(k)) +
            Math.max(0, k) +
            varintSize(zigzag(v)) +
            Math.max(0, v) +
            1;
          body[i] = b;
          bytes += varintSize(zigzag(b)) + b;
        }
        // partition, size, firstOffset, length, leader epoch, magic, crc, attributes,
        // lastOffsetDelta, first/max timestamp, producer id, epoch, first sequence, record count
        size += 4 + 4 + 8 + 4 + 4 + 1 + 4 + 2 + 4 + 8 + 8 + 8 + 2 + 4 + 4 + bytes;
        parts.push({ first, max, deltas, kn, vn, body, bytes });
        n += count;
      }
    }
    return { n, size, parts };
  }

  function writeLong(buf: Buffer, off: number, v: unknown): number {
    const l = Long.fromValue(v);
    buf.writeInt32BE(l.getHighBits(), off);
    buf.writeInt32BE(l.getLowBits(), off + 4);
    return off + 8;
  }

  function encodeLean(args: ProduceArgs, pl: Plan): EncoderLike {
    const buf = Buffer.allocUnsafe(pl.size);
    let off = 0;
    const tid = args.transactionalId;
    if (tid === null || tid === undefined) off = buf.writeInt16BE(-1, off);
    else {
      off = buf.writeInt16BE(Buffer.byteLength(tid, 'utf8'), off);
      off += buf.write(tid, off, 'utf8');
    }
    off = buf.writeInt16BE(args.acks, off);
    off = buf.writeInt32BE(args.timeout, off);
    off = buf.writeInt32BE(args.topicData.length, off);
    const producerId = args.producerId ?? Long.fromInt(-1);
    const producerEpoch = args.producerEpoch ?? 0;
    const attributes = args.transactionalId ? 16 : 0;
    let k = 0;
    for (const t of args.topicData) {
      off = buf.writeInt16BE(Buffer.byteLength(t.topic, 'utf8'), off);
      off += buf.write(t.topic, off, 'utf8');
      off = buf.writeInt32BE(t.partitions.length, off);
      for (const p of t.partitions) {
        const pp = pl.parts[k++]!;
        const count = p.messages.length;
        // The batch: leader epoch .. records; its length is what follows the length field.
        const batchLen = 4 + 1 + 4 + 2 + 4 + 8 + 8 + 8 + 2 + 4 + 4 + pp.bytes;
        off = buf.writeInt32BE(Number(p.partition), off);
        off = buf.writeInt32BE(8 + 4 + batchLen, off);
        off = writeLong(buf, off, Long.fromInt(0)); // first offset
        off = buf.writeInt32BE(batchLen, off);
        off = buf.writeInt32BE(0, off); // partition leader epoch
        buf[off++] = 2; // magic
        const crcAt = off;
        off += 4;
        const bodyAt = off;
        off = buf.writeInt16BE(attributes, off);
        off = buf.writeInt32BE(count - 1, off); // last offset delta
        off = writeLong(buf, off, pp.first);
        off = writeLong(buf, off, pp.max);
        off = writeLong(buf, off, producerId);
        off = buf.writeInt16BE(producerEpoch, off);
        off = buf.writeInt32BE(p.firstSequence ?? 0, off);
        off = buf.writeInt32BE(count, off);
        for (let i = 0; i < count; i++) {
          const m = p.messages[i]!;
          const kn = pp.kn[i]!;
          const vn = pp.vn[i]!;
          off = writeVarint(buf, off, zigzag(pp.body[i]!));
          buf[off++] = 0; // attributes
          off = writeVarint(buf, off, zigzag(pp.deltas[i]!));
          off = writeVarint(buf, off, zigzag(i));
          off = writeBytes(buf, off, m.key, kn);
          off = writeBytes(buf, off, m.value, vn);
          buf[off++] = 0; // no headers
        }
        buf.writeUInt32BE(crc32C(buf.subarray(bodyAt, off)), crcAt);
      }
    }
    const e = Object.create(proto) as EncoderLike;
    e.buf = buf;
    e.offset = off;
    return e;
  }

  return function produceRequest(args: ProduceArgs): ProduceRequest {
    const request = original(args);
    return {
      ...request,
      encode: async () => {
        const dateNow = Date.now();
        const pl = plan(args, dateNow);
        if (!pl) {
          produceEncodings.original++;
          return request.encode();
        }
        produceEncodings.lean++;
        return encodeLean(args, pl);
      },
    };
  };
}

// ---- installation ------------------------------------------------------------------------------

function install(): boolean {
  try {
    const require = createRequire(import.meta.url);
    const cache = require.cache;
    const place = (file: string, exports: unknown): boolean => {
      if (cache[file] !== undefined) return false;
      const m = new Module(file);
      m.filename = file;
      m.loaded = true;
      m.exports = exports;
      cache[file] = m;
      return true;
    };
    const group = require.resolve('kafkajs/src/producer/groupMessagesPerPartition.js');
    const sendMessages = require.resolve('kafkajs/src/producer/sendMessages.js');
    const groupOk = cache[sendMessages] === undefined && place(group, groupMessagesPerPartition);
    const recordFile = require.resolve('kafkajs/src/protocol/recordBatch/record/v0/index.js');
    let recordOk = false;
    if (cache[recordFile] === undefined) {
      // kafkajs' own record function (and Encoder), loaded under another cache key so the
      // fast path can hand it the rare cases; its dependencies are the shared kafkajs modules.
      const Encoder = require('kafkajs/src/protocol/encoder.js') as { prototype: object };
      const original = loadUncached(recordFile) as Parameters<typeof createRecordEncoder>[0];
      recordOk = place(recordFile, createRecordEncoder(original, Encoder.prototype));
    }
    const crcFile = require.resolve('kafkajs/src/protocol/recordBatch/crc32C/crc32C.js');
    const crcIndex = require.resolve('kafkajs/src/protocol/recordBatch/crc32C/index.js');
    const crcOk = cache[crcIndex] === undefined && place(crcFile, crc32C);
    const produceFile = require.resolve('kafkajs/src/protocol/requests/produce/v3/request.js');
    let produceOk = false;
    if (cache[produceFile] === undefined) {
      const Encoder = require('kafkajs/src/protocol/encoder.js') as { prototype: object };
      const Long = require('kafkajs/src/utils/long.js') as LongClass;
      const original = loadUncached(produceFile) as Parameters<typeof createProduceRequest>[0];
      produceOk = place(produceFile, createProduceRequest(original, Encoder.prototype, Long));
    }
    return groupOk && recordOk && crcOk && produceOk;
  } catch {
    return false;
  }
}

/** Evaluate a kafkajs file as a fresh module (not cached), with its own `require`. */
export function loadUncached(file: string): unknown {
  const m = new Module(`${file}#original`);
  m.filename = file;
  m.paths = (Module as unknown as { _nodeModulePaths(d: string): string[] })._nodeModulePaths(
    path.dirname(file),
  );
  (m as unknown as { _compile(code: string, f: string): void })._compile(
    readFileSync(file, 'utf8'),
    file,
  );
  return m.exports;
}

/** Whether all four replacements are in effect for this process. */
export const installed: boolean = install();
