/**
 * Config spec of the `hstreamdb` sink (CONVENTIONS.md #6). Names and defaults mirror EMQX 5.6+'s
 * HStreamDB connector + action (hstream-sink.md §2.1) where they exist; batching, buffering,
 * retries and in-flight limits are the shared runner's settings (`HSTREAM_RUNNER_DEFAULTS`).
 */
import { field, type FieldSpec } from '../../core/index.js';
import type { RunnerDefaults } from '../runner/index.js';

export interface HStreamSinkConfig {
  url: string;
  stream: string;
  partition_key?: string;
  record_template?: string;
  record_type: 'raw' | 'hrecord';
  record_attributes: string;
  attributes?: Record<string, string>;
  compression: 'none' | 'gzip' | 'zstd';
  grpc_timeout: number;
  append_timeout: number;
  max_inflight_per_shard: number;
  max_batch_bytes: number;
  follow_lookups: boolean;
  host_mapping?: Record<string, string>;
  username?: string;
  password?: string;
  tls: {
    enable: boolean;
    ca_file?: string;
    cert_file?: string;
    key_file?: string;
    server_name?: string;
  };
  auto_create: {
    enable: boolean;
    replication_factor: number;
    shard_count: number;
    backlog_duration: number;
  };
}

/** Runner defaults for this sink: EMQX's action defaults (batch 100, interval 500 ms, §2.1). */
export const HSTREAM_RUNNER_DEFAULTS: RunnerDefaults = {
  batch_size: 100,
  linger: 500,
  batch_bytes: 917_504,
};

