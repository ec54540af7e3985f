/**
 * The API key file (`api.keys_file`) and the EMQX-style bootstrap file (`api.bootstrap_file`).
 *
 * Key file: JSON `{"version": 1, "keys": [{name, api_key, secret_hash, role, enable,
 * created_at, expires_at}]}`, written by `sluice api-key` only — atomically (temporary file +
 * rename, so a reader never sees half a file) with mode 0600. The secret itself is never
 * stored: `secret_hash` is `scrypt$…` (key-hash.ts). A missing file is an empty key list.
 *
 * Bootstrap file (EMQX `api_key.bootstrap_file`): one `key:secret` or `key:secret:role` per
 * line; blank lines and `#` comments are skipped; the role defaults to `administrator`
 * (as in EMQX). The secrets are in clear text there (the operator's file); Sluice keeps only
 * their SHA-256 digests in memory.
 *
 * Roles (EMQX's names): `administrator` (alias `admin`) may do everything, `viewer` may only
 * read (GET).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { ApiErrors } from './errors.js';
import { digest, hashSecret, parseSecretHash } from './key-hash.js';
import type { ParsedSecretHash } from './key-hash.js';

export type ApiRole = 'administrator' | 'viewer';
export const API_ROLES: readonly string[] = ['administrator', 'admin', 'viewer'];

/** `admin`/`administrator` → administrator, `viewer` → viewer, anything else → undefined. */
export function parseRole(s: string): ApiRole | undefined {
  const r = s.trim().toLowerCase();
  if (r === 'administrator' || r === 'admin') return 'administrator';
  if (r === 'viewer') return 'viewer';
  return undefined;
}

/** Key names: what `--name` accepts (EMQX-like; shown in logs and the audit log). */
export const KEY_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export interface StoredApiKey {
  readonly name: string;
  readonly api_key: string;
  readonly secret_hash: string;
  readonly role: ApiRole;
  readonly enable: boolean;
  /** ISO 8601. */
  readonly created_at: string;
  /** ISO 8601, or null: never expires. */
  readonly expires_at: string | null;
}

/** A usable key: the stored record with its hash parsed. */
export interface ApiKeyEntry {
  readonly name: string;
  readonly apiKey: string;
  readonly role: ApiRole;
  readonly enable: boolean;
  /** ms since the epoch; undefined = never. */
  readonly expiresAt: number | undefined;
  /** scrypt hash (key file) … */
  readonly hash?: ParsedSecretHash;
  /** … or the secret's SHA-256 digest (bootstrap file). */
  readonly secretDigest?: Buffer;
  /** Identity of the stored form (a changed record drops a cached verification). */
  readonly stamp: string;
}

function invalid(file: string, why: string) {
  return ApiErrors.api_key_file_invalid(`${file}: ${why}`, { context: { file } });
}

/** Parse a key file's text (throws `api_key_file_invalid`). */
export function parseKeyFile(file: string, text: string): StoredApiKey[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw invalid(file, `not valid JSON (${(err as Error).message})`);
  }
  const keys = (doc as { keys?: unknown } | null)?.keys;
  if ((doc as { version?: unknown } | null)?.version !== 1 || !Array.isArray(keys))
    throw invalid(file, 'expected {"version": 1, "keys": [...]}');
  const seen = new Set<string>();
  return keys.map((k: unknown, i: number) => {
    const r = (k ?? {}) as Record<string, unknown>;
    const where = `keys[${i}]`;
    const str = (f: string): string => {
      if (typeof r[f] !== 'string' || r[f] === '') throw invalid(file, `${where}.${f} is missing`);
      return r[f];
    };
    const name = str('name');
    const apiKey = str('api_key');
    const hash = str('secret_hash');
    if (!parseSecretHash(hash))
      throw invalid(file, `${where}.secret_hash is not scrypt$N$r$p$salt$hash`);
    const role = parseRole(str('role'));
    if (!role) throw invalid(file, `${where}.role must be administrator or viewer`);
    const exp = r['expires_at'];
    if (exp !== null && exp !== undefined && (typeof exp !== 'string' || isNaN(Date.parse(exp))))
      throw invalid(file, `${where}.expires_at must be an ISO date or null`);
    if (seen.has(apiKey)) throw invalid(file, `${where}.api_key appears twice`);
    seen.add(apiKey);
    return {
      name,
      api_key: apiKey,
      secret_hash: hash,
      role,
      enable: r['enable'] !== false,
      created_at: typeof r['created_at'] === 'string' ? r['created_at'] : '',
      expires_at: typeof exp === 'string' ? exp : null,
    };
  });
}

