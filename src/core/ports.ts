/**
 * Ports: the contracts between the engine's producers and consumers, so that a module plugs
 * in without the engine special-casing it (CONVENTIONS.md: modules meet only in the engine).
 *
 * - `EventProducer`: something that raises trigger events (the broker; the OCPP gateway).
 * - `MessagePublisher`: publish into the message stream (the broker's `publish`), for sinks
 *   and gateways that produce MQTT messages (republish, OCPP).
 * - `ClientFlowControl`: back-pressure on the connections that produce messages.
 * - `MessageSubscriber`, `ClientAuthenticator`: in-process subscribe and the platform's
 *   authentication, for gateways that must not import the broker (src/ocpp).
 * - `TlsRevocationPort`: CRL checks and OCSP on a TLS server a gateway owns (the broker's
 *   implementation, so the OCPP wss listeners revoke and staple like the broker's own).
 * - `SchemaRegistryPort`: schemas by name for rule functions (`schema_decode`, `spb_decode`, …)
 *   and for later consumers (ingress validation, `sluice check`); src/schema-registry
 *   implements it, the engine hands it to the runtime's function services.
 * - Authentication/authorization ports live with the broker (src/broker/auth.ts:
 *   `Authenticator`, `Authorizer`), which is their only caller.
 */
import type tls from 'node:tls';
import type { BrokerEvent, EventName } from './events.js';
import type { TlsRevocationConfig } from './tls-spec.js';
import type { Value, ValueMap } from './values.js';

export interface EventProducer {
  /** For logs and errors. */
  readonly name: string;
  /**
   * Deliver the events named (every event when `names` is null) to `push`, synchronously on
   * the producer's path, until the returned function is called. Listening again with other
   * names before removing the old listener must not lose or duplicate an event.
   */
  listen(push: (e: BrokerEvent) => void, names: readonly EventName[] | null): () => void;
}

export interface PublishMessage {
  topic: string;
  payload: Buffer | string | Uint8Array;
  qos?: 0 | 1 | 2;
  retain?: boolean;
  /** MQTT 5 properties in mqtt-packet form (`userProperties`, `contentType`, …). */
  properties?: Record<string, unknown>;
  /** Publisher identity for the event columns. */
  from?: { clientid?: string; username?: string };
  /** Extra columns for this message's `message.publish` event (e.g. `republish_by`). */
  columns?: Readonly<ValueMap>;
  /**
   * Dispatch to the matching subscribers only (EMQX republish `direct_dispatch`): no
   * `message.publish` (so no rule sees it) and no `message.dropped` event.
   */
  direct?: boolean;
}

/** Resolves once the message is routed (QoS > 0: queued for every matching session). */
export type MessagePublisher = (msg: PublishMessage) => Promise<void>;

/**
 * When a held MQTT acknowledgement may go out (listener `ack_after`, decision 0012):
 * `buffered` once every record the message's rules produced is in its sink's buffer (durable
 * there per the buffer's fsync policy), `remote` once the remote acknowledged its write.
 */
export type AckAfterMode = 'buffered' | 'remote';

/**
 * The engine's side of held acknowledgements (the broker calls it; src/engine/delivery.ts
 * implements it). `track` runs `push` — the synchronous rule work of one message — and calls
 * `done` once, when every record `push` routed to a sink qualifies for `mode`: synchronously
 * inside `track` when nothing was routed (or everything already qualifies).
 */
export interface AckGatePort {
  track(push: () => void, done: () => void, mode: AckAfterMode): void;
}

export interface ClientFlowControl {
  /** Stop taking messages from the connected client `clientid`; false if there is none. */
  pauseClient(clientid: string): boolean;
  /** Take its messages again (held ones first, in order). */
  resumeClient(clientid: string): void;
}

/** A message delivered to an in-process subscriber (`MessageSubscriber`). */
export interface SubscribedMessage {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: number;
  readonly retain: boolean;
  readonly properties: Readonly<Record<string, unknown>> | undefined;
}

/**
 * Subscribe in-process to the message stream (the broker's `subscribe`), for gateways that
 * deliver MQTT messages to their own clients (OCPP downstream topics). `handler` is called
 * synchronously on the broker's path and must not throw. Resolves, once the subscription is
 * active, with the function that removes it.
 */
export type MessageSubscriber = (
  filter: string,
  handler: (m: SubscribedMessage) => void,
) => Promise<() => Promise<void>>;

