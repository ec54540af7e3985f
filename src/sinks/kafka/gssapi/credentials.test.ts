import { describe, it, expect } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCredentialStore } from './credentials.js';
import { parseKeytab } from './keytab.js';

/** Minimal MIT keytab with one entry for `name@realm`. */
function keytab(name: string, realm: string): Buffer {
  const str = (s: string) => Buffer.concat([Buffer.from([0, s.length]), Buffer.from(s)]);
  const body = Buffer.concat([
    Buffer.from([0, 1]),
    str(realm),
    str(name),
    Buffer.from([0, 0, 0, 1, 0, 0, 0, 0, 2, 0, 18, 0, 4, 1, 2, 3, 4]),
  ]);
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  return Buffer.concat([Buffer.from([5, 2]), size, body]);
}

describe('Kerberos credential store (several principals in one process)', () => {
  it('merges registered keytabs, points MIT at them, cleans up after the last sink', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'cred-test-'));
    try {
      writeFileSync(join(tmp, 'a.keytab'), keytab('a', 'EX.TEST'));
      writeFileSync(join(tmp, 'b.keytab'), keytab('b', 'EX.TEST'));
      const env: NodeJS.ProcessEnv = { KRB5CCNAME: 'FILE:/tmp/mine' };
      const store = createCredentialStore(env);
      expect(await store.register('s1', 'a', join(tmp, 'a.keytab'))).toBe('a@EX.TEST');
      expect(await store.register('s2', 'b@EX.TEST', join(tmp, 'b.keytab'))).toBe('b@EX.TEST');
      const merged = (env['KRB5_CLIENT_KTNAME'] ?? '').replace(/^FILE:/, '');
      expect(parseKeytab(readFileSync(merged)).map((e) => e.principal)).toEqual([
        'a@EX.TEST',
        'b@EX.TEST',
      ]);
      expect(env['KRB5CCNAME']).toBe(`DIR:${join(store.dir, 'ccache')}`);
      const dir = store.dir;
      await store.unregister('s1');
      expect(parseKeytab(readFileSync(merged)).map((e) => e.principal)).toEqual(['b@EX.TEST']);
      await store.unregister('s2');
      expect(existsSync(dir)).toBe(false);
      expect(env).toEqual({ KRB5CCNAME: 'FILE:/tmp/mine' }); // the caller's values are back
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('refuses a keytab without the principal or an unreadable one', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'cred-test-'));
    const store = createCredentialStore({});
    try {
      writeFileSync(join(tmp, 'a.keytab'), keytab('a', 'EX.TEST'));
      await expect(store.register('s', 'z@EX.TEST', join(tmp, 'a.keytab'))).rejects.toMatchObject({
        code: 'kafka_gssapi_bad_keytab',
        message: expect.stringContaining('it has: a@EX.TEST'),
      });
      await expect(store.register('s', 'a', join(tmp, 'missing.keytab'))).rejects.toMatchObject({
        code: 'kafka_gssapi_bad_keytab',
      });
    } finally {
      store.dispose();
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
