/**
 * TEST DOUBLE — a stand-in for the HStreamDB server's gRPC wire protocol, NOT a database.
 *
 * It speaks `hstream.server.HStreamApi` with the facts of shared/spec/hstream-protocol.md and
 * follows its fidelity checklist (§12): streams split into shards with the server's key ranges
 * (§6), shard ids that are large random uint64s above 2^53 on purpose, Append validated exactly
 * like the real server (§4: 206 empty batch, 207 > 1 MiB, unknown shard → UNAVAILABLE) with the
 * JSON error envelopes and status codes of §9, LSNs `epoch << 32 | seq` starting at `2<<32 | 1`,
 * record ids per declared batchSize, batches stored verbatim with the append time as publish
 * time, LookupShard answering a configurable node (for host-remap tests), ListShards on a missing
 * stream → UNAVAILABLE, and ReadShardStream honouring from/until/maxReadBatches with ≤ 10 batches
 * per response (§10).
 *
 * Strict mode (default on, §12.6) additionally decompresses and parses every batch and rejects
 * what a real server would store but readers would choke on: record count ≠ batchSize, missing
 * headers, keys hashing outside the target shard, incomplete gzip members, zstd frames without a
 * content size. Such rejections use INVALID_ARGUMENT with error 0 and a "strict:" message and are
 * counted in `stats.strictViolations` — a real server would have accepted them silently.
 *
 * Persistence: in memory, or append-only JSON lines in `persistFile` (written synchronously
 * before the ack), so a killed and restarted process keeps every acknowledged batch; a restart
 * bumps the LSN epoch like a real store.
 *
 * Fault knobs: `faults.unavailableAppends` (next N appends → UNAVAILABLE, warm-up),
 * `faults.wrongServerAppends` (next N appends → FAILED_PRECONDITION 800 WrongServer),
 * `faults.appendDelayMs` (slow server), `faults.holdAppends` (stalled server until cleared), `lookupNode` (what LookupShard answers), `deleteStream`.
 *
 * Read side for HStreamDB's own clients (issue #21): DescribeCluster (this one node, v0.15.2+
 * numbering), LookupResource (resource-id rules of §9.3, any type, no existence check), named
 * shard readers (readers.ts) and subscriptions with StreamingFetch (subscriptions.ts). Every
 * read path hands out batches exactly as stored. DeleteStream refuses a stream that still has
 * subscriptions unless `force` (FAILED_PRECONDITION 202), as the server does.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import {
  decodeBatch,
  decompress,
  grpc,
  hashKey,
  hstreamProto,
  isCompleteGzipMember,
  splitKeySpace,
  zstdFrameHasContentSize,
  batchedRecordSize,
  type BatchedRecord__Output,
  type HStreamApiHandlers,
  type ReceivedRecord,
} from '../../src/sinks/hstream/index.js';
import {
  batchIndexAt,
  COMPRESSION,
  decodeStored,
  ENVELOPE,
  fail,
  nameProblem,
  offsetLsn,
  receivedRecord,
  resourceIdProblem,
  shardNotFound,
  toTimestamp,
  type ShardState,
  type StandInCore,
  type StoredBatch,
  type StreamState,
} from './common.js';
import { createReaderHandlers } from './readers.js';
import { createSubscriptionHandlers, type SubscriptionState } from './subscriptions.js';

export type { ShardState, StoredBatch, StreamState, SubscriptionState };

export const MAX_RECORD_SIZE = 1024 * 1024;

export interface StandInOptions {
  host?: string;
  /** 0 (default) = ephemeral. */
  port?: number;
  /** JSON-lines file; existing content is replayed at start (restart keeps data). */
  persistFile?: string;
  strict?: boolean;
  /** What LookupShard returns; default: the address the server listens on. */
  lookupNode?: { host: string; port: number };
  maxRecordSize?: number;
  /** Serve TLS with this PEM certificate/key; with `clientCa`, require client certificates (mTLS). */
  tls?: { cert: Buffer; key: Buffer; clientCa?: Buffer };
}

export interface StandInStats {
  appends: number;
  appendedRecords: number;
  rejectedAppends: number;
  strictViolations: number;
  lookups: number;
}

