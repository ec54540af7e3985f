/**
 * What the API needs from the engine, as a small structural interface: the real `Engine`
 * (src/engine) satisfies it, and tests can pass a double. Metrics shapes are declared here
 * (the fields the API reads) so this module does not depend on the sink runner or the broker.
 */
import type { ConnectedClient, Logger, SchemaRegistryPort } from '../core/index.js';
import type { ParseSql, RuleInfo, RuleMetricsSnapshot, TraceRegistry } from '../runtime/index.js';

export interface ApiSinkMetrics {
  /** Runner state: idle, connecting, connected, failed (non-retriable connect error), draining, stopped. */
  readonly status?: string;
  readonly lastError?: { readonly code: string; readonly message: string } | undefined;
  readonly matched: number;
  readonly queued: number;
  readonly queuedBytes: number;
  /** True while the buffer is full and publishers feeding it are paused (overflow `block`). */
  readonly pressure: boolean;
  readonly pressureEvents: number;
  /** MQTT clients paused now because this sink is full (set by the engine). */
  readonly pausedClients?: number;
  readonly inflight: number;
  readonly inflightRecords: number;
  /** Disk and hybrid buffers: segment bytes, records replayed at start, damaged frames skipped. */
  readonly diskBytes?: number;
  readonly replayed?: number;
  readonly corruptRecords?: number;
  /** Records handed to the sink's fallback actions; times the remote was detected stalled. */
  readonly fallback?: number;
  readonly stalls?: number;
  readonly success: number;
  readonly failed: number;
  readonly failedBy: Readonly<Record<string, number>>;
  readonly dropped: number;
  readonly droppedBy: Readonly<Record<string, number>>;
  readonly retried: number;
  readonly latency: {
    readonly count: number;
    readonly p50: number;
    readonly p99: number;
    readonly max: number;
    /** Sum of the latencies (ms), for the Prometheus histogram. */
    readonly sum?: number;
    /** Cumulative counts per bound of `LATENCY_BOUNDS_MS` (prometheus.ts). */
    readonly buckets?: readonly number[];
  };
}

export interface ApiBrokerMetrics {
  readonly connections: number;
  readonly connections_total: number;
  readonly connections_refused: number;
  readonly messages_in: number;
  readonly messages_out: number;
  readonly messages_dropped: number;
  readonly messages_acked: number;
  readonly clients_paused?: number;
  readonly refused_packet_too_large?: number;
  readonly refused_max_connections?: number;
  readonly refused_topic_levels?: number;
  readonly refused_max_subscriptions?: number;
  readonly refused_idle_timeout?: number;
  readonly refused_packet_timeout?: number;
  readonly protocol_malformed_utf8?: number;
  readonly protocol_null_character?: number;
  readonly protocol_unsupported_level?: number;
  readonly protocol_unknown_name?: number;
  readonly protocol_ws_text_frame?: number;
  /** PUBLISH packets refused by a listener's messages_quota. */
  readonly quota_exceeded?: number;
  /** MQTT 5 enhanced authentication (SCRAM): exchanges at CONNECT and re-authentications. */
  readonly enhanced_auth_success?: number;
  readonly enhanced_auth_failed?: number;
  readonly reauth_success?: number;
  readonly reauth_failed?: number;
  readonly publishes_held?: number;
  /** Rate limits (messages_rate, max_conn_rate): times a client or socket was held back. */
  readonly limited_messages_rate?: number;
  readonly limited_conn_rate?: number;
  /** QoS 1/2 copies dropped because a session queue (max_mqueue_len) was full. */
  readonly dropped_queue_full?: number;
  /** MQTT 5 copies not sent: message expiry passed, No Local, over the client's Maximum Packet Size. */
  readonly dropped_expired?: number;
  readonly dropped_no_local?: number;
  readonly dropped_too_large?: number;
  /** Shared-subscription copies sent on to another member after theirs left. */
  readonly shared_redispatched?: number;
  /** TLS revocation, JWKS and rules-file counters (the broker's SecurityMetrics). */
  readonly security?: ApiSecurityMetrics;
  /** Held acknowledgements (listener `ack_after`; docs/delivery.md). */
  readonly acks?: {
    readonly pending: number;
    readonly held_total: number;
    readonly timed_out: number;
    readonly abandoned: number;
    readonly window_full: number;
    readonly waits: {
      readonly count: number;
      readonly sum: number;
      readonly buckets: readonly number[];
    };
  };
}