export const hstreamSinkSpec: FieldSpec = field.object(
  {
    url: field.string({
      description:
        'HStreamDB server URL. hstream:// or http:// = plaintext, hstreams:// or https:// = TLS; the port defaults to 6570. Several servers may be listed comma-separated (hstream://h1:6570,h2,h3); the first that answers Echo is used for control calls.',
      default: 'hstream://127.0.0.1:6570',
      example: 'hstream://127.0.0.1:6570',
    }),
    stream: field.string({
      description: 'Name of the stream records are appended to.',
      example: 'mqtt_messages',
    }),
    partition_key: field.string({
      description:
        'Template of the partition key, e.g. ${clientid} or ${topic}. It picks the shard (MD5 of the key against the shard key ranges) and keeps per-key order. Unset = the empty key "", so every record goes to the same shard. Missing values render as "undefined", as in EMQX.',
      optional: true,
      example: '${clientid}',
    }),
    record_template: field.string({
      description:
        'Template of the record payload, e.g. ${payload}. Unset = the whole rule output. With record_type raw it is written as text (as EMQX does; unset = the rule output encoded as JSON); with record_type hrecord the rendered text must be a JSON object.',
      optional: true,
      example: '{"id": "${id}", "temp": ${payload.temp}}',
    }),
    record_type: field.string({
      description:
        'raw = RAW records, payload bytes as rendered (what EMQX writes; consumers get bytes). hrecord = HRecords: flag JSON, payload the rule output (or the rendered record_template, which must be a JSON object) as a protobuf google.protobuf.Struct, read by the Java and Go clients with typed accessors (getHRecord) and by the Python client as a dict. A record that is not a JSON object is rejected (hstream_hrecord_invalid).',
      enum: ['raw', 'hrecord'],
      default: 'raw',
    }),
    record_attributes: field.string({
      description:
        "Record header attributes (HStreamRecordHeader.attributes, a string map) from one `${path}` placeholder whose value is a map or a list of `{key, value}` pairs, e.g. `${pub_props.'User-Property'}` for the MQTT 5 user properties. Text values are written as they are; other values (numbers, maps, a repeated user property's list) as JSON text. Any other value adds no attributes (logged at debug). Empty = none.",
      default: '',
      pattern: '^(\\$\\{.*\\})?$',
      example: "${pub_props.'User-Property'}",
    }),
    attributes: field.map(field.string({ description: 'Attribute value template.' }), {
      description:
        'More record header attributes, name → value template, set after `record_attributes` (same name: this one wins). An attribute whose value is missing or null is left out.',
      optional: true,
      example: { 'content-type': "${pub_props.'Content-Type'}", device: '${clientid}' },
    }),
    compression: field.string({
      description:
        "Compression of each appended batch: none, gzip (one gzip member) or zstd (a frame with content size; needs Node.js >= 22.15). WARNING: HStreamDB's official Java client (0.17.0) cannot read zstd batches and the Python client (0.5.0) refuses them (NotImplementedError); use none or gzip when such clients consume the stream.",
      enum: ['none', 'gzip', 'zstd'],
      default: 'none',
    }),
    grpc_timeout: field.duration({
      description:
        'Deadline of every control call (Echo, GetStream, CreateStream, ListShards, LookupShard).',
      default: 30_000,
      example: '30s',
    }),
    append_timeout: field.duration({
      description:
        'Deadline of each Append call (EMQX grpc_flush_timeout). A timed-out append is retried, so it may be written twice.',
      default: 10_000,
      example: '10s',
    }),
    max_inflight_per_shard: field.integer({
      description:
        'Append calls that may be in flight per shard at once. 1 keeps the order of all records of a shard; N > 1 splits each shard into N lanes by partition key, so order is still kept per key.',
      default: 1,
      min: 1,
      max: 64,
    }),
    max_batch_bytes: field.bytes({
      description:
        'Upper bound of the encoded BatchedRecord of one Append; bigger batches are split. The server rejects more than its max-record-size (1 MiB by default and at most).',
      default: 1_048_576,
      example: '1MiB',
    }),
    follow_lookups: field.boolean({
      description:
        "Send each shard's appends to the server LookupShard names (as EMQX does). Off = everything goes to the bootstrap server (every node accepts appends for every shard).",
      default: true,
    }),
    host_mapping: field.map(
      field.string({ description: 'Replacement "host:port" (or "host") to dial instead.' }),
      {
        description:
          'Rewrites addresses returned by LookupShard before dialling them, keyed by "host:port" or "host" (for servers advertising addresses this host cannot reach, e.g. inside Docker).',
        optional: true,
        example: { 'hserver:6570': '127.0.0.1:16570' },
      },
    ),
    username: field.string({
      description: 'User for HTTP Basic authorization (servers configured with tokens).',
      optional: true,
    }),
    password: field.string({
      description: 'Password for HTTP Basic authorization.',
      optional: true,
      secret: true,
    }),
    tls: field.object(
      {
        enable: field.boolean({
          description:
            'Use TLS. Requires an hstreams:// or https:// URL (as in EMQX); such a URL alone also turns TLS on.',
          default: false,
        }),
        ca_file: field.string({
          description:
            'PEM file of the CA(s) that signed the server certificate (default: system CAs).',
          optional: true,
        }),
        cert_file: field.string({
          description: 'PEM client certificate, for servers that verify clients (mTLS).',
          optional: true,
        }),
        key_file: field.string({
          description: 'PEM private key of the client certificate.',
          optional: true,
          secret: true,
        }),
        server_name: field.string({
          description:
            'Name to verify the server certificate against (SNI), when it differs from the host dialled.',
          optional: true,
        }),
      },
      { description: 'TLS towards HStreamDB.' },
    ),
    auto_create: field.object(
      {
        enable: field.boolean({
          description:
            'Create the stream at start-up if it does not exist (EMQX never does). A stream deleted later is NOT re-created: its records fail with hstream_stream_not_found until it exists again.',
          default: false,
        }),
        replication_factor: field.integer({
          description: 'Replication factor of an auto-created stream.',
          default: 1,
          min: 1,
          max: 15,
        }),
        shard_count: field.integer({
          description: 'Number of shards of an auto-created stream.',
          default: 1,
          min: 1,
          max: 1024,
        }),
        backlog_duration: field.duration({
          description: 'Retention of an auto-created stream (0 = unlimited).',
          default: 604_800_000,
          example: '168h',
        }),
      },
      { description: 'Stream auto-creation.' },
    ),
  },
  { description: 'HStreamDB sink: appends rule outputs to a stream over gRPC.' },
);