export interface StandInServer {
  readonly port: number;
  readonly address: string;
  readonly streams: Map<string, StreamState>;
  readonly stats: StandInStats;
  /** Subscriptions and their delivery state (tests inspect redelivery counters). */
  readonly subscriptions: Map<string, SubscriptionState>;
  /** Named shard readers by id. */
  readonly shardReaders: ReadonlyMap<string, unknown>;
  readonly faults: {
    unavailableAppends: number;
    appendDelayMs: number;
    wrongServerAppends: number;
    /** While true, appends are held (not answered) until it is set false again. */
    holdAppends: boolean;
  };
  lookupNode: { host: string; port: number } | undefined;
  /** Delete a stream as if an operator did (its shards vanish; appends → UNAVAILABLE). */
  deleteStream(name: string): boolean;
  /** Every record stored in a stream, decoded, in per-shard order (shard order = key order). */
  records(
    stream: string,
  ): Array<{ shardId: string; key: string; payload: Buffer; lsn: bigint; index: number }>;
  stop(): Promise<void>;
}

/** Shard ids: large random uint64s, deliberately above 2^53 (§7, §12.3). */
function newShardId(): string {
  return ((1n << 60n) | (randomBytes(8).readBigUInt64BE(0) >> 16n)).toString();
}

function longWords(v: bigint): string {
  const words = { low: Number(v & 0xffffffffn) | 0, high: Number(v >> 32n) | 0, unsigned: true };
  return words as unknown as string; // the generated type says string; protobufjs takes Long-likes
}

