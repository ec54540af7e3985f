/**
 * The read side of HStreamDB's API over an `HStreamClient` (hstream-protocol.md §3.1, §3.6,
 * §3.7): cluster description, lookups, named shard readers and subscriptions with a
 * StreamingFetch consumer. The sink never reads; this exists so tests, tools and examples can
 * consume a stream the way HStreamDB's own clients do (and check the stand-in against them).
 * Errors are coded SluiceErrors (grpc-errors.ts); `context.hstreamError` carries the server's
 * error number.
 */
import type { HStreamClient } from './client.js';
import { fromGrpcError } from './grpc-errors.js';
import { decodeReceivedRecord, type ReadRecord } from './received.js';
import type { DescribeClusterResponse__Output } from './generated/hstream/server/DescribeClusterResponse.js';
import type { ServerNode__Output } from './generated/hstream/server/ServerNode.js';
import type { ShardOffset } from './generated/hstream/server/ShardOffset.js';
import type { Subscription__Output } from './generated/hstream/server/Subscription.js';
import type { ReceivedRecord__Output } from './generated/hstream/server/ReceivedRecord.js';
import type { RecordId } from './generated/hstream/server/RecordId.js';
import type { StreamingFetchResponse__Output } from './generated/hstream/server/StreamingFetchResponse.js';
import type { SluiceError } from '../../core/index.js';

export type ResourceType =
  | 'ResStream'
  | 'ResSubscription'
  | 'ResShard'
  | 'ResShardReader'
  | 'ResConnector'
  | 'ResQuery'
  | 'ResView';

export interface SubscriptionOptions {
  /** Seconds before an unacknowledged record is sent again (server CLI default 60). */
  ackTimeoutSeconds?: number;
  /** The server stops sending while this many records are unacknowledged (CLI default 10000). */
  maxUnackedRecords?: number;
  /** Where a new subscription starts (default EARLIEST, the proto default). */
  offset?: 'EARLIEST' | 'LATEST';
}

/** One delivery of a StreamingFetch consumer: a decoded batch and the raw batch as received. */
export interface Delivery {
  records: ReadRecord[];
  raw: ReceivedRecord__Output;
}

export interface Consumer {
  /** Acknowledge records (by their ids) — they are not sent again. */
  ack(ids: ReadonlyArray<Pick<ReadRecord, 'shardId' | 'batchId' | 'batchIndex'>>): void;
  /** Half-close the call (the server then forgets this consumer) and wait for its end. */
  close(): Promise<void>;
  /** Resolves when the call ended normally, rejects with the coded error it failed with. */
  readonly done: Promise<void>;
}

export class HStreamReadApi {
  constructor(private readonly client: HStreamClient) {}

  describeCluster(): Promise<DescribeClusterResponse__Output> {
    return this.client.call('DescribeCluster', {});
  }

  lookupResource(resType: ResourceType, resId: string): Promise<ServerNode__Output> {
    return this.client.call('LookupResource', { resType, resId }, { resType, resId });
  }

  async createShardReader(o: {
    readerId: string;
    streamName: string;
    shardId: string;
    /** Unset = from the earliest record. */
    offset?: ShardOffset;
    /** ms a ReadShard may wait for `maxRecords` batches. */
    timeoutMs?: number;
  }): Promise<void> {
    await this.client.call(
      'CreateShardReader',
      {
        readerId: o.readerId,
        streamName: o.streamName,
        shardId: o.shardId,
        ...(o.offset ? { shardOffset: o.offset } : {}),
        timeout: o.timeoutMs ?? 0,
      },
      { readerId: o.readerId },
    );
  }

  /** ReadShard: up to `maxBatches` stored batches, decoded (`[]` after the reader timeout). */
  async readShardReader(readerId: string, maxBatches: number): Promise<ReadRecord[]> {
    const res = await this.client.call<{ receivedRecords: ReceivedRecord__Output[] }>(
      'ReadShard',
      { readerId, maxRecords: maxBatches },
      { readerId },
    );
    return res.receivedRecords.flatMap((rr) => decodeReceivedRecord(rr));
  }

  async deleteShardReader(readerId: string): Promise<void> {
    await this.client.call('DeleteShardReader', { readerId }, { readerId });
  }

  async listShardReaders(): Promise<string[]> {
    return (await this.client.call<{ readerId: string[] }>('ListShardReaders', {})).readerId;
  }

  async lookupShardReader(readerId: string): Promise<ServerNode__Output | null> {
    const res = await this.client.call<{ serverNode: ServerNode__Output | null }>(
      'LookupShardReader',
      { readerId },
    );
    return res.serverNode;
  }

  createSubscription(
    subscriptionId: string,
    streamName: string,
    o: SubscriptionOptions = {},
  ): Promise<Subscription__Output> {
    return this.client.call(
      'CreateSubscription',
      {
        subscriptionId,
        streamName,
        ackTimeoutSeconds: o.ackTimeoutSeconds ?? 60,
        maxUnackedRecords: o.maxUnackedRecords ?? 10_000,
        offset: o.offset ?? 'EARLIEST',
      },
      { subscriptionId },
    );
  }

  async listSubscriptions(): Promise<Subscription__Output[]> {
    return (
      await this.client.call<{ subscription: Subscription__Output[] }>('ListSubscriptions', {})
    ).subscription;
  }

  async subscriptionExists(subscriptionId: string): Promise<boolean> {
    return (
      await this.client.call<{ exists: boolean }>('CheckSubscriptionExist', { subscriptionId })
    ).exists;
  }

  async deleteSubscription(subscriptionId: string, force = false): Promise<void> {
    await this.client.call('DeleteSubscription', { subscriptionId, force }, { subscriptionId });
  }

  async lookupSubscription(subscriptionId: string): Promise<ServerNode__Output | null> {
    const res = await this.client.call<{ serverNode: ServerNode__Output | null }>(
      'LookupSubscription',
      { subscriptionId },
    );
    return res.serverNode;
  }

  /**
   * Join a subscription as `consumerName` (StreamingFetch, §3.7): `onDelivery` gets every batch
   * the server pushes, acknowledging is up to the caller (`consumer.ack`).
   */
  consume(
    subscriptionId: string,
    consumerName: string,
    onDelivery: (d: Delivery, consumer: Consumer) => void,
  ): Consumer {
    const call = this.client.openStreamingFetch();
    let ended = false;
    const done = new Promise<void>((resolve, reject) => {
      call.on('data', (msg: StreamingFetchResponse__Output) => {
        const rr = msg.receivedRecords;
        if (rr) onDelivery({ records: decodeReceivedRecord(rr), raw: rr }, consumer);
      });
      call.on('error', (err) => {
        ended = true;
        if ((err as { code?: number }).code === 1 /* CANCELLED by close() */) resolve();
        else
          reject(
            fromGrpcError(err, 'StreamingFetch', { subscriptionId, consumerName }) as SluiceError,
          );
      });
      call.on('end', () => {
        ended = true;
        resolve();
      });
    });
    done.catch(() => undefined); // observed through `consumer.done`
    const consumer: Consumer = {
      done,
      ack: (ids) => {
        if (ended || ids.length === 0) return;
        const ackIds: RecordId[] = ids.map((i) => ({
          shardId: i.shardId,
          batchId: i.batchId,
          batchIndex: i.batchIndex,
        }));
        call.write({ subscriptionId, consumerName, ackIds });
      },
      close: async () => {
        if (!ended) call.end();
        await done.catch(() => undefined);
      },
    };
    call.write({ subscriptionId, consumerName, ackIds: [] });
    return consumer;
  }
}
