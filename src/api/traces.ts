/**
 * The trace endpoints (docs/api.md "Traces", issue #18 item 1): start, list, read, delete a
 * per-message trace and follow it as Server-Sent Events. The recorder is the runtime's
 * `TraceRegistry`, reached through `ApiEngine.traces`; every trace route needs the
 * administrator role (steps carry message data), checked in server.ts from the route table.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

import { SluiceError } from '../core/index.js';
import { TraceErrors } from '../runtime/index.js';
import type { StoredStep, TraceRegistry, TraceStopReason } from '../runtime/index.js';
import { ApiErrors } from './errors.js';
import { HttpError, json, readJsonObject } from './http.js';
import type { Reply } from './http.js';
import type { RouteContext } from './routes.js';

/** A comment line is sent this often so proxies and browsers keep an idle stream open. */
export const SSE_HEARTBEAT_MS = 15_000;
/** A reader this far behind (bytes buffered in the socket) is disconnected; it may resume with Last-Event-ID. */
const SSE_MAX_BUFFERED = 1024 * 1024;

type Handler = (
  req: IncomingMessage,
  params: readonly string[],
  ctx: RouteContext,
) => Promise<Reply> | Reply;

function registry(ctx: RouteContext): TraceRegistry {
  const r = ctx.deps.engine.traces;
  if (!r)
    throw new HttpError(404, ApiErrors.api_not_found('tracing is not available in this engine'));
  return r;
}

function traceError(err: unknown): never {
  if (err instanceof SluiceError) {
    const status =
      err.code === 'trace_not_found' ? 404 : err.code === 'trace_limit_reached' ? 409 : 400;
    throw new HttpError(status, err);
  }
  throw err;
}

function notFound(id: string): HttpError {
  return new HttpError(
    404,
    TraceErrors.trace_not_found(`trace ${JSON.stringify(id)} does not exist`),
  );
}

/** `POST /api/v5/traces` → 201 with the summary. */
export const createTrace: Handler = async (req, _p, ctx) => {
  const r = registry(ctx);
  const body = await readJsonObject(req, ctx.maxBodyBytes);
  const filter = body['filter'];
  const ruleId =
    typeof filter === 'object' && filter !== null
      ? (filter as Record<string, unknown>)['rule_id']
      : undefined;
  if (typeof ruleId === 'string' && !ctx.deps.engine.rules().some((x) => x.id === ruleId))
    throw new HttpError(
      400,
      new SluiceError(
        'trace_invalid',
        `filter.rule_id: rule ${JSON.stringify(ruleId)} does not exist`,
      ),
    );
  try {
    return json(201, r.create(body));
  } catch (err) {
    traceError(err);
  }
};

/** `GET /api/v5/traces` → `{data: [summaries]}` (running and recently stopped). */
export const listTraces: Handler = (_req, _p, ctx) => json(200, { data: registry(ctx).list() });

/** `GET /api/v5/traces/{id}` → the summary plus `steps` (the ring, oldest first). */
export const getTrace: Handler = (_req, [id], ctx) => {
  const r = registry(ctx);
  const s = r.get(id as string);
  const steps = r.steps(id as string);
  if (!s || !steps) throw notFound(id as string);
  const head = JSON.stringify(s);
  // Steps are stored encoded (rule values: big integers, floats); splice them in as they are.
  return {
    status: 200,
    raw: `${head.slice(0, -1)},"steps":[${steps.map((x) => x.json).join(',')}]}\n`,
  };
};

/** `DELETE /api/v5/traces/{id}` → 204 (its streams get `event: end`). */
export const deleteTrace: Handler = (_req, [id], ctx) => {
  if (!registry(ctx).remove(id as string)) throw notFound(id as string);
  return { status: 204 };
};

function lastEventId(req: IncomingMessage): number {
  const h = req.headers['last-event-id'];
  const q = new URL(req.url ?? '/', 'http://x').searchParams.get('last_event_id');
  const v = Number(typeof h === 'string' && h !== '' ? h : (q ?? 0));
  return Number.isSafeInteger(v) && v > 0 ? v : 0;
}

/**
 * `GET /api/v5/traces/{id}/stream`: `text/event-stream`. Each step is
 * `id: <seq>\nevent: step\ndata: <json>\n\n`; the ring's steps after `Last-Event-ID` (header, or
 * `?last_event_id=` for clients that cannot set it) come first, then live ones; `event: end` with
 * `{"reason"}` when the trace stops; a `: heartbeat` comment every 15 s.
 */
export const streamTrace: Handler = (req, [id], ctx) => {
  const r = registry(ctx);
  if (!r.get(id as string)) throw notFound(id as string);
  const after = lastEventId(req);
  return {
    status: 200,
    contentType: 'text/event-stream; charset=utf-8',
    headers: { Connection: 'keep-alive', 'X-Accel-Buffering': 'no' },
    stream(res: ServerResponse) {
      let done = false;
      const sub: { off?: (() => void) | undefined } = {};
      const heartbeat = setInterval(() => {
        if (!done) res.write(': heartbeat\n\n');
      }, SSE_HEARTBEAT_MS);
      heartbeat.unref();
      const finish = (): void => {
        if (done) return;
        done = true;
        clearInterval(heartbeat);
        sub.off?.();
      };
      res.on('close', finish);
      res.write(': trace stream\n\n');
      sub.off = r.subscribe(id as string, after, {
        step(s: StoredStep) {
          if (done) return;
          res.write(`id: ${s.seq}\nevent: step\ndata: ${s.json}\n\n`);
          if (res.writableLength > SSE_MAX_BUFFERED) {
            finish();
            res.destroy();
          }
        },
        end(reason: TraceStopReason) {
          if (done) return;
          res.end(`event: end\ndata: ${JSON.stringify({ reason })}\n\n`);
          finish();
        },
      });
      if (done) sub.off?.();
    },
  };
};
