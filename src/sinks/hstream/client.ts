/**
 * A small HStreamDB client over @grpc/grpc-js (hstream-protocol.md §1–§10). One grpc-js client
 * (= channel) per server address, created lazily and shared; every call carries a deadline;
 * errors are mapped to coded SluiceErrors (grpc-errors.ts). grpc-js reconnects channels by
 * itself; a call on a broken channel fails UNAVAILABLE, which is retriable.
 *
 * Ownership (§8): LookupShard names the node the cluster prefers for a shard; the returned
 * address goes through `remap` (containers advertise addresses the host cannot reach) before it
 * is dialled. Appends are not owner-checked by the real server, so with `followLookups: false`
 * everything goes to the bootstrap server.
 */
import type { SluiceError } from '../../core/index.js';
import { HStreamErrors } from './errors.js';
import { fromGrpcError } from './grpc-errors.js';
import { grpc, hstreamProto, type HStreamApiClient } from './proto.js';
import { decodeAppendAck, type AppendAck } from './record-codec.js';
import { endpointAddress, type Endpoint } from './url.js';
import type { BatchedRecord } from './generated/hstream/server/BatchedRecord.js';
import type { Shard__Output } from './generated/hstream/server/Shard.js';
import type { Stream__Output } from './generated/hstream/server/Stream.js';
import type { ShardOffset } from './generated/hstream/server/ShardOffset.js';
import type { ReadShardStreamResponse__Output } from './generated/hstream/server/ReadShardStreamResponse.js';
import type { StreamingFetchRequest } from './generated/hstream/server/StreamingFetchRequest.js';
import type { StreamingFetchResponse__Output } from './generated/hstream/server/StreamingFetchResponse.js';
import { decodeReceivedRecord } from './received.js';

export interface TlsFiles {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  /** TLS server name to verify (SNI / target name override), e.g. when `remap` changes hosts. */
  serverName?: string;
}

export interface HStreamClientOptions {
  endpoints: readonly Endpoint[];
  tls?: TlsFiles;
  /** Deadline (ms) for control calls: Echo, streams, shards, lookups. */
  timeoutMs: number;
  /** Deadline (ms) for Append calls. */
  appendTimeoutMs: number;
  /** Rewrite an address returned by a lookup before dialling it (hstreamdb_erl `host_mapping`). */
  remap?: (node: { host: string; port: number }) => { host: string; port: number };
  /** Send appends to the node LookupShard names (default true, as EMQX does). */
  followLookups?: boolean;
  /** Authorization metadata, e.g. `Basic base64(user:pass)` (§1 Auth). */
  authorization?: string;
}

export interface CreateStreamOptions {
  replicationFactor: number;
  shardCount: number;
  /** Retention in seconds (0 = unlimited). */
  backlogDuration: number;
}

export type { ReadRecord } from './received.js';
import type { ReadRecord } from './received.js';

let ctor:
  | (new (
      address: string,
      creds: grpc.ChannelCredentials,
      options: grpc.ChannelOptions,
    ) => HStreamApiClient)
  | undefined;

/** HStreamApi client class whose Append decodes its response with `decodeAppendAck`. */
function clientConstructor() {
  if (!ctor) {
    const svc = hstreamProto().hstream.server.HStreamApi.service;
    const methods = { ...svc, Append: { ...svc.Append, responseDeserialize: decodeAppendAck } };
    ctor = grpc.makeGenericClientConstructor(
      methods as grpc.ServiceDefinition,
      'HStreamApi',
    ) as unknown as typeof ctor;
  }
  return ctor!;
}

type Unary<Req, Res> = (
  req: Req,
  meta: grpc.Metadata,
  opts: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res?: Res) => void,
) => grpc.ClientUnaryCall;

export class HStreamClient {
  private readonly clients = new Map<string, HStreamApiClient>();
  private readonly credentials: grpc.ChannelCredentials;
  private bootstrap: string | undefined;
  private closed = false;

