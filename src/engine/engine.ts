/**
 * `createEngine`: wiring and lifecycle only (the parts live next to this file, see index.ts).
 *
 *   producers (broker, gateways) → event bus → source (topic trie, one shared message context
 *     per event) → per-rule pipelines → router → sink runners → sinks
 *                                          ↑ pressure: flow control pauses the feeding clients
 *
 * `createEngine(config, deps?)` takes either a path to sluice.yaml (rule files, hot reload) or
 * a config object of the same shape. It validates everything up front and throws a
 * `config_invalid` SluiceError listing every located issue; once running, configuration
 * problems are reported (logs + `onReload` listeners) and never stop the engine.
 *
 * Lifecycle: `start()` starts the sink runners (connecting in the background), then the broker;
 * resolves with the bound listener addresses. `stop({ drainMs })` first detaches the event
 * producers (no new rule input), drains every sink runner within `drainMs` (the republish sink
 * still has the broker to publish to), then stops the broker and closes the runtime.
 */
import { hostname } from 'node:os';
import path from 'node:path';

import { stringify as yamlStringify } from 'yaml';

import { createBroker, createTlsRevocationPort } from '../broker/index.js';
import { createOcppGateway } from '../ocpp/index.js';
import type { OcppGateway } from '../ocpp/index.js';
import type { Broker } from '../broker/index.js';
import {
  ConfigErrors,
  compileRules,
  formatIssue,
  loadConfig,
  loadConfigText,
  watchDirs,
} from '../config/index.js';
import type { ConfigIssue, ConfigWatcher, LoadedConfig, LoadResult } from '../config/index.js';
import { createProcessLogger } from '../core/index.js';
import type {
  EventProducer,
  LogFormat,
  LogLevel,
  Logger,
  MessagePublisher,
  ProcessLogger,
  SluiceError,
} from '../core/index.js';
import {
  CpuMark,
  createDefaultServices,
  createIngress,
  createIngressStore,
  createParseWorker,
  PARSE_WORKER_DEFAULTS,
  createTraceRegistry,
  createEventSource,
  createLagWatch,
  createMessageContext,
  createRuleManager,
  RuntimeRuleErrors,
} from '../runtime/index.js';
import type { EvalClock, MessageContext, ParseResult, RuleGuard } from '../runtime/index.js';
import { ingressConfigOf } from './ingress-config.js';
import { createAlarms, monitoredSinks } from './alarm-monitor.js';
import { createMemoryReclaim, processReclaimDeps, saverModeUsable } from './memory-reclaim.js';
import { brokerAuthenticator } from './auth-port.js';
import { createSchemaRegistry } from '../schema-registry/index.js';
import type { SchemaRegistryConfig } from '../schema-registry/index.js';
import { checkSources, createSource } from '../sources/index.js';
import type { Source, SourcesConfig } from '../sources/index.js';
import { EngineDeliveryTracker } from './delivery.js';
import { EventBus } from './event-bus.js';
import { FlowControl } from './flow-control.js';
import { reloadRules, runningSections, runningSinks } from './reload.js';
import { createCompiler, RulesService } from './rules.js';
import { configParts, createSinks, drainWaves, sinkTypeMap } from './sinks.js';
import type { ConfiguredSink } from './sinks.js';
import type { Engine, EngineDeps, EngineSinkMetrics, ReloadReport } from './types.js';

/**
 * A config object for `createEngine`: the shape of sluice.yaml (docs/config.md; validated, so
 * anything else is reported as a located issue). `rule_files` default to none here.
 */
export interface EngineConfigInput {
  node?: string;
  broker?: Record<string, unknown>;
  sinks?: Record<string, { type: string } & Record<string, unknown>>;
  rules?: readonly {
    id: string;
    sql: string;
    actions?: readonly string[];
    enabled?: boolean;
    description?: string;
  }[];
  rule_files?: readonly string[];
  [section: string]: unknown;
}

