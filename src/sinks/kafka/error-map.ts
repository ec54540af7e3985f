/**
 * kafkajs errors → coded SluiceErrors (CONVENTIONS.md #7). kafkajs wraps the root cause in
 * KafkaJSNumberOfRetriesExceeded / KafkaJSNonRetriableError (`.cause`), so we look at the whole
 * chain. Connection-level failures become the runner's `sink_not_connected` (reconnect, then
 * retry); broker error codes keep kafkajs' retriability except the few we know are final.
 */
import { SluiceError } from '../../core/index.js';
import { sinkNotConnected } from '../runner/index.js';
import { KafkaErrors } from './errors.js';

interface KafkaJsLike {
  name?: string;
  message?: string;
  type?: string;
  code?: unknown;
  retriable?: boolean;
  cause?: unknown;
}

/** The error and its causes, outermost first. */
function chain(err: unknown): KafkaJsLike[] {
  const out: KafkaJsLike[] = [];
  let cur: unknown = err;
  for (let i = 0; i < 8 && cur !== null && typeof cur === 'object'; i++) {
    out.push(cur as KafkaJsLike);
    const next = (cur as KafkaJsLike).cause;
    if (next === cur) break;
    cur = next;
  }
  return out;
}

/** Broker error types that are final for this batch. */
const REJECTED = new Set([
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_TOPIC_EXCEPTION',
  'CORRUPT_MESSAGE',
  'INVALID_RECORD',
  'INVALID_TIMESTAMP',
  'UNSUPPORTED_FOR_MESSAGE_FORMAT',
  'UNSUPPORTED_COMPRESSION_TYPE',
  'INVALID_REQUIRED_ACKS',
  'INVALID_PARTITIONS',
  'POLICY_VIOLATION',
]);
const AUTHZ = new Set([
  'TOPIC_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
]);
const CONNECTION = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSBrokerNotFound',
  'KafkaJSNoBrokerAvailableError',
]);

export interface MapContext {
  sink: string;
  topic?: string;
}

/** Map any error thrown by kafkajs (or by our GSSAPI provider inside it) to a SluiceError. */
export function mapKafkaError(err: unknown, ctx: MapContext): SluiceError {
  const errs = chain(err);
  // Our own coded errors (GSSAPI provider, config) travel through kafkajs unchanged.
  const own = errs.find((e): e is SluiceError => e instanceof SluiceError);
  if (own) return own;
  const root = errs[errs.length - 1] ?? {};
  const message = errs.map((e) => e.message).find((m) => m) ?? String(err);
  const context = { sink: ctx.sink, ...(ctx.topic ? { topic: ctx.topic } : {}) };
  const opts = { cause: err, context };

  const sasl = errs.find(
    (e) =>
      e.name === 'KafkaJSSASLAuthenticationError' ||
      e.type === 'SASL_AUTHENTICATION_FAILED' ||
      e.type === 'ILLEGAL_SASL_STATE' ||
      e.type === 'UNSUPPORTED_SASL_MECHANISM',
  );
  if (sasl) {
    return KafkaErrors.kafka_authentication_failed(
      `Kafka SASL authentication failed: ${sasl.message ?? message}`,
      opts,
    );
  }
  const protocol = errs.find((e) => e.name === 'KafkaJSProtocolError' && e.type);
  if (protocol?.type) {
    const t = protocol.type;
    if (AUTHZ.has(t))
      return KafkaErrors.kafka_authorization_failed(`Kafka: ${protocol.message} (${t})`, opts);
    if (REJECTED.has(t))
      return KafkaErrors.kafka_message_rejected(`Kafka rejected the batch: ${t}`, opts);
    if (t === 'UNKNOWN_TOPIC_OR_PARTITION' || t === 'LEADER_NOT_AVAILABLE')
      return KafkaErrors.kafka_unknown_topic(
        `Kafka: topic ${ctx.topic ?? ''} unknown or without leader (${t})`,
        opts,
      );
    if (t === 'REQUEST_TIMED_OUT')
      return KafkaErrors.kafka_request_timeout(`Kafka: ${protocol.message}`, opts);
    return protocol.retriable === false
      ? KafkaErrors.kafka_message_rejected(`Kafka: ${protocol.message} (${t})`, opts)
      : KafkaErrors.kafka_broker_retriable(`Kafka: ${protocol.message} (${t})`, opts);
  }
  if (errs.some((e) => e.name === 'KafkaJSRequestTimeoutError'))
    return KafkaErrors.kafka_request_timeout(`Kafka: ${message}`, opts);
  if (errs.some((e) => e.name && CONNECTION.has(e.name)))
    return sinkNotConnected(`Kafka connection lost: ${message}`, opts);
  if (
    errs.some(
      (e) => e.name === 'KafkaJSMetadataNotLoaded' || e.name === 'KafkaJSTopicMetadataNotLoaded',
    )
  )
    return KafkaErrors.kafka_unknown_topic(`Kafka: no metadata for topic ${ctx.topic ?? ''}`, opts);
  if (root.name === 'KafkaJSNonRetriableError' || root.retriable === false)
    return KafkaErrors.kafka_message_rejected(`Kafka: ${message}`, opts);
  return KafkaErrors.kafka_produce_failed(`Kafka: ${message}`, opts);
}

/** Map a failure of connect()/metadata: connection problems stay `kafka_connect_failed`. */
export function mapConnectError(err: unknown, ctx: MapContext): SluiceError {
  const mapped = mapKafkaError(err, ctx);
  if (mapped.code === 'sink_not_connected' || mapped.code === 'kafka_produce_failed') {
    return KafkaErrors.kafka_connect_failed(
      `Kafka: cannot connect to ${ctx.sink} bootstrap brokers: ${mapped.message.replace(/^Kafka connection lost: /, '')}`,
      { cause: err, context: mapped.context },
    );
  }
  return mapped;
}
