/**
 * The api section as `sluice run`, `check` and `api-key` need it: its file paths resolved
 * against sluice.yaml's directory, the number of credentials configured, and the preflight
 * that stops a start which would expose the API without authentication (located issues).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { createCredentialStore, isLoopbackHost } from '../api/index.js';
import { parseYamlSource } from '../config/index.js';
import type { ConfigIssue, LoadedConfig } from '../config/index.js';
import { silentLogger } from '../core/index.js';

/** The api section's files as absolute paths (relative ones: to sluice.yaml's directory). */
export function apiFiles(loaded: LoadedConfig): {
  keysFile: string;
  bootstrapFile: string | undefined;
  auditLog: string | undefined;
} {
  const dir = path.dirname(loaded.file);
  const api = loaded.config.api;
  const abs = (p: string | undefined) => (p === undefined ? undefined : path.resolve(dir, p));
  return {
    keysFile: abs(api.keys_file) as string,
    bootstrapFile: abs(api.bootstrap_file),
    auditLog: abs(api.audit_log),
  };
}

/** Credentials configured now (0 when a file is unreadable: apiPreflight reports that). */
export function apiCredentials(loaded: LoadedConfig): number {
  const f = apiFiles(loaded);
  try {
    return createCredentialStore({
      token: loaded.config.api.token,
      keysFile: f.keysFile,
      bootstrapFile: f.bootstrapFile,
      logger: silentLogger,
    }).count();
  } catch {
    return 0;
  }
}

/**
 * What stops the API from starting safely, located in sluice.yaml: an unreadable or invalid
 * key/bootstrap file, or a non-loopback `api.bind` with no credential at all
 * (`api_auth_required`). Used by `run` (before anything starts) and `check`.
 */
export function apiPreflight(loaded: LoadedConfig): ConfigIssue[] {
  const api = loaded.config.api;
  if (!api.enabled) return [];
  const f = apiFiles(loaded);
  const found: { code: string; path: string; reason: string }[] = [];
  let count = 0;
  try {
    count = createCredentialStore({
      token: api.token,
      keysFile: f.keysFile,
      bootstrapFile: f.bootstrapFile,
      logger: silentLogger,
    }).count();
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'api_key_file_invalid';
    found.push({
      code,
      path: code === 'api_bootstrap_file_invalid' ? 'api.bootstrap_file' : 'api.keys_file',
      reason: (err as Error).message,
    });
  }
  if (found.length === 0 && !isLoopbackHost(api.bind) && count === 0)
    found.push({
      code: 'api_auth_required',
      path: 'api.bind',
      reason: `${api.bind} is not a loopback address and the API has no credential: set api.token, create a key (sluice api-key create --name NAME --role administrator), set api.bootstrap_file, or bind 127.0.0.1`,
    });
  if (found.length === 0) return [];
  const display = path.relative(process.cwd(), loaded.file) || loaded.file;
  let text: string;
  try {
    text = readFileSync(loaded.file, 'utf8');
  } catch {
    return found.map((p) => ({ ...p, file: display, line: 0, column: 0 }));
  }
  const src = parseYamlSource(display, text, process.env);
  return found.map((p) => src.issueAt(p.code, p.path, p.reason));
}