function rootLogger(
  log: LoadedConfig['config']['log'],
  format: LogFormat | undefined,
): ProcessLogger {
  return createProcessLogger({
    level: log.level,
    format: format ?? log.format,
    levels: log.levels,
  });
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
export function createEngine(config: string | EngineConfigInput, deps: EngineDeps = {}): Engine {
  const now = deps.now ?? Date.now;
  const env = deps.env ?? process.env;
  const sinkTypes = sinkTypeMap(deps.sinkTypes);
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
  let loaded: LoadedConfig = first.loaded;
  // What a reload compares with (restart-only sections; GET /api/v5/config/running).
  const runningNow = runningSections(loaded);
  const runningSinkState = runningSinks(loaded);
  const cfg = loaded.config;
  const node = cfg.node ?? (cfg.broker['node'] as string | undefined) ?? `sluice@${hostname()}`;
  const ownLogger = deps.logger ? undefined : rootLogger(cfg.log, deps.logFormat);
  const root: Logger = deps.logger ?? (ownLogger as ProcessLogger);
  const log = root.child({ component: 'engine' });

  // External source (src/sources): an existing MQTT broker or Kafka instead of (or beside)
  // the embedded broker. Its messages are acknowledged once their rule work is done.
  const sourcesCfg = cfg.sources as unknown as SourcesConfig;
  const sourceIssues = checkSources(sourcesCfg);
  if (sourceIssues.length)
    throw configInvalid(
      sourceIssues.map(([p, reason]) => ({
        code: 'config_invalid_field',
        file: fromFile ? config : '<config>',
        line: 0,
        column: 0,
        path: p,
        reason,
      })),
    );
  // Held acknowledgements on the embedded broker (listener ack_after buffered / remote,
  // decision 0012) use the same tracker as external sources.
  const holdsAcks = Object.values(
    (cfg.broker['listeners'] ?? {}) as Record<string, { ack_after?: string } | null>,
  ).some((l) => l?.ack_after !== undefined && l.ack_after !== 'receipt');
  const tracker =
    sourcesCfg.mode === 'embedded' && !holdsAcks
      ? undefined
      : new EngineDeliveryTracker({
          awaitDurable: (name, cb) => sinks.get(name)?.runner.awaitDurable?.(cb) ?? false,
        });
  const external: Source | undefined =
    sourcesCfg.mode !== 'embedded' && tracker
      ? createSource(
          {
            logger: root.child({ component: 'source', source: sourcesCfg.mode }),
            now,
            node,
            tracker,
          },
          sourcesCfg,
        )
      : undefined;
  const brokerRuns = !external || sourcesCfg.embedded_broker;

  // The broker is created after the sinks (their publisher is bound lazily to it). In mqtt
  // source mode republish goes back to the source broker.
  const publish: MessagePublisher = external?.publish ?? ((m) => b.publish(m));
  const sinks = createSinks(loaded.sinks, {
    types: sinkTypes,
    root,
    now,
    publish,
    ...(tracker
      ? {
          wrap: (s, n) => tracker.decorate(s, n),
          settle: (token, n) => tracker.settleToken(token, n),
        }
      : {}),
  });
  // Alarms (docs/alarms.md): sink and memory conditions → registry → API, /metrics, logs and
  // `$events/sys/alarm_*` rule events (one more event producer).
  const watched = monitoredSinks(sinks, loaded.sinks);
  const alarms = createAlarms(
    { logger: root.child({ component: 'alarms' }), now, node, sinks: () => watched },
    cfg.alarms,
  );
  // Memory reclaim (decision 0023): V8's memory-saver mode while idle after a burst, so the
  // pooled heap pages go back to the OS. Off where this V8 lacks the flag or the operator set it.
  const reclaimCfg = cfg.memory_reclaim;
  const memoryReclaim = createMemoryReclaim(
    processReclaimDeps(root.child({ component: 'memory' }), now),
    { ...reclaimCfg, enabled: reclaimCfg.enabled && saverModeUsable() },
  );
  // Rule budget (runtime/guard.ts): one clock shared by the rule manager and jq.
  const evalClock: EvalClock = { deadline: Infinity, cpu: new CpuMark() };
  const guards = new Map<string, RuleGuard>();
  const limits = cfg.rule_limits;
  // Schema registry (issue #16): config schemas compile here; a broken one stops the start.
  const schemas = createSchemaRegistry({
    now,
    logger: root.child({ component: 'schema_registry' }),
  });
  const configFile = fromFile ? config : '<config>';
  const schemaIssues = schemas.configure(
    cfg.schema_registry as unknown as SchemaRegistryConfig,
    path.dirname(loaded.file),
  );
  if (schemaIssues.length)
    throw configInvalid(
      schemaIssues.map(([p, reason]) => ({
        code: 'schema_invalid',
        file: configFile,
        line: 0,
        column: 0,
        path: p,
        reason,
      })),
    );
  const services = createDefaultServices({
    node,
    schemas,
    deadline: () => evalClock.deadline,
    sqlLimits: { maxBytes: limits.max_sql_bytes, maxTokens: limits.max_sql_tokens },
  });
  const compile = createCompiler(services);
  // Ingress schema validation / message transformation (decision 0013): the broker's
  // pre-route hook; a broken entry stops the start like a broken schema.
  const ingress = createIngress({
    services,
    schemas,
    logger: root.child({ component: 'ingress' }),
    now,
  });
  // Entries created over the API (api-store.ts) come from each section's api_store file.
  const ingressStore = createIngressStore(ingress, {
    logger: root.child({ component: 'ingress' }),
  });
  const ingressIssues = ingressStore.configure(ingressConfigOf(cfg), path.dirname(loaded.file));
  if (ingressIssues.length)
    throw configInvalid(
      ingressIssues.map((i) => ({
        code: 'ingress_config_invalid',
        file: configFile,
        line: 0,
        column: 0,
        path: i.path,
        reason: i.reason,
      })),
    );
  const b: Broker = createBroker(
    {
      logger: root.child({ component: 'broker' }),
      now,
      node,
      ...(holdsAcks && tracker ? { ackGate: tracker } : {}),
      ingress,
      ...deps.broker,
    },
    { ...cfg.broker, node },
  );

  // Back-pressure: a sink under pressure pauses the clients whose messages reach it.
  const flow = new FlowControl(b);
  for (const [name, s] of sinks)
    s.runner.onPressure((pressured) => {
      if (!pressured) flow.release(name);
    });

  // The OCPP gateway (gateway.ocpp.enable): charge points publish and subscribe through the
  // broker's ports and authenticate through its authenticator chain (src/ocpp never imports it).
  const ocppCfg = cfg.gateway['ocpp'] as { enable?: boolean } | undefined;
  const ocpp: OcppGateway | undefined = ocppCfg?.enable
    ? createOcppGateway(
        {
          logger: root.child({ component: 'ocpp' }),
          now,
          node,
          publish,
          subscribe: (filter, handler) => b.subscribe(filter, handler),
          authenticate: brokerAuthenticator(cfg.broker, deps.broker?.authenticators ?? []),
          tlsRevocation: createTlsRevocationPort(root.child({ component: 'ocpp.tls' })),
        },
        ocppCfg,
      )
    : undefined;
  const producers: EventProducer[] = [
    ...(brokerRuns
      ? [
          {
            name: 'broker',
            // The rule source only reads events (compiled rules copy on write; sinks get the
            // columns as the read-only `SinkRecord.context`): no freeze (decision 0020).
            listen: (push, names) =>
              b.onEvent(push, names ? { names, frozen: false } : { frozen: false }),
          } satisfies EventProducer,
        ]
      : []),
    ...(external ? [external] : []),
    ...(ocpp ? [ocpp.producer] : []),
    alarms.producer,
    ...(deps.producers ?? []),
  ];
  const source = createEventSource<MessageContext>({
    createContext: createMessageContext,
    logger: root.child({ component: 'source' }),
    now,
    // Rules changed which events they can match: while running, listen for just those.
    onInterestChange: () => bus.refresh(),
  });
  const bus = new EventBus(producers, source, log);
  // Tracing (docs/api.md "Traces"): the source follows events only while a trace runs.
  const traces = createTraceRegistry({ now, onActive: (t) => source.setTracer(t) });

  // Per-message failures: debug level only (CONVENTIONS.md #12); counted in the rule metrics.
  const rulesLog = root.child({ component: 'rules' });
  const manager = createRuleManager<MessageContext>({
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
      const s = sinks.get(action);
      if (!s) {
        record.trace?.step('drop', action, { reason: 'unknown_action' });
        return false;
      }
      if (tracker) tracker.prepare(record);
      const ok = s.runner.enqueue(record);
      if (ok && tracker) tracker.routed(record, action);
      if (s.runner.pressured) {
        const clientid = record.context?.['clientid'];
        if (typeof clientid === 'string') flow.hold(action, clientid);
      }
      return ok;
    },
    logger: rulesLog,
    now,
    guard: {
      config: {
        budgetMs: limits.eval_budget,
        suspendAfter: limits.suspend_after,
        windowMs: limits.suspend_window,
      },
      clock: evalClock,
      registry: guards,
    },
  });
  // Event-loop lag over rule_limits.lag_warn → one warning naming the culprit rule.
  const lagWatch = createLagWatch(
    { guards, logger: rulesLog, now },
    { thresholdMs: limits.lag_warn },
  );
  // Long rule SQL from the API and from watcher-triggered reloads is lexed and parsed on a
  // worker thread (decision 0022); startup, `engine.reload()` and `sluice check` keep parsing
  // synchronously (compileRules).
  const parseWorker = createParseWorker();
  const rules = new RulesService(manager, services, (name) => sinks.has(name), parseWorker.parse);

  // Initial rules: broken rules are reported and skipped; the rest run.
  const startupIssues: ConfigIssue[] = [...first.ruleIssues];
  {
    const c = compileRules(loaded.rules, compile);
    startupIssues.push(...c.issues);
    for (const { entry, rule } of c.compiled) rules.put(entry, rule);
  }
  for (const issue of startupIssues)
    log.error(
      { code: 'rule_not_loaded', rule: issue.rule, cause: issue.code, issue: formatIssue(issue) },
      'rule not loaded',
    );

  /** The mqtt source subscribes exactly the running rules' FROM filters. */
  const syncFilters = (): void => {
    if (!external) return;
    const filters = new Set<string>();
    for (const r of rules.list()) if (r.enabled) for (const f of r.from) filters.add(f);
    external.setFilters([...filters]);
  };
  syncFilters();

  const reloadListeners = new Set<(r: ReloadReport) => void>();
  let watcher: ConfigWatcher | undefined;
  let running = false;
  let stopped = false;

  /**
   * A watcher-triggered reload (decision 0022): the new config is loaded, its long rule SQL is
   * parsed on the parse worker, then `reload` applies it synchronously with those ASTs — the
   * same report and semantics, without the parse on the event loop. Reloads run one after the
   * other, each loading the files when it starts, so the last edit wins. A failing worker
   * leaves that SQL to be parsed synchronously.
   */
  let reloadChain: Promise<void> = Promise.resolve();
  function reloadOffThread(): void {
    reloadChain = reloadChain.then(async () => {
      if (!running) return;
      const r = load();
      const parsed = new Map<string, ParseResult>();
      if (r.ok)
        for (const { sql } of r.loaded.rules) {
          if (sql.length < PARSE_WORKER_DEFAULTS.minChars || parsed.has(sql)) continue;
          try {
            parsed.set(sql, await parseWorker.parse(sql, services.sqlLimits));
          } catch {
            // sql_parse_worker_failed: compileRules parses this one synchronously.
          }
        }
      if (running) reload(() => r, parsed);
    });
  }

  function reload(
    loadNow: () => LoadResult = load,
    parsed?: ReadonlyMap<string, ParseResult>,
  ): ReloadReport {
    const { report: rulesReport, loaded: next } = reloadRules({
      load: loadNow,
      compile: parsed && parsed.size > 0 ? createCompiler(services, parsed) : compile,
      rules,
      hasSink: (name) => sinks.has(name),
      running: runningNow,
    });
    if (next) {
      loaded = next;
      watcher?.update(loaded.watchTargets);
      // Schemas apply live; a schema that does not compile keeps every running one.
      for (const [p, reason] of schemas.configure(
        next.config.schema_registry as unknown as SchemaRegistryConfig,
        path.dirname(next.file),
      ))
        log.error({ code: 'schema_invalid', path: p, reason }, 'schemas not reloaded');
    }
    // Validations / transformations apply live, after the schemas they may name (decision
    // 0013); a broken entry keeps both running lists and is reported like a broken rule.
    const report = rulesReport;
    let ingressIssues: ConfigIssue[] = [];
    if (next) {
      const issues = ingressStore.configure(ingressConfigOf(next.config), path.dirname(next.file));
      if (issues.length > 0) {
        log.error(
          { code: 'ingress_config_invalid', issues: issues.map((i) => `${i.path}: ${i.reason}`) },
          'schema validations / message transformations not reloaded; the running ones are kept',
        );
        ingressIssues = issues.map((i) => ({
          code: 'ingress_config_invalid',
          file: next.file,
          line: 0,
          column: 0,
          path: i.path,
          reason: i.reason,
        }));
      }
    }
    syncFilters();
    for (const issue of report.issues)
      log.error(
        {
          code: report.ok ? 'rule_not_loaded' : 'config_not_reloaded',
          rule: issue.rule,
          cause: issue.code,
          issue: formatIssue(issue),
        },
        report.ok ? 'rule not reloaded; previous version kept' : 'config not reloaded',
      );
    if (report.restartRequired.length)
      log.warn(
        { code: 'config_restart_required', sections: report.restartRequired },
        'changed settings take effect after a restart',
      );
    if (report.added.length || report.updated.length || report.removed.length)
      log.info(
        { added: report.added, updated: report.updated, removed: report.removed },
        'rules reloaded',
      );
    const full: ReloadReport =
      ingressIssues.length > 0
        ? { ...report, issues: [...report.issues, ...ingressIssues] }
        : report;
    for (const l of reloadListeners) {
      try {
        l(full);
      } catch (err) {
        log.error({ code: 'reload_listener_failed', err }, 'reload listener threw');
      }
    }
    return full;
  }

  const engine: Engine = {
    async start() {
      if (running || stopped) throw ConfigErrors.engine_not_running('start() may be called once');
      running = true;
      for (const [name, s] of sinks)
        s.runner
          .start()
          .catch((err: unknown) =>
            log.error({ code: 'sink_start_failed', err, sink: name }, 'sink failed to start'),
          );
      bus.attach();
      lagWatch.start();
      alarms.monitor.start();
      memoryReclaim.start();
      const addresses = brokerRuns ? await b.start() : [];
      // Resolves on the first connection (the source keeps reconnecting in the background).
      if (external) await external.start();
      for (const a of addresses)
        log.info({ listener: a.name, type: a.type, host: a.host, port: a.port }, 'listening');
      for (const a of (await ocpp?.start()) ?? [])
        log.info(
          { listener: a.name, type: a.type, host: a.host, port: a.port, path: a.path },
          'OCPP gateway listening',
        );
      const watch = deps.watch ?? (fromFile && loaded.config.reload.enabled);
      if (watch && fromFile)
        watcher = watchDirs(
          loaded.watchTargets,
          loaded.config.reload.debounce,
          () => {
            if (running) reloadOffThread();
          },
          (err, dir) =>
            log.warn({ code: 'config_watch_failed', err, dir }, 'cannot watch directory'),
        );
      return addresses;
    },
    async stop(opts = {}) {
      if (stopped) return { dropped: 0 };
      stopped = true;
      const drainMs = opts.drainMs ?? loaded.config.shutdown.drain_timeout;
      watcher?.close();
      lagWatch.stop();
      alarms.monitor.stop();
      memoryReclaim.stop();
      bus.detach();
      // Charge points go first: the gateway publishes into the broker until it is closed.
      if (running) await ocpp?.stop();
      // Sinks with fallback actions drain before their fallback sinks (drainWaves).
      let dropped = 0;
      for (const wave of drainWaves(
        sinks,
        (n) => (loaded.sinks[n]?.['fallback_actions'] as string[]) ?? [],
      )) {
        const results = await Promise.all(
          wave.map(async (name) => {
            const s = sinks.get(name) as ConfiguredSink;
            try {
              return (await s.runner.drain(drainMs)).dropped;
            } catch (err) {
              log.error({ code: 'sink_drain_failed', err, sink: s.name }, 'sink drain failed');
              return 0;
            }
          }),
        );
        dropped += results.reduce((a, c) => a + c, 0);
      }
      if (external) {
        try {
          await external.stop(drainMs);
        } catch (err) {
          log.error({ code: 'source_stop_failed', err }, 'source stop failed');
        }
      }
      const held = b.metrics().publishes_held;
      if (held > 0)
        log.warn(
          { code: 'shutdown_publishes_held', held },
          'messages held by back-pressure at shutdown are not routed (QoS 1/2 publishers without an acknowledgement resend them)',
        );
      flow.releaseAll();
      if (running && brokerRuns) await b.stop();
      running = false;
      traces.close();
      manager.close();
      source.close();
      // Function services own resources (the jq worker thread); release them last.
      await services.close?.();
      await parseWorker.close();
      await schemas.close();
      log.info({ dropped }, 'stopped');
      return { dropped };
    },
    addRule(rule) {
      if (rules.has(rule.id))
        throw RuntimeRuleErrors.rule_already_exists(`rule ${JSON.stringify(rule.id)} exists`);
      rules.add(rule);
      syncFilters();
    },
    updateRule(rule) {
      if (!rules.has(rule.id))
        throw RuntimeRuleErrors.rule_not_found(`rule ${JSON.stringify(rule.id)} does not exist`);
      rules.update(rule);
      syncFilters();
    },
    async addRuleAsync(rule) {
      const isNew = () => {
        if (rules.has(rule.id))
          throw RuntimeRuleErrors.rule_already_exists(`rule ${JSON.stringify(rule.id)} exists`);
      };
      isNew();
      await rules.addAsync(rule, isNew);
      syncFilters();
    },
    async updateRuleAsync(rule) {
      const exists = () => {
        if (!rules.has(rule.id))
          throw RuntimeRuleErrors.rule_not_found(`rule ${JSON.stringify(rule.id)} does not exist`);
      };
      exists();
      await rules.updateAsync(rule, exists);
      syncFilters();
    },
    parseSql: parseWorker.parse,
    removeRule: (id) => {
      rules.remove(id);
      syncFilters();
    },
    enableRule: (id) => {
      manager.enable(id);
      syncFilters();
    },
    disableRule: (id) => {
      manager.disable(id);
      syncFilters();
    },
    rules: () => rules.list(),
    metrics() {
      const sinkMetrics: Record<string, EngineSinkMetrics> = {};
      for (const [name, s] of sinks)
        sinkMetrics[name] = { ...s.runner.metrics(), pausedClients: flow.pausedBy(name) };
      return {
        rules: manager.allMetrics(),
        sinks: sinkMetrics,
        broker: b.metrics(),
        ...(ocpp ? { ocpp: ocpp.metrics() } : {}),
        ...(external ? { source: external.metrics() } : {}),
      };
    },
    reload: () => reload(),
    onReload(listener) {
      reloadListeners.add(listener);
      return () => reloadListeners.delete(listener);
    },
    results$: manager.results$,
    get addresses() {
      return b.addresses;
    },
    clients: () => b.clients(),
    kickClient: (id) => b.kick(id),
    broker: b,
    ocpp,
    traces,
    logger: root,
    ...(ownLogger
      ? {
          logLevels: () => ownLogger.levels(),
          setLogLevel: (c: string, l: string) => ownLogger.setLevel(c, l as LogLevel),
        }
      : {}),
    sink: (name) => sinks.get(name)?.sink,
    alarms: alarms.registry,
    memoryReclaim,
    runningConfig: () => ({
      rules: rules.running(),
      sections: runningNow,
      sinks: runningSinkState,
    }),
    checkAlarms: () => alarms.monitor.check(),
    schemas,
    ingress: ingressStore,
    startupIssues,
    get config() {
      return loaded;
    },
  };
  return engine;
}
