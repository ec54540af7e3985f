/**
 * The endpoints (docs/api.md). Each handler returns a `Reply` or throws an `HttpError`;
 * errors thrown by the engine are mapped by `engineError` (rule_not_found → 404, …).
 * Shapes follow EMQX's REST API v5 where one exists (`/api/v5/rules`, `…/metrics`,
 * `/api/v5/rule_test`, `/api/v5/status`), with Sluice's names where EMQX has none (sinks).
 *
 * Length: every endpoint lives here on purpose, next to the route table at the bottom, so
 * the whole HTTP surface can be read in one place; plumbing is in http.ts.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

import { encodeJson, SluiceError } from '../core/index.js';
import { DEFAULT_GUARD, runRuleTestAsync, SqlError } from '../runtime/index.js';
import type { Diagnostic, EvalClock, FunctionServices, RuleInfo } from '../runtime/index.js';
import { ApiErrors } from './errors.js';
import { badRequest, HttpError, json, readJsonObject } from './http.js';
import type { Reply } from './http.js';
import { PROMETHEUS_CONTENT_TYPE, renderPrometheus } from './prometheus.js';
import type { ProcessMetrics } from './process-metrics.js';
import { buildOpenApi, E, J } from './openapi.js';
import type { DocumentedRoute, Method } from './openapi.js';
import { ref } from './schemas.js';
import type { JsonSchema } from './schemas.js';
import { createTrace, deleteTrace, getTrace, listTraces, streamTrace } from './traces.js';
import type {
  ApiAlarm,
  ApiAlarms,
  ApiDeps,
  ApiEngine,
  ApiGateway,
  ApiMetrics,
  ApiRuleInput,
  ApiSinkMetrics,
} from './types.js';
import { SCHEMA_ROUTES } from './schema-routes.js';
import { INGRESS_ROUTES } from './ingress-routes.js';

/** Same pattern as rule ids in sluice.yaml (src/config RULE_ID_PATTERN). */
const RULE_ID = /^[A-Za-z0-9_][A-Za-z0-9_.:-]*$/;

export interface RouteContext {
  readonly deps: Required<Pick<ApiDeps, 'engine' | 'logger' | 'now'>> & { version: string };
  readonly startedAt: number;
  /** Process and Node.js runtime metrics (sampled while the server runs). */
  readonly process: ProcessMetrics;
  /** Function services for rule_test (created on first use, closed with the server). */
  services(): FunctionServices;
  /** The deadline clock `services()` reads (rule_test's budget). */
  readonly testClock: EvalClock;
  readonly node: string;
  /** `api.max_body_size`. */
  readonly maxBodyBytes: number;
  /** The API's own counters (`sluice_api_*` in /metrics). */
  readonly apiMetrics: ApiMetrics;
}

export type Handler = (
  req: IncomingMessage,
  params: readonly string[],
  ctx: RouteContext,
) => Promise<Reply> | Reply;

