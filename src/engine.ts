/**
 * The composition root (CONVENTIONS.md): the ONE file that wires every module together.
 *
 *   broker.onEvent → source (topic trie, one shared message context per event)
 *     → per-rule pipelines (rule.ts) → outcomes → router → sink runners (enqueue) → sinks
 *
 * `createEngine(config, deps?)` takes either a path to sluice.yaml (rule files, hot reload) or
 * a config object of the same shape. It validates everything up front and throws a
 * `config_invalid` SluiceError listing every located issue; once running, configuration
 * problems are reported (logs + `onReload` listeners) and never stop the engine.
 *
 * Lifecycle: `start()` starts the sink runners (connecting in the background), then the broker;
 * resolves with the bound listener addresses. `stop({ drainMs })` first detaches the broker's
 * event stream (no new rule input), drains every sink runner within `drainMs` (the republish
 * sink still has the broker to publish to), then stops the broker and closes the runtime.
 *
 * Length: longer than most files on purpose — it is the one place where modules meet (sinks
 * and runners, broker and its republish port, runtime, config reload, the rule API). Logic
 * that is not wiring lives elsewhere: loading/validation/reload planning in src/config, rule
 * lifecycle and metrics in src/runtime/rule.ts.
 */
import { hostname } from 'node:os';
import path from 'node:path';

import { pino } from 'pino';
import type { Observable } from 'rxjs';
import { stringify as yamlStringify } from 'yaml';

import { createBroker, brokerConfigSpec } from './broker/index.js';
import type { Broker, BrokerDeps, BoundAddress, BrokerMetrics } from './broker/index.js';
import {
  ConfigErrors,
  compileRules,
  formatIssue,
  loadConfig,
  loadConfigText,
  planReload,
  watchDirs,
} from './config/index.js';
import type {
  ConfigIssue,
  ConfigParts,
  ConfigWatcher,
  LoadedConfig,
  LoadResult,
  RuleCompiler,
  RuleEntry,
  SinkConfig,
} from './config/index.js';
import type { SluiceError } from './core/index.js';
import type { BrokerEvent, FieldSpec, Logger, Sink, SinkDeps, SinkType } from './core/index.js';
import {
  compileRule,
  createDefaultServices,
  createEventSource,
  createMessageContext,
  createRuleManager,
  RuntimeRuleErrors,
  SqlError,
} from './runtime/index.js';
import type {
  CompiledRule,
  ExecutableRule,
  MessageContext,
  RuleInfo,
  RuleMetricsSnapshot,
  RuleResult,
} from './runtime/index.js';
import { consoleSinkType } from './sinks/console/index.js';
import { hstreamSinkType } from './sinks/hstream/index.js';
import { kafkaSinkType } from './sinks/kafka/index.js';
import { memorySinkType } from './sinks/memory/index.js';
import { createRepublishSinkType } from './sinks/republish/index.js';
import type { PublishPort } from './sinks/republish/index.js';
import { createSinkRunner, runnerConfigSpec } from './sinks/runner/index.js';
import type { RunnerConfig, RunnerMetrics, SinkRunner } from './sinks/runner/index.js';

/** Every sink type Sluice ships, registered once here. */
export const builtinSinkTypes: readonly SinkType<never>[] = [
  memorySinkType as SinkType<never>,
  consoleSinkType as SinkType<never>,
  hstreamSinkType as SinkType<never>,
  kafkaSinkType as SinkType<never>,
  // Spec-only instance; each engine creates its own bound to its broker (see createEngine).
  createRepublishSinkType(() =>
    Promise.reject(new Error('not bound to a broker')),
  ) as SinkType<never>,
];

/** The specs the config module validates against (also used by `gen:schema` and the docs). */
export function configParts(extraSinkTypes: readonly SinkType<never>[] = []): ConfigParts {
  const types = new Map<string, SinkType<never>>();
  for (const t of [...builtinSinkTypes, ...extraSinkTypes]) types.set(t.type, t);
  return {
    brokerSpec: brokerConfigSpec,
    runnerSpec: runnerConfigSpec,
    sinkTypes: [...types.values()].map((t) => ({
      type: t.type,
      spec: t.spec,
      ...(runnerSpecOf(t) ? { runnerSpec: runnerSpecOf(t) } : {}),
    })),
  };
}

/** A sink type may carry runner fields with its own defaults (e.g. Kafka's batch sizes). */
function runnerSpecOf(t: SinkType<never>): FieldSpec | undefined {
  return (t as { runnerSpec?: FieldSpec }).runnerSpec;
}

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
  /** Watch the config file and rule files (default: the config's `reload.enabled`). */
  watch?: boolean;
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

