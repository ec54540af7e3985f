/**
 * The sluice.yaml spec (CONVENTIONS.md #6): one declaration yields the validator, the JSON
 * Schema (`npm run gen:schema` → schema/sluice.schema.json) and the docs/config.md tables.
 * The broker's spec, the sink runner's spec and each sink type's spec are supplied by the
 * engine (`ConfigParts`), so this module depends on none of them.
 */
import { field, toJsonSchema } from '../core/index.js';
import type { FieldSpec } from '../core/index.js';
import { RULE_ID_PATTERN } from './rule-file.js';

export interface ConfigParts {
  readonly brokerSpec: FieldSpec;
  /** Fields every sink gets from the shared runner (batching, retry, buffering). */
  readonly runnerSpec: FieldSpec;
  readonly sinkTypes: readonly {
    readonly type: string;
    readonly spec: FieldSpec;
    /** Runner fields with this type's defaults (default: `runnerSpec`). */
    readonly runnerSpec?: FieldSpec;
  }[];
  /** Protocol gateways by name (`gateway.ocpp`), each spec owned by its module. */
  readonly gatewaySpecs?: Readonly<Record<string, FieldSpec>>;
  /** The `sources:` section (src/sources), when the engine offers external sources. */
  readonly sourcesSpec?: FieldSpec;
  /** The `schema_registry:` section (src/schema-registry), when the engine offers one. */
  readonly schemaRegistrySpec?: FieldSpec;
  /** `schema_validation:` / `message_transformation:` (src/runtime/ingress, decision 0013). */
  readonly schemaValidationSpec?: FieldSpec;
  readonly messageTransformationSpec?: FieldSpec;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export interface RuleConfig {
  id: string;
  sql: string;
  actions: string[];
  enabled: boolean;
  description: string;
}

export interface SinkConfig {
  type: string;
  [field: string]: unknown;
}

export interface SluiceConfig {
  node?: string;
  log: {
    level: (typeof LOG_LEVELS)[number];
    format: 'auto' | 'text' | 'json';
    levels: Record<string, (typeof LOG_LEVELS)[number]>;
  };
  broker: Record<string, unknown>;
  /** Validated by the sources spec (src/sources); absent when the parts have none. */
  sources?: Record<string, unknown>;
  /** Validated by the schema registry's spec; absent when the parts have none. */
  schema_registry?: Record<string, unknown>;
  /** Validated by the ingress specs (src/runtime/ingress); absent when the parts have none. */
  schema_validation?: Record<string, unknown>;
  message_transformation?: Record<string, unknown>;
  sinks: Record<string, SinkConfig>;
  rules: RuleConfig[];
  rule_files: string[];
  reload: { enabled: boolean; debounce: number };
  shutdown: { drain_timeout: number };
  rule_limits: {
    eval_budget: number;
    suspend_after: number;
    suspend_window: number;
    lag_warn: number;
    max_sql_bytes: number;
    max_sql_tokens: number;
  };
  api: ApiConfig;
  /** The alarm registry and the conditions it watches (docs/alarms.md). */
  alarms: AlarmsConfig;
  /** Give memory back to the OS when idle after a burst (decision 0023, docs/operations.md). */
  memory_reclaim: MemoryReclaimSection;
  /** Protocol gateways (`gateway.ocpp`), validated by their own specs. */
  gateway: Record<string, unknown>;
}

/** `alarms` (docs/alarms.md): EMQX-style alarms raised by the engine. */
export interface AlarmsConfig {
  enabled: boolean;
  check_interval: number;
  sysmem_high_watermark: number;
  procmem_high_watermark: number;
  buffer_high_watermark: number;
  size_limit: number;
  validity_period: number;
}

/** `memory_reclaim` (decision 0023): src/engine/memory-reclaim.ts reads the same shape. */
export interface MemoryReclaimSection {
  enabled: boolean;
  check_interval: number;
  idle_utilization: number;
  idle_time: number;
  busy_utilization: number;
  min_growth: number;
  growth_ratio: number;
  timeout: number;
  cooldown: number;
}

/** The management HTTP API (`sluice run` starts it; see docs/api.md). */
export interface ApiConfig {
  enabled: boolean;
  bind: string;
  port: number;
  /** Bearer token (an administrator credential) when set. */
  token?: string;
  /** API keys created with `sluice api-key` (relative paths: to sluice.yaml's directory). */
  keys_file: string;
  /** EMQX-style `key:secret[:role]` lines, read at start and when the file changes. */
  bootstrap_file?: string;
  max_body_size: number;
  headers_timeout: number;
  request_timeout: number;
  auth_failure_limit: number;
  auth_failure_window: number;
  /** JSONL audit file of state-changing requests (relative: to sluice.yaml's directory). */
  audit_log?: string;
  /** Serve the web dashboard under `/` (docs/dashboard.md). */
  dashboard: boolean;
}

export const apiSpec: FieldSpec = field.object(
  {
    enabled: field.boolean({
      description:
        'Start the management HTTP API (status, rules, rule metrics, rule test, sinks, Prometheus `/metrics`) with `sluice run`.',
      default: true,
    }),
    bind: field.string({
      description:
        'Address the API listens on. The default accepts local connections only. A non-loopback address (anything but 127.0.0.0/8, ::1 and localhost) needs a credential — a `token`, a key in `keys_file` or a `bootstrap_file` line — or `sluice run` refuses to start (`api_auth_required`).',
      default: '127.0.0.1',
      example: '127.0.0.1',
    }),
    port: field.integer({
      description: 'TCP port of the API (EMQX dashboard port). 0 picks a free ephemeral port.',
      default: 18083,
      min: 0,
      max: 65535,
      example: 18083,
    }),
    token: field.string({
      description:
        'Bearer token with the administrator role (`Authorization: Bearer <token>`); when set, every request needs a credential (an empty token is an error). Keep it in the environment: `${SLUICE_API_TOKEN}`.',
      optional: true,
      pattern: '^.+$',
      secret: true,
      example: '${SLUICE_API_TOKEN}',
    }),
    keys_file: field.string({
      description:
        'API key file written by `sluice api-key create|delete` (secrets stored as scrypt hashes). Requests authenticate with HTTP Basic `key:secret`; the file is re-read when it changes. Relative to the directory of sluice.yaml. Once it holds a key, every request needs a credential.',
      default: 'data/api_keys.json',
      pattern: '^.+$',
      example: '/var/lib/sluice/api_keys.json',
    }),
    bootstrap_file: field.string({
      description:
        'EMQX-style bootstrap file: one `key:secret` or `key:secret:role` per line (role `administrator` by default, or `viewer`); `#` comments and blank lines are skipped. Re-read when it changes. Relative to the directory of sluice.yaml.',
      optional: true,
      pattern: '^.+$',
      example: '/etc/sluice/api_bootstrap_keys',
    }),
    max_body_size: field.bytes({
      description: 'Largest request body accepted; a larger one gets 413 `api_body_too_large`.',
      default: 1024 * 1024,
      example: '1MB',
    }),
    headers_timeout: field.duration({
      description:
        'Time a client has to send the complete request headers (slow-header protection); then the connection gets 408 and is closed.',
      default: 10_000,
      example: '10s',
    }),
    request_timeout: field.duration({
      description:
        'Time a client has to send the whole request, body included; then the connection gets 408 and is closed.',
      default: 30_000,
      example: '30s',
    }),
    auth_failure_limit: field.integer({
      description:
        'Failed authentications from one remote address within `auth_failure_window` after which that address gets 429 `api_auth_rate_limited` until the window ends. 0 disables the limit.',
      default: 10,
      min: 0,
      example: 10,
    }),
    auth_failure_window: field.duration({
      description: 'The window `auth_failure_limit` counts failures in.',
      default: 60_000,
      example: '1m',
    }),
    audit_log: field.string({
      description:
        'Append one JSON line per state-changing request (POST, PUT, DELETE) to this file, besides the `api.audit` log line: time, actor, role, remote address, method, path, status, duration. Never the credentials or the body. Relative to the directory of sluice.yaml.',
      optional: true,
      pattern: '^.+$',
      example: '/var/log/sluice/api-audit.jsonl',
    }),
    dashboard: field.boolean({
      description:
        'Serve the web dashboard (overview, rules with live rates, rule editor, sinks, clients, traces) under `/` on the API port. Its pages are public files; every call they make needs the same credential as the API (docs/dashboard.md).',
      default: true,
    }),
  },
  { description: 'Management HTTP API (docs/api.md).' },
);

export const memoryReclaimSpec: FieldSpec = field.object(
  {
    enabled: field.boolean({
      description:
        "When the process is idle after a burst and its RSS is well above its low-water mark, turn V8's memory-saver mode on until V8 has run its incremental memory-reducing GC (or `timeout`, or load returns), so the freed heap pages V8 keeps pooled go back to the OS within seconds instead of minutes. Costs one or two GC pauses of ~15–35 ms while idle. Needs V8 12+ (Node 22+); does nothing when `--memory-saver-mode` is set for the whole process.",
      default: true,
    }),
    check_interval: field.duration({
      description:
        'How often RSS and event-loop utilisation are sampled (at least every 100 ms is used; while a reclaim runs: every 250 ms at most). Read at start, like the whole section.',
      default: 1000,
      example: '1s',
    }),
    idle_utilization: field.number({
      description:
        'Event-loop utilisation (0–1, `performance.eventLoopUtilization`) under which a check counts as idle.',
      default: 0.1,
      min: 0,
      max: 1,
      example: 0.1,
    }),
    idle_time: field.duration({
      description: 'Consecutive idle time before a reclaim may start.',
      default: 3000,
      example: '3s',
    }),
    busy_utilization: field.number({
      description:
        'Event-loop utilisation over which a running reclaim is stopped at once (saver mode makes V8 collect more often; it is never left on under load).',
      default: 0.5,
      min: 0,
      max: 1,
      example: 0.5,
    }),
    min_growth: field.bytes({
      description:
        'A reclaim starts only when RSS exceeds its low-water mark (the lowest RSS seen, or the RSS the last completed reclaim reached) by at least this much …',
      default: 64 * 1024 * 1024,
      example: '64MiB',
    }),
    growth_ratio: field.number({
      description: '… and RSS is at least this multiple of the low-water mark.',
      default: 1.5,
      min: 1,
      example: 1.5,
    }),
    timeout: field.duration({
      description: 'Saver mode is turned off after this long even if V8 ran no reducing GC.',
      default: 30_000,
      example: '30s',
    }),
    cooldown: field.duration({
      description:
        'No new reclaim within this long after one ended (done or timeout; one stopped by load may start again after the next idle stretch).',
      default: 60_000,
      example: '1m',
    }),
  },
  {
    description:
      'Give memory back when idle after a burst (decision 0023, docs/operations.md "Memory after a burst"). Metrics: sluice_memory_reclaims_total, sluice_memory_reclaimed_bytes_total, sluice_memory_reclaim_last_pause_seconds.',
  },
);

export const ruleSpec: FieldSpec = field.object(
  {
    id: field.string({
      description: 'Unique rule id (metrics, logs and `metadata.rule_id` use it).',
      pattern: RULE_ID_PATTERN,
      example: 'high_temp',
    }),
    sql: field.string({
      description: 'The rule in EMQX rule SQL (see docs/rule-sql.md).',
      example: 'SELECT payload.temp AS t, clientid FROM "sensors/#" WHERE payload.temp > 30',
    }),
    actions: field.array(field.string({ description: 'A sink name.' }), {
      description: 'Sinks each output is sent to, in order.',
      default: [],
      example: ['console'],
    }),
    enabled: field.boolean({
      description: 'A disabled rule is loaded and checked but not run.',
      default: true,
    }),
    description: field.string({ description: 'Free text shown in logs and metrics.', default: '' }),
  },
  { description: 'One rule.' },
);

/** The top-level spec with `sinks` left open (each sink is validated by `sinkSpec`). */
export function configSpec(parts: ConfigParts): FieldSpec {
  return field.object(
    {
      node: field.string({
        description:
          'Node name reported in the `node` column (EMQX style). Default: `sluice@<hostname>`.',
        optional: true,
        example: 'sluice@127.0.0.1',
      }),
      log: field.object(
        {
          level: field.string({
            description: 'Log level of everything not named in `levels`.',
            enum: LOG_LEVELS,
            default: 'info',
          }),
          format: field.string({
            description:
              'text: one readable line per event (time, level, component, message, key=value fields), coloured on a terminal; json: one JSON object per line (pino shape, every key once); auto: text on a terminal, JSON otherwise. `sluice run --log-format` overrides it.',
            enum: ['auto', 'text', 'json'],
            default: 'auto',
          }),
          levels: field.map(
            field.string({ description: 'Level for this component.', enum: LOG_LEVELS }),
            {
              description:
                'Per-component levels by dotted component path (`broker`, `sink`, `rules`, `engine`, `api`, …); a path covers its children, the longest match wins.',
              default: {},
              example: { broker: 'debug' },
            },
          ),
        },
        { description: 'Logging: lines on stdout.' },
      ),
      broker: {
        ...parts.brokerSpec,
        description: 'Embedded MQTT broker: listeners, authentication, authorization.',
      },
      ...(parts.sourcesSpec ? { sources: parts.sourcesSpec } : {}),
      ...(parts.schemaRegistrySpec ? { schema_registry: parts.schemaRegistrySpec } : {}),
      ...(parts.schemaValidationSpec ? { schema_validation: parts.schemaValidationSpec } : {}),
      ...(parts.messageTransformationSpec
        ? { message_transformation: parts.messageTransformationSpec }
        : {}),
      sinks: field.map(
        field.any({ description: 'A sink: `type` plus that type’s fields and the runner fields.' }),
        {
          description: 'Sinks by name; rules name them in `actions`.',
          default: {},
        },
      ),
      rules: field.array(ruleSpec, {
        description: 'Rules declared inline (rule files in `rule_files` are added to these).',
        default: [],
      }),
      rule_files: field.array(field.string({ description: 'A file or `dir/*.sql` pattern.' }), {
        description:
          'Rule files to load, relative to this file: paths or patterns with `*`/`?` in the file name. Missing directories are ignored.',
        default: ['rules/*.sql'],
      }),
      reload: field.object(
        {
          enabled: field.boolean({
            description:
              'Watch sluice.yaml and the rule files; apply valid rule edits without a restart.',
            default: true,
          }),
          debounce: field.duration({
            description: 'Quiet time after the last file change before reloading.',
            default: 200,
          }),
        },
        { description: 'Hot reload of rules.' },
      ),
      shutdown: field.object(
        {
          drain_timeout: field.duration({
            description: 'On SIGINT/SIGTERM, how long sink queues may drain before Sluice exits.',
            default: 5000,
          }),
        },
        { description: 'Graceful shutdown.' },
      ),
      rule_limits: field.object(
        {
          eval_budget: field.duration({
            description:
              'Maximum time one rule may take on one message. An evaluation over it fails for that message (rule_budget_exceeded, counted as failed.exception; its outputs are discarded), and jq calls never wait past it. 0 disables the budget.',
            default: 100,
            example: '100ms',
          }),
          suspend_after: field.integer({
            description:
              'Over-budget evaluations within suspend_window that suspend the rule (circuit breaker): it stops matching, its status says why, and enabling it again (API or config) resumes it. 0 never suspends.',
            default: 5,
            min: 0,
            example: 5,
          }),
          suspend_window: field.duration({
            description: 'The window in which suspend_after over-budget evaluations are counted.',
            default: 60_000,
            example: '1m',
          }),
          max_sql_bytes: field.bytes({
            description:
              'Longest rule SQL accepted (UTF-8 bytes), checked before parsing: a longer rule is rejected with sql_too_large pointing at the first byte over (the API answers 400). Rules are parsed and compiled on the event loop, so this bounds how long creating or testing one can stall it. 0 disables the limit.',
            default: 65_536,
            example: '64KiB',
          }),
          max_sql_tokens: field.integer({
            description:
              'Most tokens in one rule SQL, checked after lexing and before parsing (parse and compile time and memory grow with the token count: a 5,000-branch CASE has 40,000). Over it: sql_too_large pointing at the first token over. 0 disables the limit.',
            default: 4_000,
            min: 0,
            example: 4_000,
          }),
          lag_warn: field.duration({
            description:
              'Event-loop lag (worst delay within one second) over which a warning is logged (code event_loop_lag) naming the culprit: the rule whose evaluations took the most time in that second. At most one warning per 10 s. 0 disables the watch.',
            default: 200,
            example: '200ms',
          }),
        },
        {
          description:
            'Isolation: a rule that is slow on a message (a pathological payload, a looping jq program) cannot hold up the broker and the other rules for long.',
        },
      ),
      api: apiSpec,
      alarms: field.object(
        {
          enabled: field.boolean({
            description:
              'Watch the conditions below and raise EMQX-style alarms: listed by GET /api/v5/alarms, exported on /metrics, logged, and fired as $events/sys/alarm_activated / alarm_deactivated for rules.',
            default: true,
          }),
          check_interval: field.duration({
            description:
              'How often sink states, buffers and memory are checked (EMQX os_mon check intervals).',
            default: 1000,
            example: '5s',
          }),
          sysmem_high_watermark: field.number({
            description:
              'high_system_memory_usage is raised while used system memory is over this fraction of the total (EMQX os_mon.sysmem_high_watermark, 70%).',
            default: 0.7,
            min: 0,
            max: 1,
            example: 0.8,
          }),
          procmem_high_watermark: field.number({
            description:
              "high_process_memory_usage is raised while Sluice's resident set is over this fraction of system memory (EMQX applies its 5% default to one Erlang process; here it is the whole process).",
            default: 0.5,
            min: 0,
            max: 1,
            example: 0.25,
          }),
          buffer_high_watermark: field.number({
            description:
              "A sink's buffer_high_watermark alarm is raised while its buffer holds more than this fraction of buffer.max_records, and cleared below half of it.",
            default: 0.8,
            min: 0,
            max: 1,
            example: 0.9,
          }),
          size_limit: field.integer({
            description:
              'Deactivated alarms kept for GET /api/v5/alarms?activated=false (oldest first out; EMQX alarm.size_limit).',
            default: 1000,
            min: 0,
            example: 1000,
          }),
          validity_period: field.duration({
            description: 'How long a deactivated alarm is kept (EMQX alarm.validity_period).',
            default: 86_400_000,
            example: '24h',
          }),
        },
        { description: 'Alarms (EMQX alarm + os_mon).' },
      ),
      memory_reclaim: memoryReclaimSpec,
      gateway: field.object(
        Object.fromEntries(
          Object.entries(parts.gatewaySpecs ?? {}).map(([k, v]) => [k, v] as const),
        ),
        { description: 'Protocol gateways (EMQX `gateway.*`): `ocpp` (docs/ocpp.md).' },
      ),
    },
    { description: 'Sluice configuration (sluice.yaml).' },
  );
}

function objectFields(spec: FieldSpec): Record<string, FieldSpec> {
  return spec.kind === 'object' ? spec.fields : {};
}

/** The full spec of one sink of `type`: `type` + the sink's own fields + the runner fields. */
export function sinkSpec(parts: ConfigParts, type: string): FieldSpec | undefined {
  const t = parts.sinkTypes.find((s) => s.type === type);
  if (!t) return undefined;
  return field.object(
    {
      type: field.string({
        description: 'Sink type.',
        enum: parts.sinkTypes.map((s) => s.type),
        example: type,
      }),
      ...objectFields(t.spec),
      ...objectFields(t.runnerSpec ?? parts.runnerSpec),
    },
    { description: t.spec.description },
  );
}

/** JSON Schema for sluice.yaml: the top-level spec with one `oneOf` branch per sink type. */
export function configJsonSchema(parts: ConfigParts): Record<string, unknown> {
  const schema = toJsonSchema(configSpec(parts)) as Record<string, unknown> & {
    properties: Record<string, Record<string, unknown>>;
  };
  const branches = parts.sinkTypes.map((t) => {
    const s = toJsonSchema(sinkSpec(parts, t.type) as FieldSpec) as {
      properties: Record<string, unknown>;
    };
    s.properties['type'] = { const: t.type, description: 'Sink type.' };
    return s;
  });
  schema.properties['sinks'] = {
    ...schema.properties['sinks'],
    additionalProperties: { oneOf: branches },
  };
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'urn:sluice:schema:sluice.yaml:v1',
    title: 'sluice.yaml',
    ...schema,
  };
}
