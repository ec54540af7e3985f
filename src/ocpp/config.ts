/**
 * The OCPP gateway's configuration spec (CONVENTIONS.md #6), embedded by the engine under
 * `gateway.ocpp` of sluice.yaml (EMQX's `gateway.ocpp`). Field names and defaults follow EMQX
 * 5.x (`mountpoint`, `upstream.topic`, `dnstream.max_mqueue_len`, `message_format_checking`,
 * `heartbeat_checking_times_backoff`, `websocket.path`, `fail_if_no_subprotocol`); additions
 * that fix EMQX's gaps are marked as such in their descriptions.
 */
import {
  field,
  tlsRevocationFields,
  validate,
  type FieldSpec,
  type TlsRevocationConfig,
} from '../core/index.js';
import { OcppErrors } from './errors.js';

export type OcppListenerType = 'ws' | 'wss';
export type FormatChecking = 'all' | 'upstream_only' | 'dnstream_only' | 'disable';

/** TLS of a wss listener; CRL and OCSP options as on the broker's listeners (src/core/tls-spec.ts). */
export interface OcppTlsConfig extends TlsRevocationConfig {
  certfile?: string;
  keyfile?: string;
  cacertfile?: string;
  cert?: string;
  key?: string;
  ca?: string;
  passphrase?: string;
  verify: 'verify_none' | 'verify_peer';
  fail_if_no_peer_cert: boolean;
}

export interface OcppListenerConfig {
  type: OcppListenerType;
  enabled: boolean;
  bind: string;
  port: number;
  enable_authn: boolean;
  mountpoint?: string;
  max_connections: number;
  websocket: {
    path: string;
    supported_subprotocols: string[];
    fail_if_no_subprotocol: boolean;
    max_frame_size: number;
  };
  ssl_options?: OcppTlsConfig;
}

export interface OcppConfig {
  enable: boolean;
  mountpoint: string;
  default_heartbeat_interval: number;
  heartbeat_checking_times_backoff: number;
  server_ping_interval: number;
  message_format_checking: FormatChecking;
  validation_error_codes: 'detailed' | 'formation_violation';
  accept_date_time_without_zone: boolean;
  json_schema_dir?: string;
  json_schema_id_prefix: string;
  invalid_json: 'close' | 'drop';
  max_unique_id_length: number;
  username_must_equal_cid: boolean;
  upstream: {
    topic: string;
    topic_override_mapping: Record<string, string>;
    reply_topic: string;
    error_topic: string;
  };
  dnstream: {
    topic: string;
    max_mqueue_len: number;
    await_timeout: number;
    timeout_error: boolean;
  };
  listeners: Record<string, OcppListenerConfig>;
}

export const DEFAULT_OCPP_PORT = 33033;

const tlsSpec: FieldSpec = field.object(
  {
    certfile: field.string({ description: 'PEM server certificate file.', optional: true }),
    keyfile: field.string({ description: 'PEM private key file.', optional: true }),
    cacertfile: field.string({
      description: 'PEM CA bundle that client certificates must chain to (security profile 3).',
      optional: true,
    }),
    cert: field.string({ description: 'Server certificate as PEM text.', optional: true }),
    key: field.string({ description: 'Private key as PEM text.', optional: true, secret: true }),
    ca: field.string({ description: 'CA bundle as PEM text.', optional: true }),
    passphrase: field.string({
      description: 'Passphrase of an encrypted key.',
      optional: true,
      secret: true,
    }),
    verify: field.string({
      description:
        '`verify_peer` asks charge points for a client certificate (OCPP security profile 3) and refuses one that does not chain to the CA.',
      enum: ['verify_none', 'verify_peer'],
      default: 'verify_none',
    }),
    fail_if_no_peer_cert: field.boolean({
      description: 'With `verify_peer`: refuse charge points that present no certificate.',
      default: false,
    }),
    ...tlsRevocationFields,
  },
  { description: 'TLS of a `wss` listener (TLS 1.2 or newer).' },
);