export async function startStandInServer(opts: StandInOptions = {}): Promise<StandInServer> {
  const host = opts.host ?? '127.0.0.1';
  const strict = opts.strict ?? true;
  const maxRecordSize = opts.maxRecordSize ?? MAX_RECORD_SIZE;
  const streams = new Map<string, StreamState>();
  const shards = new Map<string, ShardState>();
  const stats: StandInStats = {
    appends: 0,
    appendedRecords: 0,
    rejectedAppends: 0,
    strictViolations: 0,
    lookups: 0,
  };
  const faults = {
    unavailableAppends: 0,
    appendDelayMs: 0,
    wrongServerAppends: 0,
    holdAppends: false,
  };
  const waiters = new Set<() => void>();
  let epoch = 2;

  const persist = (line: object) => {
    if (opts.persistFile) appendFileSync(opts.persistFile, JSON.stringify(line) + '\n');
  };

  const addStream = (s: StreamState) => {
    streams.set(s.name, s);
    for (const sh of s.shards) shards.set(sh.shardId, sh);
  };
  const removeStream = (name: string) => {
    const s = streams.get(name);
    if (!s) return false;
    streams.delete(name);
    for (const sh of s.shards) shards.delete(sh.shardId);
    return true;
  };

  // Replay a persisted log; the new process runs in a later epoch (a restart bumps it, §7).
  if (opts.persistFile && existsSync(opts.persistFile)) {
    let maxEpoch = 1;
    for (const line of readFileSync(opts.persistFile, 'utf8').split('\n')) {
      if (!line) continue;
      let ev: Record<string, unknown>;
      try {
        ev = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue; // a torn last line from a kill -9: that append was never acknowledged
      }
      if (ev['t'] === 'stream') {
        const sh = ev['shards'] as Array<{ id: string; start: string; end: string }>;
        addStream({
          name: ev['name'] as string,
          replicationFactor: ev['rf'] as number,
          backlogDuration: ev['backlog'] as number,
          shardCount: sh.length,
          creationTimeMs: ev['created'] as number,
          shards: sh.map((x) => ({
            shardId: x.id,
            stream: ev['name'] as string,
            start: BigInt(x.start),
            end: BigInt(x.end),
            seq: 0,
            batches: [],
          })),
        });
      } else if (ev['t'] === 'delete') removeStream(ev['name'] as string);
      else if (ev['t'] === 'append') {
        const sh = shards.get(ev['shard'] as string);
        if (!sh) continue;
        const lsn = BigInt(ev['lsn'] as string);
        maxEpoch = Math.max(maxEpoch, Number(lsn >> 32n));
        sh.batches.push({
          lsn,
          publishTimeMs: ev['ts'] as number,
          compressionType: ev['c'] as string,
          batchSize: ev['n'] as number,
          payload: Buffer.from(ev['p'] as string, 'base64'),
        });
      }
    }
    epoch = maxEpoch + 1;
  }

  const strictCheck = (sh: ShardState, b: BatchedRecord__Output): string | undefined => {
    const compression = COMPRESSION[b.compressionType];
    if (!compression) return `unknown compression type ${b.compressionType}`;
    if (compression === 'gzip' && !isCompleteGzipMember(b.payload))
      return 'gzip payload is not one complete gzip member';
    if (compression === 'zstd' && !zstdFrameHasContentSize(b.payload))
      return 'zstd frame does not declare its content size (the server would decode it as empty)';
    let recs;
    try {
      recs = decodeBatch(decompress(b.payload, compression));
    } catch (err) {
      return `payload does not decode: ${(err as Error).message}`;
    }
    if (recs.length !== b.batchSize)
      return `batchSize ${b.batchSize} but payload holds ${recs.length} records`;
    for (const r of recs) {
      if (!r.hasHeader) return 'record without header';
      const h = hashKey(r.key);
      if (h < sh.start || h > sh.end)
        return `key ${JSON.stringify(r.key)} does not hash into shard ${sh.shardId}`;
    }
    return undefined;
  };

  const server = new grpc.Server();
  let listenPort = 0;
  const startedAt = Date.now();
  const ownNode = () => ({ host, port: listenPort });
  const core: StandInCore = {
    streams,
    shards,
    waiters,
    lookupNode: () => api.lookupNode ?? ownNode(),
  };
  const readers = createReaderHandlers(core);
  const subscriptions = createSubscriptionHandlers(core);

  const handlers: HStreamApiHandlers = {
    Echo: (call, cb) => cb(null, { msg: call.request.msg }),

    CreateStream: (call, cb) => {
      const r = call.request;
      const problem = nameProblem(r.streamName);
      if (problem)
        return cb(
          fail(grpc.status.INVALID_ARGUMENT, ENVELOPE(204, 'InvalidObjectIdentifier', problem)),
        );
      if (r.replicationFactor === 0)
        return cb(
          fail(
            grpc.status.INVALID_ARGUMENT,
            ENVELOPE(
              203,
              'InvalidReplicaFactor',
              'Stream replication factor should greater than zero',
            ),
          ),
        );
      if (r.shardCount === 0)
        return cb(
          fail(
            grpc.status.INVALID_ARGUMENT,
            ENVELOPE(
              205,
              'InvalidShardCount',
              'Stream replication factor should greater than zero',
            ),
          ),
        );
      if (streams.has(r.streamName))
        return cb(fail(grpc.status.ALREADY_EXISTS, ENVELOPE(201, 'StreamExists', r.streamName)));
      const created = Date.now();
      const s: StreamState = {
        name: r.streamName,
        replicationFactor: r.replicationFactor,
        backlogDuration: r.backlogDuration,
        shardCount: r.shardCount,
        creationTimeMs: created,
        shards: splitKeySpace(r.shardCount).map(({ start, end }) => ({
          shardId: newShardId(),
          stream: r.streamName,
          start,
          end,
          seq: 0,
          batches: [],
        })),
      };
      addStream(s);
      persist({
        t: 'stream',
        name: s.name,
        rf: s.replicationFactor,
        backlog: s.backlogDuration,
        created,
        shards: s.shards.map((x) => ({
          id: x.shardId,
          start: x.start.toString(),
          end: x.end.toString(),
        })),
      });
      cb(null, { ...r, creationTime: toTimestamp(created) });
    },

    DeleteStream: (call, cb) => {
      const { streamName, ignoreNonExist, force } = call.request;
      if (!streams.has(streamName)) {
        if (ignoreNonExist) return cb(null, {});
        return cb(fail(grpc.status.NOT_FOUND, ENVELOPE(200, 'StreamNotFound', streamName)));
      }
      // §9.3: subscriptions block a delete unless forced (they then read the archived copy).
      const subscribed = [...subscriptions.subscriptions.values()].some(
        (x) => x.stream === streamName && x.shards[0]?.shard === streams.get(streamName)!.shards[0],
      );
      if (subscribed && !force)
        return cb(
          fail(
            grpc.status.FAILED_PRECONDITION,
            ENVELOPE(202, 'Stream still has subscription', null),
          ),
        );
      removeStream(streamName);
      persist({ t: 'delete', name: streamName });
      cb(null, {});
    },

    GetStream: (call, cb) => {
      const s = streams.get(call.request.name);
      if (!s)
        return cb(fail(grpc.status.NOT_FOUND, ENVELOPE(200, 'StreamNotFound', call.request.name)));
      cb(null, { stream: streamMessage(s) });
    },

    ListStreams: (_call, cb) => cb(null, { streams: [...streams.values()].map(streamMessage) }),

    ListShards: (call, cb) => {
      const s = streams.get(call.request.streamName);
      // §9.2/§9.3: a missing stream is a store NOTFOUND here → UNAVAILABLE with plain text.
      if (!s) return cb(fail(grpc.status.UNAVAILABLE, 'NOTFOUND: log not found'));
      cb(null, {
        shards: s.shards.map((sh) => ({
          streamName: s.name,
          shardId: sh.shardId,
          startHashRangeKey: sh.start.toString(),
          endHashRangeKey: sh.end.toString(),
          epoch: String(s.shardCount),
          isActive: true,
        })),
      });
    },

    DescribeCluster: (_call, cb) => {
      // One node; v0.15.2+ field numbering (§11). The version names the protocol generation
      // this double follows; the commit says what it is.
      const node = {
        id: 100,
        ...ownNode(),
        version: { version: '0.20.3', commit: 'sluice-stand-in' },
      };
      cb(null, {
        protocolVersion: '0.1.0',
        serverNodes: [node],
        serverNodesStatus: [{ node, state: 'Running' }],
        clusterUpTime: String(Math.floor((Date.now() - startedAt) / 1000)),
      });
    },

    LookupResource: (call, cb) => {
      // §8: no existence check; resource-id rules only (error code per resource type).
      const { resType, resId } = call.request;
      const problem = resourceIdProblem(resId);
      if (problem) {
        const code =
          {
            ResStream: 204,
            ResSubscription: 304,
            ResShardReader: 900,
            ResConnector: 603,
            ResQuery: 404,
            ResView: 503,
          }[resType as string] ?? 0;
        return cb(
          fail(grpc.status.INVALID_ARGUMENT, ENVELOPE(code, 'InvalidObjectIdentifier', problem)),
        );
      }
      stats.lookups++;
      cb(null, { id: 100, ...core.lookupNode() });
    },

    ...readers.handlers,
    ...subscriptions.handlers,

    LookupShard: (call, cb) => {
      // §8: no existence check; answers the configured (or own) node.
      stats.lookups++;
      const node = api.lookupNode ?? { host, port: listenPort };
      cb(null, {
        shardId: call.request.shardId,
        serverNode: { id: 100, host: node.host, port: node.port },
      });
    },

    Append: (call, cb) => {
      const run = () => {
        const { shardId, records } = call.request;
        const reject = (e: grpc.ServiceError) => {
          stats.rejectedAppends++;
          cb(e);
        };
        if (!records || records.batchSize === 0 || records.payload.length === 0)
          return reject(
            fail(
              grpc.status.INVALID_ARGUMENT,
              ENVELOPE(206, "BatchedRecord shouldn't be Nothing", null),
            ),
          );
        const size =
          batchedRecordSize(
            COMPRESSION[records.compressionType] ?? 'none',
            records.batchSize,
            records.payload.length,
          ) + (records.publishTime ? 12 : 0);
        if (size > maxRecordSize)
          return reject(
            fail(
              grpc.status.INVALID_ARGUMENT,
              ENVELOPE(207, 'Record size exceeds the maximum size limit', size),
            ),
          );
        if (faults.wrongServerAppends > 0) {
          faults.wrongServerAppends--;
          return reject(
            fail(
              grpc.status.FAILED_PRECONDITION,
              ENVELOPE(800, 'WrongServer', 'Shard is bound to a different node (injected)'),
            ),
          );
        }
        if (faults.unavailableAppends > 0) {
          faults.unavailableAppends--;
          return reject(
            fail(grpc.status.UNAVAILABLE, 'NOSEQUENCER: no sequencer available (injected)'),
          );
        }
        const sh = shards.get(shardId);
        if (!sh) return reject(fail(grpc.status.UNAVAILABLE, 'NOTFOUND: log not found'));
        if (strict) {
          const problem = strictCheck(sh, records);
          if (problem) {
            stats.strictViolations++;
            return reject(
              fail(grpc.status.INVALID_ARGUMENT, ENVELOPE(0, `strict: ${problem}`, null)),
            );
          }
        }
        const lsn = (BigInt(epoch) << 32n) | BigInt(++sh.seq);
        const now = Date.now();
        const stored: StoredBatch = {
          lsn,
          publishTimeMs: now,
          compressionType: records.compressionType,
          batchSize: records.batchSize,
          payload: Buffer.from(records.payload),
        };
        persist({
          t: 'append',
          shard: sh.shardId,
          lsn: lsn.toString(),
          ts: now,
          c: stored.compressionType,
          n: stored.batchSize,
          p: stored.payload.toString('base64'),
        });
        sh.batches.push(stored);
        stats.appends++;
        stats.appendedRecords += records.batchSize;
        // uint64s as {low, high} words: protobufjs takes them without parsing decimal text
        // (1,000 ids per append otherwise dominate this process's profile).
        const shardWords = longWords(BigInt(sh.shardId));
        const batchWords = longWords(lsn);
        const recordIds = new Array(records.batchSize);
        for (let i = 0; i < records.batchSize; i++)
          recordIds[i] = { shardId: shardWords, batchId: batchWords, batchIndex: i };
        cb(null, { streamName: call.request.streamName, shardId: sh.shardId, recordIds });
        for (const w of waiters) w();
      };
      const held = (): void => {
        if (faults.holdAppends) setTimeout(held, 5);
        else if (faults.appendDelayMs > 0) setTimeout(run, faults.appendDelayMs);
        else run();
      };
      held();
    },

    GetTailRecordId: (call, cb) => {
      const sh = shards.get(call.request.shardId);
      if (!sh) return cb(fail(grpc.status.NOT_FOUND, shardNotFound(call.request.shardId)));
      const last = sh.batches[sh.batches.length - 1];
      cb(null, {
        tailRecordId: {
          shardId: sh.shardId,
          batchId: last ? last.lsn.toString() : '0',
          batchIndex: 0,
        },
      });
    },

    ReadShardStream: (call) => {
      const req = call.request;
      const sh = shards.get(req.shardId);
      if (!sh) {
        call.emit('error', fail(grpc.status.NOT_FOUND, shardNotFound(req.shardId)));
        return;
      }
      let from: bigint;
      let untilLsn: bigint | undefined;
      try {
        from = offsetLsn(req.from, sh, 'from') ?? 0n;
        untilLsn = offsetLsn(req.until, sh, 'until');
      } catch (err) {
        call.emit('error', err as grpc.ServiceError);
        return;
      }
      const max = Number(req.maxReadBatches);
      let sent = 0;
      let cursor = batchIndexAt(sh, from);
      const pump = (): boolean => {
        while (true) {
          const chunk: ReceivedRecord[] = [];
          while (chunk.length < 10 && cursor < sh.batches.length) {
            if (max > 0 && sent >= max) break;
            const b = sh.batches[cursor]!;
            if (untilLsn !== undefined && b.lsn > untilLsn) break;
            chunk.push(receivedRecord(sh, b));
            cursor++;
            sent++;
          }
          if (chunk.length) call.write({ receivedRecords: chunk });
          const done =
            (max > 0 && sent >= max) ||
            (untilLsn !== undefined &&
              (cursor >= sh.batches.length || sh.batches[cursor]!.lsn > untilLsn));
          if (done) {
            call.end();
            return true;
          }
          if (chunk.length === 0) return false;
        }
      };
      if (pump()) return;
      // until unset: keep the stream open and push new batches as they arrive (§10).
      const waiter = () => {
        if (pump()) waiters.delete(waiter);
      };
      waiters.add(waiter);
      call.on('cancelled', () => waiters.delete(waiter));
      call.on('close', () => waiters.delete(waiter));
    },
  };

  function streamMessage(s: StreamState) {
    return {
      streamName: s.name,
      replicationFactor: s.replicationFactor,
      backlogDuration: s.backlogDuration,
      shardCount: s.shardCount,
      creationTime: toTimestamp(s.creationTimeMs),
    };
  }

  server.addService(hstreamProto().hstream.server.HStreamApi.service, handlers);
  listenPort = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      `${host}:${opts.port ?? 0}`,
      opts.tls
        ? grpc.ServerCredentials.createSsl(
            opts.tls.clientCa ?? null,
            [{ cert_chain: opts.tls.cert, private_key: opts.tls.key }],
            opts.tls.clientCa !== undefined,
          )
        : grpc.ServerCredentials.createInsecure(),
      (err, port) => (err ? reject(err) : resolve(port)),
    ),
  );

  const api: StandInServer = {
    port: listenPort,
    address: `${host}:${listenPort}`,
    streams,
    stats,
    faults,
    subscriptions: subscriptions.subscriptions,
    shardReaders: readers.readers,
    lookupNode: opts.lookupNode,
    deleteStream: (name) => {
      const ok = removeStream(name);
      if (ok) persist({ t: 'delete', name });
      return ok;
    },
    records: (stream) => {
      const s = streams.get(stream);
      if (!s) return [];
      const out: Array<{
        shardId: string;
        key: string;
        payload: Buffer;
        lsn: bigint;
        index: number;
      }> = [];
      for (const sh of s.shards)
        for (const b of sh.batches)
          decodeStored(b).forEach((r, index) =>
            out.push({ shardId: sh.shardId, key: r.key, payload: r.payload, lsn: b.lsn, index }),
          );
      return out;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        readers.stop();
        subscriptions.stop();
        for (const w of waiters) waiters.delete(w);
        server.tryShutdown(() => resolve());
        setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2000).unref();
      }),
  };
  return api;
}
