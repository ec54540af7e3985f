/**
 * The `hstreamdb` sink adapter (sink contract: src/core/sink.ts). The shared runner does
 * batching, retries, buffering and metrics; this file maps records to shards and batches to
 * Append calls:
 *
 *  - `partitionKey(record)`: renders the partition-key template, hashes it to a shard
 *    (hstream-protocol.md §6) and returns the shard id (or shard lane when
 *    `max_inflight_per_shard` > 1), so the runner keeps one batch in flight per shard (lane) —
 *    per-key order, like hstreamdb_erl's one in-flight batch per (aggregator, shard) (§4.1).
 *  - `write(batch)`: encodes `BatchHStreamRecords` with RAW records (what EMQX writes, §3.2) or,
 *    with `record_type: hrecord`, JSON-flagged records whose payload is a protobuf Struct
 *    (struct-codec.ts, §4), compresses, splits at `max_batch_bytes` (server cap 1 MiB, §1) and appends, resolving only
 *    after the server acknowledged every record (at-least-once).
 *  - Failures: a retriable Append error makes the sink re-discover shards and owners at once
 *    (hstreamdb_erl re-discovers on every transient error, §4.2). If the stream is gone →
 *    `hstream_stream_not_found`, non-retriable: the batch is counted failed, the next batches
 *    check again (so a re-created stream is picked up without a restart — EMQX needed one).
 *    If the server itself is unreachable → `reconnect: true`, the runner parks batches and calls
 *    `connect()` with backoff. Otherwise the original retriable error → runner backoff + retry.
 *  - Per-record problems (template render error, one record over the size cap) reject only that
 *    record (`WriteResult.rejected`); the rest of the batch is written.
 */
import { readFileSync } from 'node:fs';
import {
  compileTemplate,
  encodeJson,
  isMap,
  renderText,
  toText,
  valueText,
  type CompiledTemplate,
  SluiceError,
  type Logger,
  type Sink,
  type SinkDeps,
  type SinkRecord,
  type Template,
  type Value,
  type WriteResult,
} from '../../core/index.js';
import { HStreamClient, type HStreamClientOptions } from './client.js';
import { HStreamErrors } from './errors.js';
import { ShardTable } from './hash.js';
import {
  batchedRecordSize,
  compress,
  COMPRESSION_ENUM,
  encodeBatch,
  encodedRecordSize,
  FLAG_JSON,
  FLAG_RAW,
  zstdAvailable,
  type HRecord,
} from './record-codec.js';
import type { HStreamSinkConfig } from './spec.js';
import { encodeStruct } from './struct-codec.js';
import { parseServerUrls } from './url.js';

interface Prepared {
  key: string;
  attributes?: Record<string, string>;
  /** Text payloads stay strings until encodeBatch writes them (one copy fewer). */
  payload: Buffer | string;
  flag: number;
  size: number;
}

interface Topology {
  table: ShardTable;
  /** shard id → address appends go to. */
  owners: Map<string, string>;
}

const PLACEHOLDER =
  /^\$\{(?:\$|\.?(?:[A-Za-z0-9_]+|'[^']*')(?:\.(?:[A-Za-z0-9_]+|'[^']*'))*|\.)?\}/;

/** Reject `${` that is not a well-formed placeholder (EMQX would silently keep it as text). */
export function checkTemplate(text: string, field: string): void {
  for (let i = text.indexOf('${'); i >= 0; i = text.indexOf('${', i + 2)) {
    if (!PLACEHOLDER.test(text.slice(i)))
      throw HStreamErrors.hstream_config_invalid(
        `${field}: malformed placeholder at offset ${i} in ${JSON.stringify(text)} (expected \${path.to.field})`,
        { context: { field } },
      );
  }
}