export const ocppListenerSpec: FieldSpec = field.object(
  {
    type: field.string({ description: 'Listener type.', enum: ['ws', 'wss'], default: 'ws' }),
    enabled: field.boolean({ description: 'Start this listener.', default: true }),
    bind: field.string({ description: 'Address to listen on.', default: '0.0.0.0' }),
    port: field.integer({
      description: 'TCP port (EMQX default 33033); 0 picks a free port.',
      default: DEFAULT_OCPP_PORT,
      min: 0,
      max: 65535,
    }),
    enable_authn: field.boolean({
      description:
        'Authenticate charge points with HTTP Basic credentials through the broker authentication (`broker.users`, `allow_anonymous`, extra authenticators). false lets everyone in.',
      default: true,
    }),
    mountpoint: field.string({
      description: 'Overrides the gateway `mountpoint` for this listener.',
      optional: true,
    }),
    max_connections: field.integer({
      description: 'Open charge point connections on this listener; more are refused with 503.',
      default: 1_024_000,
      min: 1,
    }),
    websocket: field.object(
      {
        path: field.string({
          description: 'URL path; charge points connect to `<path>/<ChargePointId>`.',
          default: '/ocpp',
        }),
        supported_subprotocols: field.array(field.string({ description: 'A subprotocol.' }), {
          description:
            'Subprotocols accepted, in order of preference. A server subprotocol is only ever sent when the client offered it (RFC 6455; EMQX sends one regardless).',
          default: ['ocpp1.6'],
          minItems: 1,
        }),
        fail_if_no_subprotocol: field.boolean({
          description:
            'Refuse (HTTP 400) charge points that offer no subprotocol. false accepts them without a `Sec-WebSocket-Protocol` header.',
          default: false,
        }),
        max_frame_size: field.bytes({
          description: 'Largest accepted WebSocket message; a larger one closes with 1009.',
          default: 1024 * 1024,
        }),
      },
      { description: 'WebSocket options.' },
    ),
    ssl_options: { ...tlsSpec, optional: true },
  },
  { description: 'One OCPP listener.' },
);

