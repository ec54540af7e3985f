/**
 * The CLI side of the management API, as a user runs it (child processes through tsx):
 * `sluice hash-password` produces a hash that authenticates a real mqtt.js client against a
 * broker configured with it; `sluice run` starts the API from sluice.yaml's `api` section,
 * prints its address, and enforces the token.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';

import { silentLogger } from '../../src/core/index.js';
import { createEngine } from '../../src/engine/index.js';
import type { Engine } from '../../src/engine/index.js';

const root = path.resolve(import.meta.dirname, '../..');
const MAIN = path.join(root, 'src/cli/main.ts');
const ENTRY = `const { main } = await import(${JSON.stringify(MAIN)}); process.exitCode = await main(process.argv.slice(1));`;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function sluice(
  args: string[],
  opts: {
    stdin?: string;
    env?: Record<string, string>;
    onStderr?: (s: string, kill: () => void) => void;
  } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', ENTRY, '--', ...args],
      {
        cwd: root,
        env: { ...process.env, NODE_OPTIONS: '', ...opts.env },
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      opts.onStderr?.(stderr, () => child.kill('SIGTERM'));
    });
    // A run whose expected output never comes is killed, so the assertion fails instead of hanging.
    const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(guard);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.stdin ?? '');
  });
}

const dirs: string[] = [];
const engines: Engine[] = [];
afterAll(async () => {
  await Promise.all(engines.map((e) => e.stop({ drainMs: 0 })));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('sluice hash-password', () => {
  it('prints a hash the broker accepts: right password connects, wrong one is refused', async () => {
    const r = await sluice(['hash-password', '--password-stdin'], { stdin: 'p@ss word\n' });
    expect(r.code).toBe(0);
    const hash = r.stdout.trim();
    expect(hash).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9+/]+=*\$[A-Za-z0-9+/]+=*$/);
    expect(r.stdout.split('\n')).toHaveLength(2); // one line, nothing else on stdout

    const pb = await sluice(['hash-password', '--algorithm', 'pbkdf2'], { stdin: 'other' });
    expect(pb.code).toBe(0);
    const pbHash = pb.stdout.trim();
    expect(pbHash).toMatch(/^pbkdf2\$sha256\$600000\$/);

    const engine = createEngine(
      {
        broker: {
          listeners: { tcp: { type: 'tcp', bind: '127.0.0.1', port: 0 } },
          allow_anonymous: false,
          users: [
            { username: 'dev', password_hash: hash },
            { username: 'dev2', password_hash: pbHash },
          ],
        },
        api: { enabled: false },
      },
      { logger: silentLogger, env: {} },
    );
    engines.push(engine);
    const [a] = await engine.start();
    const url = `mqtt://127.0.0.1:${a?.port}`;
    const ok = await mqtt.connectAsync(url, {
      username: 'dev',
      password: 'p@ss word', // the trailing newline of stdin is not part of the password
      reconnectPeriod: 0,
    });
    expect(ok.connected).toBe(true);
    await ok.endAsync();
    const ok2 = await mqtt.connectAsync(url, {
      username: 'dev2',
      password: 'other',
      reconnectPeriod: 0,
    });
    await ok2.endAsync();
    await expect(
      mqtt.connectAsync(url, { username: 'dev', password: 'p@ss word\n', reconnectPeriod: 0 }),
    ).rejects.toThrow(/Bad username or password/i);
  });

  it('refuses an empty password and an unknown algorithm', async () => {
    const empty = await sluice(['hash-password', '--password-stdin'], { stdin: '\n' });
    expect(empty.code).toBe(1);
    expect(empty.stdout).toBe('');
    expect(empty.stderr).toMatch(/empty/);
    const algo = await sluice(['hash-password', '--algorithm', 'md5'], { stdin: 'x' });
    expect(algo.code).toBe(64);
  });
});

describe('sluice run with the management API', () => {
  it('prints the API address, serves it with the token from the environment, stops on SIGTERM', async () => {
    const d = mkdtempSync(path.join(tmpdir(), 'sluice-api-cli-'));
    dirs.push(d);
    writeFileSync(
      path.join(d, 'sluice.yaml'),
      [
        'broker:',
        '  listeners:',
        '    tcp: { type: tcp, bind: 127.0.0.1, port: 0 }',
        'sinks:',
        '  out: { type: memory }',
        'rules:',
        '  - { id: r1, sql: "SELECT 1 AS one FROM \\"x/#\\"", actions: [out] }',
        'rule_files: []',
        'api: { bind: 127.0.0.1, port: 0, token: "${API_TOKEN}" }',
        'log: { level: warn }',
      ].join('\n'),
    );
    let seen: { unauth: number; auth: number; rules: string[] } | undefined;
    let asked = false;
    const r = await sluice(['run', '-c', path.join(d, 'sluice.yaml')], {
      env: { API_TOKEN: 'tok-123' },
      onStderr: (err, kill) => {
        const m = /management API: (http:\/\/127\.0\.0\.1:\d+)\/api\/v5/.exec(err);
        if (!m || asked) return;
        asked = true;
        void (async () => {
          try {
            const unauth = await fetch(`${m[1]}/api/v5/rules`);
            const auth = await fetch(`${m[1]}/api/v5/rules`, {
              headers: { Authorization: 'Bearer tok-123' },
            });
            const body = (await auth.json()) as { data: { id: string }[] };
            seen = { unauth: unauth.status, auth: auth.status, rules: body.data.map((x) => x.id) };
          } finally {
            kill();
          }
        })();
      },
    });
    expect(r.stderr).toMatch(/bearer token required/);
    expect(seen).toEqual({ unauth: 401, auth: 200, rules: ['r1'] });
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain('tok-123');
  });

  it('a hot reload that changes api settings says they need a restart', async () => {
    const d = mkdtempSync(path.join(tmpdir(), 'sluice-api-cli-'));
    dirs.push(d);
    const yaml = (port: number): string =>
      [
        'broker:',
        '  listeners:',
        '    tcp: { type: tcp, bind: 127.0.0.1, port: 0 }',
        'rule_files: []',
        `api: { bind: 127.0.0.1, port: ${port} }`,
        'reload: { debounce: 50ms }',
        'log: { level: silent }',
      ].join('\n');
    writeFileSync(path.join(d, 'sluice.yaml'), yaml(0));
    let edited = false;
    let url = '';
    const r = await sluice(['run', '-c', path.join(d, 'sluice.yaml')], {
      onStderr: (err, kill) => {
        const m = /management API: (http:\/\/127\.0\.0\.1:\d+)\/api\/v5/.exec(err);
        if (m && /press Ctrl\+C/.test(err) && !edited) {
          edited = true;
          url = m[1] as string;
          writeFileSync(path.join(d, 'sluice.yaml'), yaml(1));
        }
        if (/api settings changed/.test(err)) {
          // Still served on the old address until a restart.
          void fetch(`${url}/api/v5/status`).then(
            (res) => {
              if (res.status === 200) kill();
            },
            () => undefined,
          );
        }
      },
    });
    expect(r.stderr).toMatch(/api settings changed; they take effect after a restart/);
    expect(r.code).toBe(0);
  });

  it('an empty api.token is a configuration error', async () => {
    const d = mkdtempSync(path.join(tmpdir(), 'sluice-api-cli-'));
    dirs.push(d);
    writeFileSync(
      path.join(d, 'sluice.yaml'),
      'rule_files: []\napi: { port: 0, token: "${API_TOKEN:-}" }\n',
    );
    const r = await sluice(['check', '-c', path.join(d, 'sluice.yaml')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/sluice\.yaml:2:\d+: error\[config_invalid_field\]: api\.token/);
  });

  it('keeps running without the API when its port is taken', async () => {
    const d = mkdtempSync(path.join(tmpdir(), 'sluice-api-cli-'));
    dirs.push(d);
    // Occupy a port, then ask `run` for the same one.
    const { createServer } = await import('node:net');
    const blocker = createServer();
    await new Promise<void>((res) => blocker.listen(0, '127.0.0.1', () => res()));
    const port = (blocker.address() as { port: number }).port;
    writeFileSync(
      path.join(d, 'sluice.yaml'),
      [
        'broker:',
        '  listeners:',
        '    tcp: { type: tcp, bind: 127.0.0.1, port: 0 }',
        'rule_files: []',
        `api: { bind: 127.0.0.1, port: ${port} }`,
        'log: { level: silent }',
      ].join('\n'),
    );
    let mqttOk = false;
    const r = await sluice(['run', '-c', path.join(d, 'sluice.yaml')], {
      onStderr: (err, kill) => {
        const m = /mqtt:\/\/127\.0\.0\.1:(\d+)/.exec(err);
        if (!m || !/press Ctrl\+C/.test(err) || mqttOk) return;
        void (async () => {
          const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${m[1]}`, { reconnectPeriod: 0 });
          mqttOk = c.connected;
          await c.endAsync();
          kill();
        })();
      },
    });
    await new Promise<void>((res) => blocker.close(() => res()));
    expect(r.stderr).toMatch(/api_listen_failed|cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE/);
    expect(mqttOk).toBe(true);
    expect(r.code).toBe(0);
  });
});