export interface ApiSecurityMetrics {
  readonly acl?: { rules: number; reloads_ok: number; reloads_failed: number };
  readonly jwks?: { refresh_ok: number; refresh_failed: number; keys: number };
  readonly tls: readonly ApiTlsListenerMetrics[];
}

export interface ApiTlsListenerMetrics {
  readonly listener: string;
  readonly crl?: { refresh_ok: number; refresh_failed: number; crls: number; dropped: number };
  readonly ocsp?: {
    readonly state: string;
    readonly refresh_ok: number;
    readonly refresh_failed: number;
    readonly stapled: number;
    readonly not_stapled: number;
  };
  readonly rejected: Readonly<Record<string, number>>;
}

export interface ApiRuleInput {
  id: string;
  sql: string;
  actions?: readonly string[];
  enabled?: boolean;
  description?: string;
}

/** The engine as the API sees it. Methods throw `SluiceError`s (codes mapped to HTTP statuses). */
/** The OCPP gateway's counters (src/ocpp GatewayMetrics, the fields the API reads). */
export interface ApiGatewayMetrics {
  readonly connections: number;
  readonly connections_total: number;
  readonly refused: Readonly<Record<string, number>>;
  readonly takeovers: number;
  readonly frames_in: number;
  readonly frames_out: number;
  readonly published: number;
  readonly publish_failed: number;
  readonly invalid_frames: number;
  readonly invalid_envelopes: number;
  readonly validation_failed: number;
  readonly dropped: number;
  readonly call_timeouts: number;
  readonly unmatched_replies: number;
  readonly keepalive_timeouts: number;
  /** OCSP stapling of the wss listeners (labelled `ocpp:<listener>` on /metrics). */
  readonly tls?: readonly ApiTlsListenerMetrics[];
}

/** The OCPP gateway, when enabled: connected charge points, kick, counters. */
export interface ApiGateway {
  clients(): readonly object[];
  kick(clientid: string): boolean;
  metrics(): ApiGatewayMetrics;
}

/** One alarm as the registry keeps it (src/engine/alarms.ts AlarmRecord). */
export interface ApiAlarm {
  readonly name: string;
  readonly message: string;
  readonly details: Readonly<Record<string, unknown>>;
  /** Wall-clock ms. */
  readonly activatedAt: number;
  /** Absent while active. */
  readonly deactivatedAt?: number;
}

/** The alarm registry, as `GET/DELETE /api/v5/alarms` and /metrics read it. */
export interface ApiAlarms {
  active(): readonly ApiAlarm[];
  /** Deactivated alarms still kept, most recent first. */
  history(): readonly ApiAlarm[];
  clearHistory(): number;
  counts(): { readonly activated: number; readonly deactivated: number };
}

/** Memory reclaim's counters (src/engine/memory-reclaim.ts, decision 0023) for /metrics. */
export interface ApiMemoryReclaimMetrics {
  readonly reclaims: Readonly<Record<string, number>>;
  readonly reclaimedBytes: number;
  readonly lastPauseMs: number;
  readonly active: boolean;
  readonly lowWaterBytes: number;
}

/** A schema as the API shows it (src/schema-registry `SchemaInfo`). */
export interface ApiSchemaInfo {
  readonly name: string;
  readonly type: string;
  readonly source: string;
  readonly file?: string;
  readonly imports?: Readonly<Record<string, string>>;
  readonly description: string;
  readonly origin: 'config' | 'api';
  readonly created_at: number;
}

/** What a schema is created from (`POST/PUT /api/v5/schema_registry`). */
export interface ApiSchemaDef {
  type: 'avro' | 'protobuf' | 'json';
  source: string;
  imports?: Record<string, string>;
  description?: string;
}

/**
 * The engine's schema registry as the API uses it (src/schema-registry satisfies it); it throws
 * coded `SluiceError`s (`serde_not_found` → 404, `schema_already_exists` /
 * `schema_config_owned` → 409, `schema_invalid` → 400).
 */
export interface ApiSchemaRegistry extends SchemaRegistryPort {
  list(): readonly ApiSchemaInfo[];
  get(name: string): ApiSchemaInfo | undefined;
  create(name: string, def: ApiSchemaDef): ApiSchemaInfo;
  update(name: string, def: ApiSchemaDef): ApiSchemaInfo;
  remove(name: string): void;
  /** Fetch / cache counters per external registry (decision 0014); optional in doubles. */
  externalMetrics?(): Readonly<Record<string, ApiExternalRegistryMetrics>>;
}

