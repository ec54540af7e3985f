/**
 * The flags the `sluice` command starts Node with (decision 0026): the executable bin/sluice.js
 * run through its own shebang, as `npx sluice` and a global install run it, and `npm start`'s
 * command line. A preload (NODE_OPTIONS=--require) reports the Node process's execArgv.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { afterAll, describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(path.join(tmpdir(), 'sluice-bin-flags-'));
const preload = path.join(dir, 'report.cjs');
writeFileSync(
  preload,
  `process.stderr.write('EXECARGV ' + JSON.stringify(process.execArgv) + '\\n');\n`,
);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = promisify(execFile);

describe('sluice command flags (decision 0026)', () => {
  it('bin/sluice.js through its shebang runs Node with an 8 MB semi-space cap', async () => {
    const { stdout, stderr } = await run(path.join(root, 'bin/sluice.js'), ['--version'], {
      cwd: root,
      env: {
        ...process.env,
        // The shebang's `env node` must find this Node (24), as npx's PATH does.
        PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env['PATH'] ?? ''}`,
        NODE_OPTIONS: `--require ${preload}`,
      },
    });
    const line = stderr.split('\n').find((l) => l.startsWith('EXECARGV '));
    expect(line, stderr).toBeDefined();
    expect(JSON.parse(line!.slice(9))).toContain('--max-semi-space-size=8');
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('npm start passes the same flag', () => {
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    const start = pkg.scripts['start']!.split(/\s+/);
    expect(start[0]).toBe('node');
    expect(start.indexOf('--max-semi-space-size=8')).toBeGreaterThan(0);
    expect(start.indexOf('--max-semi-space-size=8')).toBeLessThan(start.indexOf('bin/sluice.js'));
  });
});