function readPem(path: string | undefined, what: string): Buffer | undefined {
  if (!path) return undefined;
  try {
    return readFileSync(path);
  } catch (err) {
    throw HStreamErrors.hstream_config_invalid(
      `tls.${what}: cannot read ${path}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

function laneOf(key: string, lanes: number): number {
  let h = 0;
  for (let i = 0; i < key.length; i++) h = (Math.imul(h, 31) + key.charCodeAt(i)) | 0;
  return (h >>> 0) % lanes;
}

export interface HStreamSinkOptions {
  /** Override the client (tests). */
  client?: HStreamClient;
}

export class HStreamSink implements Sink {
  private readonly client: HStreamClient;
  private readonly log: Logger;
  private readonly keyTemplate: Template | undefined;
  private readonly recordTemplate: CompiledTemplate | undefined;
  private readonly attributesTemplate: CompiledTemplate | undefined;
  private readonly attributeTemplates: [string, CompiledTemplate][];
  /** Fallback cache for frozen records (see `prepare`). */
  private readonly prepared = new WeakMap<SinkRecord, Prepared | SluiceError>();
  /** Per-sink-instance slot on the record object holding its rendered form. */
  private readonly slot = Symbol('hstream.prepared');
  /** Last discovered shards/owners; kept while stale so partitionKey() stays stable (order). */
  private topology: Topology | undefined;
  private stale = true;
  private discovering: Promise<Topology> | undefined;
  private createdOnce = false;
  /**
   * Sticky partitions: key → the partition its not-yet-finished records were given, and how
   * many there are. While a key has records in flight or queued, new records of that key get the
   * same partition, so the runner's one-batch-per-partition rule orders them even when the shard
   * map changed in between (records queued before the first connect, a re-created stream).
   */
  private readonly sticky = new Map<string, { part: string; n: number }>();
  private closed = false;
  /** Counters for status pages and tests (the runner owns the record metrics). */
  readonly stats = { appends: 0, appendedRecords: 0, appendedBytes: 0, discoveries: 0 };

  constructor(
    deps: SinkDeps,
    private readonly config: HStreamSinkConfig,
    readonly name: string,
    options: HStreamSinkOptions = {},
  ) {
    this.log = deps.logger.child({ component: 'sink', sink: name, type: 'hstreamdb' });
    if (config.partition_key !== undefined) checkTemplate(config.partition_key, 'partition_key');
    if (config.record_template !== undefined)
      checkTemplate(config.record_template, 'record_template');
    this.keyTemplate =
      config.partition_key !== undefined ? compileTemplate(config.partition_key) : undefined;
    this.recordTemplate =
      config.record_template !== undefined ? compileTemplate(config.record_template) : undefined;
    if (config.record_attributes) {
      checkTemplate(config.record_attributes, 'record_attributes');
      const t = compileTemplate(config.record_attributes);
      if (!t.isSingleVar)
        throw HStreamErrors.hstream_config_invalid(
          `record_attributes: must be a single \${...} placeholder (got ${JSON.stringify(config.record_attributes)})`,
          { context: { field: 'record_attributes' } },
        );
      this.attributesTemplate = t;
    }
    this.attributeTemplates = Object.entries(config.attributes ?? {}).map(([name, text]) => {
      checkTemplate(text, `attributes.${name}`);
      return [name, compileTemplate(text)];
    });
    if (config.compression === 'zstd' && !zstdAvailable())
      throw HStreamErrors.hstream_zstd_unavailable(
        `compression "zstd" needs Node.js >= 22.15 (running ${process.version})`,
      );
    this.client = options.client ?? new HStreamClient(this.clientOptions());
  }

  private clientOptions(): HStreamClientOptions {
    const c = this.config;
    const endpoints = parseServerUrls([c.url]);
    if (c.tls.enable) {
      if (!endpoints.every((e) => e.tls))
        throw HStreamErrors.hstream_config_invalid(
          'tls.enable is true but the url scheme is plaintext; use hstreams:// or https://',
        );
    }
    const tls = {
      ca: readPem(c.tls.ca_file, 'ca_file'),
      cert: readPem(c.tls.cert_file, 'cert_file'),
      key: readPem(c.tls.key_file, 'key_file'),
      serverName: c.tls.server_name,
    };
    if (!!tls.cert !== !!tls.key)
      throw HStreamErrors.hstream_config_invalid(
        'tls.cert_file and tls.key_file must be given together',
      );
    const mapping = c.host_mapping ?? {};
    return {
      endpoints,
      tls: {
        ...(tls.ca ? { ca: tls.ca } : {}),
        ...(tls.cert ? { cert: tls.cert } : {}),
        ...(tls.key ? { key: tls.key } : {}),
        ...(tls.serverName ? { serverName: tls.serverName } : {}),
      },
      timeoutMs: c.grpc_timeout,
      appendTimeoutMs: c.append_timeout,
      followLookups: c.follow_lookups,
      remap: (node) => {
        const to = mapping[`${node.host}:${node.port}`] ?? mapping[node.host];
        if (!to) return node;
        const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(to);
        if (!m) return node;
        return { host: m[1]!.replace(/^\[|\]$/g, ''), port: m[2] ? Number(m[2]) : node.port };
      },
      ...(c.username !== undefined
        ? {
            authorization: `Basic ${Buffer.from(`${c.username}:${c.password ?? ''}`).toString('base64')}`,
          }
        : {}),
    };
  }

  /** Echo the server, make sure the stream exists (creating it if configured), learn its shards. */
  async connect(): Promise<void> {
    if (this.closed) throw HStreamErrors.hstream_closed('sink closed');
    const address = await this.client.connect();
    this.log.debug({ server: address }, 'hstreamdb server answered Echo');
    const stream = await this.client.getStream(this.config.stream);
    if (!stream) {
      const ac = this.config.auto_create;
      if (!ac.enable || this.createdOnce)
        throw HStreamErrors.hstream_stream_not_found(
          `HStreamDB stream ${JSON.stringify(this.config.stream)} does not exist${ac.enable ? ' any more (auto_create only creates it at start-up)' : ' (set auto_create.enable to create it)'}`,
          { context: { stream: this.config.stream } },
        );
      const created = await this.client.createStream(this.config.stream, {
        replicationFactor: ac.replication_factor,
        shardCount: ac.shard_count,
        backlogDuration: Math.round(ac.backlog_duration / 1000),
      });
      if (created)
        this.log.info(
          { stream: this.config.stream, shards: ac.shard_count },
          'created hstreamdb stream',
        );
    }
    this.createdOnce = true;
    this.stale = true;
    await this.discover();
  }

  /** ListShards + LookupShard per shard; concurrent callers share one discovery. */
  private discover(): Promise<Topology> {
    if (!this.discovering) {
      this.discovering = (async () => {
        try {
          this.stats.discoveries++;
          const shards = (await this.client.listShards(this.config.stream)).filter(
            (s) => s.isActive,
          );
          if (shards.length === 0)
            throw HStreamErrors.hstream_no_shards(
              `stream ${JSON.stringify(this.config.stream)} has no active shard`,
            );
          const table = new ShardTable(
            shards.map((s) => ({
              shardId: s.shardId,
              start: BigInt(s.startHashRangeKey),
              end: BigInt(s.endHashRangeKey),
            })),
          );
          const owners = new Map<string, string>();
          await Promise.all(
            shards.map(async (s) =>
              owners.set(s.shardId, await this.client.lookupShard(s.shardId)),
            ),
          );
          this.topology = { table, owners };
          this.stale = false;
          this.log.debug(
            { stream: this.config.stream, shards: shards.length },
            'hstreamdb shards discovered',
          );
          return this.topology;
        } finally {
          this.discovering = undefined;
        }
      })();
    }
    return this.discovering;
  }

  /**
   * Render key and payload once per record (partitionKey, sizeOf and write share the result).
   * The result is memoised in a symbol-keyed slot on the record object: a WeakMap did the same
   * job but cost ~10% of the benchmark's CPU in ephemeron GC work. Frozen records fall back to
   * the WeakMap. Symbol keys are invisible to JSON and Object.keys; the symbol is private to this sink.
   */
  private prepare(record: SinkRecord): Prepared | SluiceError {
    const slotted = (record as unknown as Record<symbol, Prepared | SluiceError | undefined>)[
      this.slot
    ];
    if (slotted) return slotted;
    const hit = this.prepared.get(record);
    if (hit) return hit;
    let out: Prepared | SluiceError;
    try {
      const key = this.keyTemplate ? renderText(this.keyTemplate, record.data, record.context) : '';
      const hrecord = this.config.record_type === 'hrecord';
      const flag = hrecord ? FLAG_JSON : FLAG_RAW;
      const payload = hrecord
        ? this.renderStruct(record)
        : this.recordTemplate
          ? this.renderPayload(this.recordTemplate, record)
          : encodeJson(record.data);
      const attributes = this.renderAttributes(record);
      const size = encodedRecordSize(
        attributes ? { key, payload, flag, attributes } : { key, payload, flag },
      );
      const max =
        this.config.max_batch_bytes - batchedRecordSize(this.config.compression, 1, size + 8);
      out =
        size > max
          ? HStreamErrors.hstream_record_too_large(
              `rendered record is ${size} bytes; one append may carry at most ${this.config.max_batch_bytes}`,
              { context: { size } },
            )
          : attributes
            ? { key, payload, flag, size, attributes }
            : { key, payload, flag, size };
    } catch (err) {
      out =
        err instanceof SluiceError
          ? err
          : HStreamErrors.hstream_template_failed(
              `rendering the record failed: ${(err as Error).message}`,
              {
                cause: err,
              },
            );
    }
    if (Object.isExtensible(record))
      (record as unknown as Record<symbol, Prepared | SluiceError>)[this.slot] = out;
    else this.prepared.set(record, out);
    return out;
  }

  /** `record_attributes` then `attributes`; undefined when there are none. */
  private renderAttributes(record: SinkRecord): Record<string, string> | undefined {
    if (!this.attributesTemplate && this.attributeTemplates.length === 0) return undefined;
    const out: Record<string, string> = Object.create(null) as Record<string, string>;
    let any = false;
    const set = (k: string, v: Value): void => {
      if (v === undefined || v === null) return;
      out[k] = typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString('utf8') : encodeJson(v);
      any = true;
    };
    if (this.attributesTemplate) {
      const v = this.attributesTemplate(record.data, record.context);
      if (isMap(v)) for (const k of Object.keys(v)) set(k, v[k]);
      else if (Array.isArray(v))
        for (const e of v) {
          if (isMap(e) && e['key'] !== undefined) set(toText(e['key']), e['value']);
          else if (Array.isArray(e) && e.length === 2) set(toText(e[0]), e[1]);
          else this.log.debug({}, 'record_attributes entry ignored (not a key/value pair)');
        }
      else if (v !== undefined && v !== null)
        this.log.debug({ type: typeof v }, 'record_attributes value ignored (not a map or list)');
    }
    for (const [name, t] of this.attributeTemplates) set(name, t(record.data, record.context));
    return any ? { ...out } : undefined;
  }

  /** Like core's renderBytes, but text stays a string (encodeBatch writes it as UTF-8). */
  private renderPayload(t: CompiledTemplate, record: SinkRecord): Buffer | string {
    const v = t(record.data, record.context);
    if (typeof v === 'string' || Buffer.isBuffer(v)) return v;
    return valueText(v, t.undefinedText);
  }

  /**
   * HRecord payload: the rule output, or the rendered template parsed as JSON, as a protobuf
   * Struct. Anything but a JSON object is the record's own failure (hstream_hrecord_invalid).
   */
  private renderStruct(record: SinkRecord): Buffer {
    let v: unknown = record.data;
    if (this.recordTemplate) {
      v = this.recordTemplate(record.data, record.context);
      if (typeof v === 'string' || Buffer.isBuffer(v)) {
        const text = v.toString();
        try {
          v = JSON.parse(text);
        } catch {
          throw HStreamErrors.hstream_hrecord_invalid(
            `record_type hrecord: the rendered record is not JSON: ${JSON.stringify(text.slice(0, 80))}`,
          );
        }
      }
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v) || Buffer.isBuffer(v))
      throw HStreamErrors.hstream_hrecord_invalid(
        `record_type hrecord: the record must be a JSON object, got ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v}`,
      );
    return encodeStruct(v as Record<string, unknown>);
  }

  partitionKey(record: SinkRecord): string {
    const p = this.prepare(record);
    if (p instanceof SluiceError) return '!rejected';
    const e = this.sticky.get(p.key);
    if (e) {
      e.n++;
      return e.part;
    }
    const shard = this.topology?.table.shardFor(p.key) ?? '?';
    const lanes = this.config.max_inflight_per_shard;
    const part = lanes > 1 ? `${shard}/${laneOf(p.key, lanes)}` : shard;
    this.sticky.set(p.key, { part, n: 1 });
    return part;
  }

  sizeOf(record: SinkRecord): number {
    const p = this.prepare(record);
    return p instanceof SluiceError ? 0 : p.size;
  }

  async write(batch: readonly SinkRecord[]): Promise<WriteResult | void> {
    if (this.closed)
      throw HStreamErrors.hstream_closed('sink closed', { context: { reconnect: true } });
    const rejected: NonNullable<WriteResult['rejected']> = [];
    const topo = this.stale || !this.topology ? await this.rediscover() : this.topology;
    // Group by shard (lane) under the current topology (normally the whole batch is one group).
    const lanes = this.config.max_inflight_per_shard;
    const groups = new Map<
      string,
      { shard: string; indexes: number[]; records: HRecord[]; sizes: number[] }
    >();
    for (let i = 0; i < batch.length; i++) {
      const p = this.prepare(batch[i]!);
      if (p instanceof SluiceError) {
        rejected.push({ index: i, code: p.code, message: p.message });
        continue;
      }
      const shard = topo.table.shardFor(p.key);
      if (shard === undefined) {
        rejected.push({
          index: i,
          code: 'hstream_no_shards',
          message: `no shard covers key ${JSON.stringify(p.key)}`,
        });
        continue;
      }
      const gk = lanes > 1 ? `${shard}/${laneOf(p.key, lanes)}` : shard;
      let g = groups.get(gk);
      if (!g) groups.set(gk, (g = { shard, indexes: [], records: [], sizes: [] }));
      g.indexes.push(i);
      g.records.push(
        p.attributes
          ? { key: p.key, payload: p.payload, flag: p.flag, attributes: p.attributes }
          : { key: p.key, payload: p.payload, flag: p.flag },
      );
      g.sizes.push(p.size);
    }
    const pending: number[] = [];
    for (const g of groups.values()) pending.push(...g.indexes);
    const done = new Set<number>();
    for (const g of groups.values()) {
      for (const [from, to] of this.chunks(g.sizes)) {
        try {
          await this.appendChunk(topo, g.shard, g.records.slice(from, to));
        } catch (err) {
          const failure = await this.onAppendError(err);
          if (done.size === 0) {
            // Retriable: the runner sends the same batch again, records stay in flight.
            if (!failure.retriable) this.release(batch);
            throw failure;
          }
          // Part of the batch is acknowledged: ask the runner to retry only the rest.
          this.log.debug({ err: failure.message }, 'partial append failure; retrying the rest');
          const retry = pending.filter((i) => !done.has(i));
          const again = new Set(retry);
          this.release(batch.filter((_, i) => !again.has(i)));
          return { retry, rejected };
        }
        for (let k = from; k < to; k++) done.add(g.indexes[k]!);
      }
    }
    this.release(batch);
    return rejected.length ? { rejected } : undefined;
  }

  /** Records finished (acknowledged, rejected or failed for good): unpin their keys. */
  private release(records: readonly SinkRecord[]): void {
    for (const r of records) {
      const p = this.prepare(r);
      const key = p instanceof SluiceError ? undefined : p.key;
      if (key === undefined) continue;
      const e = this.sticky.get(key);
      if (e && --e.n <= 0) this.sticky.delete(key);
    }
  }

  /** Split a shard's records into runs whose encoded batch stays under max_batch_bytes. */
  private *chunks(sizes: number[]): Generator<[number, number]> {
    // Budget for the BatchedRecord envelope (tags, lengths, batchSize) around the payload.
    const budget = this.config.max_batch_bytes - 32;
    let from = 0;
    let bytes = 0;
    for (let i = 0; i < sizes.length; i++) {
      if (i > from && bytes + sizes[i]! > budget) {
        yield [from, i];
        from = i;
        bytes = 0;
      }
      bytes += sizes[i]!;
    }
    if (sizes.length > from) yield [from, sizes.length];
  }

  private async appendChunk(topo: Topology, shard: string, records: HRecord[]): Promise<void> {
    const encoded = encodeBatch(records);
    const payload = compress(encoded, this.config.compression);
    const address = topo.owners.get(shard) ?? this.client.bootstrapAddress!;
    const ack = await this.client.append(address, this.config.stream, shard, {
      compressionType: COMPRESSION_ENUM[this.config.compression],
      batchSize: records.length,
      payload,
    });
    if (ack.recordCount !== records.length)
      throw HStreamErrors.hstream_internal(
        `Append acknowledged ${ack.recordCount} record ids for ${records.length} records`,
      );
    this.stats.appends++;
    this.stats.appendedRecords += records.length;
    this.stats.appendedBytes += payload.length;
  }

  /** Classify an Append failure (see the file header). */
  private async onAppendError(err: unknown): Promise<SluiceError> {
    const e =
      err instanceof SluiceError
        ? err
        : HStreamErrors.hstream_internal(`Append failed: ${String(err)}`, { cause: err });
    if (!e.retriable) return e;
    this.stale = true;
    try {
      await this.rediscover();
    } catch (again) {
      if (again instanceof SluiceError && !again.retriable) return again;
      // The server itself is unreachable: let the runner reconnect (Echo) with backoff.
      const cause = again instanceof SluiceError ? again : e;
      return new SluiceError(cause.code, cause.message, {
        retriable: true,
        cause: again,
        context: { ...cause.context, reconnect: true },
      });
    }
    return e;
  }

  /** Re-learn shards; a missing stream becomes a non-retriable hstream_stream_not_found. */
  private async rediscover(): Promise<Topology> {
    try {
      return await this.discover();
    } catch (err) {
      // ListShards on a missing stream is UNAVAILABLE (§9.3): ask GetStream which it is.
      if (err instanceof SluiceError && err.code === 'hstream_unavailable') {
        let exists: boolean;
        try {
          exists = (await this.client.getStream(this.config.stream)) !== undefined;
        } catch {
          throw err;
        }
        if (!exists)
          throw HStreamErrors.hstream_stream_not_found(
            `HStreamDB stream ${JSON.stringify(this.config.stream)} does not exist (deleted while the sink was running?)`,
            { context: { stream: this.config.stream } },
          );
      }
      throw err;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.client.close();
  }
}

export function createHStreamSink(
  deps: SinkDeps,
  config: HStreamSinkConfig,
  name: string,
  options?: HStreamSinkOptions,
): HStreamSink {
  return new HStreamSink(deps, config, name, options);
}
