/**
 * kafkajs client options from the sink config: brokers, TLS, SASL and logging. Retries are
 * switched OFF in kafkajs (`retry.retries = 0` for the client and the producer): the shared
 * sink runner owns retry with backoff, reconnects and the per-record TTL, so a failing send
 * surfaces at once as a coded error instead of being retried twice in two places with two
 * different backoffs (and two different "gave up" points).
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import './kafkajs-patch.js'; // must run before kafkajs loads
import { logLevel } from 'kafkajs';
import type { KafkaConfig, LogEntry, SASLOptions, Mechanism } from 'kafkajs';
import type { Logger } from '../../core/index.js';
import type { KafkaSinkConfig } from './config.js';
import { KafkaErrors } from './errors.js';

/** `host[:port]` list → kafkajs broker strings (default port 9092, like EMQX). */
export function parseBootstrapHosts(text: string): string[] {
  const hosts = text
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h.length > 0)
    .map((h) => (/:\d+$/.test(h) && !/^\[[^\]]*$/.test(h) ? h : `${h}:9092`));
  if (hosts.length === 0)
    throw KafkaErrors.kafka_config_invalid('bootstrap_hosts must name at least one host:port');
  return hosts;
}

function readPem(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw KafkaErrors.kafka_config_invalid(
      `ssl.${what}: cannot read ${path}: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

export function tlsOptions(ssl: KafkaSinkConfig['ssl']): ConnectionOptions | undefined {
  if (!ssl.enable) return undefined;
  const o: ConnectionOptions = { rejectUnauthorized: ssl.verify };
  if (ssl.ca_file) o.ca = readPem(ssl.ca_file, 'ca_file');
  if (ssl.cert_file) o.cert = readPem(ssl.cert_file, 'cert_file');
  if (ssl.key_file) o.key = readPem(ssl.key_file, 'key_file');
  if (ssl.server_name_indication) o.servername = ssl.server_name_indication;
  return o;
}

/** PLAIN / SCRAM options; GSSAPI is built by the sink (needs the lazy `kerberos` module). */
export function passwordSasl(auth: KafkaSinkConfig['authentication']): SASLOptions | undefined {
  const { mechanism, username = '', password = '' } = auth;
  switch (mechanism) {
    case 'plain':
      return { mechanism: 'plain', username, password };
    case 'scram_sha_256':
      return { mechanism: 'scram-sha-256', username, password };
    case 'scram_sha_512':
      return { mechanism: 'scram-sha-512', username, password };
    default:
      return undefined;
  }
}

/**
 * kafkajs log entries → our logger. kafkajs logs every failed request at ERROR; the runner
 * already logs coded failures at warn, so kafkajs' own lines go to debug (nothing per message
 * above debug, CONVENTIONS.md #12).
 */
export function logCreatorFor(logger: Logger): KafkaConfig['logCreator'] {
  return () =>
    ({ namespace, level, log }: LogEntry) => {
      const {
        message,
        timestamp: _t,
        logger: _l,
        ...rest
      } = log as LogEntry['log'] & {
        logger?: unknown;
      };
      logger.debug({ kafkajs: namespace, level: logLevel[level], ...rest }, message);
    };
}

export function clientConfig(
  config: KafkaSinkConfig,
  logger: Logger,
  sasl: SASLOptions | Mechanism | undefined,
): KafkaConfig {
  const ssl = tlsOptions(config.ssl);
  return {
    clientId: config.client_id,
    brokers: parseBootstrapHosts(config.bootstrap_hosts),
    ...(ssl ? { ssl } : {}),
    ...(sasl ? { sasl } : {}),
    connectionTimeout: config.connect_timeout,
    authenticationTimeout: 10_000,
    requestTimeout: config.request_timeout,
    retry: { retries: 0, initialRetryTime: 100 },
    logLevel: logLevel.WARN,
    logCreator: logCreatorFor(logger),
  };
}
