/**
 * HTTP plumbing for the API on `node:http` (no framework): JSON responses, coded error
 * bodies and the bounded request-body reader. Credentials are checked in credentials.ts.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

import type { SluiceError } from '../core/index.js';
import { ApiErrors } from './errors.js';

/** Default largest request body (1 MiB, `api.max_body_size`); larger get 413 `api_body_too_large`. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** A handler's answer: status + JSON body (already encoded when `raw`). */
export interface Reply {
  readonly status: number;
  readonly body?: unknown;
  /** Pre-encoded body (e.g. JSON built with the rule value encoder, Prometheus text). */
  readonly raw?: string;
  readonly contentType?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * A streamed answer (Server-Sent Events): `send` writes the status and headers, then hands the
   * response over; the stream owns it from then on (and ends it).
   */
  readonly stream?: (res: ServerResponse) => void;
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
  if (reply.stream) {
    headers['Content-Type'] = reply.contentType ?? 'text/event-stream; charset=utf-8';
    res.writeHead(reply.status, headers);
    reply.stream(res);
    return;
  }
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

/** A refused body is still read (and discarded) up to this many times the limit, then the connection is cut. */
const DRAIN_FACTOR = 16;

/**
 * Read the whole body as UTF-8, refusing more than `limit` bytes (by Content-Length up front,
 * or while streaming for chunked bodies) with 413. The refused rest is read and discarded so
 * the 413 reaches the client intact (closing a socket with unread input sends a TCP reset that
 * can destroy the response); past DRAIN_FACTOR × limit (at least 16 MiB) the connection is
 * destroyed instead.
 */
export function readBody(req: IncomingMessage, limit: number = MAX_BODY_BYTES): Promise<string> {
  const drainLimit = Math.max(DRAIN_FACTOR * limit, 16 * MAX_BODY_BYTES);
  const declared = Number(req.headers['content-length'] ?? NaN);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const refuse = (): void => {
      done = true;
      chunks.length = 0;
      reject(tooLarge(limit));
    };
    if (declared > limit) refuse();
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > drainLimit) req.destroy();
      if (done) return;
      if (size > limit) refuse();
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

function tooLarge(limit: number): HttpError {
  return new HttpError(
    413,
    ApiErrors.api_body_too_large(`request body larger than ${limit} bytes (api.max_body_size)`),
  );
}

/** Parse a JSON object body of at most `limit` bytes; 400 `api_bad_request` otherwise. */
export async function readJsonObject(
  req: IncomingMessage,
  limit: number = MAX_BODY_BYTES,
): Promise<Record<string, unknown>> {
  const text = await readBody(req, limit);
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
