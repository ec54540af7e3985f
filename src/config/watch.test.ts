import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { globName, watchDirs } from './watch.js';
import type { ConfigWatcher } from './watch.js';

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
let dir = '';
let watcher: ConfigWatcher | undefined;
afterEach(() => {
  watcher?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('config watcher', () => {
  it('globs match one file name', () => {
    expect(globName('*.sql').test('a.sql')).toBe(true);
    expect(globName('*.sql').test('a.sql.bak')).toBe(false);
    expect(globName('r?.yaml').test('r1.yaml')).toBe(true);
    expect(globName('sluice.yaml').test('sluiceXyaml')).toBe(false);
  });

  it('reloads for sluice.yaml and rule files, not for other files in the same directory', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sluice-watch-'));
    writeFileSync(path.join(dir, 'sluice.yaml'), 'a: 1\n');
    let changes = 0;
    watcher = watchDirs(
      [
        { dir, names: ['sluice.yaml'] },
        { dir, names: ['*.sql'] },
      ],
      30,
      () => changes++,
    );
    await wait(50);
    for (let i = 0; i < 5; i++) {
      writeFileSync(path.join(dir, 'sluice.log'), `line ${i}\n`, { flag: 'a' });
      await wait(20);
    }
    await wait(150);
    expect(changes).toBe(0);
    writeFileSync(path.join(dir, 'rule.sql'), 'SELECT 1 FROM "t"\n');
    await wait(200);
    expect(changes).toBe(1);
    writeFileSync(path.join(dir, 'sluice.yaml'), 'a: 2\n');
    await wait(200);
    expect(changes).toBe(2);
  });
});
