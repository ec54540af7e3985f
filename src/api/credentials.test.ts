import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { silentLogger } from '../core/index.js';
import { createCredentialStore } from './credentials.js';
import {
  createApiKey,
  deleteApiKey,
  parseBootstrapFile,
  parseKeyFile,
  readKeyFile,
} from './key-file.js';
import { parseSecretHash, verifySecret } from './key-hash.js';

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'sluice-keys-'));
  dirs.push(d);
  return d;
}
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Cheap scrypt for tests (the default N=16384 is for real keys). */
const FAST = { hashCost: { N: 1024 } };
const basic = (key: string, secret: string) =>
  `Basic ${Buffer.from(`${key}:${secret}`).toString('base64')}`;

describe('key file', () => {
  it('create stores the scrypt hash only, mode 0600; the secret verifies against it', async () => {
    const file = path.join(tmp(), 'data', 'keys.json');
    const { stored, secret } = createApiKey(file, { name: 'ci', role: 'viewer', ...FAST }, 0);
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain(secret);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(stored.api_key).toMatch(/^[0-9a-f]{16}$/);
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const [k] = readKeyFile(file);
    expect(k).toMatchObject({ name: 'ci', role: 'viewer', enable: true, expires_at: null });
    expect(k?.created_at).toBe('1970-01-01T00:00:00.000Z');
    const h = parseSecretHash(k?.secret_hash ?? '');
    expect(h).toBeDefined();
    expect(await verifySecret(secret, h!)).toBe(true);
    expect(await verifySecret(secret + 'x', h!)).toBe(false);
  });

  it('names are unique; delete removes one key; a missing file is no keys', () => {
    const file = path.join(tmp(), 'keys.json');
    expect(readKeyFile(file)).toEqual([]);
    createApiKey(file, { name: 'a', role: 'administrator', ...FAST });
    createApiKey(file, { name: 'b', role: 'viewer', ...FAST });
    expect(() => createApiKey(file, { name: 'a', role: 'viewer', ...FAST })).toThrow(
      expect.objectContaining({ code: 'api_key_exists' }),
    );
    expect(deleteApiKey(file, 'a')).toBe(true);
    expect(deleteApiKey(file, 'a')).toBe(false);
    expect(readKeyFile(file).map((k) => k.name)).toEqual(['b']);
  });

  it('an invalid key file is api_key_file_invalid naming what is wrong', () => {
    expect(() => parseKeyFile('k.json', '{')).toThrow(/k\.json: not valid JSON/);
    expect(() => parseKeyFile('k.json', '{"version":2,"keys":[]}')).toThrow(/version/);
    const bad = JSON.stringify({
      version: 1,
      keys: [{ name: 'x', api_key: 'k', secret_hash: 'plain', role: 'viewer' }],
    });
    expect(() => parseKeyFile('k.json', bad)).toThrow(
      expect.objectContaining({
        code: 'api_key_file_invalid',
        message: expect.stringContaining('keys[0].secret_hash'),
      }),
    );
  });

  it('bootstrap lines: key:secret (administrator), key:secret:role, comments; bad lines name file:line', () => {
    const e = parseBootstrapFile(
      'b.txt',
      '# keys\n\nk1:s1\nk2:s2:viewer\n  k3:s3:admin  \nk1:s9:viewer\n',
    );
    expect(e.map((x) => [x.apiKey, x.role, x.name])).toEqual([
      ['k1', 'viewer', 'bootstrap:k1'], // the last line for a key wins
      ['k2', 'viewer', 'bootstrap:k2'],
      ['k3', 'administrator', 'bootstrap:k3'],
    ]);
    expect(() => parseBootstrapFile('b.txt', 'k1:s1\nnocolon\n')).toThrow(
      /^b\.txt:2: expected key:secret/,
    );
    expect(() => parseBootstrapFile('b.txt', 'k1:s1:publisher')).toThrow(
      expect.objectContaining({
        code: 'api_bootstrap_file_invalid',
        message: expect.stringContaining('b.txt:1: unknown role "publisher"'),
      }),
    );
  });
});