/** What a gateway knows of a connecting client when it asks the platform to authenticate it. */
export interface ClientAuthRequest {
  readonly clientid: string;
  readonly username: string | undefined;
  readonly password: Buffer | undefined;
  readonly peerhost: string | undefined;
  /** Listener id, e.g. `ocpp:ws:default`. */
  readonly listener: string;
  /** Subject CN of a verified TLS client certificate, if any. */
  readonly peerCertCN: string | undefined;
}

/**
 * The outcome of authenticating a gateway client: `ok` lets it in; otherwise `reason` says why
 * (a gateway maps it to its protocol, e.g. HTTP 401 for bad credentials, 403 for banned).
 */
export type ClientAuthResult =
  | { readonly ok: true; readonly is_superuser: boolean }
  | {
      readonly ok: false;
      readonly reason:
        'bad_username_or_password' | 'not_authorized' | 'banned' | 'server_unavailable';
    };

/**
 * The platform's authentication (the broker's authenticator chain and `allow_anonymous`), for
 * clients that do not speak MQTT. Called once per connection attempt; must not reject for a
 * bad password (resolve `ok: false`); a rejection means the backend failed.
 */
export type ClientAuthenticator = (req: ClientAuthRequest) => Promise<ClientAuthResult>;

/** Counters of one stapling TLS server, as /metrics reports them. */
export interface OcspStaplingStatus {
  /** `empty`, `good`, `revoked`, `unknown` or `expired`. */
  readonly state: string;
  readonly refresh_ok: number;
  readonly refresh_failed: number;
  readonly stapled: number;
  readonly not_stapled: number;
}

/** Revocation counters of one TLS listener, as /metrics reports them. */
export interface TlsRevocationStatus {
  readonly listener: string;
  readonly crl?: { refresh_ok: number; refresh_failed: number; crls: number; dropped: number };
  readonly ocsp?: OcspStaplingStatus;
  /** Client certificates rejected, by reason. */
  readonly rejected: Readonly<Record<string, number>>;
}

export interface TlsRevocationHandle {
  status(): TlsRevocationStatus;
  /**
   * After the handshake, before the connection is used: CRL bookkeeping and the client
   * certificate's OCSP check. Resolves false when the socket was refused (and destroyed).
   */
  admit(s: tls.TLSSocket): Promise<boolean> | true;
  /** TLS refused the client certificate with this verification error (counted, logged). */
  rejected(s: tls.TLSSocket, reason: string): void;
  close(): void;
}

/**
 * CRL checks, OCSP stapling and client-certificate OCSP checks on a TLS server another module
 * owns (the broker's implementation, so the OCPP wss listeners revoke and staple exactly like
 * the broker's own). Rejects with a located error for bad material (no issuer, no responder,
 * CRL/client checks without `verify_peer`).
 */
export type TlsRevocationPort = (
  listener: string,
  server: tls.Server,
  material: {
    /** The server's secure-context options (cert, key, ca…), the base of CRL hot swaps. */
    readonly secureOptions: tls.SecureContextOptions;
    readonly ssl: TlsRevocationConfig & { readonly verify: 'verify_none' | 'verify_peer' };
  },
) => Promise<TlsRevocationHandle>;
/**
 * One registered schema, looked up by name (`SchemaRegistryPort.lookup`). `decode`/`encode`
 * throw a `SluiceError` (`schema_decode_error`, `schema_encode_error`) for bad data; `check`
 * never throws for bad data (false). `args`: the extra SQL arguments (protobuf: message type).
 */
export interface SchemaHandle {
  readonly name: string;
  readonly type: 'avro' | 'protobuf' | 'json';
  decode(data: Value, args: readonly Value[]): Value;
  encode(data: Value, args: readonly Value[]): Value;
  check(data: Value, args: readonly Value[]): boolean;
}

/**
 * The schema registry as rule functions and other consumers see it. Called synchronously on
 * the message path; every method throws a `SluiceError` whose code becomes the rule's failure
 * code (`serde_not_found`, `schema_decode_error`, `registry_not_found`, …). Schemas may change
 * between two calls (API, reload): callers look up by name on each call and keep nothing.
 */