  constructor(private readonly opts: HStreamClientOptions) {
    const tlsWanted = opts.endpoints.some((e) => e.tls);
    this.credentials = tlsWanted
      ? grpc.credentials.createSsl(
          opts.tls?.ca ?? null,
          opts.tls?.key ?? null,
          opts.tls?.cert ?? null,
        )
      : grpc.credentials.createInsecure();
  }

  /** The address every non-shard call goes to; set by `connect()`. */
  get bootstrapAddress(): string | undefined {
    return this.bootstrap;
  }

  private clientFor(address: string): HStreamApiClient {
    if (this.closed) throw HStreamErrors.hstream_closed('HStreamDB client is closed');
    let c = this.clients.get(address);
    if (!c) {
      const Ctor = clientConstructor();
      const options: grpc.ChannelOptions = {
        'grpc.max_receive_message_length': 64 * 1024 * 1024,
        'grpc.max_send_message_length': 8 * 1024 * 1024,
        'grpc.keepalive_time_ms': 30_000,
        'grpc.initial_reconnect_backoff_ms': 100,
        'grpc.max_reconnect_backoff_ms': 2_000,
      };
      if (this.opts.tls?.serverName)
        options['grpc.ssl_target_name_override'] = this.opts.tls.serverName;
      c = new Ctor(address, this.credentials, options);
      this.clients.set(address, c);
    }
    return c;
  }

  /**
   * Any unary RPC on the bootstrap server (the read API in read-api.ts is built on it); errors are
   * coded SluiceErrors like every other call.
   */
  call<Res>(method: string, req: unknown, context?: Record<string, unknown>): Promise<Res> {
    return this.unary<unknown, Res>(this.boot, method, req, this.opts.timeoutMs, context);
  }

  /** Open a StreamingFetch call (bidi, no deadline: it lives as long as the consumer). */
  openStreamingFetch(): grpc.ClientDuplexStream<
    StreamingFetchRequest,
    StreamingFetchResponse__Output
  > {
    const meta = new grpc.Metadata();
    if (this.opts.authorization) meta.set('authorization', this.opts.authorization);
    return this.clientFor(this.boot).StreamingFetch(meta);
  }

