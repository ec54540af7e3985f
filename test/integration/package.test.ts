/**
 * The npm package as a user gets it (issue #22 item 5): `npm pack`, install the tarball into a
 * scratch project, type-check a program against the published declarations with a strict
 * tsconfig, run it on this Node, and read the shipped JSON Schema through its subpath export.
 */
import { execFileSync, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  readFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = path.resolve(import.meta.dirname, '../..');
let dir: string;
let tarball: string;

function sh(cmd: string, args: string[], cwd: string): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'sluice-pack-'));
  // `npm pack` runs `prepare` (the build), so the tarball holds what the sources say now.
  sh('npm', ['pack', '--silent', '--pack-destination', dir], repo);
  const name = readdirSync(dir).find((f) => f.endsWith('.tgz'));
  if (!name) throw new Error(`npm pack wrote no tarball into ${dir}`);
  tarball = path.join(dir, name);
  const app = path.join(dir, 'app');
  mkdirSync(app);
  writeFileSync(
    path.join(app, 'package.json'),
    JSON.stringify({ name: 'app', private: true, type: 'module' }),
  );
  // Dependencies come from the npm cache `npm ci` filled; the optional kerberos addon is not
  // needed here and would need a compiler.
  sh(
    'npm',
    [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--ignore-scripts',
      '--omit=optional',
      tarball,
    ],
    app,
  );
}, 300_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the packed npm package', () => {
  it('ships dist, bin, schema, examples, docs and LICENSE, and no sources or tests', () => {
    const files = sh('tar', ['-tzf', tarball], dir)
      .split('\n')
      .filter(Boolean)
      .map((f) => f.replace(/^package\//, ''));
    for (const f of [
      'LICENSE',
      'schema/sluice.schema.json',
      'bin/sluice.js',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/web/index.html',
    ]) {
      expect(files).toContain(f);
    }
    expect(files.some((f) => f.startsWith('examples/quickstart/'))).toBe(true);
    // The dashboard's built assets (docs/dashboard.md), not its sources.
    expect(files.some((f) => /^dist\/web\/assets\/.+\.js$/.test(f))).toBe(true);
    expect(files.filter((f) => f.startsWith('web/'))).toEqual([]);
    // Aedes is bundled with Sluice's security patch applied (decision 0010).
    expect(files).toContain('node_modules/aedes/lib/handlers/publish.js');
    expect(
      files.filter((f) => f.startsWith('src/') || f.startsWith('test/') || f.endsWith('.test.js')),
    ).toEqual([]);
    expect(readFileSync(path.join(repo, 'LICENSE'), 'utf8')).toMatch(
      /Apache License\s+Version 2\.0/,
    );
  });

  it('type-checks a program against the published types under strict settings and runs it', () => {
    const app = path.join(dir, 'app');
    // The user's own @types/node (the package's declarations mention Buffer and friends).
    if (!existsSync(path.join(app, 'node_modules/@types/node'))) {
      mkdirSync(path.join(app, 'node_modules/@types'), { recursive: true });
      symlinkSync(
        path.join(repo, 'node_modules/@types/node'),
        path.join(app, 'node_modules/@types/node'),
      );
    }
    writeFileSync(
      path.join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2023',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noUncheckedIndexedAccess: true,
          exactOptionalPropertyTypes: true,
          types: ['node'],
          resolveJsonModule: true,
          outDir: 'out',
        },
        include: ['main.ts'],
      }),
    );
    writeFileSync(
      path.join(app, 'main.ts'),
      `import { compileRule, createEngine, type Engine } from 'sluice';
import { createBroker } from 'sluice/broker';
import schema from 'sluice/schema/sluice.schema.json' with { type: 'json' };

const compiled = compileRule('SELECT payload.temp AS t FROM "sensors/#" WHERE payload.temp > 30');
const engine: Engine = createEngine({
  broker: { listeners: { tcp: { type: 'tcp', bind: '127.0.0.1', port: 0 } } },
  sinks: { out: { type: 'memory' } },
  rules: [{ id: 'hot', sql: 'SELECT payload.temp AS t FROM "sensors/#"', actions: ['out'] }],
  api: { enabled: false },
});
const addresses = await engine.start();
await engine.stop();
console.log('RESULT ' + JSON.stringify({
  compiled: typeof compiled,
  broker: typeof createBroker,
  schemaId: (schema as { $id: string }).$id,
  tcp: addresses.filter((a) => a.type === 'tcp').length,
}));
`,
    );
    sh(
      process.execPath,
      [path.join(repo, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'],
      app,
    );
    const out = sh(process.execPath, ['out/main.js'], app)
      .split('\n')
      .find((l) => l.startsWith('RESULT '));
    expect(JSON.parse(out?.slice('RESULT '.length) ?? '')).toEqual({
      compiled: 'object',
      broker: 'function',
      schemaId: 'urn:sluice:schema:sluice.yaml:v1',
      tcp: 1,
    });
  });

  it('`sluice run` from the installed package serves the dashboard under / on the API port', async () => {
    const app = path.join(dir, 'app');
    const cfg = path.join(app, 'sluice.yaml');
    writeFileSync(
      cfg,
      'broker:\n  listeners:\n    tcp: { type: tcp, bind: 127.0.0.1, port: 0 }\napi:\n  port: 0\n',
    );
    const child = spawn(
      process.execPath,
      [path.join(app, 'node_modules/sluice/bin/sluice.js'), 'run', '-c', cfg],
      { cwd: app, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let err = '';
        const timer = setTimeout(() => reject(new Error(`no dashboard line: ${err}`)), 60_000);
        child.stderr.on('data', (c: Buffer) => {
          err += c.toString();
          const m = /dashboard: (http:\/\/\S+\/)/.exec(err);
          if (m) {
            clearTimeout(timer);
            resolve(m[1] as string);
          }
        });
        child.once('exit', (code) => reject(new Error(`sluice exited ${code}: ${err}`)));
      });
      const page = await fetch(url);
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toContain('<div id="app"></div>');
      const script = /<script type="module" crossorigin src="([^"]+)"/.exec(html)?.[1];
      expect(script).toMatch(/^\/assets\/.+\.js$/);
      const js = await fetch(new URL(script as string, url));
      expect(js.status).toBe(200);
      expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      // The bundle carries the rule parser (its diagnostics' wording), run in the browser.
      expect(await js.text()).toContain('did you mean');
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  }, 120_000);
});
