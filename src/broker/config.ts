/**
 * The broker's configuration spec (CONVENTIONS.md #6). `brokerConfigSpec` is embedded by the
 * engine under the `broker:` key of `sluice.yaml`; the same declaration yields the validator,
 * the JSON Schema and the docs rows. Field names follow EMQX where EMQX has an equivalent
 * (`listeners.<name>.bind`, `ssl_options.verify`, `fail_if_no_peer_cert`, `allow_anonymous`,
 * `ignore_sys_message`).
 */
import {
  field,
  tlsRevocationFields,
  validate,
  type FieldSpec,
  type OcspConfig,
  type TlsRevocationConfig,
} from '../core/index.js';
import type { JwtAuthConfig } from './authn-jwt.js';
import { BrokerErrors } from './errors.js';

export type ListenerType = 'tcp' | 'ws' | 'tls' | 'wss';

/** Default port per listener type (EMQX defaults: 1883 tcp, 8083 ws, 8883 ssl, 8084 wss). */
export const DEFAULT_PORTS: Readonly<Record<ListenerType, number>> = {
  tcp: 1883,
  ws: 8083,
  tls: 8883,
  wss: 8084,
};

export interface TlsOptionsConfig extends TlsRevocationConfig {
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

/** Per-listener limits (limits.ts; EMQX names). */
export interface ListenerLimits {
  /** Largest accepted MQTT packet in bytes (fixed header included). */
  max_packet_size: number;
  /** Open sockets on this listener (incl. those that have not sent CONNECT yet). */
  max_connections: number;
  /** Most levels in a PUBLISH topic or SUBSCRIBE filter (Aedes' ceiling is 100). */
  max_topic_levels: number;
  /** Most subscriptions one client may hold; 0 = unlimited. */
  max_subscriptions: number;
  /** ms a socket may take to deliver CONNECT. */
  idle_timeout: number;
  /** PUBLISH packets per client, `<n>/<unit>` or `infinity` (rate-limits.ts). */
  messages_rate: string;
  /** New connections taken in by this listener, `<n>/<unit>` or `infinity` (rate-limits.ts). */
  max_conn_rate: string;
  /** PUBLISH packets per client routed, `<n>/<unit>` or `infinity`; past it refused with 0x97 (rate-limits.ts). */
  messages_quota: string;
  /** Most QoS 1/2 messages queued for an offline persistent session; 0 = unlimited (mqueue.ts). */
  max_mqueue_len: number;
  /** Most QoS 1/2 copies on their way to one client without PUBACK/PUBCOMP; 0 = unlimited. */
  max_inflight: number;
  /** ms any one packet may take from its first byte to its last; 0 = unbounded (protocol-check.ts). */
  packet_timeout: number;
  /** When an inbound QoS 1/2 PUBLISH is acknowledged (ack-after.ts, decision 0012). */
  ack_after: AckAfter;
  /** ms a held acknowledgement waits at most; then it goes anyway (counted); 0 = no bound. */
  ack_timeout: number;
  /** Most held acknowledgements per client before the broker stops reading its socket. */
  max_awaiting_ack: number;
}

/** `ack_after`: on receipt (upstream Aedes), once buffered by the sinks, once the remote acked. */
export type AckAfter = 'receipt' | 'buffered' | 'remote';

/** An EMQX rate: `infinity`, or `<n>/<unit>` with an optional count (`1000/s`, `100/10s`). */
const RATE_PATTERN = '^(infinity|[0-9]+(\\.[0-9]+)?/([1-9][0-9]*)?(ms|s|m|h))$';

/** Limit defaults (idle_timeout defaults to the broker's connect_timeout). */
export const LISTENER_LIMIT_DEFAULTS: Readonly<Omit<ListenerLimits, 'idle_timeout'>> = {
  max_packet_size: 1024 * 1024,
  max_connections: 1_024_000,
  max_topic_levels: 100,
  max_subscriptions: 1000,
  messages_rate: 'infinity',
  max_conn_rate: 'infinity',
  messages_quota: 'infinity',
  max_mqueue_len: 1000,
  max_inflight: 32,
  packet_timeout: 30_000,
  ack_after: 'receipt',
  ack_timeout: 60_000,
  max_awaiting_ack: 1000,
};

export interface ListenerConfig extends ListenerLimits {
  type: ListenerType;
  enabled: boolean;
  bind: string;
  /** Absent → DEFAULT_PORTS[type]; 0 → ephemeral (tests). */
  port?: number;
  /** WebSocket path (ws/wss only). */
  path: string;
  ssl_options?: TlsOptionsConfig;
}

export interface UserConfig {
  username: string;
  password_hash: string;
  is_superuser: boolean;
}

/** SCRAM users for MQTT 5 enhanced authentication (authn-scram.ts, enhanced-auth.ts). */
export interface ScramUserConfig {
  username: string;
  credential: string;
  is_superuser: boolean;
}

export interface ScramConfig {
  enable: boolean;
  users: ScramUserConfig[];
  /** YAML or JSON list of users, read at start-up (createBroker). */
  users_file?: string;
}

export interface BrokerConfig {
  node?: string;
  listeners: Record<string, ListenerConfig>;
  allow_anonymous: boolean;
  users: UserConfig[];
  /** JWT authenticator (authn-jwt.ts); absent = off. */
  jwt?: JwtAuthConfig;
  /** MQTT 5 enhanced authentication with SCRAM-SHA-256 / -512 (enhanced-auth.ts). */
  scram: ScramConfig;
  authorization: {
    no_match: 'allow' | 'deny';
    deny_sys_publish: boolean;
    /** Rules file (authz-rules.ts), YAML or JSON. */
    rules_file?: string;
    /** Reload the rules file when it changes (a bad edit keeps the old rules). */
    rules_file_watch: boolean;
  };
  ignore_sys_message: boolean;
  concurrency: number;
  connect_timeout: number;
  max_clientid_len: number;
  /** Most inbound QoS 2 PUBLISH one client may have awaiting PUBREL (EMQX `max_awaiting_rel`); 0 = unlimited. */
  max_awaiting_rel: number;
  /** MQTT 5: highest Topic Alias a client may use towards the broker (CONNACK Topic Alias Maximum); 0 = none. */
  max_topic_alias: number;
  /** MQTT 5: Response Information returned when a client asks for it; '' = never sent. */
  response_information: string;
  /** How a shared subscription group picks the member for each message (shared-subscriptions.ts). */
  shared_subscription_strategy: SharedStrategy;
  /** Per-group strategy overrides (EMQX `broker.shared_subscription_group.<group>.strategy`). */
  shared_subscription_group: Record<string, { strategy: SharedStrategy }>;
  /** Where retained messages and persistent sessions live (persistence-disk.ts, decision 0008). */
  persistence: { type: 'memory' | 'disk'; dir: string };
}

/** EMQX's shared subscription strategies (emqx_shared_sub). */
export const SHARED_STRATEGIES = [
  'random',
  'round_robin',
  'round_robin_per_group',
  'sticky',
  'local',
  'hash_clientid',
  'hash_topic',
] as const;
export type SharedStrategy = (typeof SHARED_STRATEGIES)[number];

/** Deeply optional input form accepted by `createBroker` (validated and defaulted there). */
export type BrokerConfigInput = {
  node?: string;
  listeners?: Record<
    string,
    Partial<
      Omit<
        ListenerConfig,
        'ssl_options' | 'max_packet_size' | 'idle_timeout' | 'packet_timeout' | 'ack_timeout'
      >
    > & {
      max_packet_size?: number | string;
      idle_timeout?: number | string;
      packet_timeout?: number | string;
      ack_timeout?: number | string;
      type: ListenerType;
      ssl_options?: Partial<Omit<TlsOptionsConfig, 'ocsp'>> & { ocsp?: Partial<OcspConfig> };
    }
  >;
  allow_anonymous?: boolean;
  users?: Array<{ username: string; password_hash: string; is_superuser?: boolean }>;
  jwt?: Partial<Omit<JwtAuthConfig, 'refresh_interval' | 'http_timeout' | 'clock_tolerance'>> & {
    refresh_interval?: number | string;
    http_timeout?: number | string;
    clock_tolerance?: number | string;
  };
  scram?: {
    enable?: boolean;
    users?: Array<{ username: string; credential: string; is_superuser?: boolean }>;
    users_file?: string;
  };
  authorization?: Partial<BrokerConfig['authorization']>;
  ignore_sys_message?: boolean;
  concurrency?: number;
  connect_timeout?: number | string;
  max_clientid_len?: number;
  max_awaiting_rel?: number;
  max_topic_alias?: number;
  response_information?: string;
  shared_subscription_strategy?: SharedStrategy;
  shared_subscription_group?: Record<string, { strategy?: SharedStrategy }>;
  persistence?: { type?: 'memory' | 'disk'; dir?: string };
};

const tlsSpec: FieldSpec = field.object(
  {
    certfile: field.string({
      description: 'Path of the PEM server certificate (chain). Use this or `cert`.',
      optional: true,
      example: '/etc/sluice/certs/server.crt',
    }),
    keyfile: field.string({
      description: 'Path of the PEM private key of the server certificate. Use this or `key`.',
      optional: true,
      example: '/etc/sluice/certs/server.key',
    }),
    cacertfile: field.string({
      description:
        'Path of the PEM CA bundle used to verify client certificates (and sent as chain). Use this or `ca`.',
      optional: true,
      example: '/etc/sluice/certs/ca.crt',
    }),
    cert: field.string({
      description: 'Server certificate as PEM text (instead of `certfile`).',
      optional: true,
    }),
    key: field.string({
      description: 'Server private key as PEM text (instead of `keyfile`).',
      optional: true,
      secret: true,
    }),
    ca: field.string({
      description: 'CA bundle as PEM text (instead of `cacertfile`).',
      optional: true,
    }),
    passphrase: field.string({
      description: 'Passphrase of an encrypted private key.',
      optional: true,
      secret: true,
    }),
    verify: field.string({
      description:
        '`verify_peer` asks every client for a certificate and rejects one that does not chain to the CA; `verify_none` does not ask.',
      enum: ['verify_none', 'verify_peer'],
      default: 'verify_none',
    }),
    fail_if_no_peer_cert: field.boolean({
      description:
        'With `verify_peer`: also reject clients that present no certificate at all (mutual TLS required).',
      default: false,
    }),
    ...tlsRevocationFields,
  },
  {
    description: 'TLS options (tls/wss listeners only), including CRL and OCSP revocation checks.',
    optional: true,
  },
);

export const listenerSpec: FieldSpec = field.object(
  {
    type: field.string({
      description:
        'Transport: `tcp` (MQTT over TCP), `ws` (MQTT over WebSocket), `tls` (MQTT over TLS), `wss` (MQTT over secure WebSocket).',
      enum: ['tcp', 'ws', 'tls', 'wss'],
      example: 'tcp',
    }),
    enabled: field.boolean({
      description: 'Set to false to keep the listener declared but closed.',
      default: true,
    }),
    bind: field.string({
      description:
        'Address to bind (IPv4 or IPv6 literal, or host name). `0.0.0.0` listens on every interface.',
      default: '0.0.0.0',
      example: '127.0.0.1',
    }),
    port: field.integer({
      description:
        'TCP port. Defaults per type: tcp 1883, ws 8083, tls 8883, wss 8084. 0 picks a free ephemeral port (reported by start()).',
      optional: true,
      min: 0,
      max: 65535,
      example: 1883,
    }),
    path: field.string({
      description: 'HTTP path that accepts WebSocket upgrades (ws/wss only).',
      default: '/mqtt',
      pattern: '^/',
    }),
    ssl_options: tlsSpec,
    max_packet_size: field.bytes({
      description:
        'Largest MQTT packet accepted, fixed header included (EMQX `max_packet_size`). A client announcing a larger packet is disconnected as soon as its fixed header is read, before the packet is buffered.',
      default: LISTENER_LIMIT_DEFAULTS.max_packet_size,
      example: '1MB',
    }),
    max_connections: field.integer({
      description:
        'Most open sockets on this listener, counted from accept (also before CONNECT). A socket past the limit is closed at once.',
      default: LISTENER_LIMIT_DEFAULTS.max_connections,
      min: 1,
    }),
    max_topic_levels: field.integer({
      description:
        'Most levels in a PUBLISH topic (a longer one closes the connection) or a SUBSCRIBE filter (SUBACK 0x80). At most 100, the ceiling of the Aedes matcher.',
      default: LISTENER_LIMIT_DEFAULTS.max_topic_levels,
      min: 1,
      max: 100,
    }),
    max_subscriptions: field.integer({
      description:
        'Most subscriptions one client may hold; each filter past it gets SUBACK 0x80. 0 means unlimited.',
      default: LISTENER_LIMIT_DEFAULTS.max_subscriptions,
      min: 0,
    }),
    idle_timeout: field.duration({
      description:
        'Time a new socket has to deliver its whole CONNECT packet before it is closed (EMQX `idle_timeout`). Defaults to the broker-wide `connect_timeout`.',
      optional: true,
      example: '15s',
    }),
    messages_rate: field.string({
      description:
        'PUBLISH packets one client may send (EMQX `messages_rate`): `<n>/<unit>` (unit ms, s, m, h, optionally with a count, e.g. `100/10s`) or `infinity`. Past it the broker stops reading the client socket until the token bucket refills; nothing is dropped.',
      default: LISTENER_LIMIT_DEFAULTS.messages_rate,
      pattern: RATE_PATTERN,
      example: '1000/s',
    }),
    max_conn_rate: field.string({
      description:
        'New connections this listener takes in (EMQX `max_conn_rate`): `<n>/<unit>` or `infinity`. A socket accepted past it waits, unread, until a token frees.',
      default: LISTENER_LIMIT_DEFAULTS.max_conn_rate,
      pattern: RATE_PATTERN,
      example: '100/s',
    }),
    messages_quota: field.string({
      description:
        'PUBLISH packets one client may have routed (EMQX 4 `quota.conn.messages.routing`): `<n>/<unit>` or `infinity`. Unlike `messages_rate` it refuses rather than slows: past it an MQTT 5 client gets PUBACK / PUBREC 0x97 (quota exceeded) for QoS 1/2 and its QoS 0 messages are dropped; an MQTT 3.1.1 client, which has no reason codes, is disconnected (reason `quota_exceeded`; its unacknowledged QoS 1/2 messages are resent after it reconnects). The message is not routed. Counted in `sluice_broker_quota_exceeded_total`.',
      default: LISTENER_LIMIT_DEFAULTS.messages_quota,
      pattern: RATE_PATTERN,
      example: '100/s',
    }),
    max_mqueue_len: field.integer({
      description:
        'Most QoS 1/2 messages queued for an offline persistent session (EMQX `max_mqueue_len`); past it the oldest queued one is dropped (delivery.dropped `queue_full`). 0 means unlimited.',
      default: LISTENER_LIMIT_DEFAULTS.max_mqueue_len,
      min: 0,
    }),
    max_inflight: field.integer({
      description:
        'Most QoS 1/2 messages on their way to one client without PUBACK / PUBCOMP (EMQX `max_inflight`). Further ones wait in the client queue (at most `max_mqueue_len`, oldest dropped) and go out as acknowledgements free the window. 0 means unlimited.',
      default: LISTENER_LIMIT_DEFAULTS.max_inflight,
      min: 0,
      max: 65535,
    }),
    packet_timeout: field.duration({
      description:
        'Time any one MQTT packet may take from its first byte to its last, whatever the keepalive (keepalive 0 included): a connection holding a half-sent packet longer is closed (reason `packet_timeout`). Time the broker itself is not reading the socket (back-pressure) does not count. EMQX has no exact equivalent. 0 disables the check.',
      default: LISTENER_LIMIT_DEFAULTS.packet_timeout,
      example: '30s',
    }),
    ack_after: field.string({
      description:
        'When a QoS 1/2 PUBLISH from a client of this listener is acknowledged (PUBACK; QoS 2: PUBREC). `receipt`: as soon as it is read (before routing; nothing waits). `buffered`: after routing, once every record the rules made from it is in its sink buffer — for a disk buffer written to the segment file (fsync `always`: also fsynced; `interval`: after the next interval fsync; `never`: in the page cache), for a memory buffer (or the memory tier of a hybrid buffer) in memory. `remote`: once every such record was acknowledged by the remote system. A message no rule consumed is acknowledged at once; acknowledgements leave in the order the PUBLISHes arrived. docs/delivery.md.',
      enum: ['receipt', 'buffered', 'remote'],
      default: LISTENER_LIMIT_DEFAULTS.ack_after,
    }),
    ack_timeout: field.duration({
      description:
        '`ack_after` buffered / remote: a held acknowledgement that waited this long is sent anyway, counted (`sluice_broker_acks_timed_out_total`) and warned about (`broker_ack_timeout`), so a record a sink dropped cannot stall the client forever. 0 = wait without bound.',
      default: LISTENER_LIMIT_DEFAULTS.ack_timeout,
      example: '60s',
    }),
    max_awaiting_ack: field.integer({
      description:
        '`ack_after` buffered / remote: most messages of one client whose acknowledgement is held. Up to it the broker keeps reading the client (so a client with an inflight window is not slowed to one message at a time); past it the broker stops reading until the oldest is acknowledged (TCP slows the client).',
      default: LISTENER_LIMIT_DEFAULTS.max_awaiting_ack,
      min: 1,
      max: 65535,
    }),
  },
  { description: 'One MQTT listener.' },
);

const userSpec: FieldSpec = field.object(
  {
    username: field.string({
      description: 'MQTT user name (exact, case-sensitive).',
      example: 'device-1',
    }),
    password_hash: field.string({
      description:
        'Salted hash (see docs/broker.md "Making a password hash"): `scrypt$N$r$p$salt$hash` or `pbkdf2$sha256$iterations$salt$hash` (salt and hash base64). Plain passwords are not accepted.',
      secret: true,
      pattern: '^(scrypt|pbkdf2)\\$',
      example: 'scrypt$16384$8$1$3q2+7w==$…',
    }),
    is_superuser: field.boolean({
      description:
        'Superusers skip authorization checks (reported as `is_superuser` in check_authn_complete).',
      default: false,
    }),
  },
  { description: 'A built-in user.' },
);

/** JWT authentication (EMQX `mechanism = jwt`; docs/security.md). */
const jwtSpec: FieldSpec = field.object(
  {
    enable: field.boolean({
      description: 'Set to false to keep the section but switch JWT off.',
      default: true,
    }),
    from: field.string({
      description:
        'CONNECT field that carries the token. Prefer `password`: user names end up in logs.',
      enum: ['password', 'username'],
      default: 'password',
    }),
    use_jwks: field.boolean({
      description:
        'Take the public keys from the JWKS `endpoint` (refreshed every `refresh_interval`).',
      default: false,
    }),
    algorithm: field.string({
      description:
        '`hmac-based` (HS256/384/512 with `secret`) or `public-key` (RS*, PS*, ES*, EdDSA with `public_key`). Ignored with `use_jwks` (public-key algorithms).',
      enum: ['hmac-based', 'public-key'],
      default: 'hmac-based',
    }),
    secret: field.string({
      description: 'HMAC secret (`hmac-based`).',
      optional: true,
      secret: true,
    }),
    secret_base64_encoded: field.boolean({
      description: 'Base64-decode `secret` before use.',
      default: false,
    }),
    public_key: field.string({
      description: 'PEM public key text, or the path of a PEM file (`public-key`).',
      optional: true,
    }),
    endpoint: field.string({
      description:
        'JWKS URL (`use_jwks`). Keys come only from here, never from a token header (`jku`, `x5u`).',
      optional: true,
      example: 'https://idp.example.com/.well-known/jwks.json',
    }),
    headers: field.map(field.string({ description: 'Header value.' }), {
      description: 'Extra HTTP headers for the JWKS request.',
      default: {},
    }),
    refresh_interval: field.duration({
      description:
        'JWKS refresh period (at least 10s). A failed refresh keeps the last good keys and retries after 5s.',
      default: 300_000,
    }),
    http_timeout: field.duration({ description: 'Timeout of one JWKS fetch.', default: 15_000 }),
    max_fail_count: field.integer({
      description:
        'Drop the cached JWKS keys after this many consecutive failed refreshes (clients are then refused with CONNACK 3). 0 keeps them through any outage.',
      default: 0,
      min: 0,
    }),
    algorithms: field.array(field.string({ description: 'A JWS algorithm name.' }), {
      description:
        "Narrow the mode's allow-list (a subset of HS256/384/512, or of RS*, PS*, ES*, EdDSA). The token header's `alg` is never trusted on its own.",
      optional: true,
      example: ['RS256'],
    }),
    verify_claims: field.map(field.string({ description: 'Expected value.' }), {
      description:
        'Claims that must equal these values; `${clientid}` and `${username}` are replaced first. A missing claim fails; `aud` may be an array containing the value. `exp`, `iat`, `nbf` are not allowed here.',
      default: {},
      example: { sub: '${clientid}' },
    }),
    require_exp: field.boolean({
      description: 'Refuse tokens without `exp` (EMQX accepts them: they never expire).',
      default: false,
    }),
    clock_tolerance: field.duration({
      description: 'Leeway for `exp` and `nbf` (whole seconds are used).',
      default: 0,
    }),
    disconnect_after_expire: field.boolean({
      description: 'Close the connection when the token `exp` passes.',
      default: true,
    }),
    acl_claim_name: field.string({
      description: 'Claim holding the ACL (EMQX 4.4 `{pub, sub, all}` object or 5.x rule list).',
      default: 'acl',
    }),
  },
  {
    description:
      'JWT authentication, tried after the built-in `users` (see docs/security.md). On when it names key material: `secret`, `public_key` or `use_jwks: true`.',
    optional: true,
  },
);

const scramUserSpec: FieldSpec = field.object(
  {
    username: field.string({
      description: 'User name (the SCRAM `n=` attribute; exact, case-sensitive).',
      example: 'device-1',
    }),
    credential: field.string({
      description:
        'Salted SCRAM keys, made by `sluice hash-password --algorithm scram-sha-256` (or `scram-sha-512`): `scram-sha-256$iterations$salt$stored_key$server_key` (base64). Plain passwords are not accepted. A user may be listed once per algorithm.',
      secret: true,
      pattern: '^scram-sha-(256|512)\\$',
      example: 'scram-sha-256$4096$3q2+7w==$…$…',
    }),
    is_superuser: field.boolean({
      description: 'Superusers skip authorization checks.',
      default: false,
    }),
  },
  { description: 'A SCRAM user.' },
);

/** MQTT 5 enhanced authentication (EMQX `mechanism = scram`, `backend = built_in_database`). */
const scramSpec: FieldSpec = field.object(
  {
    enable: field.boolean({
      description: 'Set to false to keep the users but refuse SCRAM (CONNACK 0x8C).',
      default: true,
    }),
    users: field.array(scramUserSpec, {
      description:
        'SCRAM users. The methods offered follow the credentials: SCRAM-SHA-256 when at least one user has a scram-sha-256 credential, SCRAM-SHA-512 likewise.',
      default: [],
    }),
    users_file: field.string({
      description:
        'YAML or JSON file holding a list of users in the same shape as `users` (read at start; both lists are used).',
      optional: true,
      example: '/etc/sluice/scram-users.yaml',
    }),
  },
  {
    description:
      'MQTT 5 enhanced authentication (AUTH packets) with SCRAM-SHA-256 / SCRAM-SHA-512 (RFC 5802 / 7677), see docs/broker.md "Enhanced authentication (SCRAM)". MQTT 3.1.1 clients cannot use it. A CONNECT with another Authentication-Method gets CONNACK 0x8C.',
    default: {},
  },
);

export const brokerConfigSpec: FieldSpec = field.object(
  {
    node: field.string({
      description:
        'Node name reported in the `node` column of every event (EMQX style `name@host`).',
      optional: true,
      example: 'sluice@127.0.0.1',
    }),
    listeners: field.map(listenerSpec, {
      description: 'MQTT listeners by name. Replaces the default set when given.',
      default: {
        tcp_default: { type: 'tcp', bind: '0.0.0.0', port: 1883 },
        ws_default: { type: 'ws', bind: '0.0.0.0', port: 8083, path: '/mqtt' },
      },
    }),
    allow_anonymous: field.boolean({
      description:
        'Accept clients that no authenticator recognised (no user name, or a user name not in `users`). false refuses them with CONNACK 5 (not authorized).',
      default: true,
    }),
    users: field.array(userSpec, {
      description:
        'Built-in user list (the `built_in_database` authenticator). A wrong password is refused with CONNACK 4.',
      default: [],
    }),
    jwt: jwtSpec,
    scram: scramSpec,
    authorization: field.object(
      {
        no_match: field.string({
          description: 'Result when no authorizer in the chain decides a publish/subscribe.',
          enum: ['allow', 'deny'],
          default: 'allow',
        }),
        deny_sys_publish: field.boolean({
          description: 'Deny client publishes to `$SYS/…` topics (reserved for the broker).',
          default: true,
        }),
        rules_file: field.string({
          description:
            'YAML or JSON file of allow/deny rules (per user name, client id, IP; topic filters with `${clientid}` / `${username}`), checked after the JWT `acl` claim; first match wins. See docs/security.md.',
          optional: true,
          example: '/etc/sluice/acl.yaml',
        }),
        rules_file_watch: field.boolean({
          description:
            'Reload `rules_file` when it changes, without a restart. A file that no longer parses is logged (`broker_acl_rules_invalid`) and the previous rules stay in force.',
          default: true,
        }),
      },
      { description: 'Publish/subscribe authorization.' },
    ),
    ignore_sys_message: field.boolean({
      description:
        'Do not emit `message.publish` events (nor message.dropped) for `$SYS/…` messages, so rules never see them.',
      default: true,
    }),
    concurrency: field.integer({
      description:
        'Aedes/mqemitter delivery concurrency. Values below 1000 risk a stack overflow when a subscriber disconnects during a QoS 0 flood.',
      default: 1000,
      min: 1000,
    }),
    connect_timeout: field.duration({
      description:
        'Time a new connection has to send CONNECT before it is closed; the default of every listener’s `idle_timeout`.',
      default: 30_000,
    }),
    max_clientid_len: field.integer({
      description: 'Longest accepted client id (MQTT 3.1 clients; 3.1.1 allows any length).',
      default: 65535,
      min: 23,
      max: 65535,
    }),
    max_awaiting_rel: field.integer({
      description:
        'Most inbound QoS 2 messages one client may have awaiting PUBREL (EMQX `max_awaiting_rel`). One more closes the connection (MQTT 5: DISCONNECT 0x93 receive maximum exceeded); MQTT 5 clients are told the limit as the CONNACK Receive Maximum (when below 65535). 0 means unlimited.',
      default: 100,
      min: 0,
    }),
    max_topic_alias: field.integer({
      description:
        'MQTT 5: the Topic Alias Maximum sent in CONNACK, the highest alias a client may use when publishing (EMQX `max_topic_alias`). 0 turns inbound topic aliases off.',
      default: 65535,
      min: 0,
      max: 65535,
    }),
    response_information: field.string({
      description:
        'MQTT 5: the Response Information sent in CONNACK to a client that sets Request Response Information (EMQX `response_information`), e.g. a topic prefix for replies. Empty: never sent.',
      default: '',
      example: 'replies/',
    }),
    shared_subscription_strategy: field.string({
      description:
        'How each shared subscription group (`$share/<group>/<filter>`, `$queue/<filter>`) picks the one member that gets a message: `random`, `round_robin` (in turn, per publisher), `round_robin_per_group` (in turn, one counter per group), `sticky` (the same member until it leaves, per publisher), `local` (same as random on one node), `hash_clientid` (by the publisher client id), `hash_topic` (by the topic). See docs/broker.md.',
      enum: SHARED_STRATEGIES,
      default: 'round_robin',
    }),
    shared_subscription_group: field.map(
      field.object(
        {
          strategy: field.string({
            description: 'The strategy of this group (overrides `shared_subscription_strategy`).',
            enum: SHARED_STRATEGIES,
            example: 'sticky',
          }),
        },
        { description: 'Settings of one shared subscription group.' },
      ),
      {
        description:
          'Per-group settings by group name (EMQX `broker.shared_subscription_group`); `$queue/…` subscriptions are the group `$queue`.',
        default: {},
      },
    ),
    persistence: field.object(
      {
        type: field.string({
          description:
            '`memory`: retained messages and sessions are lost on restart. `disk`: they are kept in `dir` (an operation journal plus snapshots; decision 0008) and restored at start — retained messages, the subscriptions of clean-session-false clients, their queued QoS 1/2 messages and incoming QoS 2 state. Wills are not kept.',
          enum: ['memory', 'disk'],
          default: 'memory',
        }),
        dir: field.string({
          description:
            'Directory of the disk persistence (created if missing; relative to the working directory). One broker per directory.',
          default: './data/broker',
        }),
      },
      { description: 'Broker state across restarts.' },
    ),
  },
  { description: 'Embedded MQTT broker: listeners, authentication, events.' },
);

/** Validate the config (defaults applied); throws broker_config_invalid listing every issue. */
export function resolveBrokerConfig(input: BrokerConfigInput | BrokerConfig): BrokerConfig {
  const r = validate<BrokerConfig>(brokerConfigSpec, input);
  if (!r.ok)
    throw BrokerErrors.broker_config_invalid(
      `invalid broker config: ${r.issues.map((i) => `${i.path || '(root)'} ${i.reason}`).join('; ')}`,
      { context: { issues: r.issues } },
    );
  // Map defaults are not re-validated by the spec builder: normalise each listener here.
  for (const [name, l] of Object.entries(r.value.listeners)) {
    l.enabled ??= true;
    l.bind ??= '0.0.0.0';
    l.path ??= '/mqtt';
    l.max_packet_size ??= LISTENER_LIMIT_DEFAULTS.max_packet_size;
    l.max_connections ??= LISTENER_LIMIT_DEFAULTS.max_connections;
    l.max_topic_levels ??= LISTENER_LIMIT_DEFAULTS.max_topic_levels;
    l.max_subscriptions ??= LISTENER_LIMIT_DEFAULTS.max_subscriptions;
    l.messages_rate ??= LISTENER_LIMIT_DEFAULTS.messages_rate;
    l.max_conn_rate ??= LISTENER_LIMIT_DEFAULTS.max_conn_rate;
    l.messages_quota ??= LISTENER_LIMIT_DEFAULTS.messages_quota;
    l.max_mqueue_len ??= LISTENER_LIMIT_DEFAULTS.max_mqueue_len;
    l.max_inflight ??= LISTENER_LIMIT_DEFAULTS.max_inflight;
    l.idle_timeout ??= r.value.connect_timeout;
    l.packet_timeout ??= LISTENER_LIMIT_DEFAULTS.packet_timeout;
    l.ack_after ??= LISTENER_LIMIT_DEFAULTS.ack_after;
    l.ack_timeout ??= LISTENER_LIMIT_DEFAULTS.ack_timeout;
    l.max_awaiting_ack ??= LISTENER_LIMIT_DEFAULTS.max_awaiting_ack;
    if ((l.type === 'tls' || l.type === 'wss') && !(l.ssl_options?.cert ?? l.ssl_options?.certfile))
      throw BrokerErrors.broker_config_invalid(
        `invalid broker config: listeners.${name}.ssl_options.certfile (or cert) is required for a ${l.type} listener`,
      );
  }
  return r.value;
}
