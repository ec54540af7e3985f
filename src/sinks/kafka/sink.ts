/**
 * The Kafka sink (CONVENTIONS.md #5): connect / write(batch) / close over one kafkajs producer;
 * the shared runner does batching, buffering, retry, reconnects and metrics.
 *
 * Delivery: `write` resolves only after the broker acknowledged every record with the
 * configured acks (all = every in-sync replica) → at-least-once; a retried batch may be
 * written twice (duplicates), never silently lost while it is inside the runner's bounds.
 *
 * Ordering: the partition of a record is chosen when it is enqueued (`partitionKey`), so the
 * runner batches per topic-partition and keeps ONE batch in flight per partition: records of a
 * partition reach Kafka in enqueue order, retries included. While the partition count of a
 * (new) topic is not yet known, its records share one "pending" group (ordered as well) and get
 * their partition at write time; the topic switches to per-partition groups only once every
 * pending record was acknowledged, so the switch cannot reorder a key.
 */
import './kafkajs-patch.js'; // must run before kafkajs loads
import kafkajs from 'kafkajs';
import type { Admin, Message, Producer, TopicMessages } from 'kafkajs';
import { createRequire } from 'node:module';
import { compileTemplate } from '../../core/index.js';
import type { Sink, SinkDeps, SinkRecord, SluiceError } from '../../core/index.js';
import { sinkNotConnected } from '../runner/index.js';
import type { KafkaSinkConfig } from './config.js';
import { clientConfig, passwordSasl, parseBootstrapHosts, tlsOptions } from './client-options.js';
import { KafkaErrors } from './errors.js';
import { mapConnectError, mapKafkaError } from './error-map.js';
import { createMessageMapper } from './message.js';
import type { PreparedMessage } from './message.js';
import { keyPartition } from './murmur2.js';
import { createPartitionTable } from './partitions.js';
import { createGssapiMechanism } from './gssapi/provider.js';
import { loadKerberos } from './gssapi/kerberos-module.js';
import type { KerberosModule } from './gssapi/kerberos-module.js';
import { defaultCredentialStore } from './gssapi/credentials.js';
import type { CredentialStore } from './gssapi/credentials.js';

export interface KafkaSinkDeps extends SinkDeps {
  /** Kerberos credential arrangement (default: the process-wide store). */
  credentialStore?: CredentialStore;
  /** The `kerberos` module (default: loaded lazily; tests may inject a fake). */
  loadKerberos?: () => KerberosModule;
}

export interface KafkaSinkStats {
  /** Successful SASL/GSSAPI exchanges (every connection and every re-authentication). */
  gssapiAuthentications: number;
  /** Failed authentications (any mechanism) and the last one's error. */
  authFailures: number;
  lastAuthError?: { code: string; message: string };
  /** Produce requests sent / failed. */
  requests: number;
  requestErrors: number;
}

export interface KafkaSink extends Sink {
  stats(): KafkaSinkStats;
}

interface Prepared extends PreparedMessage {
  partition: number | undefined;
  group: string;
  pending: boolean;
}

// kafkajs is CommonJS; Node's ESM loader cannot see every named export (CompressionCodecs is
// assigned late), so take them from the module object.
const { Kafka, CompressionTypes, CompressionCodecs } = kafkajs;

const ACKS = { all: -1, leader: 1, none: 0 } as const;
const COMPRESSION = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
} as const;

let snappyRegistered = false;
/**
 * Register the pure-JS snappy codec with kafkajs once (kafkajs has gzip built in only; its
 * Snappy slot is a stub that throws "not implemented"). kafkajs' codec table is process-wide.
 */
function enableSnappy(): void {
  if (snappyRegistered) return;
  snappyRegistered = true;
  const require = createRequire(import.meta.url);
  const SnappyCodec = require('kafkajs-snappy') as () => unknown;
  (CompressionCodecs as Record<number, unknown>)[CompressionTypes.Snappy] = SnappyCodec;
}