export interface Route extends DocumentedRoute {
  /** Path segments; `*` captures one (URL-decoded) segment into params. */
  readonly path: readonly string[];
  readonly methods: Readonly<Partial<Record<Method, Handler>>>;
  /** Every method needs the administrator role (a viewer key gets 403 even for GET). */
  readonly admin?: boolean;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function ruleJson(r: RuleInfo): Record<string, unknown> {
  return {
    id: r.id,
    sql: r.sql,
    enable: r.enabled,
    enabled: r.enabled,
    actions: r.actions,
    description: r.description,
    from: r.from,
    created_at: iso(r.createdAt),
    updated_at: iso(r.updatedAt),
    // EMQX-style status, plus why a rule was suspended by its evaluation budget.
    status: r.suspended ? 'suspended' : r.enabled ? 'enabled' : 'disabled',
    ...(r.suspended
      ? { suspended_at: iso(r.suspended.at), suspended_reason: r.suspended.reason }
      : {}),
  };
}

function findRule(ctx: RouteContext, id: string): RuleInfo {
  const r = ctx.deps.engine.rules().find((x) => x.id === id);
  if (!r) throw new HttpError(404, ruleNotFound(id));
  return r;
}

function ruleNotFound(id: string): SluiceError {
  // The runtime's code for an unknown rule id (docs/errors.md).
  return new SluiceError('rule_not_found', `rule ${JSON.stringify(id)} does not exist`);
}

function diagnosticJson(d: Diagnostic): Record<string, unknown> {
  return {
    code: d.code,
    message: d.message,
    line: d.line,
    column: d.column,
    end_line: d.range.end.line,
    end_column: d.range.end.column,
    ...(d.expected ? { expected: d.expected } : {}),
    snippet: d.snippet,
  };
}

/** Map an engine error to an HTTP error (unknown throws are re-thrown → 500). */
function engineError(err: unknown): never {
  if (err instanceof SqlError)
    throw new HttpError(400, err, {}, { diagnostics: err.diagnostics.map(diagnosticJson) });
  if (err instanceof SluiceError) {
    const status =
      err.code === 'rule_not_found'
        ? 404
        : err.code === 'rule_already_exists'
          ? 409
          : err.code === 'sql_parse_worker_failed'
            ? 503
            : 400;
    throw new HttpError(status, err);
  }
  throw err;
}

function optString(body: Record<string, unknown>, key: string): string | undefined {
  const v = body[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw badRequest(`${key} must be a string`);
  return v;
}

function optBool(body: Record<string, unknown>, key: string): boolean | undefined {
  const v = body[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw badRequest(`${key} must be true or false`);
  return v;
}

function optActions(body: Record<string, unknown>): string[] | undefined {
  const v = body['actions'];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((a) => typeof a !== 'string'))
    throw badRequest('actions must be a list of sink names');
  return v as string[];
}

const WRITABLE = ['id', 'sql', 'actions', 'enable', 'enabled', 'description'];
/** Fields of a GET answer (and EMQX's `name`/`metadata`): accepted back and ignored. */
const READ_ONLY = [
  'from',
  'created_at',
  'updated_at',
  'name',
  'metadata',
  'status',
  'suspended_at',
  'suspended_reason',
];

/** Refuse unknown fields: a typo such as `{"enabel": false}` must not silently do nothing. */
function checkFields(body: Record<string, unknown>): void {
  for (const k of Object.keys(body))
    if (!WRITABLE.includes(k) && !READ_ONLY.includes(k))
      throw badRequest(`unknown field ${JSON.stringify(k)} (known: ${WRITABLE.join(', ')})`);
}

/** `enable` (EMQX) or `enabled` (sluice.yaml); both given must agree. */
function enableOf(body: Record<string, unknown>): boolean | undefined {
  const a = optBool(body, 'enable');
  const b = optBool(body, 'enabled');
  if (a !== undefined && b !== undefined && a !== b)
    throw badRequest('enable and enabled disagree');
  return a ?? b;
}

function ruleMetricsJson(ctx: RouteContext, id: string): Record<string, unknown> {
  const m = ctx.deps.engine.metrics().rules[id];
  if (!m) throw new HttpError(404, ruleNotFound(id));
  const metrics = {
    matched: m.matched,
    passed: m.passed,
    failed: m.failed,
    'failed.exception': m['failed.exception'],
    'failed.no_result': m['failed.no_result'],
    'actions.total': m['actions.total'],
    'actions.success': m['actions.success'],
    'actions.failed': m['actions.failed'],
    'matched.rate': m.rate.current,
    'matched.rate.max': m.rate.max,
    'matched.rate.last5m': m.rate.last5m,
  };
  return { id, metrics, node_metrics: [{ node: ctx.node, metrics }] };
}

function sinkMetricsJson(m: ApiSinkMetrics): Record<string, unknown> {
  return {
    ...(m.status ? { status: m.status } : {}),
    ...(m.lastError ? { last_error: m.lastError } : {}),
    matched: m.matched,
    queued: m.queued,
    queued_bytes: m.queuedBytes,
    pressure: m.pressure,
    pressure_events: m.pressureEvents,
    paused_clients: m.pausedClients ?? 0,
    inflight: m.inflight,
    inflight_records: m.inflightRecords,
    success: m.success,
    failed: m.failed,
    failed_by: m.failedBy,
    dropped: m.dropped,
    dropped_by: m.droppedBy,
    retried: m.retried,
    latency_ms: {
      count: m.latency.count,
      p50: m.latency.p50,
      p99: m.latency.p99,
      max: m.latency.max,
    },
  };
}

function sinkOr404(ctx: RouteContext, name: string): { type: string; metrics: ApiSinkMetrics } {
  const metrics = ctx.deps.engine.metrics().sinks[name];
  const type = ctx.deps.engine.config.sinks[name]?.type;
  if (!metrics || type === undefined)
    throw new HttpError(
      404,
      ApiErrors.api_not_found(`sink ${JSON.stringify(name)} does not exist`),
    );
  return { type, metrics };
}

const status: Handler = (_req, _p, ctx) => {
  const e = ctx.deps.engine;
  const listeners = e.addresses.map((a) => ({
    name: a.name,
    type: a.type,
    host: a.host,
    port: a.port,
  }));
  const running = listeners.length > 0;
  const b = e.metrics().broker;
  return json(running ? 200 : 503, {
    node_name: ctx.node,
    rel_vsn: ctx.deps.version,
    status: running ? 'running' : 'stopped',
    uptime: Math.max(0, Math.floor((ctx.deps.now() - ctx.startedAt) / 1000)),
    broker: { running, listeners, connections: b.connections },
    rules: e.rules().length,
    sinks: Object.keys(e.config.sinks).length,
  });
};

/**
 * GET /api/v5/ready — readiness for load balancers and Kubernetes: 200 when the engine takes
 * traffic end to end (MQTT listeners bound when the embedded broker runs, the external source
 * connected in mqtt/kafka mode, every sink connected), else 503 with the failing checks.
 * Liveness is `GET /api/v5/status` (or the port).
 */
const ready: Handler = (_req, _p, ctx) => readiness(ctx);

/**
 * The readiness answer. Probes cannot hold credentials, so `GET /api/v5/ready` without an
 * Authorization header is answered before authentication with `{"ready": …}` only (server.ts);
 * an authenticated call also gets the checks.
 */
export function readiness(ctx: RouteContext): ReturnType<typeof json> {
  const e = ctx.deps.engine;
  const m = e.metrics();
  const src = e.config.config.sources;
  const mode = src?.mode ?? 'embedded';
  const checks: Record<string, boolean> = {};
  if (mode === 'embedded' || src?.embedded_broker) checks['broker'] = e.addresses.length > 0;
  if (mode !== 'embedded') checks['source'] = m.source?.connected === true;
  for (const [name, s] of Object.entries(m.sinks))
    checks[`sink:${name}`] = s.status === 'connected';
  const ok = Object.values(checks).every(Boolean);
  return json(ok ? 200 : 503, {
    ready: ok,
    checks,
    failing: Object.keys(checks).filter((k) => !checks[k]),
  });
}

const listRules: Handler = (_req, _p, ctx) => {
  const data = ctx.deps.engine.rules().map(ruleJson);
  return json(200, {
    data,
    meta: { page: 1, limit: data.length, count: data.length, hasnext: false },
  });
};

const createRule: Handler = async (req, _p, ctx) => {
  const body = await readJsonObject(req, ctx.maxBodyBytes);
  checkFields(body);
  const id = optString(body, 'id') ?? `rule_${randomBytes(4).toString('hex')}`;
  if (!RULE_ID.test(id)) throw badRequest(`id ${JSON.stringify(id)} must match ${RULE_ID.source}`);
  const sql = optString(body, 'sql');
  if (sql === undefined) throw badRequest('sql is required');
  const rule: ApiRuleInput = {
    id,
    sql,
    actions: optActions(body) ?? [],
    enabled: enableOf(body) ?? true,
    description: optString(body, 'description') ?? '',
  };
  const engine = ctx.deps.engine;
  try {
    // Long SQL is parsed on the engine's parse worker: the event loop is not held for it.
    if (engine.addRuleAsync) await engine.addRuleAsync(rule);
    else engine.addRule(rule);
  } catch (err) {
    engineError(err);
  }
  return json(201, ruleJson(findRule(ctx, id)));
};

const getRule: Handler = (_req, [id], ctx) => json(200, ruleJson(findRule(ctx, id as string)));

/**
 * EMQX's PUT takes the rule's fields; only those given change. `{enable}` alone enables or
 * disables the running rule without recompiling it.
 */
const putRule: Handler = async (req, [id], ctx) => {
  const body = await readJsonObject(req, ctx.maxBodyBytes);
  checkFields(body);
  const cur = findRule(ctx, id as string);
  const bodyId = optString(body, 'id');
  if (bodyId !== undefined && bodyId !== cur.id)
    throw badRequest(
      `id ${JSON.stringify(bodyId)} differs from the path's ${JSON.stringify(cur.id)}`,
    );
  const sql = optString(body, 'sql');
  const actions = optActions(body);
  const description = optString(body, 'description');
  const enable = enableOf(body);
  try {
    if (sql !== undefined || actions !== undefined || description !== undefined) {
      const next = {
        id: cur.id,
        sql: sql ?? cur.sql,
        actions: actions ?? cur.actions,
        description: description ?? cur.description,
        enabled: enable ?? cur.enabled,
      };
      const engine = ctx.deps.engine;
      if (engine.updateRuleAsync) await engine.updateRuleAsync(next);
      else engine.updateRule(next);
    } else if (enable === true) ctx.deps.engine.enableRule(cur.id);
    else if (enable === false) ctx.deps.engine.disableRule(cur.id);
  } catch (err) {
    engineError(err);
  }
  return json(200, ruleJson(findRule(ctx, cur.id)));
};

const deleteRule: Handler = (_req, [id], ctx) => {
  findRule(ctx, id as string);
  try {
    ctx.deps.engine.removeRule(id as string);
  } catch (err) {
    engineError(err);
  }
  return { status: 204 };
};

const ruleMetrics: Handler = (_req, [id], ctx) => {
  findRule(ctx, id as string);
  return json(200, ruleMetricsJson(ctx, id as string));
};

function sqlLimitsOf(l: { max_sql_bytes?: number; max_sql_tokens?: number } | undefined): {
  maxBytes?: number;
  maxTokens?: number;
} {
  return {
    ...(l?.max_sql_bytes === undefined ? {} : { maxBytes: l.max_sql_bytes }),
    ...(l?.max_sql_tokens === undefined ? {} : { maxTokens: l.max_sql_tokens }),
  };
}

const ruleTest: Handler = async (req, _p, ctx) => {
  const body = await readJsonObject(req, ctx.maxBodyBytes);
  const sql = body['sql'];
  if (typeof sql !== 'string') throw badRequest('sql is required (a string)');
  const context = body['context'] ?? {};
  if (typeof context !== 'object' || context === null || Array.isArray(context))
    throw badRequest('context must be a JSON object of the event columns');
  // A rule that calls jq is evaluated in passes: its jq run never blocks the event loop.
  const r = await runRuleTestAsync(sql, context as Record<string, unknown>, {
    services: ctx.services(),
    now: ctx.deps.now(),
    node: ctx.node,
    // The running rules' budget (docs/rules.md), so a test cannot hold the loop longer.
    budgetMs: ctx.deps.engine.config.config.rule_limits?.eval_budget ?? DEFAULT_GUARD.budgetMs,
    clock: ctx.testClock,
    // The engine's SQL size limits, so an oversized rule is refused before it is parsed.
    limits: sqlLimitsOf(ctx.deps.engine.config.config.rule_limits),
    // Long SQL is parsed on the engine's parse worker, off the event loop.
    ...(ctx.deps.engine.parseSql ? { parse: ctx.deps.engine.parseSql } : {}),
  }).catch((err: unknown) => engineError(err));
  switch (r.kind) {
    case 'passed':
      // EMQX answers a SELECT with its output object and a FOREACH with the list of outputs.
      return {
        status: 200,
        raw:
          (r.foreach
            ? `[${r.outputs.map((o) => encodeJson(o)).join(',')}]`
            : encodeJson(r.outputs[0] ?? {})) + '\n',
      };
    case 'no_result':
      throw new HttpError(
        412,
        ApiErrors.api_rule_test_no_result(
          'SQL Not Match: WHERE was false or FOREACH produced nothing',
        ),
      );
    case 'no_match':
      throw new HttpError(412, ApiErrors.api_rule_test_no_result(`SQL Not Match: ${r.message}`));
    case 'sql_error': {
      const e = new SqlError(r.diagnostics);
      throw new HttpError(400, e, {}, { diagnostics: r.diagnostics.map(diagnosticJson) });
    }
    case 'failed':
      throw new HttpError(400, new SluiceError(r.code, r.reason));
    case 'bad_context':
      throw badRequest(r.message);
  }
};

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function levelsOf(ctx: RouteContext): Record<string, string> {
  const get = ctx.deps.engine.logLevels;
  if (!get)
    throw new HttpError(404, ApiErrors.api_not_found('log levels are not managed by this engine'));
  return get.call(ctx.deps.engine);
}

/** `GET /api/v5/log_levels`: the root level (key "") and per-component levels. */
const logLevels: Handler = (_req, _p, ctx) => json(200, levelsOf(ctx));

/** `PUT /api/v5/log_levels` `{"component": "broker", "level": "debug"}` (component "" = root). */
const putLogLevel: Handler = async (req, _p, ctx) => {
  levelsOf(ctx);
  const body = await readJsonObject(req, ctx.maxBodyBytes);
  for (const k of Object.keys(body))
    if (k !== 'component' && k !== 'level')
      throw badRequest(`unknown field ${JSON.stringify(k)} (known: component, level)`);
  const component = body['component'];
  const level = body['level'];
  if (typeof component !== 'string' || !/^([a-z0-9_]+(\.[a-z0-9_]+)*)?$/.test(component))
    throw badRequest(
      'component must be a dotted component path such as "broker" or "sink.kafka" ("" = root)',
    );
  if (typeof level !== 'string' || !LEVELS.includes(level))
    throw badRequest(`level must be one of ${LEVELS.join(', ')}`);
  ctx.deps.engine.setLogLevel!(component, level);
  ctx.deps.logger.info({ component_changed: component, level }, 'log level changed over the API');
  return json(200, levelsOf(ctx));
};

const listSinks: Handler = (_req, _p, ctx) => {
  const m = ctx.deps.engine.metrics().sinks;
  return json(
    200,
    Object.entries(ctx.deps.engine.config.sinks).map(([name, s]) => ({
      name,
      type: s.type,
      ...(m[name] ? { metrics: sinkMetricsJson(m[name]) } : {}),
    })),
  );
};

function gatewayOr404(ctx: RouteContext): ApiGateway {
  const g = ctx.deps.engine.ocpp;
  if (!g)
    throw new HttpError(
      404,
      ApiErrors.api_not_found('the OCPP gateway is not enabled (gateway.ocpp.enable)'),
    );
  return g;
}

/** GET /api/v5/gateways/ocpp/clients: the connected charge points with their stats. */
const ocppClients: Handler = (_req, _p, ctx) => json(200, gatewayOr404(ctx).clients());

/** DELETE /api/v5/gateways/ocpp/clients/:clientid: close its connection (reason kicked). */
const ocppKick: Handler = (_req, [id], ctx) => {
  if (!gatewayOr404(ctx).kick(id as string))
    throw new HttpError(
      404,
      ApiErrors.api_not_found(`charge point ${JSON.stringify(id)} is not connected`),
    );
  return { status: 204 };
};

function clientsOr404(ctx: RouteContext): Required<Pick<ApiEngine, 'clients' | 'kickClient'>> {
  const e = ctx.deps.engine;
  if (!e.clients || !e.kickClient)
    throw new HttpError(404, ApiErrors.api_not_found('this engine has no client directory'));
  return { clients: e.clients.bind(e), kickClient: e.kickClient.bind(e) };
}

/** GET /api/v5/clients: the connected MQTT clients (EMQX's field names where it has them). */
const listClients: Handler = (_req, _p, ctx) => {
  const data = clientsOr404(ctx)
    .clients()
    .map((c) => ({
      clientid: c.clientid,
      username: c.username ?? null,
      ip_address: c.peerhost ?? null,
      listener: c.listener,
      proto_ver: c.proto_ver,
      keepalive: c.keepalive,
      clean_start: c.clean_start,
      connected: true,
      connected_at: iso(c.connected_at),
      subscriptions_cnt: c.subscriptions,
      paused: c.paused,
    }));
  return json(200, {
    data,
    meta: { page: 1, limit: data.length, count: data.length, hasnext: false },
  });
};

/** DELETE /api/v5/clients/:clientid: close that connection (disconnect reason `kicked`). */
const kickClient: Handler = (_req, [id], ctx) => {
  if (!clientsOr404(ctx).kickClient(id as string))
    throw new HttpError(
      404,
      ApiErrors.api_not_found(`client ${JSON.stringify(id)} is not connected`),
    );
  return { status: 204 };
};

/**
 * GET /api/v5/metrics: the broker's message counters and rule/sink totals as one object with
 * EMQX's dotted names (EMQX's `?aggregate=true` shape); the dashboard derives rates from them.
 */
const brokerMetrics: Handler = (_req, _p, ctx) => {
  const m = ctx.deps.engine.metrics();
  const b = m.broker;
  let matched = 0;
  let passed = 0;
  let failed = 0;
  for (const r of Object.values(m.rules)) {
    matched += r.matched;
    passed += r.passed;
    failed += r.failed;
  }
  let success = 0;
  let sinkFailed = 0;
  let dropped = 0;
  for (const s of Object.values(m.sinks)) {
    success += s.success;
    sinkFailed += s.failed;
    dropped += s.dropped;
  }
  return json(200, {
    node: ctx.node,
    'connections.count': b.connections,
    'connections.total': b.connections_total,
    'messages.received': b.messages_in,
    'messages.sent': b.messages_out,
    'messages.dropped': b.messages_dropped,
    'messages.acked': b.messages_acked,
    'rules.matched': matched,
    'rules.passed': passed,
    'rules.failed': failed,
    'actions.success': success,
    'actions.failed': sinkFailed,
    'actions.dropped': dropped,
  });
};

const sinkMetrics: Handler = (_req, [name], ctx) => {
  const s = sinkOr404(ctx, name as string);
  return json(200, { name, type: s.type, metrics: sinkMetricsJson(s.metrics) });
};

/** EMQX's alarm shape (GET /api/v5/alarms): RFC 3339 times, `infinity` while active. */
function alarmJson(a: ApiAlarm, node: string, now: number): Record<string, unknown> {
  const active = a.deactivatedAt === undefined;
  return {
    node,
    name: a.name,
    message: a.message,
    details: a.details,
    duration: (active ? now : (a.deactivatedAt as number)) - a.activatedAt,
    activate_at: iso(a.activatedAt),
    deactivate_at: active ? 'infinity' : iso(a.deactivatedAt as number),
    activated: active,
  };
}

function alarmsOr404(ctx: RouteContext): ApiAlarms {
  const a = ctx.deps.engine.alarms;
  if (!a) throw new HttpError(404, ApiErrors.api_not_found('this engine keeps no alarms'));
  return a;
}

/** A positive integer query parameter, or `fallback`; anything else is a 400. */
function positiveParam(q: URLSearchParams, name: string, fallback: number): number {
  const v = q.get(name);
  if (v === null) return fallback;
  if (!/^[1-9][0-9]{0,8}$/.test(v)) throw badRequest(`${name} must be a positive integer`);
  return Number(v);
}

/**
 * GET /api/v5/alarms[?activated=true|false][&page=N&limit=N] (EMQX): active alarms
 * (activated=true), deactivated ones (false) or both (absent, active first).
 */
const listAlarms: Handler = (req, _p, ctx) => {
  const alarms = alarmsOr404(ctx);
  ctx.deps.engine.checkAlarms?.();
  const q = new URL(req.url ?? '/', 'http://x').searchParams;
  const activated = q.get('activated');
  if (activated !== null && activated !== 'true' && activated !== 'false')
    throw badRequest('activated must be true or false');
  const page = positiveParam(q, 'page', 1);
  const limit = positiveParam(q, 'limit', 100);
  const all = [
    ...(activated !== 'false' ? alarms.active() : []),
    ...(activated !== 'true' ? alarms.history() : []),
  ];
  const now = ctx.deps.now();
  const data = all.slice((page - 1) * limit, page * limit).map((a) => alarmJson(a, ctx.node, now));
  return json(200, {
    data,
    meta: { page, limit, count: all.length, hasnext: page * limit < all.length },
  });
};

/**
 * GET /api/v5/config/running (administrators): what a reload compares with — the running
 * rules and SHA-256 digests of the restart-only sections and of each sink's fields — for
 * `sluice plan --against` (docs/cli.md). Digests, not settings: no secret leaves.
 */
const runningConfig: Handler = (_req, _p, ctx) => {
  const e = ctx.deps.engine;
  if (!e.runningConfig)
    throw new HttpError(
      404,
      ApiErrors.api_not_found('this engine does not report its running configuration'),
    );
  return json(200, { node: ctx.node, ...e.runningConfig() });
};

/** DELETE /api/v5/alarms: forget the deactivated alarms (EMQX); 204. */
const clearAlarms: Handler = (_req, _p, ctx) => {
  alarmsOr404(ctx).clearHistory();
  return { status: 204 };
};

const openApi: Handler = (_req, _p, ctx) => openApiReply(ctx);

const prometheus: Handler = (_req, _p, ctx) => {
  const e = ctx.deps.engine;
  const m = e.metrics();
  const enabled: Record<string, boolean> = {};
  for (const r of e.rules()) enabled[r.id] = r.enabled;
  return {
    status: 200,
    contentType: PROMETHEUS_CONTENT_TYPE,
    raw: renderPrometheus({
      rules: m.rules,
      enabled,
      sinks: m.sinks,
      broker: m.broker,
      uptimeSeconds: Math.max(0, Math.floor((ctx.deps.now() - ctx.startedAt) / 1000)),
      version: ctx.deps.version,
      process: ctx.process.snapshot(),
      api: ctx.apiMetrics,
      ocpp: e.ocpp?.metrics(),
      ...(e.alarms ? { alarms: { active: e.alarms.active(), counts: e.alarms.counts() } } : {}),
      ...(e.memoryReclaim ? { memoryReclaim: e.memoryReclaim.metrics() } : {}),
      ...(e.ingress ? { ingress: e.ingress.metrics() } : {}),
      ...(e.schemas?.externalMetrics ? { externalRegistries: e.schemas.externalMetrics() } : {}),
    }),
  };
};

const RULE_ID_PARAM = [{ name: 'id', description: 'Rule id (URL-encoded).' }] as const;

const NUM = { type: 'number' } as const;
const TOTALS_KEYS = [
  'connections.count',
  'connections.total',
  'messages.received',
  'messages.sent',
  'messages.dropped',
  'messages.acked',
  'rules.matched',
  'rules.passed',
  'rules.failed',
  'actions.success',
  'actions.failed',
  'actions.dropped',
];
/** `GET /api/v5/metrics`. */
const TOTALS_SCHEMA: JsonSchema = {
  type: 'object',
  properties: {
    node: { type: 'string' },
    ...Object.fromEntries(TOTALS_KEYS.map((k) => [k, NUM])),
  },
  required: ['node', ...TOTALS_KEYS],
  additionalProperties: false,
};
const NULLABLE_STRING: JsonSchema = { type: ['string', 'null'] };
/** `GET /api/v5/clients`. */
const CLIENT_LIST_SCHEMA: JsonSchema = {
  type: 'object',
  properties: {
    data: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          clientid: { type: 'string' },
          username: NULLABLE_STRING,
          ip_address: NULLABLE_STRING,
          listener: { type: 'string' },
          proto_ver: { type: 'integer' },
          keepalive: { type: 'integer' },
          clean_start: { type: 'boolean' },
          connected: { type: 'boolean' },
          connected_at: { type: 'string', format: 'date-time' },
          subscriptions_cnt: { type: 'integer' },
          paused: { type: 'boolean' },
        },
        required: [
          'clientid',
          'username',
          'ip_address',
          'listener',
          'proto_ver',
          'keepalive',
          'clean_start',
          'connected',
          'connected_at',
          'subscriptions_cnt',
          'paused',
        ],
        additionalProperties: false,
      },
    },
    meta: {
      type: 'object',
      properties: {
        page: { type: 'integer' },
        limit: { type: 'integer' },
        count: { type: 'integer' },
        hasnext: { type: 'boolean' },
      },
      required: ['page', 'limit', 'count', 'hasnext'],
    },
  },
  required: ['data', 'meta'],
  additionalProperties: false,
};

