import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SluiceError } from '../core/index.js';
import { lockDir } from './dir-lock.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const temp = () => {
  const d = mkdtempSync(join(tmpdir(), 'sluice-lock-'));
  dirs.push(d);
  return d;
};

describe('persistence directory lock', () => {
  it('holds LOCK with its owner and removes it on release', () => {
    const dir = temp();
    const l = lockDir(dir);
    expect(readFileSync(join(dir, 'LOCK'), 'utf8').trim()).toBe(`${hostname()}:${process.pid}`);
    l.release();
    expect(existsSync(join(dir, 'LOCK'))).toBe(false);
  });

  it('refuses a directory whose fresh LOCK names another owner; takes over a stale one', () => {
    const dir = temp();
    writeFileSync(join(dir, 'LOCK'), 'other-host:1\n');
    let err: unknown;
    try {
      lockDir(dir);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SluiceError);
    expect((err as SluiceError).code).toBe('broker_persistence_locked');
    expect((err as Error).message).toMatch(/in use by other-host:1/);
    // Not refreshed for longer than staleMs (30 s by default): a crashed broker's lock.
    const old = new Date(Date.now() - 60_000);
    utimesSync(join(dir, 'LOCK'), old, old);
    const l = lockDir(dir);
    expect(readFileSync(join(dir, 'LOCK'), 'utf8').trim()).toBe(`${hostname()}:${process.pid}`);
    l.release();
  });

  it('takes over a lock of this very owner (a crashed run restarting as the same pid)', () => {
    const dir = temp();
    writeFileSync(join(dir, 'LOCK'), `${hostname()}:${process.pid}\n`);
    const l = lockDir(dir);
    expect(existsSync(join(dir, 'LOCK'))).toBe(true);
    l.release();
  });

  it('keeps a held lock fresh with its heartbeat', async () => {
    const dir = temp();
    const l = lockDir(dir, { heartbeatMs: 20 });
    const old = new Date(Date.now() - 60_000);
    utimesSync(join(dir, 'LOCK'), old, old);
    await new Promise((r) => setTimeout(r, 200));
    expect(Date.now() - (await import('node:fs')).statSync(join(dir, 'LOCK')).mtimeMs).toBeLessThan(
      30_000,
    );
    l.release();
  });
});
