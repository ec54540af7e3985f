/**
 * `createApiServer(deps, config)`: the management HTTP API on `node:http`.
 *
 * Request path (after the two public answers, `GET /api/v5/ready` without credentials and
 * `GET /api/v5/openapi.json`): per-address auth-failure limit (429 `api_auth_rate_limited`) → credentials
 * (HTTP Basic API key or bearer token; 401 `api_unauthorized`, checked first so
 * unauthenticated callers learn nothing, not even which paths exist) → route lookup (404
 * `api_not_found`, 405 `api_method_not_allowed` with `Allow`) → role (a viewer may only GET:
 * 403 `api_forbidden`) → handler (bodies ≤ `maxBodySize`, else 413).
 * A credential is needed when the bind is not loopback, or when any is configured (a token,
 * a key in the key file or the bootstrap file); on loopback with none, requests are
 * anonymous administrators (the behaviour before API keys). `start()` refuses a non-loopback
 * bind without any credential (`api_auth_required`).
 * The built dashboard (`dashboardDir`) is served under `/` before authentication (static.ts:
 * public assets; the page authenticates every API call it makes).
 * Every error is JSON `{ code, message }`. A handler bug answers 500 `api_internal_error`
 * and is logged; it never takes the server down. Every state-changing request is audited
 * (audit.ts) when its response ends.
 *
 * `stop()` closes the listener and every open connection, idle keep-alive ones included,
 * closes the audit file and releases the rule-test function services (jq worker).
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

import { CpuMark, createDefaultServices } from '../runtime/index.js';
import type { EvalClock, FunctionServices } from '../runtime/index.js';
import { createAuditLog, isAudited } from './audit.js';
import type { AuditLog } from './audit.js';
import { createCredentialStore } from './credentials.js';
import type { CredentialStore, Principal } from './credentials.js';
import { ApiErrors } from './errors.js';
import { createAuthLimiter, isLoopbackHost } from './guard.js';
import { errorReply, HttpError, json, MAX_BODY_BYTES, send } from './http.js';
import { createProcessMetrics } from './process-metrics.js';
import { matchRoute, openApiReply, readiness } from './routes.js';
import { createStaticFiles } from './static.js';
import type { RouteContext } from './routes.js';
import type { ApiAddress, ApiDeps, ApiMetrics, ApiServer, ApiServerConfig } from './types.js';

const ANONYMOUS: Principal = { auth: 'none', name: 'anonymous', role: 'administrator' };
const CHALLENGE = { 'WWW-Authenticate': 'Bearer realm="sluice", Basic realm="sluice"' };

/** What one request learned on its way, for the audit line. */
interface RequestState {
  principal?: Principal;
  code?: string;
}

/** Node checks request/header timeouts on this interval: a quarter of the shorter one. */
function checkingInterval(...timeouts: number[]): number {
  const t = Math.min(...timeouts.filter((x) => x > 0), 120_000);
  return Math.max(100, Math.min(30_000, Math.floor(t / 4)));
}

function nodeName(deps: ApiDeps): string {
  const c = deps.engine.config.config;
  return c.node ?? (c.broker['node'] as string | undefined) ?? 'sluice@localhost';
}

