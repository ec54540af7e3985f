import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { apiKeyCommand, parseExpires } from './api-key.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('sluice api-key', () => {
  it('--expires: durations from now, ISO dates, refusals', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseExpires('90m', now)).toBe(now + 90 * 60_000);
    expect(parseExpires('12h', now)).toBe(now + 12 * 3_600_000);
    expect(parseExpires('30d', now)).toBe(now + 30 * 86_400_000);
    expect(parseExpires('2w', now)).toBe(now + 14 * 86_400_000);
    expect(parseExpires('2026-06-30T12:00:00Z', now)).toBe(Date.parse('2026-06-30T12:00:00Z'));
    expect(parseExpires('2025-06-30', now)).toMatch(/in the past/);
    expect(parseExpires('soon', now)).toMatch(/must be a duration/);
    expect(parseExpires('30s', now)).toMatch(/must be a duration/);
  });

  it('create prints the secret once as JSON; list shows status; delete; usage errors are 64', () => {
    const d = mkdtempSync(path.join(tmpdir(), 'sluice-cli-keys-'));
    dirs.push(d);
    const file = path.join(d, 'keys.json');
    const now = Date.parse('2026-01-01T00:00:00Z');
    const c = apiKeyCommand('create', file, { name: 'ci', role: 'viewer', expires: '1d' }, now);
    expect(c.exitCode).toBe(0);
    expect(c.stdout).toHaveLength(1);
    const out = JSON.parse(c.stdout[0] as string);
    expect(out).toMatchObject({
      name: 'ci',
      role: 'viewer',
      expires_at: '2026-01-02T00:00:00.000Z',
    });
    expect(readFileSync(file, 'utf8')).not.toContain(out.api_secret);
    expect(c.stderr.join('\n')).toContain('shown only now');
    expect(apiKeyCommand('create', file, { name: 'ops', role: 'admin' }, now).exitCode).toBe(0);

    const later = now + 2 * 86_400_000;
    const l = apiKeyCommand('list', file, {}, later);
    expect(l.stdout[0]).toMatch(/^NAME\s+API_KEY\s+ROLE\s+CREATED\s+EXPIRES\s+STATUS$/);
    expect(l.stdout[1]).toMatch(new RegExp(`^ci\\s+${out.api_key}\\s+viewer\\s+.*\\s+expired$`));
    expect(l.stdout[2]).toMatch(/^ops\s+[0-9a-f]{16}\s+administrator\s+.*never\s+active$/);
    expect(l.stdout.join('\n')).not.toContain('scrypt');

    const dup = apiKeyCommand('create', file, { name: 'ci', role: 'viewer' }, now);
    expect(dup.exitCode).toBe(1);
    expect(dup.stderr[0]).toContain('error[api_key_exists]');
    expect(apiKeyCommand('delete', file, { name: 'ci' }).exitCode).toBe(0);
    const gone = apiKeyCommand('delete', file, { name: 'ci' });
    expect(gone.exitCode).toBe(1);
    expect(gone.stderr[0]).toContain('error[api_key_not_found]');

    expect(apiKeyCommand('create', file, { role: 'viewer' }).exitCode).toBe(64);
    expect(apiKeyCommand('create', file, { name: 'x' }).exitCode).toBe(64);
    expect(apiKeyCommand('create', file, { name: 'x', role: 'publisher' }).exitCode).toBe(64);
    expect(apiKeyCommand('create', file, { name: 'bad name', role: 'viewer' }).exitCode).toBe(64);
    expect(apiKeyCommand('rotate', file, {}).exitCode).toBe(64);
    expect(apiKeyCommand(undefined, file, {}).exitCode).toBe(64);
  });
});
