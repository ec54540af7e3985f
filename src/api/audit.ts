/**
 * The audit log: one structured line per state-changing request (any method but GET, HEAD
 * and OPTIONS), written when the response is finished or the connection closes:
 * `{time, actor, role, auth, remote, method, path, status, duration_ms[, code]}` as an info
 * line of the `api.audit` logger and, with `api.audit_log`, as one JSON line appended to that
 * file. Refused requests (401, 403, 413, …) are recorded too. Never recorded: the request
 * body, the query string, the Authorization header.
 */
import { createWriteStream } from 'node:fs';
import type { WriteStream } from 'node:fs';
import { mkdirSync } from 'node:fs';
import path from 'node:path';

import type { Logger } from '../core/index.js';

export interface AuditEntry {
  readonly time: string;
  /** Key name, `token`, `anonymous` (no credential needed), or null (not authenticated). */
  readonly actor: string | null;
  readonly role: string | null;
  readonly auth: 'api_key' | 'token' | 'none' | null;
  readonly remote: string;
  readonly method: string;
  /** The path without the query string. */
  readonly path: string;
  /** HTTP status sent; 0 when the client went away first. */
  readonly status: number;
  readonly duration_ms: number;
  /** The error code of a refused request. */
  readonly code?: string;
}

export interface AuditLog {
  record(entry: AuditEntry): void;
  /** Flush and close the file (no-op without one). */
  close(): Promise<void>;
}

/** True for the methods that change state (and so are audited). */
export function isAudited(method: string | undefined): boolean {
  return method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS';
}

export function createAuditLog(logger: Logger, file?: string): AuditLog {
  const log = logger.child({ component: 'audit' });
  let stream: WriteStream | undefined;
  if (file) {
    mkdirSync(path.dirname(file), { recursive: true });
    stream = createWriteStream(file, { flags: 'a', mode: 0o600 });
    stream.on('error', (err) => {
      log.error(
        { code: 'api_audit_file_failed', err, file },
        'audit log file cannot be written; audit lines go to the log only',
      );
      stream = undefined;
    });
  }
  return {
    record(entry) {
      log.info({ audit: entry }, `${entry.method} ${entry.path} ${entry.status}`);
      stream?.write(JSON.stringify(entry) + '\n');
    },
    close() {
      const s = stream;
      stream = undefined;
      return s ? new Promise<void>((resolve) => s.end(() => resolve())) : Promise.resolve();
    },
  };
}
