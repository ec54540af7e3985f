/**
 * A `ReceivedRecord` as every read path returns it (hstream-protocol.md §3.6: the stored batch,
 * still compressed, plus one record id per record) → decoded records with their ids. Used by
 * `HStreamClient.readShard`, the shard-reader and subscription APIs in read-api.ts and tests.
 */
import { decodeBatch, decompress, type Compression, type DecodedRecord } from './record-codec.js';
import type { ReceivedRecord__Output } from './generated/hstream/server/ReceivedRecord.js';

/** One record read back, with its id in text form pieces (uint64 as decimal strings). */
export interface ReadRecord extends DecodedRecord {
  shardId: string;
  batchId: string;
  batchIndex: number;
  publishTimeMs: number;
  /** Compression of the batch it came in, as stored. */
  compression: Compression;
}

const COMPRESSION_FROM_ENUM: Record<string, Compression> = {
  None: 'none',
  Gzip: 'gzip',
  Zstd: 'zstd',
};

/** Decompress and decode one received batch; ids are zipped in order (counts must match). */
export function decodeReceivedRecord(
  rr: ReceivedRecord__Output,
  fallbackShardId = '0',
): ReadRecord[] {
  const b = rr.record;
  if (!b) return [];
  const compression = COMPRESSION_FROM_ENUM[b.compressionType] ?? 'none';
  const recs = decodeBatch(decompress(b.payload, compression));
  const ts = b.publishTime
    ? Number(b.publishTime.seconds) * 1000 + Math.floor(b.publishTime.nanos / 1e6)
    : 0;
  return recs.map((r, i) => {
    const id = rr.recordIds[i];
    return {
      ...r,
      shardId: id?.shardId ?? fallbackShardId,
      batchId: id?.batchId ?? '0',
      batchIndex: id?.batchIndex ?? i,
      publishTimeMs: ts,
      compression,
    };
  });
}
