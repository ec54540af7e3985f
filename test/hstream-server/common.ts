/**
 * TEST DOUBLE internals shared by the stand-in's handler files (server.ts, readers.ts,
 * subscriptions.ts): the store model, the JSON error envelope (hstream-protocol.md §9.1),
 * resource-name rules (§9.3), offsets (§3.5, §10) and the `ReceivedRecord` a stored batch is
 * read back as (§3.6).
 */
import {
  decodeBatch,
  decompress,
  grpc,
  type Compression,
  type ReceivedRecord,
  type ShardOffset__Output,
} from '../../src/sinks/hstream/index.js';

export interface StoredBatch {
  lsn: bigint;
  publishTimeMs: number;
  compressionType: string;
  batchSize: number;
  payload: Buffer;
}

export interface ShardState {
  shardId: string;
  stream: string;
  start: bigint;
  end: bigint;
  seq: number;
  batches: StoredBatch[];
}

export interface StreamState {
  name: string;
  replicationFactor: number;
  backlogDuration: number;
  shardCount: number;
  creationTimeMs: number;
  shards: ShardState[];
}

export interface NodeAddress {
  host: string;
  port: number;
}

/** What the read-side handler files need from the server that hosts them. */
export interface StandInCore {
  readonly streams: Map<string, StreamState>;
  readonly shards: Map<string, ShardState>;
  /** Callbacks run after every acknowledged append (long reads wait on them). */
  readonly waiters: Set<() => void>;
  /** The node lookups answer (LookupResource, LookupSubscription, LookupShardReader). */
  lookupNode(): NodeAddress;
}

export const COMPRESSION: Record<string, Compression> = {
  None: 'none',
  Gzip: 'gzip',
  Zstd: 'zstd',
};

/** grpc-message of server v0.15+: `{"error": <ErrorCode>, "message": …, "extra": …}` (§9.1). */
export const ENVELOPE = (error: number, message: string, extra: unknown) =>
  JSON.stringify({ error, message, extra });

export function fail(code: grpc.status, details: string): grpc.ServiceError {
  return Object.assign(new Error(details), {
    code,
    details,
    metadata: new grpc.Metadata(),
  }) as grpc.ServiceError;
}

/** §9.3 name rules: 1..255 chars, first a letter, then letters/digits/-/_ ; not "zookeeper". */
export function nameProblem(name: string): string | undefined {
  if (name.length === 0) return 'Empty stream name';
  if ([...name].length > 255) return 'Name is too long';
  if (!/^\p{L}/u.test(name)) return 'The first character of a name must be a letter';
  if (!/^[\p{L}\p{N}_-]+$/u.test(name))
    return 'Illegal characters in name, only letters, digits, "-" and "_" are allowed';
  if (name === 'zookeeper') return 'Reserved name "zookeeper"';
  return undefined;
}

/** Resource-id rules of lookups (§9.3): 1..255 letters/digits/-/_, no first-letter rule. */
export function resourceIdProblem(id: string): string | undefined {
  if (id.length === 0) return 'Empty resource id';
  if ([...id].length > 255) return 'Name is too long';
  if (!/^[\p{L}\p{N}_-]+$/u.test(id))
    return 'Illegal characters in name, only letters, digits, "-" and "_" are allowed';
  return undefined;
}

export function toTimestamp(ms: number) {
  return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 };
}

export function shardNotFound(id: string): string {
  return ENVELOPE(0, 'ShardNotFound', `Shard with id ${id} is not found.`);
}

export function tailLsn(sh: ShardState): bigint {
  return sh.batches.length ? sh.batches[sh.batches.length - 1]!.lsn : 0n;
}

/**
 * LSN an offset denotes; `from = LATEST` is tail + 1, `until = LATEST` is the tail (§10).
 * Undefined when the offset (or its oneof) is unset. Throws the server's INVALID_ARGUMENT 901 for
 * a record offset naming another shard.
 */
export function offsetLsn(
  o: ShardOffset__Output | null | undefined,
  sh: ShardState,
  which: 'from' | 'until',
): bigint | undefined {
  if (!o || !o.offset) return undefined;
  const tail = tailLsn(sh);
  if (o.offset === 'specialOffset') {
    if (o.specialOffset === 'LATEST') return which === 'from' ? tail + 1n : tail;
    return 0n;
  }
  if (o.offset === 'recordOffset') {
    const r = o.recordOffset!;
    if (r.shardId !== sh.shardId)
      throw fail(
        grpc.status.INVALID_ARGUMENT,
        ENVELOPE(901, 'ConflictShardReaderOffset', 'record offset names another shard'),
      );
    return BigInt(r.batchId);
  }
  const ms = Number(o.timestampOffset!.timestampInMs);
  const b = sh.batches.find((x) => x.publishTimeMs >= ms);
  return b ? b.lsn : tail + 1n;
}

/** Index of the first stored batch at or after `lsn` (batches.length when none). */
export function batchIndexAt(sh: ShardState, lsn: bigint): number {
  const i = sh.batches.findIndex((b) => b.lsn >= lsn);
  return i < 0 ? sh.batches.length : i;
}

/** A stored batch as readers receive it: the bytes as stored, one id per declared record. */
export function receivedRecord(sh: ShardState, b: StoredBatch): ReceivedRecord {
  const batchId = b.lsn.toString();
  return {
    recordIds: Array.from({ length: b.batchSize }, (_, i) => ({
      shardId: sh.shardId,
      batchId,
      batchIndex: i,
    })),
    record: {
      compressionType: b.compressionType as 'None',
      publishTime: toTimestamp(b.publishTimeMs),
      batchSize: b.batchSize,
      payload: b.payload,
    },
  };
}

/** Decode a stored batch's records (used for partial redelivery and `records()`). */
export function decodeStored(b: StoredBatch) {
  return decodeBatch(decompress(b.payload, COMPRESSION[b.compressionType] ?? 'none'));
}
