/**
 * The Kafka sink's settings (CONVENTIONS.md #6), named after EMQX's Kafka producer where one
 * exists (shared spec kafka-gssapi.md §5) so EMQX users recognise them. The runner's batching,
 * buffer, in-flight and retry settings are separate (`kafkaRunnerSpec`, Kafka defaults); the
 * engine merges both into one `sinks.<name>` object.
 */
import { field } from '../../core/index.js';
import type { FieldSpec } from '../../core/index.js';
import { runnerConfigSpecWith } from '../runner/index.js';

export type PartitionStrategy = 'random' | 'key_dispatch';
export type Acks = 'all' | 'leader' | 'none';
export type Compression = 'none' | 'gzip' | 'snappy';
export type Mechanism = 'none' | 'plain' | 'scram_sha_256' | 'scram_sha_512' | 'gssapi';

export interface KafkaSinkConfig {
  bootstrap_hosts: string;
  topic: string;
  message: { key: string; value: string; timestamp: string };
  headers: { key: string; value: string }[];
  header_value_encode_mode: 'none' | 'json';
  kafka_headers: string;
  kafka_ext_headers: { kafka_ext_header_key: string; kafka_ext_header_value: string }[];
  kafka_header_value_encode_mode?: 'none' | 'json';
  trace_context_headers: string;
  partition_strategy: PartitionStrategy;
  partition_count_refresh_interval: number;
  acks: Acks;
  compression: Compression;
  connect_timeout: number;
  request_timeout: number;
  client_id: string;
  ssl: {
    enable: boolean;
    verify: boolean;
    ca_file?: string;
    cert_file?: string;
    key_file?: string;
    server_name_indication?: string;
  };
  authentication: {
    mechanism: Mechanism;
    username?: string;
    password?: string;
    kerberos_principal?: string;
    kerberos_keytab_file?: string;
    kerberos_service_name: string;
    kerberos_service_host?: string;
  };
}

