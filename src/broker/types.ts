/**
 * Public types of the broker module: the `Broker` port, its dependencies and the shapes it
 * exchanges with callers.
 */
import type {
  AckGatePort,
  IngressPort,
  BrokerEvent,
  ConnectedClient,
  EventName,
  Logger,
  OcspStaplingStatus,
  PublishMessage,
  TlsRevocationStatus,
} from '../core/index.js';
import type { AckAfterMetrics } from './ack-after.js';
import type { Authenticator, Authorizer } from './auth.js';
import type { BoundAddress } from './listeners.js';

export interface BrokerDeps {
  logger: Logger;
  /** Clock in ms (tests inject a fake one). Default Date.now. */
  now?: () => number;
  /** Node name for the `node` column when the config does not set one. */
  node?: string;
  /** Extra authenticators, tried after the built-in user list (JWT, HTTP, …). */
  authenticators?: readonly Authenticator[];
  /** Extra authorizers, tried after the `$SYS` publish guard (ACL file, JWT claim, …). */
  authorizers?: readonly Authorizer[];
  /** Listener `ack_after` buffered / remote: the engine's tracker (ack-after.ts). Absent = on receipt. */
  ackGate?: AckGatePort;
  /** Ingress schema validation / message transformation (decision 0013). Absent = none. */
  ingress?: IngressPort;
}

/**
 * A message for `broker.publish`: the core `MessagePublisher` port's message (used by the
 * republish action and the OCPP gateway).
 */
export type PublishRequest = PublishMessage;

/** What `broker.subscribe` handlers receive. */
export interface ReceivedMessage {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: number;
  readonly retain: boolean;
  readonly properties: Readonly<Record<string, unknown>> | undefined;
}

export interface BrokerMetrics {
  /** Clients connected now. */
  connections: number;
  connections_total: number;
  /** CONNECTs refused (any CONNACK code other than 0). */
  connections_refused: number;
  /** Messages published by clients (including wills) and through `publish()`; $SYS excluded when ignored. */
  messages_in: number;
  /** Copies forwarded to client subscribers. */
  messages_out: number;
  /** Messages that reached no subscriber (message.dropped, reason no_subscribers). */
  messages_dropped: number;
  /** Messages not routed because ingress validation / transformation dropped them (decision 0013). */
  messages_ingress_dropped: number;
  /** PUBACK/PUBCOMP received for forwarded QoS 1/2 copies. */
  messages_acked: number;
  /** Connections whose PUBLISH packets are held now (back-pressure, `pauseClient`). */
  clients_paused: number;
  /** PUBLISH packets held by paused connections now. */
  publishes_held: number;
  /** Connections closed for announcing a packet larger than max_packet_size. */
  refused_packet_too_large: number;
  /** Sockets closed at accept because their listener had max_connections open. */
  refused_max_connections: number;
  /** PUBLISHes (connection closed) and SUBSCRIBE filters (0x80) over max_topic_levels. */
  refused_topic_levels: number;
  /** SUBSCRIBE filters refused (0x80) because the client held max_subscriptions. */
  refused_max_subscriptions: number;
  /** Sockets closed for not delivering CONNECT within idle_timeout. */
  refused_idle_timeout: number;
  /** Unacked shared-subscription copies redelivered to another member after theirs left. */
  shared_redispatched: number;
  /** Times a client's socket reading was paused by its listener's messages_rate. */
  limited_messages_rate: number;
  /** Sockets held before hand-over by their listener's max_conn_rate. */
  limited_conn_rate: number;
  /** Queued messages of offline sessions dropped (oldest first) past max_mqueue_len. */
  dropped_queue_full: number;
  /** Copies not sent: their Message Expiry Interval passed while they waited (delivery.dropped `expired`). */
  dropped_expired: number;
  /** Copies not sent to their publisher's own No Local subscription (delivery.dropped `no_local`). */
  dropped_no_local: number;
  /** Copies not sent: larger than the Maximum Packet Size their MQTT 5 client declared (`too_large`). */
  dropped_too_large: number;
  /** Connections closed for holding a half-sent packet past packet_timeout (protocol-check.ts). */
  refused_packet_timeout: number;
  /** Connections closed for a string field that is not well-formed UTF-8 [MQTT-1.5.3-1]. */
  protocol_malformed_utf8: number;
  /** Connections closed for a string field containing U+0000 [MQTT-1.5.3-2]. */
  protocol_null_character: number;
  /** CONNECTs with an unsupported protocol level (CONNACK 0x01) [MQTT-3.1.2-2]. */
  protocol_unsupported_level: number;
  /** CONNECTs with an unknown protocol name (closed, no CONNACK) [MQTT-3.1.2-1]. */
  protocol_unknown_name: number;
  /** WebSocket connections closed for a text (non-binary) data frame [MQTT-6.0.0-1]. */
  protocol_ws_text_frame: number;
  /** PUBLISH packets refused by a listener's messages_quota (0x97, QoS 0 dropped, 3.1.1 closed). */
  quota_exceeded: number;
  /** MQTT 5 enhanced authentication (SCRAM): CONNECT exchanges that succeeded / failed. */
  enhanced_auth_success: number;
  enhanced_auth_failed: number;
  /** Re-authentications (AUTH 0x19) that succeeded / failed (DISCONNECT 0x87). */
  reauth_success: number;
  reauth_failed: number;
  /** TLS revocation, JWKS and rules-file state (docs/security.md "Metrics"); filled by metrics(). */
  security?: SecurityMetrics;
  /** Held acknowledgements (listener `ack_after`, ack-after.ts); filled by metrics(). */
  acks?: AckAfterMetrics;
}

