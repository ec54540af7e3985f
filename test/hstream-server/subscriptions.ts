/**
 * TEST DOUBLE: subscriptions and StreamingFetch of the stand-in (hstream-protocol.md §3.7), after
 * the server's `HStream.Server.Core.Subscription` (single node):
 *
 *  - CreateSubscription: INVALID_ARGUMENT 304 for a bad id; FAILED_PRECONDITION 302
 *    `NonExistentStream` for a missing stream; ALREADY_EXISTS 301 `SubscriptionExists`.
 *    `offset` EARLIEST starts at the first record, LATEST at tail + 1 of each shard at creation.
 *  - ListSubscriptions, CheckSubscriptionExist, LookupSubscription (no existence check).
 *  - DeleteSubscription: NOT_FOUND 300 `SubscriptionNotFound`; FAILED_PRECONDITION 305
 *    `FoundActiveConsumers` while consumers are connected unless `force`, which ends their
 *    StreamingFetch calls with ABORTED `SubscriptionInvalidError`.
 *  - StreamingFetch: the first request names subscription and consumer (NOT_FOUND 300 for an
 *    unknown subscription, ALREADY_EXISTS `ConsumerExists` for a name already connected). Each
 *    shard is assigned to one consumer (new consumers take shards from the busiest); each
 *    response carries ONE stored batch exactly as stored (compression untouched). New batches
 *    stop while the subscription's unacked record count is ≥ `maxUnackedRecords` (a batch is
 *    never split, so the count can pass the limit by less than one batch, as on the server,
 *    which checks before reading). Acks (`ackIds`) free that budget; a record not acked within
 *    `ackTimeoutSeconds` is sent again — to whichever consumer owns its shard then — in a batch
 *    rebuilt from the still-unacked records (same compression, ids of those records only), as
 *    the server's resend path does. Progress survives consumers leaving (the server keeps the
 *    subscription context in memory); ack ids naming no delivered record are ignored.
 *
 * Not modelled: checkpoints in the store (a restarted stand-in forgets subscriptions), the owner
 * check (the real server has it commented out for StreamingFetch), consumer URIs/agents.
 */
import {
  compress,
  encodeBatch,
  grpc,
  type HStreamApiHandlers,
  type ReceivedRecord,
  type StreamingFetchRequest__Output,
  type StreamingFetchResponse,
} from '../../src/sinks/hstream/index.js';
import {
  COMPRESSION,
  decodeStored,
  ENVELOPE,
  fail,
  nameProblem,
  receivedRecord,
  toTimestamp,
  type ShardState,
  type StandInCore,
  type StoredBatch,
} from './common.js';

interface Consumer {
  name: string;
  call: grpc.ServerDuplexStream<StreamingFetchRequest__Output, StreamingFetchResponse>;
  closed: boolean;
}

interface SubShard {
  shard: ShardState;
  /** Index of the next stored batch to deliver for the first time. */
  next: number;
  owner: string | undefined;
}

interface Pending {
  sub: SubShard;
  batch: StoredBatch;
  unacked: Set<number>;
  deadline: number;
}

export interface SubscriptionState {
  id: string;
  stream: string;
  ackTimeoutSeconds: number;
  maxUnackedRecords: number;
  offset: 'EARLIEST' | 'LATEST';
  creationTimeMs: number;
  shards: SubShard[];
  /** Delivered batches with records not acked yet, by `shardId/batchId`. */
  pending: Map<string, Pending>;
  unacked: number;
  consumers: Map<string, Consumer>;
  stats: { delivered: number; redelivered: number; acked: number; ignoredAcks: number };
}

type SubscriptionHandlers = Pick<
  HStreamApiHandlers,
  | 'CreateSubscription'
  | 'ListSubscriptions'
  | 'CheckSubscriptionExist'
  | 'DeleteSubscription'
  | 'LookupSubscription'
  | 'StreamingFetch'
>;

const RESEND_TICK_MS = 100; // the server's resend clock ticks every 100 ms

