/** Public types of the engine: what `createEngine` returns and takes. */
import type { Observable } from 'rxjs';
import type { BoundAddress, Broker, BrokerDeps, BrokerMetrics } from '../broker/index.js';
import type { ConfigIssue, LoadedConfig } from '../config/index.js';
import type { AlarmRegistry } from './alarms.js';
import type { MemoryReclaimMetrics } from './memory-reclaim.js';
import type { RunningState } from './reload.js';
import type {
  ConnectedClient,
  EventProducer,
  Logger,
  LogFormat,
  Sink,
  SinkType,
} from '../core/index.js';
import type { GatewayMetrics, OcppGateway } from '../ocpp/index.js';
import type { IngressStore, ParseSql, TraceRegistry } from '../runtime/index.js';
import type {
  MessageContext,
  RuleInfo,
  RuleMetricsSnapshot,
  RuleResult,
} from '../runtime/index.js';
import type { RunnerMetrics } from '../sinks/runner/index.js';
import type { SourceMetrics } from '../sources/index.js';
import type { SchemaRegistry } from '../schema-registry/index.js';

export interface EngineDeps {
  /** Root logger (default: pino at the configured level, JSON on stdout). */
  logger?: Logger;
  /** Wall clock in ms. */
  now?: () => number;
  /** Environment for `${NAME}` substitution (default process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Extra sink types (or replacements of built-in ones with the same `type`). */
  sinkTypes?: readonly SinkType<never>[];
  /** Extra broker authenticators/authorizers. */
  broker?: Pick<BrokerDeps, 'authenticators' | 'authorizers'>;
  /** Event producers besides the embedded broker (e.g. a protocol gateway). */
  producers?: readonly EventProducer[];
  /** Watch the config file and rule files (default: the config's `reload.enabled`). */
  watch?: boolean;
  /** Overrides `log.format` (the CLI's `--log-format`). */
  logFormat?: LogFormat;
}

/** A rule as given to the API. */
export interface RuleInput {
  id: string;
  sql: string;
  actions?: readonly string[];
  enabled?: boolean;
  description?: string;
}

export interface ReloadReport {
  /** False when the configuration file itself was unusable (nothing changed). */
  readonly ok: boolean;
  readonly added: string[];
  readonly updated: string[];
  readonly removed: string[];
  /** Rules whose new version is broken: the old version keeps running. */
  readonly kept: string[];
  readonly issues: ConfigIssue[];
  /** Top-level sections that changed but need a restart (broker, sinks). */
  readonly restartRequired: string[];
}

/** A sink's runner metrics plus the engine's back-pressure view of it. */
export interface EngineSinkMetrics extends RunnerMetrics {
  /** MQTT clients paused now because this sink is under pressure (overflow `block`). */
  readonly pausedClients: number;
}

export interface EngineMetrics {
  readonly rules: Record<string, RuleMetricsSnapshot>;
  readonly sinks: Record<string, EngineSinkMetrics>;
  readonly broker: BrokerMetrics;
  /** The OCPP gateway's counters, when `gateway.ocpp.enable`. */
  readonly ocpp?: GatewayMetrics;
  /** The external source (`sources.mode` mqtt or kafka). */
  readonly source?: SourceMetrics;
}

export interface Engine {
  start(): Promise<BoundAddress[]>;
  stop(opts?: { drainMs?: number }): Promise<{ dropped: number }>;
  addRule(rule: RuleInput): void;
  updateRule(rule: RuleInput): void;
  /**
   * `addRule` / `updateRule` with long SQL lexed and parsed on a worker thread (decision 0022),
   * so the event loop is not held for it; the plan and closures are built on this thread. Same
   * errors, plus `sql_parse_worker_failed` (retriable) when the worker died. The API uses these.
   */
  addRuleAsync(rule: RuleInput): Promise<void>;
  updateRuleAsync(rule: RuleInput): Promise<void>;
  /** `parseRule` through the engine's parse worker (what `addRuleAsync` parses with). */
  parseSql: ParseSql;
  removeRule(id: string): void;
  enableRule(id: string): void;
  disableRule(id: string): void;
  rules(): RuleInfo[];
  metrics(): EngineMetrics;
  /** Re-read the config file now (what the watcher does after a change). */
  reload(): ReloadReport;
  /** Called after every reload (watcher-triggered or explicit). */
  onReload(listener: (report: ReloadReport) => void): () => void;
  /** Every rule outcome (taps, tests, the CLI's verbose mode). */
  readonly results$: Observable<RuleResult<MessageContext>>;
  /** Bound listener addresses after start(). */
  readonly addresses: readonly BoundAddress[];
  /** Connected MQTT clients of the embedded broker (core `ClientDirectory`; the API lists them). */
  clients(): readonly ConnectedClient[];
  /** Close a connected MQTT client's connection (reason `kicked`); false if not connected. */
  kickClient(clientid: string): boolean;
  /** The embedded broker (publish/subscribe in-process). */
  readonly broker: Broker;
  /** The OCPP gateway (`gateway.ocpp.enable`): its addresses, clients, kick, metrics. */
  readonly ocpp: OcppGateway | undefined;
  /** Per-message rule tracing (docs/api.md "Traces"): start, read, follow, stop traces. */
  readonly traces: TraceRegistry;
  /** The root logger (the engine's own unless `deps.logger` was given). */
  readonly logger: Logger;
  /** Log levels by component path ('' = root); only with the engine's own logger. */
  logLevels?(): Record<string, string>;
  setLogLevel?(component: string, level: string): void;
  /** The schema registry: schemas from config and the API (docs/schema-registry.md). */
  readonly schemas: SchemaRegistry;
  /**
   * Ingress schema validation / message transformation (decision 0013): the entries of
   * sluice.yaml and of the API (api-store.ts), metrics, reset.
   */
  readonly ingress: IngressStore;
  /** A configured sink instance by name (tests read collecting sinks through this). */
  sink(name: string): Sink | undefined;
  /** The alarm registry (docs/alarms.md): active alarms and the deactivated history. */
  readonly alarms: AlarmRegistry;
  /** Memory reclaim when idle (decision 0023): its counters for /metrics. */
  readonly memoryReclaim: { metrics(): MemoryReclaimMetrics };
  /** What a reload compares with (`sluice plan --against`, GET /api/v5/config/running). */
  runningConfig(): RunningState;
  /** Run the alarm checks now instead of waiting for `alarms.check_interval`. */
  checkAlarms(): void;
  /** Issues of rules that failed at startup (the engine runs without them). */
  readonly startupIssues: readonly ConfigIssue[];
  /** The loaded configuration. */
  readonly config: LoadedConfig;
}

export interface CheckReport {
  /** Every problem found: config file issues, rule-file issues, SQL diagnostics. */
  readonly issues: ConfigIssue[];
  readonly rules: number;
  readonly sinks: number;
  /** The loaded configuration, when the file itself was usable (rule issues allowed). */
  readonly loaded?: LoadedConfig;
}
