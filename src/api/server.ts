/**
 * `createApiServer(deps, config)`: the management HTTP API on `node:http`.
 *
 * Request path: bearer token when `config.token` is set (401 `api_unauthorized`, checked
 * first so unauthenticated callers learn nothing, not even which paths exist) → route lookup
 * (404 `api_not_found`, 405 `api_method_not_allowed` with `Allow`) → handler (bodies
 * ≤ 1 MiB, else 413).
 * Every error is JSON `{ code, message }`. A handler bug answers 500 `api_internal_error`
 * and is logged; it never takes the server down.
 *
 * `stop()` closes the listener and every open connection, idle keep-alive ones included, and
 * releases the rule-test function services (jq worker).
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

import { createDefaultServices } from '../runtime/index.js';
import type { EvalClock, FunctionServices } from '../runtime/index.js';
import { ApiErrors } from './errors.js';
import { bearerOk, errorReply, HttpError, send } from './http.js';
import { createProcessMetrics } from './process-metrics.js';
import { matchRoute } from './routes.js';
import type { RouteContext } from './routes.js';
import type { ApiAddress, ApiDeps, ApiServer, ApiServerConfig } from './types.js';

function nodeName(deps: ApiDeps): string {
  const c = deps.engine.config.config;
  return c.node ?? (c.broker['node'] as string | undefined) ?? 'sluice@localhost';
}

export function createApiServer(deps: ApiDeps, config: ApiServerConfig): ApiServer {
  const log = deps.logger.child({ component: 'api' });
  const now = deps.now ?? Date.now;
  let services: FunctionServices | undefined;
  /** rule_test's evaluation deadline (jq never waits past it), as in the running engine. */
  const testClock: EvalClock = { deadline: Infinity };
  const ctx: RouteContext = {
    deps: { engine: deps.engine, logger: log, now, version: deps.version ?? 'unknown' },
    startedAt: now(),
    process: createProcessMetrics(),
    node: nodeName(deps),
    services: () =>
      (services ??= createDefaultServices({
        node: nodeName(deps),
        now,
        deadline: () => testClock.deadline,
      })),
    testClock,
  };
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let address: ApiAddress | undefined;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (config.token !== undefined && config.token !== '' && !bearerOk(req, config.token))
      throw new HttpError(
        401,
        ApiErrors.api_unauthorized('missing or wrong bearer token (Authorization: Bearer <token>)'),
        { 'WWW-Authenticate': 'Bearer realm="sluice"' },
      );
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
    send(res, await handler(req, found.params, ctx));
  }

  function onRequest(req: IncomingMessage, res: ServerResponse): void {
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof HttpError) {
        send(res, errorReply(err));
        return;
      }
      log.error({ err, method: req.method, url: req.url }, 'API request failed');
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
      const s = createServer(onRequest);
      server = s;
      s.on('connection', (sock: Socket) => {
        sockets.add(sock);
        sock.on('close', () => sockets.delete(sock));
      });
      return new Promise<ApiAddress>((resolve, reject) => {
        const onError = (err: NodeJS.ErrnoException): void => {
          server = undefined;
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
          s.on('error', (err) => log.error({ err }, 'API server error'));
          const a = s.address();
          const port = typeof a === 'object' && a ? a.port : config.port;
          const host = config.bind;
          const shown = host.includes(':') ? `[${host}]` : host;
          address = { host, port, url: `http://${shown}:${port}` };
          log.info({ url: address.url }, 'management API listening');
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
      const sv = services;
      services = undefined;
      await sv?.close?.();
    },
    get address() {
      return address;
    },
  };
}