/** Cross-field checks the field spec cannot express; throws kafka_config_invalid. */
export function checkKafkaConfig(config: KafkaSinkConfig): void {
  parseBootstrapHosts(config.bootstrap_hosts);
  const a = config.authentication;
  if (['plain', 'scram_sha_256', 'scram_sha_512'].includes(a.mechanism)) {
    if (!a.username || a.password === undefined)
      throw KafkaErrors.kafka_config_invalid(
        `authentication: mechanism ${a.mechanism} needs username and password`,
      );
  }
  if (a.mechanism === 'gssapi' && !!a.kerberos_keytab_file !== !!a.kerberos_principal)
    throw KafkaErrors.kafka_config_invalid(
      'authentication: kerberos_principal and kerberos_keytab_file go together (or leave both out to use the ticket cache)',
    );
  for (const f of ['kafka_headers', 'trace_context_headers'] as const) {
    const t = config[f];
    if (t && !compileTemplate(t).isSingleVar)
      throw KafkaErrors.kafka_config_invalid(
        `${f}: must be a single \${...} placeholder (got ${JSON.stringify(t)})`,
      );
  }
  if (config.partition_strategy === 'key_dispatch' && !/\$\{/.test(config.message.key))
    throw KafkaErrors.kafka_config_invalid(
      'partition_strategy key_dispatch needs a message.key template with a placeholder',
    );
  tlsOptions(config.ssl); // reads the PEM files now: a typo fails at start, not per connect
}

export function createKafkaSink(
  deps: KafkaSinkDeps,
  config: KafkaSinkConfig,
  name: string,
): KafkaSink {
  checkKafkaConfig(config);
  const log = deps.logger.child({ sink: name, component: 'sink.kafka' });
  const mapMessage = createMessageMapper(config, log);
  const acks = ACKS[config.acks];
  const compression = COMPRESSION[config.compression];
  if (config.compression === 'snappy') enableSnappy();
  const keyDispatch = config.partition_strategy === 'key_dispatch';
  const auth = config.authentication;
  const stats: KafkaSinkStats = {
    gssapiAuthentications: 0,
    authFailures: 0,
    requests: 0,
    requestErrors: 0,
  };
  const credentialId = `${name}#${Math.random().toString(36).slice(2)}`;
  let credentialsRegistered = false;

  let producer: Producer | undefined;
  let admin: Admin | undefined;
  let connected = false;
  /**
   * A record's prepared form, computed once (the runner asks partitionKey and sizeOf on enqueue,
   * then write): kept on the record under this sink's own symbol (no WeakMap: ~1 µs per record
   * less), or in `frozen` for records that cannot take a property.
   */
  const slot = Symbol(`kafka sink ${name}`);
  const frozen = new WeakMap<SinkRecord, Prepared>();
  /** Records per topic assigned to the pending group and not yet acknowledged. */
  const pending = new Map<string, number>();

  const partitions = createPartitionTable({
    refreshMs: Math.max(1000, config.partition_count_refresh_interval),
    now: deps.now,
    fetch: async (topic) => {
      if (!admin) throw sinkNotConnected('Kafka sink not connected');
      const md = await admin.fetchTopicMetadata({ topics: [topic] });
      const n = md.topics.find((t) => t.name === topic)?.partitions.length ?? 0;
      if (n <= 0)
        throw KafkaErrors.kafka_unknown_topic(`Kafka: topic ${topic} has no partitions`, {
          context: { sink: name, topic },
        });
      return n;
    },
    onError: (topic, err) =>
      log.debug({ topic, err: (err as Error).message }, 'partition count refresh failed'),
  });

  function choose(p: PreparedMessage, n: number): number {
    return keyDispatch && p.key !== null ? keyPartition(p.key, n) : Math.floor(Math.random() * n);
  }

  /** Group names per topic and partition (`topic\u0000partition`), built once. */
  const groupNames = new Map<string, string[]>();
  function groupOf(topic: string, partition: number): string {
    let names = groupNames.get(topic);
    if (!names) groupNames.set(topic, (names = []));
    return (names[partition] ??= `${topic}\u0000${partition}`);
  }

  function prepare(record: SinkRecord): Prepared {
    const holder = record as unknown as Record<symbol, Prepared | undefined>;
    let p = holder[slot];
    if (p) return p;
    const extensible = Object.isExtensible(record);
    if (!extensible && (p = frozen.get(record))) return p;
    const m = mapMessage(record);
    const n = partitions.count(m.topic);
    const waiting = pending.get(m.topic) ?? 0;
    const known = n !== undefined && waiting === 0;
    if (!known) pending.set(m.topic, waiting + 1);
    const partition = known ? choose(m, n) : undefined;
    // One object per record, also handed to kafkajs as the message (it reads key, value,
    // partition, timestamp and headers, and copies what it keeps).
    p = {
      topic: m.topic,
      key: m.key,
      value: m.value,
      timestamp: m.timestamp,
      headers: m.headers,
      size: m.size,
      partition,
      group: partition === undefined ? `${m.topic}\u0000*` : groupOf(m.topic, partition),
      pending: !known,
    };
    if (extensible) holder[slot] = p;
    else frozen.set(record, p);
    return p;
  }

  async function buildSasl() {
    if (auth.mechanism !== 'gssapi') return passwordSasl(auth);
    const kerberos = (deps.loadKerberos ?? loadKerberos)();
    let principal = auth.kerberos_principal;
    if (auth.kerberos_keytab_file && principal) {
      const store = deps.credentialStore ?? defaultCredentialStore();
      principal = await store.register(credentialId, principal, auth.kerberos_keytab_file);
      credentialsRegistered = true;
    }
    return createGssapiMechanism({
      kerberos,
      sink: name,
      serviceName: auth.kerberos_service_name,
      ...(auth.kerberos_service_host ? { serviceHost: auth.kerberos_service_host } : {}),
      ...(principal ? { principal } : {}),
      logger: log,
      onAuthenticated: () => stats.gssapiAuthentications++,
      onFailure: (err) => noteAuthFailure(err),
    });
  }

  function noteAuthFailure(err: SluiceError): void {
    stats.authFailures++;
    stats.lastAuthError = { code: err.code, message: err.message };
  }

  async function teardown(): Promise<void> {
    connected = false;
    const p = producer;
    const a = admin;
    producer = undefined;
    admin = undefined;
    await Promise.allSettled([p?.disconnect(), a?.disconnect()]);
  }

  async function connect(): Promise<void> {
    await teardown();
    try {
      const client = new Kafka(clientConfig(config, log, await buildSasl()));
      const p = client.producer({
        allowAutoTopicCreation: true,
        retry: { retries: 0 },
        // The partition is chosen by the sink (prepare/write) and always set on the message.
        createPartitioner:
          () =>
          ({ message }: { message: Message }) =>
            message.partition ?? 0,
      });
      const a = client.admin({ retry: { retries: 0 } });
      producer = p;
      admin = a;
      await p.connect();
      await a.connect();
    } catch (err) {
      const mapped = mapConnectError(err, { sink: name });
      if (mapped.code.startsWith('kafka_gssapi') || mapped.code === 'kafka_authentication_failed')
        noteAuthFailure(mapped);
      await teardown();
      throw mapped;
    }
    partitions.clear();
    connected = true;
    // A constant topic: learn its partition count now, so records get partitions on enqueue.
    if (!/\$\{/.test(config.topic)) await partitions.ensure(config.topic).catch(() => {});
    log.info(
      { brokers: config.bootstrap_hosts, mechanism: auth.mechanism },
      'kafka sink connected',
    );
  }

  function toTopicMessages(items: Prepared[]): TopicMessages[] {
    // The runner's batches never mix partitions, so (almost always) one topic: no regrouping.
    const topic = items[0]?.topic ?? '';
    if (items.every((p) => p.topic === topic)) return [{ topic, messages: items as Message[] }];
    const byTopic = new Map<string, Message[]>();
    for (const p of items) {
      let list = byTopic.get(p.topic);
      if (!list) byTopic.set(p.topic, (list = []));
      list.push(p as Message);
    }
    return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
  }

  function settlePending(items: Prepared[]): void {
    for (const p of items) {
      if (!p.pending) continue;
      const n = (pending.get(p.topic) ?? 1) - 1;
      if (n <= 0) pending.delete(p.topic);
      else pending.set(p.topic, n);
      p.pending = false;
    }
  }

  async function write(batch: readonly SinkRecord[]): Promise<void> {
    if (!connected || !producer) throw sinkNotConnected(`Kafka sink ${name} is not connected`);
    const items = batch.map(prepare);
    // Records enqueued before their topic's partition count was known get one now (stable
    // across retries: stored on the cached entry).
    for (const p of items) {
      if (p.partition === undefined) {
        try {
          p.partition = choose(p, await partitions.ensure(p.topic));
        } catch (err) {
          throw mapKafkaError(err, { sink: name, topic: p.topic });
        }
      }
    }
    stats.requests++;
    try {
      // One produce request per batch: the runner caps a batch at batch_bytes (sizeOf).
      await producer.sendBatch({
        topicMessages: toTopicMessages(items),
        acks,
        timeout: config.request_timeout,
        compression,
      });
    } catch (err) {
      stats.requestErrors++;
      const mapped = mapKafkaError(err, { sink: name, topic: items[0]?.topic ?? '' });
      if (mapped.code === 'kafka_authentication_failed' || mapped.code.startsWith('kafka_gssapi'))
        noteAuthFailure(mapped);
      throw mapped;
    }
    settlePending(items);
  }

  return {
    connect,
    write,
    async close() {
      await teardown();
      if (credentialsRegistered) {
        credentialsRegistered = false;
        await (deps.credentialStore ?? defaultCredentialStore()).unregister(credentialId);
      }
    },
    partitionKey: (record) => prepare(record).group,
    sizeOf: (record) => prepare(record).size,
    stats: () => ({ ...stats }),
  };
}