export function createApiServer(deps: ApiDeps, config: ApiServerConfig): ApiServer {
  const log = deps.logger.child({ component: 'api' });
  const now = deps.now ?? Date.now;
  let services: FunctionServices | undefined;
  /** rule_test's evaluation deadline (jq never waits past it), as in the running engine. */
  const testClock: EvalClock = { deadline: Infinity, cpu: new CpuMark() };
  const apiMetrics: ApiMetrics = { authFailures: {}, forbidden: 0, bodyTooLarge: 0 };
  const ctx: RouteContext = {
    maxBodyBytes: config.maxBodySize ?? MAX_BODY_BYTES,
    apiMetrics,
    deps: { engine: deps.engine, logger: log, now, version: deps.version ?? 'unknown' },
    startedAt: now(),
    process: createProcessMetrics(),
    node: nodeName(deps),
    services: () =>
      (services ??= createDefaultServices({
        node: nodeName(deps),
        now,
        deadline: () => testClock.deadline,
        // rule_test sees the engine's schemas (schema_decode, spb_decode, …).
        ...(deps.engine.schemas ? { schemas: deps.engine.schemas } : {}),
      })),
    testClock,
  };
  const statics = config.dashboardDir ? createStaticFiles(config.dashboardDir) : undefined;
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let address: ApiAddress | undefined;
  const loopback = isLoopbackHost(config.bind);
  const limiter = createAuthLimiter(
    config.authFailureLimit ?? 10,
    config.authFailureWindow ?? 60_000,
    now,
  );
  let credentials: CredentialStore | undefined;
  let audit: AuditLog | undefined;

  function refuseAuth(reason: string, err: HttpError): never {
    apiMetrics.authFailures[reason] = (apiMetrics.authFailures[reason] ?? 0) + 1;
    throw err;
  }

  /** The caller, or a 401/429 HttpError. */
  async function authenticate(req: IncomingMessage): Promise<Principal> {
    const remote = req.socket.remoteAddress ?? '';
    const wait = limiter.blockedFor(remote);
    if (wait > 0)
      refuseAuth(
        'rate_limited',
        new HttpError(
          429,
          ApiErrors.api_auth_rate_limited(
            `too many failed authentications from ${remote}; try again in ${Math.ceil(wait / 1000)} s`,
          ),
          { 'Retry-After': String(Math.ceil(wait / 1000)) },
        ),
      );
    const store = credentials as CredentialStore;
    store.refresh();
    if (loopback && store.count() === 0) return ANONYMOUS;
    const header = req.headers.authorization;
    const missing = header === undefined || header.trim() === '';
    // A request without credentials is not a guess: it is not counted against the address.
    if (!missing) limiter.attempt(remote);
    const r = await store.authenticate(header);
    if (r.ok) {
      limiter.succeeded(remote);
      return r.principal;
    }
    return refuseAuth(
      r.reason,
      new HttpError(401, ApiErrors.api_unauthorized(r.message), CHALLENGE),
    );
  }

  async function handle(
    req: IncomingMessage,
    res: ServerResponse,
    state: RequestState,
  ): Promise<void> {
    // The dashboard's assets: public, no data in them (static.ts); API paths never match.
    if (statics?.serve(req, res)) return;
    // Readiness probes carry no credentials: the bare verdict, nothing else (routes.ts).
    if (req.method === 'GET' && req.headers.authorization === undefined) {
      const p = (req.url ?? '/').split('?')[0];
      if (p === '/api/v5/ready' || p === '/api/v5/ready/') {
        const r = readiness(ctx);
        return send(res, json(r.status, { ready: r.status === 200 }));
      }
      // The OpenAPI document describes the version, not the instance (openapi.ts): public.
      if (p === '/api/v5/openapi.json') return send(res, openApiReply(ctx));
    }
    const principal = await authenticate(req);
    state.principal = principal;
    // The path as sent (origin-form); the query string is ignored.
    const pathname = (req.url ?? '/').split('?')[0] as string;
    let segments: string[];
    try {
      segments = pathname
        .split('/')
        .filter((s) => s !== '')
        .map((s) => decodeURIComponent(s));
    } catch {
      throw new HttpError(400, ApiErrors.api_bad_request('malformed percent-encoding in the path'));
    }
    const found = matchRoute(segments);
    if (!found) throw new HttpError(404, ApiErrors.api_not_found(`no endpoint ${pathname}`));
    const method = req.method as keyof typeof found.route.methods;
    const handler = found.route.methods[method];
    if (!handler) {
      const allow = Object.keys(found.route.methods).join(', ');
      throw new HttpError(
        405,
        ApiErrors.api_method_not_allowed(
          `${req.method} is not allowed on ${pathname} (allowed: ${allow})`,
        ),
        { Allow: allow },
      );
    }
    if (principal.role === 'viewer' && (req.method !== 'GET' || found.route.admin === true)) {
      apiMetrics.forbidden++;
      throw new HttpError(
        403,
        ApiErrors.api_forbidden(
          `API key ${principal.name} has the viewer role: ${req.method} ${pathname} needs administrator`,
        ),
      );
    }
    send(res, await handler(req, found.params, ctx));
  }

  function onRequest(req: IncomingMessage, res: ServerResponse): void {
    const started = now();
    const state: RequestState = {};
    if (isAudited(req.method))
      res.once('close', () => {
        const p = state.principal;
        audit?.record({
          time: new Date(started).toISOString(),
          actor: p?.name ?? null,
          role: p?.role ?? null,
          auth: p?.auth ?? null,
          remote: req.socket.remoteAddress ?? '',
          method: req.method ?? '',
          path: (req.url ?? '/').split('?')[0] as string,
          status: res.headersSent ? res.statusCode : 0,
          duration_ms: Math.max(0, now() - started),
          ...(state.code !== undefined ? { code: state.code } : {}),
        });
      });
    handle(req, res, state).catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof HttpError) {
        state.code = err.error.code;
        if (err.status === 413) apiMetrics.bodyTooLarge++;
        send(res, errorReply(err));
        return;
      }
      state.code = 'api_internal_error';
      log.error(
        { code: 'api_internal_error', err, method: req.method, url: req.url },
        'API request failed',
      );
      send(
        res,
        errorReply(
          new HttpError(500, ApiErrors.api_internal_error('internal error (see the log)')),
        ),
      );
    });
  }

  return {
    start() {
      if (server) return Promise.reject(new Error('API server already started'));
      try {
        credentials = createCredentialStore({
          token: config.token,
          keysFile: config.keysFile,
          bootstrapFile: config.bootstrapFile,
          logger: log,
          now,
        });
      } catch (err) {
        return Promise.reject(err);
      }
      if (!loopback && credentials.count() === 0)
        return Promise.reject(
          ApiErrors.api_auth_required(
            `the management API would listen on ${config.bind} (not loopback) without authentication: set api.token, create a key with \`sluice api-key create\`, or bind 127.0.0.1`,
          ),
        );
      try {
        audit = createAuditLog(log, config.auditLog);
      } catch (err) {
        return Promise.reject(err);
      }
      const requestTimeout = config.requestTimeout ?? 30_000;
      // node:http refuses headersTimeout > requestTimeout.
      const headersTimeout =
        requestTimeout > 0
          ? Math.min(config.headersTimeout ?? 10_000, requestTimeout)
          : (config.headersTimeout ?? 10_000);
      const s = createServer(
        {
          requestTimeout,
          headersTimeout,
          connectionsCheckingInterval: checkingInterval(requestTimeout, headersTimeout),
        },
        onRequest,
      );
      server = s;
      s.on('connection', (sock: Socket) => {
        sockets.add(sock);
        sock.on('close', () => sockets.delete(sock));
      });
      return new Promise<ApiAddress>((resolve, reject) => {
        const onError = (err: NodeJS.ErrnoException): void => {
          server = undefined;
          void audit?.close();
          audit = undefined;
          reject(
            ApiErrors.api_listen_failed(
              `management API cannot listen on ${config.bind}:${config.port}: ${err.code ?? err.message}`,
              { cause: err },
            ),
          );
        };
        s.once('error', onError);
        s.listen(config.port, config.bind, () => {
          s.off('error', onError);
          s.on('error', (err) => log.error({ code: 'api_server_error', err }, 'API server error'));
          const a = s.address();
          const port = typeof a === 'object' && a ? a.port : config.port;
          const host = config.bind;
          const shown = host.includes(':') ? `[${host}]` : host;
          address = { host, port, url: `http://${shown}:${port}` };
          log.info(
            { url: address.url, credentials: credentials?.count() ?? 0 },
            'management API listening',
          );
          if (statics && !statics.available)
            log.warn(
              { code: 'api_dashboard_missing', dir: config.dashboardDir },
              'dashboard assets not found (build them with `npm run build`); serving the API only',
            );
          resolve(address);
        });
      });
    },
    async stop() {
      const s = server;
      server = undefined;
      address = undefined;
      if (s) {
        const closed = new Promise<void>((resolve) => s.close(() => resolve()));
        for (const sock of sockets) sock.destroy();
        sockets.clear();
        await closed;
      }
      ctx.process.stop();
      const a = audit;
      audit = undefined;
      await a?.close();
      const sv = services;
      services = undefined;
      await sv?.close?.();
    },
    get address() {
      return address;
    },
  };
}
