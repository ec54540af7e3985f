/**
 * HTTP plumbing for the API on `node:http` (no framework): JSON responses, coded error
 * bodies, the bounded request-body reader and the constant-time bearer-token check.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

import type { SluiceError } from '../core/index.js';
import { ApiErrors } from './errors.js';

/** Largest accepted request body (1 MiB); larger bodies get 413 `api_body_too_large`. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** A handler's answer: status + JSON body (already encoded when `raw`). */
export interface Reply {
  readonly status: number;
  readonly body?: unknown;
  /** Pre-encoded body (e.g. JSON built with the rule value encoder, Prometheus text). */
  readonly raw?: string;
  readonly contentType?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** An error reply: the status travels with the coded error. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly error: SluiceError,
    readonly headers: Readonly<Record<string, string>> = {},
    /** Extra fields merged into the JSON body (e.g. `diagnostics`). */
    readonly extra: Readonly<Record<string, unknown>> = {},
  ) {
    super(error.message);
  }
}

export function json(status: number, body: unknown): Reply {
  return { status, body };
}

export function send(res: ServerResponse, reply: Reply): void {
  const text =
    reply.raw ?? (reply.body === undefined ? '' : JSON.stringify(reply.body, null, 0) + '\n');
  const headers: Record<string, string | number> = {
    ...(reply.headers ?? {}),
    'Cache-Control': 'no-store',
  };
  if (reply.status !== 204) {
    headers['Content-Type'] = reply.contentType ?? 'application/json; charset=utf-8';
    headers['Content-Length'] = Buffer.byteLength(text);
  }
  res.writeHead(reply.status, headers);
  res.end(reply.status === 204 ? undefined : text);
}

export function errorReply(e: HttpError): Reply {
  return {
    status: e.status,
    body: { code: e.error.code, message: e.error.message, ...e.extra },
    headers: e.headers,
  };
}

/** A refused body is still read (and discarded) up to this size, then the connection is cut. */
const DRAIN_LIMIT_BYTES = 16 * MAX_BODY_BYTES;

/**
 * Read the whole body as UTF-8, refusing more than MAX_BODY_BYTES (by Content-Length up front,
 * or while streaming for chunked bodies) with 413. The refused rest is read and discarded so
 * the 413 reaches the client intact (closing a socket with unread input sends a TCP reset that
 * can destroy the response); past DRAIN_LIMIT_BYTES the connection is destroyed instead.
 */
export function readBody(req: IncomingMessage): Promise<string> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const refuse = (): void => {
      done = true;
      chunks.length = 0;
      reject(tooLarge());
    };
    if (declared > MAX_BODY_BYTES) refuse();
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > DRAIN_LIMIT_BYTES) req.destroy();
      if (done) return;
      if (size > MAX_BODY_BYTES) refuse();
      else chunks.push(c);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', (err) => {
      if (done) return;
      done = true;
      reject(err);
    });
  });
}

function tooLarge(): HttpError {
  return new HttpError(
    413,
    ApiErrors.api_body_too_large(`request body larger than ${MAX_BODY_BYTES} bytes`),
  );
}

/** Parse a JSON object body; 400 `api_bad_request` otherwise. */
export async function readJsonObject(req: IncomingMessage): Promise<Record<string, unknown>> {
  const text = await readBody(req);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw badRequest(`request body is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw badRequest('request body must be a JSON object');
  return value as Record<string, unknown>;
}

export function badRequest(message: string): HttpError {
  return new HttpError(400, ApiErrors.api_bad_request(message));
}

/**
 * True when the request carries `Authorization: Bearer <token>`. Both sides are hashed to a
 * fixed length first so `timingSafeEqual` runs in time independent of where (or whether) the
 * strings differ, including their lengths.
 */
export function bearerOk(req: IncomingMessage, token: string): boolean {
  const h = req.headers.authorization;
  const m = typeof h === 'string' ? /^Bearer[ ]+(.+)$/i.exec(h.trim()) : null;
  const given = createHash('sha256')
    .update(m?.[1] ?? '')
    .digest();
  const want = createHash('sha256').update(token).digest();
  return timingSafeEqual(given, want) && m !== null;
}