/** Counters of one external (Confluent) registry client. */
export interface ApiExternalRegistryMetrics {
  readonly fetches: number;
  readonly fetch_failures: number;
  readonly cache_hits: number;
  readonly cache_misses: number;
  readonly failure_cache_hits: number;
  readonly waits: number;
  readonly inflight: number;
  readonly cached_ids: number;
}

export interface ApiEngine {
  rules(): readonly RuleInfo[];
  /** Connected MQTT clients (core `ClientDirectory`); absent: `GET /api/v5/clients` is 404. */
  clients?(): readonly ConnectedClient[];
  /** Close a client's connection (reason `kicked`); false when it is not connected. */
  kickClient?(clientid: string): boolean;
  /** The alarm registry (docs/alarms.md); absent in doubles that have none. */
  readonly alarms?: ApiAlarms;
  /** Memory reclaim when idle (decision 0023); absent in doubles that have none. */
  readonly memoryReclaim?: { metrics(): ApiMemoryReclaimMetrics };
  /**
   * What a reload compares with (src/engine reload.ts RunningState): the running rules and
   * digests of the restart-only sections and of each sink. `GET /api/v5/config/running`.
   */
  runningConfig?(): {
    readonly rules: readonly {
      readonly id: string;
      readonly sql: string;
      readonly actions: readonly string[];
      readonly enabled: boolean;
      readonly description: string;
      readonly file: string;
    }[];
    readonly sections: {
      readonly broker: string;
      readonly sinks: string;
      readonly gateway?: string;
      readonly sources?: string;
    };
    readonly sinks: Readonly<
      Record<
        string,
        {
          readonly type: string;
          readonly digest: string;
          readonly fields: Readonly<Record<string, string>>;
        }
      >
    >;
  };
  /** Run the alarm checks now (so a GET sees the current state, not the last interval's). */
  checkAlarms?(): void;
  /** The schema registry (issue #16), when the engine has one. */
  readonly schemas?: ApiSchemaRegistry;
  /** Ingress schema validation / message transformation (decision 0013), when the engine has it. */
  readonly ingress?: ApiIngress;
  /** The OCPP gateway (`gateway.ocpp.enable`), else undefined. */
  readonly ocpp?: ApiGateway | undefined;
  /** The per-message trace recorder (`/api/v5/traces`); absent: those routes answer 404. */
  readonly traces?: TraceRegistry | undefined;
  metrics(): {
    readonly rules: Readonly<Record<string, RuleMetricsSnapshot>>;
    readonly sinks: Readonly<Record<string, ApiSinkMetrics>>;
    readonly broker: ApiBrokerMetrics;
    /** The external source (`sources.mode` mqtt or kafka), when there is one. */
    readonly source?: { readonly connected: boolean };
  };
  /** Log levels by component path ('' = everything else); absent when the logger is external. */
  logLevels?(): Record<string, string>;
  /** Change one component's log level at run time. */
  setLogLevel?(component: string, level: string): void;
  enableRule(id: string): void;
  disableRule(id: string): void;
  addRule(rule: ApiRuleInput): void;
  updateRule(rule: ApiRuleInput): void;
  /**
   * When present the API creates/updates rules and parses `rule_test` SQL through these, which
   * lex and parse long SQL on a worker thread (the engine's; decision 0022).
   */
  addRuleAsync?(rule: ApiRuleInput): Promise<void>;
  updateRuleAsync?(rule: ApiRuleInput): Promise<void>;
  parseSql?: ParseSql;
  removeRule(id: string): void;
  /** Bound MQTT listeners (empty before start / after stop). */
  readonly addresses: readonly {
    readonly name: string;
    readonly type: string;
    readonly host: string;
    readonly port: number;
  }[];
  /** The loaded configuration (sink types for `GET /sinks`, node name). */
  readonly config: {
    readonly config: {
      readonly node?: string;
      readonly broker: Readonly<Record<string, unknown>>;
      /** Source mode (`embedded`, `mqtt`, `kafka`) and whether the embedded broker runs too. */
      readonly sources?: { readonly mode?: string; readonly embedded_broker?: boolean };
      /** The rule budget rule_test applies (docs/rules.md). */
      readonly rule_limits?: {
        readonly eval_budget: number;
        readonly max_sql_bytes?: number;
        readonly max_sql_tokens?: number;
      };
    };
    readonly sinks: Readonly<Record<string, { readonly type: string }>>;
  };
}

