/**
 * Replacements for three kafkajs 2.2.4 modules on the produce path, placed in Node's CommonJS
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
    return groupOk && recordOk && crcOk;
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

/** Whether all three replacements are in effect for this process. */
export const installed: boolean = install();