export const ocppConfigSpec: FieldSpec = field.object(
  {
    enable: field.boolean({
      description: 'Run the OCPP 1.6J gateway (docs/ocpp.md).',
      default: false,
    }),
    mountpoint: field.string({
      description: 'Prefix of every MQTT topic the gateway publishes and subscribes.',
      default: 'ocpp/',
    }),
    default_heartbeat_interval: field.duration({
      description:
        'Keep-alive interval until a BootNotification.conf (matched by UniqueId) sets another; 0 disables the watchdog.',
      default: 60_000,
      example: '60s',
    }),
    heartbeat_checking_times_backoff: field.integer({
      description:
        'Silent intervals tolerated before the connection is closed (reason `keepalive_timeout`). Any frame, ping or pong counts as activity.',
      default: 1,
      min: 1,
    }),
    server_ping_interval: field.duration({
      description:
        'Send a WebSocket ping to each charge point this often; 0 (default) sends none (some chargers drop the link on server pings). Addition to EMQX.',
      default: 0,
    }),
    message_format_checking: field.string({
      description:
        'Check frames against the official OCPP 1.6 JSON schemas: CP CALLs and CALLRESULTs (`upstream_only`), backend CALLs (`dnstream_only`), both (`all`).',
      enum: ['all', 'upstream_only', 'dnstream_only', 'disable'],
      default: 'disable',
    }),
    validation_error_codes: field.string({
      description:
        '`detailed`: an invalid CP CALL is answered with the 1.6 code for the failure (OccurenceConstraintViolation, TypeConstraintViolation, PropertyConstraintViolation, FormationViolation); `formation_violation`: always FormationViolation. Addition to EMQX.',
      enum: ['detailed', 'formation_violation'],
      default: 'detailed',
    }),
    accept_date_time_without_zone: field.boolean({
      description:
        'Validation: accept `date-time` values without a time zone (`2024-05-14T08:10:05`), which some chargers send; RFC 3339 (and the default) requires one.',
      default: false,
    }),
    json_schema_dir: field.string({
      description:
        'Directory of official OCA 1.6 draft-04 schema files (`<Action>.json`, `<Action>Response.json`) to check against instead of the bundled ones (EMQX `json_schema_dir`).',
      optional: true,
      example: '/etc/sluice/ocpp-1.6-schemas',
    }),
    json_schema_id_prefix: field.string({
      description:
        'Prefix of the schema ids in `json_schema_dir`; the rest names the schema (`BootNotificationRequest`).',
      default: 'urn:OCPP:1.6:2019:12:',
    }),
    invalid_json: field.string({
      description:
        'A frame that is not a JSON array: `close` the connection (1007) or `drop` it (counted).',
      enum: ['close', 'drop'],
      default: 'close',
    }),
    max_unique_id_length: field.integer({
      description:
        'Longest accepted UniqueId (OCPP-J §4.1.4: 36). A CALL with a longer id is answered with FormationViolation.',
      default: 36,
      min: 1,
    }),
    username_must_equal_cid: field.boolean({
      description:
        'Refuse (401) a Basic username other than the charge point id (OCPP security whitepaper). Addition to EMQX.',
      default: false,
    }),
    upstream: field.object(
      {
        topic: field.string({
          description: 'Topic of CP CALLs; placeholders `${cid}`, `${clientid}`, `${action}`.',
          default: 'cp/${cid}',
        }),
        topic_override_mapping: field.map(field.string({ description: 'Topic template.' }), {
          description: 'Per-Action topic of CP CALLs.',
          default: {},
          example: { BootNotification: 'cp/${cid}/Notify/BootNotification' },
        }),
        reply_topic: field.string({
          description: 'Topic of CP CALLRESULTs.',
          default: 'cp/${cid}/Reply',
        }),
        error_topic: field.string({
          description: 'Topic of CP CALLERRORs (and of the gateway’s synthetic timeout errors).',
          default: 'cp/${cid}/Reply',
        }),
      },
      { description: 'Charge point → MQTT.' },
    ),
    dnstream: field.object(
      {
        topic: field.string({
          description:
            'Topic subscribed per charge point; backend CALLs and replies to CP CALLs (`${cid}`, `${clientid}`).',
          default: 'cs/${cid}',
        }),
        max_mqueue_len: field.integer({
          description:
            'Backend CALLs queued per charge point behind the one in flight; more are dropped (counted).',
          default: 100,
          min: 0,
        }),
        await_timeout: field.duration({
          description:
            'How long a backend CALL may stay unanswered before the next one is sent (OCPP-J §4.1.1).',
          default: 30_000,
        }),
        timeout_error: field.boolean({
          description:
            'On await_timeout, publish a CALLERROR envelope (`ErrorCode` `GenericError`, `ErrorDescription` "timeout") to the error topic.',
          default: true,
        }),
      },
      { description: 'MQTT → charge point.' },
    ),
    listeners: field.map(ocppListenerSpec, {
      description: 'Listeners by name.',
      default: { default: { type: 'ws', port: DEFAULT_OCPP_PORT } },
    }),
  },
  { description: 'OCPP 1.6J gateway (EMQX `gateway.ocpp`).' },
);

/** Validate and default a gateway config (the engine validated it already; tests call this). */
export function resolveOcppConfig(input: unknown): OcppConfig {
  const r = validate<OcppConfig>(ocppConfigSpec, input ?? {}, 'gateway.ocpp');
  if (!r.ok)
    throw OcppErrors.ocpp_config_invalid(
      `invalid gateway.ocpp config:\n${r.issues.map((i) => `  ${i.path}: ${i.reason}`).join('\n')}`,
      { context: { issues: r.issues } },
    );
  // A map's default is taken as written: default each listener's own fields here.
  for (const [name, raw] of Object.entries(r.value.listeners)) {
    const lr = validate<OcppListenerConfig>(
      ocppListenerSpec,
      raw,
      `gateway.ocpp.listeners.${name}`,
    );
    if (!lr.ok)
      throw OcppErrors.ocpp_config_invalid(
        lr.issues.map((i) => `${i.path}: ${i.reason}`).join('\n'),
      );
    const l = lr.value;
    r.value.listeners[name] = l;
    if (l.type === 'wss' && !(l.ssl_options?.certfile || l.ssl_options?.cert))
      throw OcppErrors.ocpp_config_invalid(
        `gateway.ocpp.listeners.${name}: a wss listener needs ssl_options.certfile or cert`,
      );
  }
  return r.value;
}
