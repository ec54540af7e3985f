/**
 * The API's credentials: the bearer token (`api.token`, administrator), the key file and the
 * bootstrap file. `refresh()` re-reads a file whose size, mtime or inode changed (called before
 * each request — one `stat` per file — so `sluice api-key create|delete` takes effect on the
 * next request without a restart or a file watcher). A file that becomes unreadable or
 * invalid keeps the keys read before, with a warning.
 *
 * `authenticate(header)` checks `Authorization: Basic base64(key:secret)` (EMQX) or
 * `Authorization: Bearer <token>`. Every comparison is constant-time (`timingSafeEqual` on
 * fixed-length digests). A key-file secret is checked with scrypt once; after a success its
 * SHA-256 digest is remembered for that key, so later requests cost a hash, not an scrypt.
 * A key id that does not exist fails without an scrypt (key ids are not secret, like user names).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';

import type { Logger } from '../core/index.js';
import { digest, sameSecret, verifySecret } from './key-hash.js';
import { entryFromStored, parseBootstrapFile, readKeyFile } from './key-file.js';
import type { ApiKeyEntry, ApiRole } from './key-file.js';

/** Who made a request. */
export interface Principal {
  /** How it authenticated; `none` when the API needs no credential (loopback, none configured). */
  readonly auth: 'api_key' | 'token' | 'none';
  /** Key name, `token`, or `anonymous`. */
  readonly name: string;
  readonly role: ApiRole;
}

export type AuthFailureReason = 'missing' | 'invalid' | 'expired' | 'disabled';

export type AuthResult =
  | { readonly ok: true; readonly principal: Principal }
  | { readonly ok: false; readonly reason: AuthFailureReason; readonly message: string };

export interface CredentialStore {
  /** Re-read a changed key or bootstrap file. */
  refresh(): void;
  /** Credentials configured now: the token (1) + keys in both files. */
  count(): number;
  authenticate(authorization: string | undefined): Promise<AuthResult>;
}

export interface CredentialOptions {
  readonly token?: string | undefined;
  /** Absolute path of the key file (optional: none). */
  readonly keysFile?: string | undefined;
  readonly bootstrapFile?: string | undefined;
  readonly logger: Logger;
  readonly now?: () => number;
}

interface Watched {
  stamp: string;
  entries: ApiKeyEntry[];
}

function fileStamp(file: string): string {
  try {
    const s = statSync(file);
    return `${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch (err) {
    return `missing:${(err as NodeJS.ErrnoException).code ?? ''}`;
  }
}

/**
 * Build the store and read both files once. Throws `api_key_file_invalid` /
 * `api_bootstrap_file_invalid` when a file is invalid at start (later changes only warn).
 */
export function createCredentialStore(o: CredentialOptions): CredentialStore {
  const now = o.now ?? Date.now;
  const log = o.logger;
  const token = o.token !== undefined && o.token !== '' ? o.token : undefined;
  const files: { file: string; read: (f: string) => ApiKeyEntry[]; w: Watched }[] = [];
  if (o.keysFile)
    files.push({
      file: o.keysFile,
      read: (f) => readKeyFile(f).map(entryFromStored),
      w: { stamp: '', entries: [] },
    });
  if (o.bootstrapFile)
    files.push({
      file: o.bootstrapFile,
      read: (f) => {
        try {
          return parseBootstrapFile(f, readFileSync(f, 'utf8'));
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
          throw err;
        }
      },
      w: { stamp: '', entries: [] },
    });
  /** api_key → entry; bootstrap entries win over key-file ones (EMQX: config first). */
  let byKey = new Map<string, ApiKeyEntry>();
  /** api_key → [entry stamp, SHA-256 of the secret verified with scrypt]. */
  const verified = new Map<string, { stamp: string; digest: Buffer }>();

  function load(strict: boolean): void {
    let changed = false;
    for (const f of files) {
      const stamp = fileStamp(f.file);
      if (stamp === f.w.stamp) continue;
      f.w.stamp = stamp;
      changed = true;
      try {
        f.w.entries = f.read(f.file);
        if (!strict) log.info({ file: f.file, keys: f.w.entries.length }, 'API keys reloaded');
      } catch (err) {
        if (strict) throw err;
        log.warn(
          { code: 'api_key_file_invalid', err, file: f.file },
          'API key file not reloaded; keeping the keys read before',
        );
      }
    }
    if (!changed) return;
    const next = new Map<string, ApiKeyEntry>();
    for (const f of files) for (const e of f.w.entries) next.set(e.apiKey, e);
    byKey = next;
    for (const [k, v] of verified) if (byKey.get(k)?.stamp !== v.stamp) verified.delete(k);
  }

  load(true);

  async function checkKey(apiKey: string, secret: string): Promise<AuthResult> {
    const e = byKey.get(apiKey);
    const fail = (reason: AuthFailureReason, message: string): AuthResult => ({
      ok: false,
      reason,
      message,
    });
    if (!e) return fail('invalid', 'unknown API key or wrong secret');
    let good: boolean;
    if (e.secretDigest) good = sameSecret(secret, e.secretDigest);
    else {
      const cached = verified.get(apiKey);
      if (cached && cached.stamp === e.stamp) good = timingSafeEqual(digest(secret), cached.digest);
      else {
        good = e.hash !== undefined && (await verifySecret(secret, e.hash));
        if (good) verified.set(apiKey, { stamp: e.stamp, digest: digest(secret) });
      }
    }
    if (!good) return fail('invalid', 'unknown API key or wrong secret');
    if (!e.enable) return fail('disabled', `API key ${e.name} is disabled`);
    if (e.expiresAt !== undefined && e.expiresAt <= now())
      return fail('expired', `API key ${e.name} expired at ${new Date(e.expiresAt).toISOString()}`);
    return { ok: true, principal: { auth: 'api_key', name: e.name, role: e.role } };
  }

  return {
    refresh: () => load(false),
    count: () => byKey.size + (token ? 1 : 0),
    async authenticate(header) {
      const h = (header ?? '').trim();
      const basic = /^Basic[ ]+([A-Za-z0-9+/=]+)$/i.exec(h);
      if (basic) {
        const text = Buffer.from(basic[1] as string, 'base64').toString('utf8');
        const colon = text.indexOf(':');
        if (colon <= 0)
          return { ok: false, reason: 'invalid', message: 'malformed Basic credentials' };
        return checkKey(text.slice(0, colon), text.slice(colon + 1));
      }
      const bearer = /^Bearer[ ]+(.+)$/i.exec(h);
      if (bearer) {
        // Compared even without a token, so the answer takes the same time either way.
        const good = sameSecret(bearer[1] as string, token ?? randomToken);
        if (good && token)
          return { ok: true, principal: { auth: 'token', name: 'token', role: 'administrator' } };
        return { ok: false, reason: 'invalid', message: 'wrong bearer token' };
      }
      if (h === '')
        return {
          ok: false,
          reason: 'missing',
          message:
            'credentials required: HTTP Basic with an API key (-u key:secret) or Authorization: Bearer <token>',
        };
      return {
        ok: false,
        reason: 'invalid',
        message: 'unsupported Authorization scheme (use Basic key:secret or Bearer <token>)',
      };
    },
  };
}

/** Stands in for a missing token in the comparison (never equal to anything sent). */
const randomToken = randomBytes(32).toString('hex');