/** Security plug-in counters of one broker. */
export interface SecurityMetrics {
  /** The authorization rules file; absent without one. */
  readonly acl?: { rules: number; reloads_ok: number; reloads_failed: number };
  /** JWKS fetches; absent unless `jwt.use_jwks`. */
  readonly jwks?: { refresh_ok: number; refresh_failed: number; keys: number };
  /** One entry per tls/wss listener with `ssl_options`. */
  readonly tls: readonly TlsListenerSecurityMetrics[];
}

/** Stapling counters of one listener (src/core/ports.ts). */
export type OcspStapleMetrics = OcspStaplingStatus;

/** Revocation counters of one tls/wss listener (src/core/ports.ts). */
export type TlsListenerSecurityMetrics = TlsRevocationStatus;

export interface Broker {
  /** Bind every enabled listener; resolves with the bound addresses (port 0 → the real port). */
  start(): Promise<BoundAddress[]>;
  /** Disconnect clients, close listeners; resolves when every socket and server is closed. */
  stop(): Promise<void>;
  /** Publish as the broker. Resolves once routed (QoS > 0: queued for every matching session). */
  publish(msg: PublishRequest): Promise<void>;
  /** Receive messages matching `filter` in-process; resolves with an unsubscribe function. */
  subscribe(filter: string, handler: (m: ReceivedMessage) => void): Promise<() => Promise<void>>;
  /**
   * Receive one frozen BrokerEvent per message publish and per client/session/message event,
   * synchronously on the broker's path — listeners must be quick and must not throw (a throw
   * is logged and swallowed). Returns the function that removes the listener.
   *
   * `filter.names` limits the listener to those events. The broker builds an event's columns
   * only while at least one listener wants it, so a caller that knows which events its rules
   * use (e.g. only `message.publish`) should say so: per-copy `message.delivered` and
   * per-publish `client.check_authz_complete` then cost nothing.
   */
  onEvent(listener: (e: BrokerEvent) => void, filter?: EventFilter): () => void;
  /**
   * Back-pressure: stop routing PUBLISH packets from the connected client `clientid` (they are
   * held, its socket is not read, TCP slows it; QoS 1/2 acknowledgements wait). Idempotent.
   * Returns false when no client with that id is connected.
   */
  pauseClient(clientid: string): boolean;
  /** Route the held packets of `clientid` in order and read its socket again. Idempotent. */
  resumeClient(clientid: string): void;
  /** The connected clients (core `ClientDirectory`; the API's `GET /api/v5/clients`). */
  clients(): readonly ConnectedClient[];
  /**
   * Close the connection of `clientid` (client.disconnected reason `kicked`; an MQTT 5 client
   * first gets DISCONNECT 0x98 administrative action). False when it is not connected.
   */
  kick(clientid: string): boolean;
  metrics(): BrokerMetrics;
  /** Bound addresses after start(). */
  readonly addresses: readonly BoundAddress[];
}

/** Which events an `onEvent` listener receives (absent = all), and how. */
export interface EventFilter {
  readonly names?: readonly EventName[];
  /**
   * `false`: the listener only reads events (never writes to an event or its columns, as the
   * engine's rule source), so they may reach it without `Object.freeze` — two runtime calls
   * per event, ~0.3 µs of each message's CPU (decision 0020). Every other listener still
   * receives frozen events: while one that wants an event is not `frozen: false`, that event
   * is frozen for all. Default true.
   */
  readonly frozen?: boolean;
}
