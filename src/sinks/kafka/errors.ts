/**
 * Error codes of the Kafka sink (CONVENTIONS.md #7). Retriability is data: the shared runner
 * retries `retriable` errors with backoff; connection losses are raised as the runner's
 * `sink_not_connected` (see error-map.ts) so the runner reconnects first.
 */
import { defineErrors } from '../../core/index.js';

export const KafkaErrors = defineErrors('sinks.kafka', {
  kafka_config_invalid: {
    description:
      'The Kafka sink configuration is inconsistent (e.g. SASL mechanism without credentials, key_dispatch without a key template, unreadable TLS file).',
    retriable: false,
  },
  kafka_connect_failed: {
    description:
      'The Kafka client could not connect to any bootstrap broker (refused, timed out or TLS failed); retried with backoff.',
    retriable: true,
  },
  kafka_authentication_failed: {
    description:
      'The broker refused the SASL credentials (PLAIN/SCRAM user or password wrong, or mechanism not enabled on that listener).',
    retriable: true,
  },
  kafka_authorization_failed: {
    description:
      'The broker denied access (topic or cluster authorization failed); the batch is dropped.',
    retriable: false,
  },
  kafka_unknown_topic: {
    description:
      'The topic does not exist (and the broker does not auto-create it) or has no leader yet; retried until request_ttl.',
    retriable: true,
  },
  kafka_broker_retriable: {
    description:
      'The broker answered with a retriable error (not leader, not enough replicas, request timed out, …); the batch is retried.',
    retriable: true,
  },
  kafka_request_timeout: {
    description:
      'The broker did not answer a produce request within request_timeout; retried (may create duplicates: at-least-once).',
    retriable: true,
  },
  kafka_message_rejected: {
    description:
      'The broker rejected the records for good (message too large, invalid record, unsupported compression, …); the batch is dropped.',
    retriable: false,
  },
  kafka_produce_failed: {
    description:
      'A produce request failed with an error the sink does not classify; treated as retriable.',
    retriable: true,
  },
  kafka_gssapi_unavailable: {
    description:
      'authentication.mechanism is gssapi but the optional native package `kerberos` is not installed or failed to load (needs libkrb5-dev at npm install time).',
    retriable: false,
  },
  kafka_gssapi_kdc_unreachable: {
    description:
      'Kerberos: no KDC for the realm could be reached (check krb5.conf [realms] kdc entries, KRB5_CONFIG, network).',
    retriable: true,
  },
  kafka_gssapi_unknown_principal: {
    description:
      'Kerberos: the client principal is not in the KDC database (check authentication.kerberos_principal and the realm).',
    retriable: true,
  },
  kafka_gssapi_unknown_service: {
    description:
      'Kerberos: the service principal kafka/<broker host>@REALM is not in the KDC database — usually a hostname/canonicalization mismatch (see kerberos_service_host).',
    retriable: true,
  },
  kafka_gssapi_bad_keytab: {
    description:
      'Kerberos: the keytab is missing, unreadable, has no key for the principal, or its key is stale (pre-authentication failed).',
    retriable: true,
  },
  kafka_gssapi_clock_skew: {
    description:
      'Kerberos: the clocks of this host and the KDC/broker differ by more than the allowed skew (default 5 minutes); fix time sync.',
    retriable: true,
  },
  kafka_gssapi_rejected: {
    description:
      'Kerberos: the broker refused the GSSAPI exchange (its message is included: wrong service principal, replay, expired ticket, …).',
    retriable: true,
  },
  kafka_gssapi_failed: {
    description:
      'Kerberos: the GSSAPI exchange failed for another reason (the GSS major/minor message is included).',
    retriable: true,
  },
});