/** Read the key file; a missing file is no keys. Throws `api_key_file_invalid`. */
export function readKeyFile(file: string): StoredApiKey[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw invalid(file, `cannot read it (${(err as NodeJS.ErrnoException).code ?? err})`);
  }
  return parseKeyFile(file, text);
}

/** Replace the key file atomically (mode 0600; the directory is created 0700 if missing). */
export function writeKeyFile(file: string, keys: readonly StoredApiKey[]): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(tmp, JSON.stringify({ version: 1, keys }, null, 2) + '\n', { mode: 0o600 });
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

export interface CreatedApiKey {
  readonly stored: StoredApiKey;
  /** The secret in clear: shown once, never stored. */
  readonly secret: string;
}

/**
 * Add a key to the file: a random 16-hex-digit key id and a 32-byte secret (base64url).
 * Throws `api_key_exists` when the name is taken.
 */
export function createApiKey(
  file: string,
  opts: { name: string; role: ApiRole; expiresAt?: number; hashCost?: { N?: number } },
  now: number = Date.now(),
): CreatedApiKey {
  const keys = readKeyFile(file);
  if (keys.some((k) => k.name === opts.name))
    throw ApiErrors.api_key_exists(`an API key named ${JSON.stringify(opts.name)} exists`);
  let apiKey: string;
  do apiKey = randomBytes(8).toString('hex');
  while (keys.some((k) => k.api_key === apiKey));
  const secret = randomBytes(32).toString('base64url');
  const stored: StoredApiKey = {
    name: opts.name,
    api_key: apiKey,
    secret_hash: hashSecret(secret, opts.hashCost),
    role: opts.role,
    enable: true,
    created_at: new Date(now).toISOString(),
    expires_at: opts.expiresAt === undefined ? null : new Date(opts.expiresAt).toISOString(),
  };
  writeKeyFile(file, [...keys, stored]);
  return { stored, secret };
}

/** Remove the key named `name`; false when there is none. */
export function deleteApiKey(file: string, name: string): boolean {
  const keys = readKeyFile(file);
  const rest = keys.filter((k) => k.name !== name);
  if (rest.length === keys.length) return false;
  writeKeyFile(file, rest);
  return true;
}

export function entryFromStored(k: StoredApiKey): ApiKeyEntry {
  return {
    name: k.name,
    apiKey: k.api_key,
    role: k.role,
    enable: k.enable,
    expiresAt: k.expires_at === null ? undefined : Date.parse(k.expires_at),
    hash: parseSecretHash(k.secret_hash) as ParsedSecretHash,
    stamp: `${k.secret_hash}|${k.role}|${k.enable}|${k.expires_at}`,
  };
}

/** Parse a bootstrap file; a bad line throws `api_bootstrap_file_invalid` naming file:line. */
export function parseBootstrapFile(file: string, text: string): ApiKeyEntry[] {
  const out = new Map<string, ApiKeyEntry>();
  text.split(/\r\n|\r|\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const bad = (why: string) =>
      ApiErrors.api_bootstrap_file_invalid(`${file}:${i + 1}: ${why}`, {
        context: { file, line: i + 1 },
      });
    const parts = line.split(':');
    if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === ''))
      throw bad('expected key:secret or key:secret:role');
    const [apiKey, secret, roleText] = parts as [string, string, string | undefined];
    const role = roleText === undefined ? 'administrator' : parseRole(roleText);
    if (!role) throw bad(`unknown role ${JSON.stringify(roleText)} (administrator or viewer)`);
    // The last line for a key wins, as in EMQX.
    out.set(apiKey, {
      name: `bootstrap:${apiKey}`,
      apiKey,
      role,
      enable: true,
      expiresAt: undefined,
      secretDigest: digest(secret),
      stamp: `bootstrap|${role}`,
    });
  });
  return [...out.values()];
}
