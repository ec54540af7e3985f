/**
 * Error codes raised by the embedded broker (CONVENTIONS.md #7). Every code listed here is
 * reproduced in docs/errors.md; declare new codes here before raising them.
 */
import { defineErrors } from '../core/index.js';

export const BrokerErrors = defineErrors('broker', {
  broker_config_invalid: {
    description:
      'The broker configuration failed validation (unknown field, wrong type, missing TLS material); the message lists every field path.',
    retriable: false,
  },
  broker_listen_failed: {
    description:
      'A listener could not bind its address (e.g. EADDRINUSE: address already in use, EACCES: privileged port); context holds listener, host, port and the system code.',
    retriable: false,
  },
  broker_tls_material_invalid: {
    description:
      'A TLS listener could not load its certificate, key or CA (unreadable file or malformed PEM).',
    retriable: false,
  },
  broker_not_started: {
    description: 'publish/subscribe was called before broker.start() resolved or after stop().',
    retriable: true,
  },
  broker_publish_failed: {
    description:
      'broker.publish() was refused by Aedes (invalid topic, too many topic levels, broker closing).',
    retriable: false,
  },
  broker_password_hash_invalid: {
    description:
      'A configured password hash is not in a supported format (scrypt$N$r$p$salt$hash or pbkdf2$digest$iterations$salt$hash).',
    retriable: false,
  },
  broker_persistence_failed: {
    description:
      'The disk persistence (`broker.persistence.type: disk`) could not write its journal or snapshot in `broker.persistence.dir` (disk full, permissions); logged with `err`. At start, an unreadable snapshot makes start() fail.',
    retriable: false,
  },
  broker_persistence_locked: {
    description:
      'Another broker holds `broker.persistence.dir` (its `LOCK` file names the owner, `<host>:<pid>`, and was refreshed within the last 30 s). One broker per directory: start() fails and nothing is read. A lock left by a crash goes stale after 30 s (or at once when the same host and pid start again).',
    retriable: true,
  },
  broker_auth_backend_failed: {
    description:
      'An authenticator or authorizer in the chain threw or rejected (its backend is down: a transient error). An authenticator: the client is refused (CONNACK 3 server unavailable). An authorizer: the PUBLISH or SUBSCRIBE is not acted on and that client’s connection is closed (MQTT 5: DISCONNECT 0x80 first; client.disconnected reason authz_backend_failed) [MQTT-4.8.0-2]. The error is logged.',
    retriable: true,
  },
  broker_internal_error: {
    description:
      'Aedes reported an error of its own (a client stream or persistence failure); logged with `err`. The broker keeps running.',
    retriable: false,
  },
  broker_listener_error: {
    description:
      'A listening server (`listener`: TCP, TLS or WebSocket) reported an error after it started; connections on it may be refused.',
    retriable: false,
  },
  broker_subscriber_failed: {
    description:
      'An in-process subscriber (a rule source or republish loop-back, `filter`) threw while handling a message; the message is skipped for it.',
    retriable: false,
  },
  broker_event_listener_failed: {
    description:
      'A listener of broker events (`event`: client connected, message delivered, …) threw; the event is skipped for that listener.',
    retriable: false,
  },
  broker_malformed_string: {
    description:
      'A client sent a UTF-8 string field (PUBLISH topic, SUBSCRIBE / UNSUBSCRIBE filter, CONNECT client id, will topic, user name) that is not well-formed UTF-8 or contains U+0000; the connection is closed without acting on the packet [MQTT-1.5.3-1] [MQTT-1.5.3-2]. Logged with the field and counted in sluice_broker_protocol_errors_total.',
    retriable: false,
  },
  broker_unsupported_protocol: {
    description:
      'A CONNECT named an unknown protocol (closed without CONNACK [MQTT-3.1.2-1]) or a protocol level other than 3, 4 or 5 (CONNACK 0x01, then closed [MQTT-3.1.2-2]). Counted in sluice_broker_protocol_errors_total.',
    retriable: false,
  },
  broker_malformed_packet: {
    description:
      'A client sent a packet MQTT forbids that the packet parser lets through: a CONNECT with will QoS 3 or (MQTT 3.1 / 3.1.1) a password without a user name (closed without CONNACK [MQTT-3.1.4-1]), a SUBSCRIBE / UNSUBSCRIBE / QoS 1-2 PUBLISH with packet identifier 0 [MQTT-2.3.1-1], or an UNSUBSCRIBE without a topic filter [MQTT-3.10.3-2], or (MQTT 5) a PUBLISH carrying a Subscription Identifier [MQTT-3.3.4-6], which gets DISCONNECT 0x82, or (MQTT 5) a DISCONNECT with a non-zero Session Expiry Interval after a CONNECT whose interval was 0 (§3.14.2.2.2; fault disconnect_session_expiry: the close is a protocol error, so the will is published and the session ends). The connection is closed without acting on the packet; the client.disconnected reason is protocol_error.',
    retriable: false,
  },
  broker_ws_text_frame: {
    description:
      'A WebSocket client sent a text (non-binary) data frame: MQTT travels in binary frames only, so the connection is closed (WebSocket close 1003) without reading the frame [MQTT-6.0.0-1]. Counted in sluice_broker_protocol_errors_total{reason="ws_text_frame"}; the client.disconnected reason is protocol_error.',
    retriable: false,
  },
  broker_ack_timeout: {
    description:
      'Listener `ack_after` buffered / remote: held PUBACKs / PUBRECs were sent after `ack_timeout` although the records of their messages were not yet buffered / acknowledged by the remote (a sink stalled, or dropped the record). Logged at most every 10 s with the count; counted as sluice_broker_acks_timed_out_total.',
    retriable: true,
  },
  broker_packet_timeout: {
    description:
      'A connection held a partly sent MQTT packet longer than its listener’s packet_timeout and was closed, whatever its keepalive. Counted as sluice_broker_limit_refusals_total{limit="packet_timeout"}.',
    retriable: false,
  },
  broker_jwks_refresh_failed: {
    description:
      'Fetching the JWKS endpoint (jwt.endpoint) failed; the last good keys stay in use (until jwt.max_fail_count failures, if set). Check the endpoint and its TLS.',
    retriable: true,
  },
  broker_jwks_unavailable: {
    description:
      'A JWT login was refused because no JWKS keys are available (never fetched, or dropped after max_fail_count failures); CONNACK server unavailable.',
    retriable: true,
  },
  broker_crl_refresh_failed: {
    description:
      'A CRL (from a URL, file or distribution point) could not be fetched or verified; the last good CRL from that source stays installed.',
    retriable: true,
  },
  broker_crl_expired: {
    description:
      'A CRL passed its nextUpdate and no newer one could be fetched; clients whose chain needs it are refused until one is.',
    retriable: true,
  },
  broker_ocsp_refresh_failed: {
    description:
      'The OCSP responder for the listener certificate could not be reached or its answer failed verification; a still-valid cached response keeps being stapled.',
    retriable: true,
  },
  broker_ocsp_client_check_failed: {
    description:
      'The OCSP check of a client certificate (ocsp.client_check) threw; the connection is closed.',
    retriable: false,
  },
  broker_aedes_unpatched: {
    description:
      'start() found the installed Aedes without the security patch Sluice carries (patches/aedes+2.0.0-beta.1.patch: prototype-less client and subscription maps, the max_awaiting_rel bound on inbound QoS 2, decision 0010; the holdAck and parserFactory hooks, decisions 0012 and 0015), e.g. after `npm ci --ignore-scripts`. Run `npx patch-package` and start again.',
    retriable: false,
  },
  broker_scram_credential_invalid: {
    description:
      'A configured SCRAM credential (`broker.scram.users[].credential` or a `users_file` entry) is not `scram-sha-256$iterations$salt$stored_key$server_key` (or `scram-sha-512$…`, keys of the digest length), or the users file cannot be read; createBroker fails. Make entries with `sluice hash-password --algorithm scram-sha-256`.',
    retriable: false,
  },
  broker_acl_rules_invalid: {
    description:
      'The authorization rules file (authorization.rules_file) cannot be read or holds a malformed rule; the message names the rule field.',
    retriable: false,
  },
});
