/**
 * gRPC status → coded SluiceError (hstream-protocol.md §9). Since v0.15 the server puts a JSON
 * envelope `{"error": <code>, "message": <name>, "extra": <detail>}` in grpc-message; store
 * failures and older servers send plain text. Both are handled.
 *
 * Retriability only; whether a failure also needs re-discovery or a reconnect is decided by the
 * sink (sink.ts), which knows what it was doing.
 */
import type { SluiceError } from '../../core/index.js';
import { HStreamErrors } from './errors.js';
import { grpc } from './proto.js';

export interface ErrorEnvelope {
  error: number;
  message: string;
  extra: unknown;
}

export function parseEnvelope(details: string | undefined): ErrorEnvelope | undefined {
  if (!details || details[0] !== '{') return undefined;
  try {
    const v = JSON.parse(details) as Partial<ErrorEnvelope>;
    return typeof v.error === 'number' ? (v as ErrorEnvelope) : undefined;
  } catch {
    return undefined;
  }
}

interface GrpcLikeError {
  code?: number;
  details?: string;
  message?: string;
}

const S = grpc.status;

/** Map a grpc-js call error; `op` names the RPC for the message (e.g. "Append"). */
export function fromGrpcError(
  err: unknown,
  op: string,
  context: Record<string, unknown> = {},
): SluiceError {
  const e = (err ?? {}) as GrpcLikeError;
  const code = typeof e.code === 'number' ? e.code : S.UNKNOWN;
  const env = parseEnvelope(e.details);
  const detail = env
    ? `${env.message}${env.extra !== null && env.extra !== undefined ? ` (${typeof env.extra === 'string' ? env.extra : JSON.stringify(env.extra)})` : ''}`
    : (e.details ?? e.message ?? String(err));
  const status = S[code] ?? String(code);
  const message = `HStreamDB ${op} failed: ${status}: ${detail}`;
  const ctx = { ...context, grpcStatus: status, ...(env ? { hstreamError: env.error } : {}) };
  const opts = { cause: err, context: ctx };
  switch (code) {
    case S.UNAVAILABLE:
    case S.CANCELLED:
      return HStreamErrors.hstream_unavailable(message, opts);
    case S.DEADLINE_EXCEEDED:
      return HStreamErrors.hstream_timeout(message, opts);
    case S.INTERNAL:
    case S.ABORTED:
    case S.RESOURCE_EXHAUSTED:
      return HStreamErrors.hstream_internal(message, opts);
    case S.INVALID_ARGUMENT:
      if (env?.error === 206) return HStreamErrors.hstream_empty_batch(message, opts);
      if (env?.error === 207) return HStreamErrors.hstream_batch_too_large(message, opts);
      return HStreamErrors.hstream_invalid_argument(message, opts);
    case S.NOT_FOUND:
      if (env?.error === 200) return HStreamErrors.hstream_stream_not_found(message, opts);
      return HStreamErrors.hstream_request_failed(message, opts);
    case S.FAILED_PRECONDITION:
      if (env?.error === 800) return HStreamErrors.hstream_wrong_server(message, opts);
      return HStreamErrors.hstream_request_failed(message, opts);
    case S.UNAUTHENTICATED:
    case S.PERMISSION_DENIED:
      return HStreamErrors.hstream_unauthenticated(message, opts);
    default:
      return HStreamErrors.hstream_request_failed(message, opts);
  }
}