describe('credential store', () => {
  it('Basic key:secret, bearer token; wrong, expired and unknown ones fail with a reason', async () => {
    const file = path.join(tmp(), 'keys.json');
    let now = 1_000_000;
    const ci = createApiKey(file, { name: 'ci', role: 'viewer', ...FAST }, now);
    const old = createApiKey(
      file,
      { name: 'old', role: 'administrator', expiresAt: now + 10, ...FAST },
      now,
    );
    const store = createCredentialStore({
      token: 'tok',
      keysFile: file,
      logger: silentLogger,
      now: () => now,
    });
    expect(store.count()).toBe(3);
    expect(await store.authenticate(basic(ci.stored.api_key, ci.secret))).toEqual({
      ok: true,
      principal: { auth: 'api_key', name: 'ci', role: 'viewer' },
    });
    // Second time through the remembered digest: same answer.
    expect((await store.authenticate(basic(ci.stored.api_key, ci.secret))).ok).toBe(true);
    expect(await store.authenticate(basic(ci.stored.api_key, ci.secret.slice(1)))).toMatchObject({
      ok: false,
      reason: 'invalid',
    });
    expect(await store.authenticate(basic('nosuchkey', ci.secret))).toMatchObject({
      ok: false,
      reason: 'invalid',
    });
    expect((await store.authenticate(basic(old.stored.api_key, old.secret))).ok).toBe(true);
    now += 10;
    expect(await store.authenticate(basic(old.stored.api_key, old.secret))).toMatchObject({
      ok: false,
      reason: 'expired',
    });
    expect(await store.authenticate('Bearer tok')).toEqual({
      ok: true,
      principal: { auth: 'token', name: 'token', role: 'administrator' },
    });
    expect(await store.authenticate('Bearer tok2')).toMatchObject({ ok: false, reason: 'invalid' });
    expect(await store.authenticate(undefined)).toMatchObject({ ok: false, reason: 'missing' });
    expect(await store.authenticate('Digest x')).toMatchObject({ ok: false, reason: 'invalid' });
    expect(
      await store.authenticate(`Basic ${Buffer.from('nocolon').toString('base64')}`),
    ).toMatchObject({ ok: false });
  });

  it('a key with "enable": false in the file is refused as disabled (with the right secret only)', async () => {
    const file = path.join(tmp(), 'keys.json');
    const k = createApiKey(file, { name: 'off', role: 'administrator', ...FAST });
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { keys: { enable: boolean }[] };
    (doc.keys[0] as { enable: boolean }).enable = false;
    writeFileSync(file, JSON.stringify(doc));
    const store = createCredentialStore({ keysFile: file, logger: silentLogger });
    expect(await store.authenticate(basic(k.stored.api_key, k.secret))).toEqual({
      ok: false,
      reason: 'disabled',
      message: 'API key off is disabled',
    });
    expect(await store.authenticate(basic(k.stored.api_key, 'wrong'))).toMatchObject({
      reason: 'invalid',
    });
  });

  it('without a token a bearer never passes', async () => {
    const store = createCredentialStore({
      keysFile: path.join(tmp(), 'none.json'),
      logger: silentLogger,
    });
    expect(store.count()).toBe(0);
    expect((await store.authenticate('Bearer ')).ok).toBe(false);
    expect((await store.authenticate('Bearer undefined')).ok).toBe(false);
  });

  it('refresh picks up created and deleted keys; a broken edit keeps the keys read before', async () => {
    const file = path.join(tmp(), 'keys.json');
    const store = createCredentialStore({ keysFile: file, logger: silentLogger });
    expect(store.count()).toBe(0);
    const a = createApiKey(file, { name: 'a', role: 'administrator', ...FAST });
    store.refresh();
    expect(store.count()).toBe(1);
    expect((await store.authenticate(basic(a.stored.api_key, a.secret))).ok).toBe(true);
    const good = readFileSync(file, 'utf8');
    writeFileSync(file, '{ broken');
    store.refresh();
    expect(store.count()).toBe(1);
    expect((await store.authenticate(basic(a.stored.api_key, a.secret))).ok).toBe(true);
    writeFileSync(file, good);
    deleteApiKey(file, 'a');
    store.refresh();
    expect(store.count()).toBe(0);
    expect((await store.authenticate(basic(a.stored.api_key, a.secret))).ok).toBe(false);
  });

  it('bootstrap keys authenticate and win over a key-file key with the same id', async () => {
    const d = tmp();
    const keys = path.join(d, 'keys.json');
    const { stored } = createApiKey(keys, { name: 'k', role: 'administrator', ...FAST });
    const boot = path.join(d, 'boot.txt');
    writeFileSync(boot, `${stored.api_key}:bootsecret:viewer\nops:opsecret\n`);
    const store = createCredentialStore({
      keysFile: keys,
      bootstrapFile: boot,
      logger: silentLogger,
    });
    expect(store.count()).toBe(2);
    expect(await store.authenticate(basic(stored.api_key, 'bootsecret'))).toMatchObject({
      ok: true,
      principal: { name: `bootstrap:${stored.api_key}`, role: 'viewer' },
    });
    expect(await store.authenticate(basic('ops', 'opsecret'))).toMatchObject({
      ok: true,
      principal: { role: 'administrator' },
    });
  });

  it('an invalid file at start throws its code', () => {
    const boot = path.join(tmp(), 'boot.txt');
    writeFileSync(boot, 'bad line\n');
    expect(() => createCredentialStore({ bootstrapFile: boot, logger: silentLogger })).toThrow(
      expect.objectContaining({ code: 'api_bootstrap_file_invalid' }),
    );
  });
});