export interface EngineMetrics {
  readonly rules: Record<string, RuleMetricsSnapshot>;
  readonly sinks: Record<string, RunnerMetrics>;
  readonly broker: BrokerMetrics;
}

export interface Engine {
  start(): Promise<BoundAddress[]>;
  stop(opts?: { drainMs?: number }): Promise<{ dropped: number }>;
  addRule(rule: RuleInput): void;
  updateRule(rule: RuleInput): void;
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
  /** The embedded broker (publish/subscribe in-process). */
  readonly broker: Broker;
  /** A configured sink instance by name (tests read collecting sinks through this). */
  sink(name: string): Sink | undefined;
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
}

/** Validate a sluice.yaml and its rules without starting anything (`sluice check`). */
export function checkConfig(
  file: string,
  deps: Pick<EngineDeps, 'env' | 'sinkTypes'> = {},
): CheckReport {
  const r = loadConfig(file, configParts(deps.sinkTypes), { env: deps.env ?? process.env });
  if (!r.ok) return { issues: r.issues, rules: 0, sinks: 0 };
  const services = createDefaultServices({ node: r.loaded.config.node ?? 'sluice@check' });
  const c = compileRules(r.loaded.rules, (sql) => {
    try {
      return { ok: true, rule: compileRule(sql, { services }) };
    } catch (err) {
      if (err instanceof SqlError) return { ok: false, diagnostics: err.diagnostics };
      throw err;
    }
  });
  const issues = [...r.ruleIssues, ...c.issues].sort(
    (a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column,
  );
  return { issues, rules: c.compiled.length, sinks: Object.keys(r.loaded.sinks).length };
}

function rootLogger(level: string): Logger {
  return pino({ level, base: { component: 'sluice' } }) as unknown as Logger;
}

/** True when the statement reads the `metadata` column anywhere (a Path rooted at it). */
function readsMetadata(node: unknown): boolean {
  if (Array.isArray(node)) return node.some(readsMetadata);
  if (typeof node !== 'object' || node === null) return false;
  const n = node as { kind?: unknown; root?: unknown };
  if (n.kind === 'Path' && n.root === 'metadata') return true;
  for (const k in node)
    if (k !== 'range' && readsMetadata((node as Record<string, unknown>)[k])) return true;
  return false;
}

/**
 * The `metadata` column (spec rule-sql §7: `{rule_id}`) differs per rule while the message
 * context is shared by all rules of a message. Rules that read it get their own context with
 * the column added (only they pay for a second payload decode); the others run on the shared
 * context untouched. `SELECT *` does not include metadata (§4.1.4), so only explicit reads count.
 */
function withMetadata(compiled: CompiledRule, ruleId: string): ExecutableRule<MessageContext> {
  if (!readsMetadata(compiled.statement)) return compiled;
  const metadata = Object.freeze({ rule_id: ruleId });
  return { run: (ctx) => compiled.run(createMessageContext({ ...ctx.columns, metadata })) };
}

function pick(obj: Record<string, unknown>, spec: FieldSpec): Record<string, unknown> {
  if (spec.kind !== 'object') return {};
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(spec.fields)) if (k in obj) out[k] = obj[k];
  return out;
}

function configInvalid(issues: readonly ConfigIssue[]): SluiceError {
  return ConfigErrors.config_invalid(
    `invalid configuration:\n${issues.map((i) => formatIssue(i)).join('\n')}`,
    { context: { issues } },
  );
}

/**
 * Create an engine from a sluice.yaml path or a config object (same shape as the file;
 * `rule_files` then default to none and resolve against the current directory).
 * @throws SluiceError `config_invalid` with `context.issues` when the configuration is unusable.
 */
