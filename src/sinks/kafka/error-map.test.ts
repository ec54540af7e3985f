import { describe, it, expect } from 'vitest';
import kafkajs from 'kafkajs';
import { SluiceError } from '../../core/index.js';
import { mapKafkaError, mapConnectError } from './error-map.js';
import { KafkaErrors } from './errors.js';

// kafkajs' .d.ts types the error constructors more narrowly than its JS accepts.
type ErrorCtor = new (e: unknown, opts?: Record<string, unknown>) => Error;
const {
  KafkaJSProtocolError,
  KafkaJSConnectionError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSNonRetriableError,
  KafkaJSSASLAuthenticationError,
  KafkaJSRequestTimeoutError,
} = kafkajs as unknown as Record<
  | 'KafkaJSProtocolError'
  | 'KafkaJSConnectionError'
  | 'KafkaJSNumberOfRetriesExceeded'
  | 'KafkaJSNonRetriableError'
  | 'KafkaJSSASLAuthenticationError'
  | 'KafkaJSRequestTimeoutError',
  ErrorCtor
>;
const ctx = { sink: 's1', topic: 't1' };
const protocol = (type: string, retriable: boolean) =>
  new KafkaJSProtocolError({ type, code: 1, retriable, message: `broker says ${type}` });
/** What kafkajs' retrier throws with retries: 0. */
const exhausted = (e: Error) =>
  new KafkaJSNumberOfRetriesExceeded(e, { retryCount: 0, retryTime: 100 });

describe('mapKafkaError', () => {
  it('connection loss (wrapped by the retrier) asks the runner to reconnect', () => {
    const e = mapKafkaError(
      exhausted(new KafkaJSConnectionError('Connection error: ECONNREFUSED')),
      ctx,
    );
    expect(e.code).toBe('sink_not_connected');
    expect(e.retriable).toBe(true);
    expect(e.message).toContain('ECONNREFUSED');
  });

  it.each([
    ['MESSAGE_TOO_LARGE', false, 'kafka_message_rejected', false],
    ['INVALID_RECORD', false, 'kafka_message_rejected', false],
    ['TOPIC_AUTHORIZATION_FAILED', false, 'kafka_authorization_failed', false],
    ['UNKNOWN_TOPIC_OR_PARTITION', true, 'kafka_unknown_topic', true],
    ['NOT_LEADER_FOR_PARTITION', true, 'kafka_broker_retriable', true],
    ['NOT_ENOUGH_REPLICAS', true, 'kafka_broker_retriable', true],
    ['REQUEST_TIMED_OUT', true, 'kafka_request_timeout', true],
  ])('broker error %s (kafkajs retriable: %s) → %s', (type, kRetriable, code, retriable) => {
    const wrapped =
      kRetriable === false
        ? new KafkaJSNonRetriableError(protocol(type, kRetriable), {
            cause: protocol(type, kRetriable),
          })
        : exhausted(protocol(type, kRetriable));
    const e = mapKafkaError(wrapped, ctx);
    expect(e.code).toBe(code);
    expect(e.retriable).toBe(retriable);
    expect(e.context).toMatchObject({ sink: 's1', topic: 't1' });
  });

  it('SASL failures → kafka_authentication_failed with the broker text', () => {
    const e = mapKafkaError(
      new KafkaJSSASLAuthenticationError('SASL SCRAM SHA512 authentication failed: bad password'),
      ctx,
    );
    expect(e.code).toBe('kafka_authentication_failed');
    expect(e.message).toContain('bad password');
    const p = mapKafkaError(protocol('SASL_AUTHENTICATION_FAILED', false), ctx);
    expect(p.code).toBe('kafka_authentication_failed');
  });

  it('request timeouts are retriable', () => {
    const e = mapKafkaError(
      exhausted(new KafkaJSRequestTimeoutError('Request Produce(key: 0, version: 7) timed out')),
      ctx,
    );
    expect(e.code).toBe('kafka_request_timeout');
    expect(e.retriable).toBe(true);
  });

  it('our own coded errors (GSSAPI provider) pass through kafkajs wrappers unchanged', () => {
    const own = KafkaErrors.kafka_gssapi_clock_skew('Kerberos: clock skew too great');
    expect(mapKafkaError(new KafkaJSNonRetriableError(own, { cause: own }), ctx)).toBe(own);
  });

  it('unknown errors stay retriable kafka_produce_failed', () => {
    const e = mapKafkaError(new Error('something odd'), ctx);
    expect(e).toBeInstanceOf(SluiceError);
    expect(e.code).toBe('kafka_produce_failed');
    expect(e.retriable).toBe(true);
  });

  it('connect-time connection failures read as kafka_connect_failed', () => {
    const e = mapConnectError(exhausted(new KafkaJSConnectionError('Connection timeout')), ctx);
    expect(e.code).toBe('kafka_connect_failed');
    expect(e.retriable).toBe(true);
  });
});
