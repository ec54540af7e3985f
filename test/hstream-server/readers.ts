/**
 * TEST DOUBLE: named shard readers of the stand-in (hstream-protocol.md §3.6, §10), after the
 * server's `HStream.Server.Core.ShardReader`:
 *
 *  - CreateShardReader: ALREADY_EXISTS `ShardReaderExists` for a used id, NOT_FOUND
 *    `ShardNotFound` for an unknown shard, INVALID_ARGUMENT 900 for a bad reader id; an unset
 *    `shardOffset` reads from the earliest record, a set one without a member is
 *    INVALID_ARGUMENT `InvalidShardOffset`. The reply echoes the request.
 *  - ReadShard: up to `maxRecords` stored batches (a batch is one store record), returned when
 *    that many are available or when the reader's `timeout` (ms) has passed — the store reader
 *    blocks like LogDevice's `read()` without wait-only-when-no-data; `[]` after a timeout with
 *    nothing new. Unknown reader → FAILED_PRECONDITION `EmptyShardReader` ("ShardReaderNotExists").
 *  - DeleteShardReader: same FAILED_PRECONDITION for an unknown reader.
 *  - ListShardReaders, LookupShardReader (no existence check, answers the lookup node).
 *
 * Readers live in memory only (the real server keeps them in its metastore): a restarted
 * stand-in has none.
 */
import { grpc, type HStreamApiHandlers } from '../../src/sinks/hstream/index.js';
import {
  batchIndexAt,
  ENVELOPE,
  fail,
  nameProblem,
  offsetLsn,
  receivedRecord,
  shardNotFound,
  type ShardState,
  type StandInCore,
} from './common.js';

interface ReaderState {
  shard: ShardState;
  /** Index of the next batch to hand out. */
  cursor: number;
  timeoutMs: number;
}

type ReaderHandlers = Pick<
  HStreamApiHandlers,
  'CreateShardReader' | 'ReadShard' | 'DeleteShardReader' | 'ListShardReaders' | 'LookupShardReader'
>;

const notExists = () =>
  fail(grpc.status.FAILED_PRECONDITION, ENVELOPE(0, 'EmptyShardReader', 'ShardReaderNotExists'));

export function createReaderHandlers(core: StandInCore): {
  handlers: ReaderHandlers;
  readers: Map<string, ReaderState>;
  stop(): void;
} {
  const readers = new Map<string, ReaderState>();
  const timers = new Set<NodeJS.Timeout>();

  const handlers: ReaderHandlers = {
    CreateShardReader: (call, cb) => {
      const r = call.request;
      const problem = nameProblem(r.readerId);
      if (problem)
        return cb(
          fail(grpc.status.INVALID_ARGUMENT, ENVELOPE(900, 'InvalidObjectIdentifier', problem)),
        );
      if (readers.has(r.readerId))
        return cb(
          fail(
            grpc.status.ALREADY_EXISTS,
            ENVELOPE(0, 'ShardReaderExists', `ShardReader with id ${r.readerId} already exists.`),
          ),
        );
      const sh = core.shards.get(r.shardId);
      if (!sh) return cb(fail(grpc.status.NOT_FOUND, shardNotFound(r.shardId)));
      if (r.shardOffset && !r.shardOffset.offset)
        return cb(
          fail(
            grpc.status.INVALID_ARGUMENT,
            ENVELOPE(0, 'InvalidShardOffset', 'UnKnown shard offset'),
          ),
        );
      let from: bigint;
      try {
        from = offsetLsn(r.shardOffset, sh, 'from') ?? 0n;
      } catch (err) {
        return cb(err as grpc.ServiceError);
      }
      readers.set(r.readerId, { shard: sh, cursor: batchIndexAt(sh, from), timeoutMs: r.timeout });
      cb(null, {
        streamName: r.streamName,
        shardId: r.shardId,
        shardOffset: r.shardOffset,
        readerId: r.readerId,
        timeout: r.timeout,
      });
    },

    ReadShard: (call, cb) => {
      const { readerId, maxRecords } = call.request;
      const rd = readers.get(readerId);
      if (!rd) return cb(notExists());
      const available = () => rd.shard.batches.length - rd.cursor;
      const answer = () => {
        const n = Math.min(maxRecords, Math.max(0, available()));
        const out = rd.shard.batches
          .slice(rd.cursor, rd.cursor + n)
          .map((b) => receivedRecord(rd.shard, b));
        rd.cursor += n;
        cb(null, { receivedRecords: out });
      };
      if (maxRecords === 0 || available() >= maxRecords || rd.timeoutMs === 0) return answer();
      // Block until maxRecords batches are there or the reader timeout passes.
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        core.waiters.delete(waiter);
        clearTimeout(timer);
        timers.delete(timer);
        answer();
      };
      const waiter = () => {
        if (available() >= maxRecords) finish();
      };
      const timer = setTimeout(finish, rd.timeoutMs);
      timers.add(timer);
      core.waiters.add(waiter);
      call.on('cancelled', () => {
        done = true;
        core.waiters.delete(waiter);
        clearTimeout(timer);
        timers.delete(timer);
      });
    },

    DeleteShardReader: (call, cb) => {
      if (!readers.delete(call.request.readerId)) return cb(notExists());
      cb(null, {});
    },

    ListShardReaders: (_call, cb) => cb(null, { readerId: [...readers.keys()] }),

    LookupShardReader: (call, cb) =>
      cb(null, {
        readerId: call.request.readerId,
        serverNode: { id: 100, ...core.lookupNode() },
      }),
  };

  return {
    handlers,
    readers,
    stop: () => {
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
  };
}
