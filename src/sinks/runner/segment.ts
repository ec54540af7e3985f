/**
 * The disk buffer's frame format and the segment scanner. A segment file is a sequence of
 * frames, appended only:
 *
 *   offset 0  magic   4 bytes  "SLF1" (0x53 0x4c 0x46 0x31)
 *          4  crc32   u32 LE   CRC-32 (node:zlib) of bytes [8, 12 + length): the length field
 *                              and the payload
 *          8  length  u32 LE   payload bytes
 *         12  payload          seq f64 | size u32 | partition key (u32 length + UTF-8) | record
 *                              (record-codec.ts)
 *
 * `seq` is the record's sequence number, unique within the buffer directory and increasing in
 * append order; the segment file is named after the first seq it was opened for, and
 * `seq - base` is the record's slot in the segment's ack file (one byte per record, 1 = done),
 * so a damaged frame never shifts the slots of the frames after it. `size` is the sink's
 * `sizeOf` of the record (batch_bytes accounting).
 *
 * Scanning (at startup) accepts a frame only if its magic, length and CRC are all right. At
 * any other position it searches forward for the next magic whose frame checks out and resumes
 * there: a flipped byte costs only the frame it hit, a torn tail (a frame cut by a crash) is the
 * last damaged region.
 */
import { crc32 } from 'node:zlib';

export const MAGIC = Buffer.from('SLF1', 'latin1');
export const HEADER_BYTES = 12;
/** seq f64 + size u32 + key length u32 (an empty key) + the smallest record. */
const MIN_PAYLOAD = 16;
/** Sanity bound for a length field (a damaged length must not make us read gigabytes). */
export const MAX_PAYLOAD = 1 << 30;

/** Write the header of the frame whose payload is `buf[start + 12, end)` (in place). */
export function sealFrame(buf: Buffer, start: number, end: number): void {
  MAGIC.copy(buf, start);
  buf.writeUInt32LE(end - start - HEADER_BYTES, start + 8);
  buf.writeUInt32LE(crc32(buf.subarray(start + 8, end)), start + 4);
}

/** True when a whole, intact frame starts at `pos` (and ends at or before `limit`). */
export function frameAt(buf: Buffer, pos: number, limit = buf.length): number {
  if (pos + HEADER_BYTES > limit) return -1;
  if (buf[pos] !== 0x53 || buf[pos + 1] !== 0x4c || buf[pos + 2] !== 0x46 || buf[pos + 3] !== 0x31)
    return -1;
  const len = buf.readUInt32LE(pos + 8);
  if (len < MIN_PAYLOAD || len > MAX_PAYLOAD) return -1;
  const end = pos + HEADER_BYTES + len;
  if (end > limit) return -1;
  if (crc32(buf.subarray(pos + 8, end)) !== buf.readUInt32LE(pos + 4)) return -1;
  return end;
}

export interface ScannedFrame {
  /** Offset of the frame's header in the segment. */
  readonly pos: number;
  /** Offset just past the frame. */
  readonly end: number;
}

export interface DamagedRegion {
  /** Offset where the damage starts. */
  readonly at: number;
  /** Bytes skipped. */
  readonly bytes: number;
  /** True when no valid frame follows (a torn or damaged tail). */
  readonly tail: boolean;
}

export interface ScanResult {
  readonly frames: ScannedFrame[];
  readonly damaged: DamagedRegion[];
}

/** Find every intact frame of a segment's bytes, resyncing on the magic after damage. */
export function scanSegment(buf: Buffer): ScanResult {
  const frames: ScannedFrame[] = [];
  const damaged: DamagedRegion[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const end = frameAt(buf, pos);
    if (end > 0) {
      frames.push({ pos, end });
      pos = end;
      continue;
    }
    let next = -1;
    for (let at = buf.indexOf(MAGIC, pos + 1); at >= 0; at = buf.indexOf(MAGIC, at + 1)) {
      if (frameAt(buf, at) > 0) {
        next = at;
        break;
      }
    }
    damaged.push({ at: pos, bytes: (next < 0 ? buf.length : next) - pos, tail: next < 0 });
    if (next < 0) break;
    pos = next;
  }
  return { frames, damaged };
}

/** The fixed part of a payload (what the buffer keeps in memory per record on disk). */
export interface PayloadHead {
  readonly seq: number;
  readonly size: number;
  readonly key: string;
  /** Offset of the record encoding in the buffer. */
  readonly recordAt: number;
  /** The record's `ingestTs` (read without decoding the record). */
  readonly ingestTs: number;
}

/** Read the head of the payload of the frame at `pos`; throws RangeError when it does not fit. */
export function readPayloadHead(buf: Buffer, pos: number, end: number): PayloadHead {
  let p = pos + HEADER_BYTES;
  if (p + 16 > end) throw new RangeError('payload too short');
  const seq = buf.readDoubleLE(p);
  const size = buf.readUInt32LE(p + 8);
  const keyLen = buf.readUInt32LE(p + 12);
  p += 16;
  if (p + keyLen + 4 > end) throw new RangeError('key past the end');
  const key = buf.toString('utf8', p, p + keyLen);
  p += keyLen;
  const recordAt = p;
  const ruleLen = buf.readUInt32LE(p);
  if (p + 4 + ruleLen + 8 > end) throw new RangeError('record head past the end');
  const ingestTs = buf.readDoubleLE(p + 4 + ruleLen);
  return { seq, size, key, recordAt, ingestTs };
}