export function createEngine(
  config: string | Record<string, unknown>,
  deps: EngineDeps = {},
): Engine {
  const now = deps.now ?? Date.now;
  const env = deps.env ?? process.env;
  const sinkTypes = new Map<string, SinkType<never>>();
  // The republish action publishes into this engine's broker (bound lazily: created below).
  // As in EMQX, a republished message comes `from` the rule (its clientid column is the rule
  // id) and carries `republish_by` so the republish sink can refuse to republish a message its
  // own rule produced (recursive_republish_detected). The broker raises message.publish
  // synchronously inside publish(), so the marker is set around that call.
  let republishBy: string | undefined;
  const republishPort: PublishPort = (m) => {
    republishBy = m.ruleId;
    try {
      return broker.publish({
        topic: m.topic,
        payload: m.payload,
        qos: m.qos,
        retain: m.retain,
        from: { clientid: m.ruleId },
        ...(m.properties ? { properties: { ...m.properties } } : {}),
      });
    } finally {
      republishBy = undefined;
    }
  };
  for (const t of [
    ...builtinSinkTypes,
    createRepublishSinkType(republishPort) as SinkType<never>,
    ...(deps.sinkTypes ?? []),
  ])
    sinkTypes.set(t.type, t);
  const parts = configParts(deps.sinkTypes);

  const fromFile = typeof config === 'string';
  const load = (): LoadResult =>
    fromFile
      ? loadConfig(config, parts, { env })
      : loadConfigText(
          '<config>',
          path.join(process.cwd(), '<config>'),
          // An object config loads no rule files unless it names some (no surprise `rules/`).
          yamlStringify({ rule_files: [], ...config }),
          parts,
          { env },
        );

  const first = load();
  if (!first.ok) throw configInvalid(first.issues);
  let loaded = first.loaded;
  const runningBroker = JSON.stringify(loaded.config.broker);
  const runningSinks = JSON.stringify(loaded.sinks);
  const cfg = loaded.config;
  const node = cfg.node ?? (cfg.broker['node'] as string | undefined) ?? `sluice@${hostname()}`;
  const root = deps.logger ?? rootLogger(cfg.log.level);
  const log = root.child({ component: 'engine' });

  // Rule compiler: one shared services object so kv_store_* is node-global across rules.
  const services = createDefaultServices({ node });
  const compile: RuleCompiler<CompiledRule> = (sql) => {
    try {
      return { ok: true, rule: compileRule(sql, { services }) };
    } catch (err) {
      if (err instanceof SqlError) return { ok: false, diagnostics: err.diagnostics };
      throw err;
    }
  };

  // Sinks and their runners.
  const sinks = new Map<string, Sink>();
  const runners = new Map<string, SinkRunner>();
  for (const [name, sc] of Object.entries(loaded.sinks) as [string, SinkConfig][]) {
    const type = sinkTypes.get(sc.type) as SinkType<never>;
    const logger = root.child({ component: 'sink', sink: name });
    const sinkDeps: SinkDeps = { logger, now };
    const sink = type.create(sinkDeps, pick(sc, type.spec) as never, name);
    sinks.set(name, sink);
    runners.set(
      name,
      createSinkRunner(
        { logger, now },
        sink,
        pick(sc, runnerConfigSpec) as unknown as RunnerConfig,
      ),
    );
  }

  const broker: Broker = createBroker(
    { logger: root.child({ component: 'broker' }), now, node, ...deps.broker },
    { ...cfg.broker, node },
  );

  /** Removes the engine's broker event listener; set while running (see listenForEvents). */
  let unsubscribeEvents: (() => void) | undefined;
  const source = createEventSource<MessageContext>({
    createContext: createMessageContext,
    logger: root.child({ component: 'source' }),
    now,
    // Rules changed which events they can match: while running, listen for just those.
    onInterestChange: () => {
      if (unsubscribeEvents) listenForEvents();
    },
  });
  // Per-message failures: debug level only (CONVENTIONS.md #12); counted in the rule metrics.
  const rulesLog = root.child({ component: 'rules' });
  const rules = createRuleManager<MessageContext>({
    source,
    onFailed: (r) => {
      if (r.outcome.kind === 'failed')
        rulesLog.debug(
          {
            rule: r.ruleId,
            code: r.outcome.code,
            reason: r.outcome.reason,
            topic: r.trigger.event.matchTopic,
          },
          'rule failed for one event',
        );
    },
    router: (action, record) => {
      const runner = runners.get(action);
      if (!runner) return false;
      const r = runner.enqueue(record);
      return r === true || typeof r === 'object';
    },
    logger: root.child({ component: 'rules' }),
    now,
  });
  const ruleFiles = new Map<string, string>(); // rule id → origin file ('' = API)

  function putEntry(entry: RuleEntry, compiled: CompiledRule): void {
    rules.put({
      id: entry.id,
      from: compiled.sources,
      compiled: withMetadata(compiled, entry.id),
      actions: entry.actions,
      enabled: entry.enabled,
      description: entry.description,
      sql: entry.sql,
    });
    ruleFiles.set(entry.id, entry.origin.file);
  }

  // Initial rules: broken rules are reported and skipped; the rest run.
  const startupIssues: ConfigIssue[] = [...first.ruleIssues];
  {
    const c = compileRules(loaded.rules, compile);
    startupIssues.push(...c.issues);
    for (const { entry, rule } of c.compiled) putEntry(entry, rule);
  }
  for (const issue of startupIssues) log.error({ issue: formatIssue(issue) }, 'rule not loaded');

  const reloadListeners = new Set<(r: ReloadReport) => void>();
  let watcher: ConfigWatcher | undefined;
  let running = false;
  let stopped = false;
  // The broker stamps every event's `timestamp` column with the engine's `now` just before
  // emitting it: that reading is the ingest time too (one clock read per event, not two).
  const onBrokerEvent = (e: BrokerEvent): void => {
    const ts = e.columns['timestamp'];
    source.push(
      republishBy !== undefined && e.name === 'message.publish'
        ? Object.freeze({
            ...e,
            columns: Object.freeze({ ...e.columns, republish_by: republishBy }),
          })
        : e,
      typeof ts === 'number' ? ts : undefined,
    );
  };
  /**
   * (Re)subscribe to exactly the events the current rules can match (`source.interest()`), so
   * the broker builds no columns for the rest (per-copy message.delivered, per-publish
   * check_authz_complete, per-message message.dropped). The new listener is added before the
   * old one is removed, in one synchronous step: no event is missed or seen twice.
   */
  function listenForEvents(): void {
    const off = broker.onEvent(onBrokerEvent, { names: source.interest() });
    unsubscribeEvents?.();
    unsubscribeEvents = off;
  }

  function reload(): ReloadReport {
    const r = load();
    let report: ReloadReport;
    if (!r.ok) {
      report = {
        ok: false,
        added: [],
        updated: [],
        removed: [],
        kept: [],
        issues: r.issues,
        restartRequired: [],
      };
    } else {
      const c = compileRules(r.loaded.rules, compile);
      // A new sink only exists after a restart: rules naming one keep their old version.
      const notYet = c.compiled.filter((x) => x.entry.actions.some((a) => !runners.has(a)));
      for (const { entry } of notYet) {
        c.failed.push(entry);
        c.issues.push({
          code: 'rule_unknown_action',
          file: entry.origin.file,
          line: entry.at.line,
          column: entry.at.column,
          path: entry.at.path,
          reason: `actions ${entry.actions.filter((a) => !runners.has(a)).join(', ')} name sinks that start only after a restart`,
        });
      }
      c.compiled = c.compiled.filter((x) => !notYet.includes(x));
      const running = rules.list().map((i) => ({
        id: i.id,
        sql: i.sql,
        actions: i.actions,
        enabled: i.enabled,
        description: i.description,
        file: ruleFiles.get(i.id) ?? '',
      }));
      const plan = planReload(running, c.compiled, {
        ids: [...r.loaded.brokenRuleIds, ...c.failed.map((e) => e.id)],
        files: [...r.loaded.brokenRuleFiles, ...c.failed.map((e) => e.origin.file)],
      });
      for (const p of plan.put) putEntry(p.entry, p.rule);
      for (const id of plan.remove) {
        rules.remove(id);
        ruleFiles.delete(id);
      }
      const restartRequired: string[] = [];
      // Compared with what is running (the config at start), not with the previous reload.
      if (JSON.stringify(r.loaded.config.broker) !== runningBroker) restartRequired.push('broker');
      if (JSON.stringify(r.loaded.sinks) !== runningSinks) restartRequired.push('sinks');
      loaded = r.loaded;
      watcher?.update(loaded.watchDirs);
      report = {
        ok: true,
        added: plan.put.filter((p) => p.change === 'added').map((p) => p.entry.id),
        updated: plan.put.filter((p) => p.change === 'updated').map((p) => p.entry.id),
        removed: plan.remove,
        kept: plan.kept,
        issues: [...r.ruleIssues, ...c.issues],
        restartRequired,
      };
    }
    for (const issue of report.issues)
      log.error(
        { issue: formatIssue(issue) },
        report.ok ? 'rule not reloaded; previous version kept' : 'config not reloaded',
      );
    if (report.restartRequired.length)
      log.warn(
        { sections: report.restartRequired },
        'changed settings take effect after a restart',
      );
    if (report.added.length || report.updated.length || report.removed.length)
      log.info(
        { added: report.added, updated: report.updated, removed: report.removed },
        'rules reloaded',
      );
    for (const l of reloadListeners) {
      try {
        l(report);
      } catch (err) {
        log.error({ err }, 'reload listener threw');
      }
    }
    return report;
  }

  function apiEntry(rule: RuleInput): { entry: RuleEntry; compiled: CompiledRule } {
    const actions = [...(rule.actions ?? [])];
    for (const a of actions)
      if (!runners.has(a))
        throw ConfigErrors.rule_unknown_action(
          `rule ${rule.id}: action ${JSON.stringify(a)} is not a configured sink`,
        );
    const compiled = compileRule(rule.sql, { services }); // throws SqlError
    const entry: RuleEntry = {
      id: rule.id,
      sql: rule.sql,
      actions,
      enabled: rule.enabled ?? true,
      description: rule.description ?? '',
      origin: {
        file: '',
        fileText: rule.sql,
        path: '',
        lineOffset: 0,
        firstColumnOffset: 0,
        columnOffset: 0,
      },
      at: { line: 1, column: 1, path: '' },
    };
    return { entry, compiled };
  }

  const engine: Engine = {
    async start() {
      if (running || stopped) throw ConfigErrors.engine_not_running('start() may be called once');
      running = true;
      for (const [name, runner] of runners)
        runner
          .start()
          .catch((err: unknown) => log.error({ err, sink: name }, 'sink failed to start'));
      listenForEvents();
      const addresses = await broker.start();
      for (const a of addresses)
        log.info({ listener: a.name, type: a.type, host: a.host, port: a.port }, 'listening');
      const watch = deps.watch ?? (fromFile && loaded.config.reload.enabled);
      if (watch && fromFile)
        watcher = watchDirs(
          loaded.watchDirs,
          loaded.config.reload.debounce,
          () => {
            if (running) reload();
          },
          (err, dir) => log.warn({ err, dir }, 'cannot watch directory'),
        );
      return addresses;
    },
    async stop(opts = {}) {
      if (stopped) return { dropped: 0 };
      stopped = true;
      const drainMs = opts.drainMs ?? loaded.config.shutdown.drain_timeout;
      watcher?.close();
      unsubscribeEvents?.();
      unsubscribeEvents = undefined;
      const results = await Promise.all(
        [...runners].map(async ([name, r]) => {
          try {
            return (await r.drain(drainMs)).dropped;
          } catch (err) {
            log.error({ err, sink: name }, 'sink drain failed');
            return 0;
          }
        }),
      );
      const dropped = results.reduce((a, b) => a + b, 0);
      if (running) await broker.stop();
      running = false;
      rules.close();
      source.close();
      // Function services own resources (the jq worker thread); release them last.
      await services.close?.();
      log.info({ dropped }, 'stopped');
      return { dropped };
    },
    addRule(rule) {
      if (rules.has(rule.id))
        throw RuntimeRuleErrors.rule_already_exists(`rule ${JSON.stringify(rule.id)} exists`);
      const { entry, compiled } = apiEntry(rule);
      rules.add({
        id: entry.id,
        from: compiled.sources,
        compiled: withMetadata(compiled, entry.id),
        actions: entry.actions,
        enabled: entry.enabled,
        description: entry.description,
        sql: entry.sql,
      });
      ruleFiles.set(entry.id, '');
    },
    updateRule(rule) {
      if (!rules.has(rule.id))
        throw RuntimeRuleErrors.rule_not_found(`rule ${JSON.stringify(rule.id)} does not exist`);
      const { entry, compiled } = apiEntry(rule);
      rules.update({
        id: entry.id,
        from: compiled.sources,
        compiled: withMetadata(compiled, entry.id),
        actions: entry.actions,
        enabled: entry.enabled,
        description: entry.description,
        sql: entry.sql,
      });
    },
    removeRule(id) {
      rules.remove(id);
      ruleFiles.delete(id);
    },
    enableRule: (id) => rules.enable(id),
    disableRule: (id) => rules.disable(id),
    rules: () => rules.list(),
    metrics() {
      const sinkMetrics: Record<string, RunnerMetrics> = {};
      for (const [name, r] of runners) sinkMetrics[name] = r.metrics();
      return { rules: rules.allMetrics(), sinks: sinkMetrics, broker: broker.metrics() };
    },
    reload,
    onReload(listener) {
      reloadListeners.add(listener);
      return () => reloadListeners.delete(listener);
    },
    results$: rules.results$,
    get addresses() {
      return broker.addresses;
    },
    broker,
    sink: (name) => sinks.get(name),
    startupIssues,
    get config() {
      return loaded;
    },
  };
  return engine;
}