export interface ApiDeps {
  engine: ApiEngine;
  logger: Logger;
  /** Reported by `GET /api/v5/status` (default `unknown`). */
  version?: string;
  /** Wall clock in ms (uptime, rule_test timestamps). Default Date.now. */
  now?: () => number;
}

export interface ApiServerConfig {
  /** Address to listen on (tests: 127.0.0.1). */
  bind: string;
  /** 0 = ephemeral; the bound port is returned by start(). */
  port: number;
  /** Bearer token with the administrator role; when set, every request needs a credential. */
  token?: string | undefined;
  /** Absolute path of the API key file (`sluice api-key`); absent: no key file. */
  keysFile?: string | undefined;
  /** Absolute path of an EMQX-style `key:secret[:role]` file. */
  bootstrapFile?: string | undefined;
  /** Largest request body in bytes (default 1 MiB). */
  maxBodySize?: number | undefined;
  /** ms to receive the request headers (default 10 s). */
  headersTimeout?: number | undefined;
  /** ms to receive the whole request (default 30 s). */
  requestTimeout?: number | undefined;
  /** Failed authentications per remote address per window before 429 (default 10; 0 = off). */
  authFailureLimit?: number | undefined;
  /** ms (default 60 s). */
  authFailureWindow?: number | undefined;
  /** Absolute path of the JSONL audit file; absent: the audit goes to the log only. */
  auditLog?: string | undefined;
  /**
   * Directory of the built dashboard (`dist/web`, docs/dashboard.md), served under `/`
   * without credentials (the assets hold no data; every API call they make is authenticated).
   * Absent: no dashboard.
   */
  dashboardDir?: string | undefined;
}

/** The API's own counters, rendered as `sluice_api_*` in /metrics. */
export interface ApiMetrics {
  /** Refused authentications by reason: missing, invalid, expired, disabled, rate_limited. */
  readonly authFailures: Record<string, number>;
  /** Requests refused by a key's role (403). */
  forbidden: number;
  /** Bodies refused as too large (413). */
  bodyTooLarge: number;
}

export interface ApiAddress {
  readonly host: string;
  readonly port: number;
  /** `http://host:port` (IPv6 hosts in brackets). */
  readonly url: string;
}

export interface ApiServer {
  /** Listen; resolves with the bound address. Rejects with `api_listen_failed`. */
  start(): Promise<ApiAddress>;
  /** Stop listening and close every open connection (idle keep-alive ones too). */
  stop(): Promise<void>;
  readonly address: ApiAddress | undefined;
}

/** matched / succeeded / failed of one validation or transformation. */
export interface ApiIngressCounters {
  readonly name: string;
  readonly enable: boolean;
  readonly matched: number;
  readonly succeeded: number;
  readonly failed: number;
}

/** The engine's ingress checks as the API sees them (src/runtime/ingress `Ingress`). */
export interface ApiIngress {
  metrics(): {
    readonly validations: readonly ApiIngressCounters[];
    readonly transformations: readonly ApiIngressCounters[];
    readonly validation_succeeded: number;
    readonly validation_failed: number;
    readonly transformation_succeeded: number;
    readonly transformation_failed: number;
    readonly dropped: number;
  };
  resetMetrics(kind: 'validation' | 'transformation', name: string): boolean;
  /**
   * The entries in the order they apply, each with `name`, `enable` and `origin` (`config`:
   * sluice.yaml, read-only here; `api`). The CRUD methods throw coded `SluiceError`s
   * (`ingress_entry_invalid` with `context.issues`, `ingress_entry_exists`,
   * `ingress_entry_not_found`, `ingress_config_owned`, `ingress_reorder_invalid`,
   * `ingress_store_failed`), mapped to 400/409/404/409/400/503.
   */
  list(kind: 'validation' | 'transformation'): readonly ApiIngressEntry[];
  get(kind: 'validation' | 'transformation', name: string): ApiIngressEntry | undefined;
  create(kind: 'validation' | 'transformation', body: unknown): ApiIngressEntry;
  update(kind: 'validation' | 'transformation', body: unknown): ApiIngressEntry;
  remove(kind: 'validation' | 'transformation', name: string): void;
  enable(kind: 'validation' | 'transformation', name: string, enable: boolean): void;
  reorder(kind: 'validation' | 'transformation', order: unknown): void;
}

/** One validation / transformation as the API answers it (its config + owner). */
export interface ApiIngressEntry {
  readonly name: string;
  readonly enable: boolean;
  readonly origin: 'config' | 'api';
}