  private unary<Req, Res>(
    address: string,
    method: string,
    req: Req,
    timeoutMs: number,
    context?: Record<string, unknown>,
  ): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      let client: HStreamApiClient;
      try {
        client = this.clientFor(address);
      } catch (err) {
        reject(err as SluiceError);
        return;
      }
      const fn = (client as unknown as Record<string, Unary<Req, Res>>)[method]!;
      const meta = new grpc.Metadata();
      if (this.opts.authorization) meta.set('authorization', this.opts.authorization);
      fn.call(client, req, meta, { deadline: Date.now() + timeoutMs }, (err, res) => {
        if (err) reject(fromGrpcError(err, method, { server: address, ...context }));
        else resolve(res as Res);
      });
    });
  }

  private get boot(): string {
    if (!this.bootstrap)
      throw HStreamErrors.hstream_unavailable('HStreamDB client not connected', {
        context: { reconnect: true },
      });
    return this.bootstrap;
  }

  /** Echo round-trip (the liveness check EMQX uses, §1). */
  async echo(address = this.boot, msg = 'sluice'): Promise<void> {
    const res = await this.unary<{ msg: string }, { msg: string }>(
      address,
      'Echo',
      { msg },
      this.opts.timeoutMs,
    );
    if (res.msg !== msg)
      throw HStreamErrors.hstream_echo_mismatch(
        `Echo from ${address} answered ${JSON.stringify(res.msg)}`,
      );
  }

  /** Echo the configured endpoints in order; the first that answers becomes the bootstrap. */
  async connect(): Promise<string> {
    let last: unknown;
    for (const e of this.opts.endpoints) {
      const address = endpointAddress(e);
      try {
        await this.echo(address);
        this.bootstrap = address;
        return address;
      } catch (err) {
        last = err;
      }
    }
    throw last;
  }

  /** GetStream; undefined when the stream does not exist. */
  async getStream(name: string): Promise<Stream__Output | undefined> {
    try {
      const res = await this.unary<{ name: string }, { stream: Stream__Output | null }>(
        this.boot,
        'GetStream',
        { name },
        this.opts.timeoutMs,
      );
      return res.stream ?? undefined;
    } catch (err) {
      if ((err as SluiceError).code === 'hstream_stream_not_found') return undefined;
      throw err;
    }
  }

  /** CreateStream; resolves false when it already existed (ALREADY_EXISTS, error 201). */
  async createStream(name: string, o: CreateStreamOptions): Promise<boolean> {
    try {
      await this.unary(
        this.boot,
        'CreateStream',
        {
          streamName: name,
          replicationFactor: o.replicationFactor,
          shardCount: o.shardCount,
          backlogDuration: o.backlogDuration,
        },
        this.opts.timeoutMs,
      );
      return true;
    } catch (err) {
      if ((err as SluiceError).context['grpcStatus'] === 'ALREADY_EXISTS') return false;
      throw err;
    }
  }

  async deleteStream(
    name: string,
    o: { ignoreNonExist?: boolean; force?: boolean } = {},
  ): Promise<void> {
    await this.unary(
      this.boot,
      'DeleteStream',
      { streamName: name, ignoreNonExist: o.ignoreNonExist ?? false, force: o.force ?? false },
      this.opts.timeoutMs,
    );
  }

  async listShards(stream: string): Promise<Shard__Output[]> {
    const res = await this.unary<{ streamName: string }, { shards: Shard__Output[] }>(
      this.boot,
      'ListShards',
      { streamName: stream },
      this.opts.timeoutMs,
      { stream },
    );
    return res.shards;
  }

  /** The address appends for `shardId` should go to (after `remap`). */
  async lookupShard(shardId: string): Promise<string> {
    if (this.opts.followLookups === false) return this.boot;
    const res = await this.unary<
      { shardId: string },
      { serverNode: { host: string; port: number } | null }
    >(this.boot, 'LookupShard', { shardId }, this.opts.timeoutMs, { shardId });
    if (!res.serverNode) return this.boot;
    const node = this.opts.remap ? this.opts.remap(res.serverNode) : res.serverNode;
    return endpointAddress(node);
  }

  /** Append one BatchedRecord to a shard; resolves with the server's acknowledgement. */
  append(
    address: string,
    streamName: string,
    shardId: string,
    records: BatchedRecord,
  ): Promise<AppendAck> {
    return this.unary<unknown, AppendAck>(
      address,
      'Append',
      { streamName, shardId, records },
      this.opts.appendTimeoutMs,
      { stream: streamName, shardId },
    );
  }

  /**
   * Read a shard with ReadShardStream (§10) from `from` (default earliest) until the tail seen at
   * call time, decoding every batch (decompressing per its compressionType). For tests, tools and
   * the examples; the sink itself never reads.
   */
  async readShard(
    shardId: string,
    o: {
      from?: ShardOffset;
      until?: ShardOffset;
      maxReadBatches?: number;
      timeoutMs?: number;
    } = {},
  ): Promise<ReadRecord[]> {
    const client = this.clientFor(this.boot);
    const call = client.ReadShardStream(
      {
        readerId: `sluice-read-${process.pid}-${Date.now()}`,
        shardId,
        from: o.from ?? { specialOffset: 'EARLIEST' },
        until: o.until ?? { specialOffset: 'LATEST' },
        maxReadBatches: o.maxReadBatches ?? 0,
      },
      { deadline: Date.now() + (o.timeoutMs ?? this.opts.timeoutMs) },
    );
    const out: ReadRecord[] = [];
    return new Promise<ReadRecord[]>((resolve, reject) => {
      call.on('data', (msg: ReadShardStreamResponse__Output) => {
        for (const rr of msg.receivedRecords) out.push(...decodeReceivedRecord(rr, shardId));
      });
      call.on('error', (err) => reject(fromGrpcError(err, 'ReadShardStream', { shardId })));
      call.on('end', () => resolve(out));
    });
  }

  close(): void {
    this.closed = true;
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