export const kafkaSpec: FieldSpec = field.object(
  {
    bootstrap_hosts: field.string({
      description:
        'Comma-separated `host:port` list of bootstrap brokers (port defaults to 9092). With GSSAPI use host names, not IPs: the Kerberos service principal is kafka/<host>.',
      example: 'kafka-1.example.com:9092,kafka-2.example.com:9092',
    }),
    topic: field.string({
      description:
        'Topic to produce to; a template (`${path}` placeholders from the rule output, then the event), e.g. `t-${payload.site}`. Topics must exist unless the broker auto-creates them.',
      example: 'telemetry',
    }),
    message: field.object(
      {
        key: field.string({
          description:
            'Message key template. A template that renders to nothing (missing value, null or empty text) gives a NULL key. `key_dispatch` hashes this key.',
          default: '${clientid}',
        }),
        value: field.string({
          description:
            'Message value template. Default: the whole rule output as JSON. A Buffer value (e.g. `${payload}`) is sent as raw bytes; a missing value gives a NULL value (tombstone).',
          default: '${.}',
        }),
        timestamp: field.string({
          description:
            'Message timestamp template: integer milliseconds since the epoch (number or numeric text). Anything else falls back to the time of sending.',
          default: '${timestamp}',
        }),
      },
      { description: 'How each rule output becomes a Kafka record.' },
    ),
    headers: field.array(
      field.object(
        {
          key: field.string({ description: 'Header name template.', example: 'device' }),
          value: field.string({ description: 'Header value template.', example: '${clientid}' }),
        },
        { description: 'One header.' },
      ),
      {
        description:
          'Kafka record headers, each a key/value pair of templates. Headers whose key renders empty are skipped.',
        default: [],
        example: [{ key: 'device', value: '${clientid}' }],
      },
    ),
    header_value_encode_mode: field.string({
      description:
        '`none`: header values are sent as text (Buffers as raw bytes, maps/lists as JSON); `json`: every header value is JSON-encoded (strings get quotes). `kafka_header_value_encode_mode` (the EMQX name) overrides it when set.',
      enum: ['none', 'json'],
      default: 'none',
    }),
    kafka_headers: field.string({
      description:
        'EMQX `kafka_headers`: one `${path}` placeholder whose value is a map (`{"k": "v"}`; a list value gives the header repeatedly) or a list of `{key, value}` pairs, each entry becoming a Kafka header, e.g. `${pub_props.\'User-Property\'}` for the MQTT 5 user properties. A value of another type adds no headers (logged at debug); empty = none.',
      default: '',
      pattern: '^(\\$\\{.*\\})?$',
      example: "${pub_props.'User-Property'}",
    }),
    kafka_ext_headers: field.array(
      field.object(
        {
          kafka_ext_header_key: field.string({
            description: 'Header name template.',
            example: 'content-type',
          }),
          kafka_ext_header_value: field.string({
            description:
              'Header value template; a header whose value is missing (or null) is left out.',
            example: "${pub_props.'Content-Type'}",
          }),
        },
        { description: 'One header.' },
      ),
      {
        description:
          'EMQX `kafka_ext_headers`: more headers, added after those of `kafka_headers` (and `headers`). A header whose key renders empty or whose value is missing is left out.',
        default: [],
        example: [
          {
            kafka_ext_header_key: 'content-type',
            kafka_ext_header_value: "${pub_props.'Content-Type'}",
          },
        ],
      },
    ),
    kafka_header_value_encode_mode: field.string({
      description:
        'EMQX name of `header_value_encode_mode`; when set it wins. Applies to `headers`, `kafka_headers` and `kafka_ext_headers` (not to the trace context headers, always plain text).',
      enum: ['none', 'json'],
      optional: true,
    }),
    trace_context_headers: field.string({
      description:
        'W3C trace context passthrough: one `${path}` placeholder whose value is a map of MQTT 5 user properties; its `traceparent` and `tracestate` entries are copied as plain-text Kafka headers of the same names, unless another header setting already set that name. Empty = off.',
      default: "${pub_props.'User-Property'}",
      pattern: '^(\\$\\{.*\\})?$',
    }),
    partition_strategy: field.string({
      description:
        '`random`: a random partition per record; `key_dispatch`: murmur2(key) mod partition count, the same partition a Java producer picks for that key (records without a key go to a random partition).',
      enum: ['random', 'key_dispatch'],
      default: 'random',
    }),
    partition_count_refresh_interval: field.duration({
      description:
        'How often the partition count of each topic is refreshed, to pick up added partitions.',
      default: 60_000,
      example: '60s',
    }),
    acks: field.string({
      description:
        'Required acknowledgements: `all` (all in-sync replicas, acks=-1), `leader` (acks=1) or `none` (acks=0: success is counted when the request was written to the socket, nothing is confirmed).',
      enum: ['all', 'leader', 'none'],
      default: 'all',
    }),
    compression: field.string({
      description:
        'Record batch compression: `none`, `gzip` or `snappy` (pure-JavaScript codec). lz4/zstd are not offered.',
      enum: ['none', 'gzip', 'snappy'],
      default: 'none',
    }),
    connect_timeout: field.duration({
      description: 'TCP connect timeout per broker connection (authentication has its own 10s).',
      default: 5_000,
      example: '5s',
    }),
    request_timeout: field.duration({
      description:
        'How long a produce or metadata request may wait for the broker; too small causes duplicates on retry.',
      default: 30_000,
      example: '30s',
    }),
    client_id: field.string({
      description: 'Kafka client.id sent to the brokers (appears in broker logs and quotas).',
      default: 'sluice',
    }),
    ssl: field.object(
      {
        enable: field.boolean({ description: 'Connect with TLS.', default: false }),
        verify: field.boolean({
          description: 'Verify the broker certificate chain and host name.',
          default: true,
        }),
        ca_file: field.string({ description: 'PEM file with trusted CAs.', optional: true }),
        cert_file: field.string({
          description: 'PEM client certificate (mutual TLS).',
          optional: true,
        }),
        key_file: field.string({
          description: 'PEM private key of the client certificate.',
          optional: true,
        }),
        server_name_indication: field.string({
          description: 'SNI host name to send (default: the host being dialled).',
          optional: true,
        }),
      },
      { description: 'TLS to the brokers.' },
    ),
    authentication: field.object(
      {
        mechanism: field.string({
          description: 'SASL mechanism, or `none`.',
          enum: ['none', 'plain', 'scram_sha_256', 'scram_sha_512', 'gssapi'],
          default: 'none',
        }),
        username: field.string({
          description: 'User name (plain, scram_*).',
          optional: true,
        }),
        password: field.string({
          description: 'Password (plain, scram_*).',
          optional: true,
          secret: true,
        }),
        kerberos_principal: field.string({
          description:
            'gssapi: client principal, e.g. `sluice@EXAMPLE.COM`. Required with kerberos_keytab_file; without both, the process ticket cache (kinit) is used.',
          optional: true,
          example: 'sluice@EXAMPLE.COM',
        }),
        kerberos_keytab_file: field.string({
          description:
            'gssapi: keytab holding the principal’s key; tickets are obtained and renewed from it automatically (no kinit). Several sinks may use different principals/keytabs.',
          optional: true,
          example: '/etc/sluice/sluice.keytab',
        }),
        kerberos_service_name: field.string({
          description: 'gssapi: the broker’s sasl.kerberos.service.name.',
          default: 'kafka',
        }),
        kerberos_service_host: field.string({
          description:
            'gssapi: host part of the service principal to request (default: the broker host being dialled). Set it when brokers are reached through an IP, alias or load balancer.',
          optional: true,
        }),
      },
      { description: 'SASL authentication to the brokers.' },
    ),
  },
  { description: 'Kafka producer sink.' },
);

/**
 * Runner fields with Kafka defaults. They sit next to the Kafka fields in a sink's config and
 * carry EMQX's `max_batch_bytes` (= `batch_bytes`, 896 KiB: one write = one produce request,
 * under the broker's 1 MiB default message.max.bytes) and `max_inflight` (10 batches; the
 * runner keeps one in flight per topic-partition). kafkajs has no linger of its own, so the
 * runner's batch IS the produce request (spec §6): the batch size is larger than the generic
 * default.
 */
export const kafkaRunnerSpec: FieldSpec = runnerConfigSpecWith({
  batch_size: 1000,
  batch_bytes: 917_504,
  linger: 5,
  max_inflight: 10,
});
