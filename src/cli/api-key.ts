/**
 * `sluice api-key create|list|delete`: manage the management API's keys (docs/api.md#api-keys)
 * in `api.keys_file` of sluice.yaml (or the file named with `--keys-file`).
 *
 * `create` prints the key and its secret once, as one JSON line on stdout
 * (`{"name","api_key","api_secret","role","expires_at"}`); only the scrypt hash of the secret
 * is written. A running `sluice run` picks up every change on its next request.
 */
import path from 'node:path';

import {
  ApiErrors,
  createApiKey,
  deleteApiKey,
  KEY_NAME,
  parseRole,
  readKeyFile,
} from '../api/index.js';
import { SluiceError } from '../core/index.js';

export interface ApiKeyOptions {
  readonly name?: string | undefined;
  readonly role?: string | undefined;
  readonly expires?: string | undefined;
}

export interface ApiKeyResult {
  readonly exitCode: number;
  readonly stdout: string[];
  readonly stderr: string[];
}

const UNITS: Record<string, number> = {
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

/** `--expires`: a duration from now (`90m`, `12h`, `30d`, `2w`) or an ISO 8601 date/time. */
export function parseExpires(text: string, now: number): number | string {
  const d = /^(\d+)\s*([mhdw])$/.exec(text.trim());
  if (d) return now + Number(d[1]) * (UNITS[d[2] as string] as number);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text.trim()) || isNaN(Date.parse(text)))
    return `--expires must be a duration (90m, 12h, 30d, 2w) or an ISO date (2026-12-31T00:00:00Z), got ${JSON.stringify(text)}`;
  const t = Date.parse(text);
  if (t <= now) return `--expires ${text} is in the past`;
  return t;
}

function usage(msg: string): ApiKeyResult {
  return {
    exitCode: 64,
    stdout: [],
    stderr: [`sluice api-key: ${msg} (see sluice api-key --help)`],
  };
}

function fail(err: unknown): ApiKeyResult {
  const e = err as Error & { code?: string };
  const code = err instanceof SluiceError ? `error[${e.code}]: ` : '';
  return { exitCode: 1, stdout: [], stderr: [`sluice api-key: ${code}${e.message}`] };
}

export function apiKeyCommand(
  sub: string | undefined,
  keysFile: string,
  opts: ApiKeyOptions,
  now: number = Date.now(),
): ApiKeyResult {
  const shown = path.relative(process.cwd(), keysFile) || keysFile;
  try {
    switch (sub) {
      case 'create': {
        if (opts.name === undefined) return usage('create needs --name NAME');
        if (!KEY_NAME.test(opts.name))
          return usage(
            `--name ${JSON.stringify(opts.name)}: use letters, digits, _ . - (up to 64, starting with a letter or digit)`,
          );
        if (opts.role === undefined) return usage('create needs --role administrator|viewer');
        const role = parseRole(opts.role);
        if (!role)
          return usage(`--role must be administrator (or admin) or viewer, not ${opts.role}`);
        let expiresAt: number | undefined;
        if (opts.expires !== undefined) {
          const e = parseExpires(opts.expires, now);
          if (typeof e === 'string') return usage(e);
          expiresAt = e;
        }
        const { stored, secret } = createApiKey(
          keysFile,
          { name: opts.name, role, ...(expiresAt !== undefined ? { expiresAt } : {}) },
          now,
        );
        return {
          exitCode: 0,
          stdout: [
            JSON.stringify({
              name: stored.name,
              api_key: stored.api_key,
              api_secret: secret,
              role: stored.role,
              expires_at: stored.expires_at,
            }),
          ],
          stderr: [
            `created API key ${stored.name} (${stored.role}${stored.expires_at ? `, expires ${stored.expires_at}` : ''}) in ${shown}`,
            'The secret is shown only now; Sluice keeps only its hash. Use it as HTTP Basic auth:',
            `  curl -u ${stored.api_key}:<api_secret> http://127.0.0.1:18083/api/v5/status`,
          ],
        };
      }
      case 'list': {
        const keys = readKeyFile(keysFile);
        if (keys.length === 0)
          return { exitCode: 0, stdout: [], stderr: [`no API keys in ${shown}`] };
        const rows = [
          ['NAME', 'API_KEY', 'ROLE', 'CREATED', 'EXPIRES', 'STATUS'],
          ...keys.map((k) => [
            k.name,
            k.api_key,
            k.role,
            k.created_at,
            k.expires_at ?? 'never',
            !k.enable
              ? 'disabled'
              : k.expires_at !== null && Date.parse(k.expires_at) <= now
                ? 'expired'
                : 'active',
          ]),
        ];
        const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
        return {
          exitCode: 0,
          stdout: rows.map((r) =>
            r
              .map((c, i) => c.padEnd(widths[i]!))
              .join('  ')
              .trimEnd(),
          ),
          stderr: [],
        };
      }
      case 'delete': {
        if (opts.name === undefined) return usage('delete needs --name NAME');
        if (!deleteApiKey(keysFile, opts.name))
          throw ApiErrors.api_key_not_found(
            `no API key named ${JSON.stringify(opts.name)} in ${shown}`,
          );
        return { exitCode: 0, stdout: [], stderr: [`deleted API key ${opts.name} from ${shown}`] };
      }
      case undefined:
        return usage('needs a subcommand: create, list or delete');
      default:
        return usage(`unknown subcommand ${JSON.stringify(sub)} (create, list or delete)`);
    }
  } catch (err) {
    return fail(err);
  }
}