export interface SchemaRegistryPort {
  /** The schema named, or undefined. */
  lookup(name: string): SchemaHandle | undefined;
  /** `schema_decode(Name, Data[, MsgType])`; unknown name → `serde_not_found`. */
  decode(name: string, data: Value, args: readonly Value[]): Value;
  /** `schema_encode(Name, Map[, MsgType])`. */
  encode(name: string, data: Value, args: readonly Value[]): Value;
  /** `schema_check(Name, Data)`: binary data is decoded, a map is encoded; true when it works. */
  check(name: string, data: Value, args: readonly Value[]): boolean;
  /**
   * Sparkplug B `Payload`; `base64Bytes`: metrics' `bytes_value` as base64 text (spb_*).
   * `topic` (spb_decode passes the message's): on an NBIRTH/DBIRTH topic the alias → name
   * pairs of its metrics are remembered for that edge node / device, and on its NDATA/DDATA
   * topics metrics carrying a known alias get their `name` (EMQX 5.9).
   */
  sparkplugDecode(data: Value, base64Bytes: boolean, topic?: string): Value;
  sparkplugEncode(map: Value, base64Bytes: boolean): Buffer;
  /**
   * `avro_decode(Registry, Data[, SchemaId])` / `avro_encode(Registry, Map, SchemaId)` through a
   * configured external registry. On a cache miss, with `wait` (a rule evaluated in passes):
   * the registry starts the fetch of that id / subject — or joins the one in flight — and calls
   * `wait(ready)`, which throws to suspend the evaluation; `ready` settles (never rejects) when
   * the fetch ended, and the caller evaluates again (the answer, or the failure, is cached by
   * then). Without `wait` the fetch blocks, for at most `deadline` (performance.now clock,
   * Infinity = none) and the registry's `request_timeout`.
   */
  externalDecode(
    registry: string,
    data: Value,
    args: readonly Value[],
    deadline: number,
    wait?: ExternalWait,
  ): Value;
  externalEncode(
    registry: string,
    map: Value,
    args: readonly Value[],
    deadline: number,
    wait?: ExternalWait,
  ): Buffer;
}

/** Suspends an evaluation until an external schema fetch ends (it throws; never returns). */
export type ExternalWait = (ready: Promise<void>) => never;

/** One connected client as the management API lists it (`GET /api/v5/clients`). */
export interface ConnectedClient {
  readonly clientid: string;
  readonly username: string | undefined;
  readonly peerhost: string | undefined;
  /** The accepting listener: its name under `broker.listeners` (e.g. `tcp`). */
  readonly listener: string;
  /** MQTT protocol level: 3 (3.1), 4 (3.1.1), 5. */
  readonly proto_ver: number;
  readonly keepalive: number;
  readonly clean_start: boolean;
  /** ms since the epoch. */
  readonly connected_at: number;
  readonly subscriptions: number;
  /** Its publishes are held by back-pressure now. */
  readonly paused: boolean;
}

/**
 * The connected clients of the broker, for the management API and the dashboard: list them,
 * and close one connection (EMQX's kick, disconnect reason `kicked`). Called per request,
 * never on the message path.
 */
export interface ClientDirectory {
  /** A snapshot of the connected clients, in connection order. */
  clients(): readonly ConnectedClient[];
  /** Close the connection of `clientid`; false when no such client is connected. */
  kickClient(clientid: string): boolean;
}

/**
 * What ingress schema validation / message transformation decided for one PUBLISH
 * (`IngressPort.inspect`, decision 0013). `failures` name each validation or transformation
 * that failed (the broker fires `schema.validation_failed` / `message.transformation_failed`
 * for each, with the message's publish columns); `action` is what happens to the message:
 * `pass` (routed, with `rewrite` applied when set), `drop` (not routed; acknowledged as usual)
 * or `disconnect` (not routed; the publisher's connection is closed).
 */
export interface IngressVerdict {
  readonly action: 'pass' | 'drop' | 'disconnect';
  readonly failures: readonly IngressFailure[];
  readonly rewrite?: IngressRewrite;
}

export interface IngressFailure {
  readonly kind: 'validation' | 'transformation';
  readonly name: string;
}

/** A transformed message: only the fields set changed. */
export interface IngressRewrite {
  readonly topic?: string;
  readonly payload?: Buffer;
  readonly qos?: 0 | 1 | 2;
  readonly retain?: boolean;
  /** The complete MQTT 5 User Property map after the transformation. */
  readonly userProperties?: Readonly<Record<string, string>>;
}

/**
 * The pre-route hook of the broker (issue #16 item 2): every PUBLISH, before it reaches
 * subscribers and rules. Implemented by src/runtime/ingress, wired by the engine; the broker
 * never imports it. Synchronous on the hot path.
 */
export interface IngressPort {
  /** False while nothing is configured: the broker then does no per-message work at all. */
  readonly active: boolean;
  /**
   * Run the validations, then the transformations (EMQX order), that match `topic`.
   * `columns` builds the message's `message.publish` columns (called only when something
   * matches). Null: the message passes unchanged. Never throws.
   */
  inspect(topic: string, columns: () => Readonly<ValueMap>): IngressVerdict | null;
}
