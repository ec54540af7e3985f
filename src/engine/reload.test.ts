import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { silentLogger } from '../core/index.js';
import { createEngine } from './engine.js';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('reload: sources section', () => {
  it('reports a changed sources section as needing a restart, and rejects mqtt mode without a url', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sluice-reload-'));
    const file = path.join(dir, 'sluice.yaml');
    writeFileSync(file, 'rule_files: []\nsources:\n  ack_timeout: 1m\n');
    const e = createEngine(file, { logger: silentLogger, watch: false });
    writeFileSync(file, 'rule_files: []\nsources:\n  ack_timeout: 2m\n');
    expect(e.reload().restartRequired).toEqual(['sources']);
    await e.stop();

    writeFileSync(file, 'rule_files: []\nsources:\n  mode: mqtt\n');
    expect(() => createEngine(file, { logger: silentLogger, watch: false })).toThrow(
      /sources\.mqtt\.url: is required in mqtt mode/,
    );
  });
});