export function createSubscriptionHandlers(core: StandInCore): {
  handlers: SubscriptionHandlers;
  subscriptions: Map<string, SubscriptionState>;
  stop(): void;
} {
  const subs = new Map<string, SubscriptionState>();

  const message = (s: SubscriptionState) => ({
    subscriptionId: s.id,
    streamName: s.stream,
    ackTimeoutSeconds: s.ackTimeoutSeconds,
    maxUnackedRecords: s.maxUnackedRecords,
    offset: s.offset,
    creationTime: toTimestamp(s.creationTimeMs),
  });

  const send = (c: Consumer, rr: ReceivedRecord): boolean => {
    if (c.closed) return false;
    c.call.write({ receivedRecords: rr });
    return true;
  };

  /** Give shards without a live owner to the least busy consumer; rebalance after a join. */
  const assign = (s: SubscriptionState) => {
    const live = [...s.consumers.keys()];
    const load = new Map(live.map((n) => [n, 0]));
    for (const ss of s.shards) {
      if (ss.owner !== undefined && !load.has(ss.owner)) ss.owner = undefined;
      if (ss.owner !== undefined) load.set(ss.owner, load.get(ss.owner)! + 1);
    }
    if (live.length === 0) return;
    const least = () => [...load.entries()].sort((a, b) => a[1] - b[1])[0]!;
    for (const ss of s.shards) {
      if (ss.owner !== undefined) continue;
      const [n] = least();
      ss.owner = n;
      load.set(n, load.get(n)! + 1);
    }
    // Move shards from the busiest to the idlest until loads differ by at most one.
    for (;;) {
      const sorted = [...load.entries()].sort((a, b) => a[1] - b[1]);
      const [lo, loN] = sorted[0]!;
      const [hi, hiN] = sorted[sorted.length - 1]!;
      if (hiN - loN <= 1) break;
      const ss = s.shards.find((x) => x.owner === hi)!;
      ss.owner = lo;
      load.set(lo, loN + 1);
      load.set(hi, hiN - 1);
    }
  };

  /** Deliver new batches, one shard after the other in turn, within maxUnackedRecords. */
  const pump = (s: SubscriptionState) => {
    for (let progress = true; progress;) {
      progress = false;
      for (const ss of s.shards) {
        if (s.unacked >= s.maxUnackedRecords) return;
        const c = ss.owner !== undefined ? s.consumers.get(ss.owner) : undefined;
        if (!c || ss.next >= ss.shard.batches.length) continue;
        const b = ss.shard.batches[ss.next]!;
        if (!send(c, receivedRecord(ss.shard, b))) continue;
        ss.next++;
        s.pending.set(`${ss.shard.shardId}/${b.lsn}`, {
          sub: ss,
          batch: b,
          unacked: new Set(Array.from({ length: b.batchSize }, (_, i) => i)),
          deadline: Date.now() + s.ackTimeoutSeconds * 1000,
        });
        s.unacked += b.batchSize;
        s.stats.delivered += b.batchSize;
        progress = true;
      }
    }
  };

  /** The still-unacked records of a batch, rebuilt as the server's resend path does. */
  const resendRecord = (p: Pending): ReceivedRecord => {
    const full = receivedRecord(p.sub.shard, p.batch);
    if (p.unacked.size === p.batch.batchSize) return full;
    const idx = [...p.unacked].sort((a, b) => a - b);
    const records = decodeStored(p.batch);
    const payload = compress(
      encodeBatch(idx.map((i) => records[i]!)),
      COMPRESSION[p.batch.compressionType] ?? 'none',
    );
    return {
      recordIds: idx.map((i) => full.recordIds![i]!),
      record: { ...full.record!, batchSize: idx.length, payload },
    };
  };

  const tick = () => {
    const now = Date.now();
    for (const s of subs.values()) {
      for (const p of s.pending.values()) {
        if (p.deadline > now) continue;
        p.deadline = now + s.ackTimeoutSeconds * 1000;
        const c = p.sub.owner !== undefined ? s.consumers.get(p.sub.owner) : undefined;
        if (c && send(c, resendRecord(p))) s.stats.redelivered += p.unacked.size;
      }
    }
  };
  const timer = setInterval(tick, RESEND_TICK_MS);
  timer.unref();

  const ack = (s: SubscriptionState, ids: StreamingFetchRequest__Output['ackIds']) => {
    for (const id of ids) {
      const p = s.pending.get(`${id.shardId}/${id.batchId}`);
      if (!p || !p.unacked.delete(id.batchIndex)) {
        s.stats.ignoredAcks++;
        continue;
      }
      s.unacked--;
      s.stats.acked++;
      if (p.unacked.size === 0) s.pending.delete(`${id.shardId}/${id.batchId}`);
    }
  };

  const leave = (s: SubscriptionState, c: Consumer) => {
    if (c.closed) return;
    c.closed = true;
    if (s.consumers.get(c.name) === c) s.consumers.delete(c.name);
    assign(s);
    pump(s);
  };

  const handlers: SubscriptionHandlers = {
    CreateSubscription: (call, cb) => {
      const r = call.request;
      const problem = nameProblem(r.subscriptionId);
      if (problem)
        return cb(
          fail(grpc.status.INVALID_ARGUMENT, ENVELOPE(304, 'InvalidObjectIdentifier', problem)),
        );
      const stream = core.streams.get(r.streamName);
      if (!stream)
        return cb(
          fail(grpc.status.FAILED_PRECONDITION, ENVELOPE(302, 'NonExistentStream', r.streamName)),
        );
      if (subs.has(r.subscriptionId))
        return cb(
          fail(grpc.status.ALREADY_EXISTS, ENVELOPE(301, 'SubscriptionExists', r.subscriptionId)),
        );
      const s: SubscriptionState = {
        id: r.subscriptionId,
        stream: r.streamName,
        ackTimeoutSeconds: r.ackTimeoutSeconds,
        maxUnackedRecords: r.maxUnackedRecords,
        offset: r.offset === 'LATEST' ? 'LATEST' : 'EARLIEST',
        creationTimeMs: Date.now(),
        shards: stream.shards.map((sh) => ({
          shard: sh,
          next: r.offset === 'LATEST' ? sh.batches.length : 0,
          owner: undefined,
        })),
        pending: new Map(),
        unacked: 0,
        consumers: new Map(),
        stats: { delivered: 0, redelivered: 0, acked: 0, ignoredAcks: 0 },
      };
      subs.set(s.id, s);
      cb(null, message(s));
    },

    ListSubscriptions: (_call, cb) => cb(null, { subscription: [...subs.values()].map(message) }),

    CheckSubscriptionExist: (call, cb) =>
      cb(null, { exists: subs.has(call.request.subscriptionId) }),

    LookupSubscription: (call, cb) =>
      cb(null, {
        subscriptionId: call.request.subscriptionId,
        serverNode: { id: 100, ...core.lookupNode() },
      }),

    DeleteSubscription: (call, cb) => {
      const { subscriptionId, force } = call.request;
      const s = subs.get(subscriptionId);
      if (!s)
        return cb(
          fail(grpc.status.NOT_FOUND, ENVELOPE(300, 'SubscriptionNotFound', subscriptionId)),
        );
      if (s.consumers.size > 0 && !force)
        return cb(
          fail(
            grpc.status.FAILED_PRECONDITION,
            ENVELOPE(305, 'FoundActiveConsumers', 'Subscription still has active consumers'),
          ),
        );
      subs.delete(subscriptionId);
      for (const c of s.consumers.values()) {
        c.closed = true;
        c.call.emit(
          'error',
          fail(
            grpc.status.ABORTED,
            ENVELOPE(0, 'SubscriptionInvalidError', 'Invalid Subscription'),
          ),
        );
      }
      s.consumers.clear();
      cb(null, {});
    },

    StreamingFetch: (call) => {
      let consumer: Consumer | undefined;
      let sub: SubscriptionState | undefined;
      call.on('data', (req: StreamingFetchRequest__Output) => {
        if (!consumer) {
          sub = subs.get(req.subscriptionId);
          if (!sub) {
            call.emit(
              'error',
              fail(
                grpc.status.NOT_FOUND,
                ENVELOPE(300, 'SubscriptionNotFound', req.subscriptionId),
              ),
            );
            return;
          }
          if (sub.consumers.has(req.consumerName)) {
            call.emit(
              'error',
              fail(grpc.status.ALREADY_EXISTS, ENVELOPE(0, 'ConsumerExists', req.consumerName)),
            );
            return;
          }
          consumer = { name: req.consumerName, call, closed: false };
          sub.consumers.set(consumer.name, consumer);
          assign(sub);
        }
        if (consumer.closed || subs.get(sub!.id) !== sub) return;
        ack(sub!, req.ackIds);
        pump(sub!);
      });
      const gone = () => {
        if (consumer && sub) leave(sub, consumer);
      };
      call.on('end', () => {
        gone();
        call.end();
      });
      call.on('cancelled', gone);
      call.on('close', gone);
      call.on('error', gone);
    },
  };

  // Batches appended later reach the consumers of every subscription.
  const onAppend = () => {
    for (const s of subs.values()) if (s.consumers.size) pump(s);
  };
  core.waiters.add(onAppend);

  return {
    handlers,
    subscriptions: subs,
    stop: () => {
      clearInterval(timer);
      core.waiters.delete(onAppend);
      for (const s of subs.values())
        for (const c of s.consumers.values()) {
          c.closed = true;
          c.call.end();
        }
    },
  };
}