export const ROUTES: readonly Route[] = [
  {
    path: ['api', 'v5', 'status'],
    methods: { GET: status },
    docs: {
      GET: {
        summary: 'Health: node, version, uptime, listeners',
        responses: { 200: J('Running', ref('Status')), 503: J('No listener bound', ref('Status')) },
      },
    },
  },
  {
    path: ['api', 'v5', 'ready'],
    methods: { GET: ready },
    docs: {
      GET: {
        summary: 'Readiness (listeners, source, every sink connected)',
        description:
          'Without an Authorization header it is answered before authentication with `{"ready"}` only; authenticated, with the checks.',
        public: true,
        responses: { 200: J('Ready', ref('Ready')), 503: J('Not ready', ref('Ready')) },
      },
    },
  },
  {
    path: ['api', 'v5', 'rules'],
    methods: { GET: listRules, POST: createRule },
    docs: {
      GET: { summary: 'Every rule', responses: { 200: J('The rules', ref('RuleList')) } },
      POST: {
        summary: 'Create a rule',
        request: ref('RuleInput'),
        responses: {
          201: J('Created', ref('Rule')),
          400: E('api_bad_request, rule_sql_invalid (with diagnostics), rule_unknown_action'),
          409: E('rule_already_exists'),
          503: E('sql_parse_worker_failed: the worker parsing long SQL died; retry'),
        },
      },
    },
  },
  {
    path: ['api', 'v5', 'rules', '*'],
    params: RULE_ID_PARAM,
    methods: { GET: getRule, PUT: putRule, DELETE: deleteRule },
    docs: {
      GET: {
        summary: 'One rule',
        responses: { 200: J('The rule', ref('Rule')), 404: E('rule_not_found') },
      },
      PUT: {
        summary: 'Change a rule (only the fields given); {enable} alone enables or disables it',
        request: ref('RuleInput'),
        responses: {
          200: J('Updated', ref('Rule')),
          400: E('api_bad_request, rule_sql_invalid, rule_unknown_action'),
          404: E('rule_not_found'),
          503: E('sql_parse_worker_failed: the worker parsing long SQL died; retry'),
        },
      },
      DELETE: {
        summary: 'Delete a rule',
        responses: { 204: { description: 'Deleted' }, 404: E('rule_not_found') },
      },
    },
  },
  {
    path: ['api', 'v5', 'rules', '*', 'metrics'],
    params: RULE_ID_PARAM,
    methods: { GET: ruleMetrics },
    docs: {
      GET: {
        summary: 'EMQX-style rule metrics',
        responses: { 200: J('Metrics', ref('RuleMetrics')), 404: E('rule_not_found') },
      },
    },
  },
  {
    path: ['api', 'v5', 'rule_test'],
    methods: { POST: ruleTest },
    docs: {
      POST: {
        summary: 'Run SQL on one sample event',
        request: ref('RuleTestInput'),
        responses: {
          200: J('The output(s)', ref('RuleTestOutput')),
          400: E('Bad SQL (diagnostics), bad context or an evaluation failure'),
          412: E('api_rule_test_no_result'),
          503: E('sql_parse_worker_failed: the worker parsing long SQL died; retry'),
        },
      },
    },
  },
  {
    path: ['api', 'v5', 'sinks'],
    methods: { GET: listSinks },
    docs: {
      GET: {
        summary: 'Every sink with its metrics',
        responses: { 200: J('The sinks', ref('SinkList')) },
      },
    },
  },
  {
    path: ['api', 'v5', 'log_levels'],
    methods: { GET: logLevels, PUT: putLogLevel },
    docs: {
      GET: {
        summary: 'Log levels by component ("" = root)',
        responses: { 200: J('Levels', ref('LogLevels')), 404: E('not managed by this engine') },
      },
      PUT: {
        summary: "Change one component's log level",
        request: ref('LogLevelInput'),
        responses: { 200: J('Levels', ref('LogLevels')), 400: E('api_bad_request') },
      },
    },
  },
  {
    path: ['api', 'v5', 'sinks', '*', 'metrics'],
    params: [{ name: 'name', description: 'Sink name (URL-encoded).' }],
    methods: { GET: sinkMetrics },
    docs: {
      GET: {
        summary: "One sink's metrics",
        responses: {
          200: J('Metrics', {
            type: 'object',
            properties: {
              name: { type: 'string' },
              type: { type: 'string' },
              metrics: ref('SinkMetrics'),
            },
            required: ['name', 'type', 'metrics'],
            additionalProperties: false,
          }),
          404: E('api_not_found'),
        },
      },
    },
  },
  {
    path: ['api', 'v5', 'gateways', 'ocpp', 'clients'],
    methods: { GET: ocppClients },
    docs: {
      GET: {
        summary: 'Connected OCPP charge points',
        responses: {
          200: J('Charge points', ref('OcppClientList')),
          404: E('gateway not enabled'),
        },
      },
    },
  },
  {
    path: ['api', 'v5', 'gateways', 'ocpp', 'clients', '*'],
    params: [{ name: 'clientid', description: 'Charge point id.' }],
    methods: { DELETE: ocppKick },
    docs: {
      DELETE: {
        summary: "Close a charge point's connection (reason kicked)",
        responses: { 204: { description: 'Closed' }, 404: E('not connected, or no gateway') },
      },
    },
  },
  {
    path: ['api', 'v5', 'traces'],
    methods: { GET: listTraces, POST: createTrace },
    admin: true,
    docs: {
      GET: {
        summary: 'Running and recently stopped traces',
        responses: { 200: J('Traces', ref('TraceList')) },
      },
      POST: {
        summary: 'Start a per-message trace',
        request: ref('TraceInput'),
        responses: {
          201: J('Started', ref('TraceSummary')),
          400: E('trace_invalid'),
          409: E('trace_limit_reached'),
        },
      },
    },
  },
  {
    path: ['api', 'v5', 'traces', '*'],
    params: [{ name: 'id', description: 'Trace id.' }],
    methods: { GET: getTrace, DELETE: deleteTrace },
    admin: true,
    docs: {
      GET: {
        summary: 'One trace with its ring of steps (oldest first)',
        responses: { 200: J('The trace', ref('Trace')), 404: E('trace_not_found') },
      },
      DELETE: {
        summary: 'Stop and forget a trace',
        responses: { 204: { description: 'Deleted' }, 404: E('trace_not_found') },
      },
    },
  },
  {
    path: ['api', 'v5', 'traces', '*', 'stream'],
    params: [{ name: 'id', description: 'Trace id.' }],
    methods: { GET: streamTrace },
    admin: true,
    docs: {
      GET: {
        summary: 'Follow a trace (Server-Sent Events)',
        description:
          'Events `id: <seq>`, `event: step`, `data: <TraceStep JSON>`; the ring after Last-Event-ID first; `event: end` when the trace stops; `: heartbeat` every 15 s.',
        query: [
          {
            name: 'last_event_id',
            description: 'Resume after this step (for clients that cannot send Last-Event-ID).',
            schema: { type: 'integer', minimum: 0 },
          },
        ],
        responses: {
          200: {
            description: 'The event stream',
            contentType: 'text/event-stream',
            schema: { type: 'string' },
          },
          404: E('trace_not_found'),
        },
      },
    },
  },
  {
    path: ['api', 'v5', 'openapi.json'],
    methods: { GET: openApi },
    docs: {
      GET: {
        summary: 'This OpenAPI 3.1 document',
        public: true,
        responses: { 200: J('The document', { type: 'object', required: ['openapi', 'paths'] }) },
      },
    },
  },
  {
    path: ['metrics'],
    methods: { GET: prometheus },
    docs: {
      GET: {
        summary: 'Prometheus text exposition',
        responses: {
          200: {
            description: 'Metrics (text format 0.0.4)',
            contentType: 'text/plain; version=0.0.4',
            schema: { type: 'string' },
          },
        },
      },
    },
  },
  {
    path: ['api', 'v5', 'alarms'],
    methods: { GET: listAlarms, DELETE: clearAlarms },
    docs: {
      GET: {
        summary: 'Alarms (EMQX shape): active, deactivated (?activated=true|false) or both',
        responses: {
          200: J('Alarms', ref('AlarmList')),
          400: E('bad activated/page/limit'),
          404: E('this engine keeps no alarms'),
        },
      },
      DELETE: {
        summary: 'Forget the deactivated alarms',
        responses: { 204: { description: 'Cleared' }, 404: E('this engine keeps no alarms') },
      },
    },
  },
  {
    path: ['api', 'v5', 'config', 'running'],
    methods: { GET: runningConfig },
    admin: true,
    docs: {
      GET: {
        summary: "Digests of the running configuration's sections and rules (for `sluice plan`)",
        responses: {
          200: J('Running configuration digests', ref('RunningConfig')),
          404: E('not reported by this engine'),
        },
      },
    },
  },
  {
    path: ['api', 'v5', 'metrics'],
    methods: { GET: brokerMetrics },
    docs: {
      GET: {
        summary: 'Broker message counters and rule/sink totals (EMQX dotted names, one object)',
        responses: { 200: J('Counters', TOTALS_SCHEMA) },
      },
    },
  },
  {
    path: ['api', 'v5', 'clients'],
    methods: { GET: listClients },
    docs: {
      GET: {
        summary: 'Connected MQTT clients of the embedded broker',
        responses: {
          200: J('Clients', CLIENT_LIST_SCHEMA),
          404: E('this engine has no client directory'),
        },
      },
    },
  },
  {
    path: ['api', 'v5', 'clients', '*'],
    params: [{ name: 'clientid', description: 'MQTT client id (URL-encoded).' }],
    methods: { DELETE: kickClient },
    docs: {
      DELETE: {
        summary: 'Kick a client: close its connection (reason kicked; MQTT 5: DISCONNECT 0x98)',
        responses: { 204: { description: 'Closed' }, 404: E('api_not_found: not connected') },
      },
    },
  },
  ...SCHEMA_ROUTES,
  ...INGRESS_ROUTES,
];

let openApiDocument: string | undefined;

/** The OpenAPI document, built once (answered without credentials: server.ts). */
export function openApiReply(ctx: RouteContext): Reply {
  openApiDocument ??= JSON.stringify(buildOpenApi(ROUTES, ctx.deps.version)) + '\n';
  return { status: 200, raw: openApiDocument };
}

/** The route matching `segments` and its captured params, if any. */
export function matchRoute(
  segments: readonly string[],
): { route: Route; params: string[] } | undefined {
  for (const route of ROUTES) {
    if (route.path.length !== segments.length) continue;
    const params: string[] = [];
    let ok = true;
    for (let i = 0; i < segments.length && ok; i++) {
      const want = route.path[i] as string;
      const got = segments[i] as string;
      if (want === '*') params.push(got);
      else ok = want === got;
    }
    if (ok) return { route, params };
  }
  return undefined;
}
