/**
 * The CLI side of the management API, as a user runs it (child processes through tsx):
 * `sluice hash-password` produces a hash that authenticates a real mqtt.js client against a
 * broker configured with it; `sluice run` starts the API from sluice.yaml's `api` section,
 * prints its address, and enforces the token.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';

import { silentLogger } from '../../src/core/index.js';
import { createEngine } from '../../src/engine/index.js';
import { scramClient } from '../../src/broker/authn-scram.js';
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

  it('--algorithm scram-sha-256 prints a SCRAM credential an MQTT.js v5 client logs in with', async () => {
    const r = await sluice(
      ['hash-password', '--algorithm', 'scram-sha-256', '--iterations', '8192'],
      {
        stdin: 'scram pw\n',
      },
    );
    expect(r.code).toBe(0);
    const credential = r.stdout.trim();
    expect(credential).toMatch(
      /^scram-sha-256\$8192\$[A-Za-z0-9+/]+=*\$[A-Za-z0-9+/]+=*\$[A-Za-z0-9+/]+=*$/,
    );
    expect(credential).not.toContain('scram pw');
    const bad = await sluice(['hash-password', '--iterations', '10'], { stdin: 'x' });
    expect(bad.code).toBe(64); // --iterations belongs to scram-* only
    const engine = createEngine(
      {
        broker: {
          listeners: { tcp: { type: 'tcp', bind: '127.0.0.1', port: 0 } },
          allow_anonymous: false,
          scram: { users: [{ username: 'dev', credential }] },
        },
        api: { enabled: false },
      },
      { logger: silentLogger, env: {} },
    );
    engines.push(engine);
    const [a] = await engine.start();
    const scram = scramClient('dev', 'scram pw', 'sha256');
    const client = mqtt.connect(`mqtt://127.0.0.1:${a?.port}`, {
      protocolVersion: 5,
      reconnectPeriod: 0,
      manualConnect: true,
      properties: { authenticationMethod: 'SCRAM-SHA-256', authenticationData: scram.first() },
    });
    client.handleAuth = (packet, cb) =>
      cb(undefined, {
        cmd: 'auth',
        reasonCode: 0x18,
        properties: {
          authenticationMethod: 'SCRAM-SHA-256',
          authenticationData: scram.final(packet.properties?.authenticationData as Buffer),
        },
      });
    const connack = await new Promise<{
      reasonCode?: number;
      properties?: { authenticationData?: Buffer };
    }>((res, rej) => {
      client.once('connect', res);
      client.once('error', rej);
      client.connect();
    });
    expect(connack.reasonCode).toBe(0);
    expect(scram.verify(connack.properties!.authenticationData!)).toBe(true);
    await client.endAsync();
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

describe('sluice api-key and API keys with sluice run', () => {
  const basic = (key: string, secret: string) =>
    `Basic ${Buffer.from(`${key}:${secret}`).toString('base64')}`;

  it('create prints the secret once; run serves viewer and administrator keys; changes apply while running', async () => {
    const d = mkdtempSync(path.join(tmpdir(), 'sluice-api-keys-'));
    dirs.push(d);
    const cfg = path.join(d, 'sluice.yaml');
    writeFileSync(
      cfg,
      [
        'broker:',
        '  listeners:',
        '    tcp: { type: tcp, bind: 127.0.0.1, port: 0 }',
        'rule_files: []',
        'api: { bind: 127.0.0.1, port: 0, audit_log: audit/api.jsonl, max_body_size: 200 }',
        'log: { level: warn }',
      ].join('\n'),
    );
    const created = await sluice([
      'api-key',
      'create',
      '--name',
      'dash',
      '--role',
      'viewer',
      '-c',
      cfg,
    ]);
    expect(created.code).toBe(0);
    const v = JSON.parse(created.stdout) as { api_key: string; api_secret: string; role: string };
    expect(v.role).toBe('viewer');
    expect(created.stderr).toContain('shown only now');
    // The default key file sits next to sluice.yaml; it holds the hash only.
    const keysFile = path.join(d, 'data', 'api_keys.json');
    expect(readFileSync(keysFile, 'utf8')).not.toContain(v.api_secret);
    expect(statSync(keysFile).mode & 0o777).toBe(0o600);
    const listed = await sluice(['api-key', 'list', '-c', cfg]);
    expect(listed.stdout).toMatch(
      new RegExp(`^dash\\s+${v.api_key}\\s+viewer\\s.*never\\s+active$`, 'm'),
    );

    let seen: Record<string, number> | undefined;
    let asked = false;
    const r = await sluice(['run', '-c', cfg], {
      onStderr: (err, kill) => {
        const m = /management API: (http:\/\/127\.0\.0\.1:\d+)\/api\/v5/.exec(err);
        if (!m || !/press Ctrl\+C/.test(err) || asked) return;
        asked = true;
        const url = m[1] as string;
        void (async () => {
          try {
            const vh = { Authorization: basic(v.api_key, v.api_secret) };
            const anon = (await fetch(`${url}/api/v5/rules`)).status;
            const viewerGet = (await fetch(`${url}/api/v5/rules`, { headers: vh })).status;
            const viewerPost = (
              await fetch(`${url}/api/v5/rules`, {
                method: 'POST',
                headers: vh,
                body: '{"sql": "SELECT 1 FROM \\"a/b\\""}',
              })
            ).status;
            // A key created while sluice runs works on the next request …
            const c2 = await sluice([
              'api-key',
              'create',
              '--name',
              'ops',
              '--role',
              'admin',
              '-c',
              cfg,
            ]);
            const a = JSON.parse(c2.stdout) as { api_key: string; api_secret: string };
            const ah = { Authorization: basic(a.api_key, a.api_secret) };
            const adminPost = (
              await fetch(`${url}/api/v5/rules`, {
                method: 'POST',
                headers: ah,
                body: '{"id": "via_key", "sql": "SELECT 1 FROM \\"a/b\\""}',
              })
            ).status;
            // api.max_body_size from sluice.yaml applies.
            const tooLarge = (
              await fetch(`${url}/api/v5/rule_test`, {
                method: 'POST',
                headers: ah,
                body: ' '.repeat(201),
              })
            ).status;
            // … and a deleted one stops working.
            const del = await sluice(['api-key', 'delete', '--name', 'ops', '-c', cfg]);
            const afterDelete = (await fetch(`${url}/api/v5/rules`, { headers: ah })).status;
            seen = {
              anon,
              viewerGet,
              viewerPost,
              adminPost,
              tooLarge,
              deleteCode: del.code ?? -1,
              afterDelete,
            };
          } finally {
            kill();
          }
        })();
      },
    });
    expect(r.stderr).toMatch(/API key required \(1 key\(s\)\)/);
    expect(seen).toEqual({
      anon: 401,
      viewerGet: 200,
      viewerPost: 403,
      adminPost: 201,
      tooLarge: 413,
      deleteCode: 0,
      afterDelete: 401,
    });
    expect(r.code).toBe(0);
    // The audit file (relative to sluice.yaml) has the two POSTs, by key name.
    const audit = readFileSync(path.join(d, 'audit', 'api.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { actor: string; status: number; method: string });
    expect(audit.map((e) => [e.method, e.actor, e.status])).toEqual([
      ['POST', 'dash', 403],
      ['POST', 'ops', 201],
      ['POST', 'ops', 413],
    ]);
  });

  it('run and check refuse an exposed API without credentials, located at api.bind', async () => {
    const d = mkdtempSync(path.join(tmpdir(), 'sluice-api-exposed-'));
    dirs.push(d);
    const cfg = path.join(d, 'sluice.yaml');
    const yaml = (extra: string) =>
      [
        'broker:',
        '  listeners:',
        '    tcp: { type: tcp, bind: 127.0.0.1, port: 0 }',
        'rule_files: []',
        'api:',
        '  bind: 0.0.0.0',
        '  port: 0',
        extra,
      ].join('\n');
    writeFileSync(cfg, yaml(''));
    const run = await sluice(['run', '-c', cfg]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /sluice\.yaml:6:9: error\[api_auth_required\]: api\.bind: 0\.0\.0\.0 is not a loopback address and the API has no credential/,
    );
    expect(run.stderr).toContain('not started');
    // Nothing started: no listener line, no banner.
    expect(run.stderr).not.toMatch(/MQTT tcp|running with/);
    const check = await sluice(['check', '-c', cfg]);
    expect(check.code).toBe(1);
    expect(check.stderr).toMatch(/sluice\.yaml:6:9: error\[api_auth_required\]/);

    // A bootstrap file with a key is a credential: check passes …
    writeFileSync(path.join(d, 'boot.txt'), 'ops:opsecret:administrator\n');
    writeFileSync(cfg, yaml('  bootstrap_file: boot.txt'));
    const ok = await sluice(['check', '-c', cfg]);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    // … and a malformed one is reported at its field with the file's line.
    writeFileSync(path.join(d, 'boot.txt'), 'ops:opsecret:publisher\n');
    const bad = await sluice(['check', '-c', cfg]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(
      /sluice\.yaml:8:\d+: error\[api_bootstrap_file_invalid\]: api\.bootstrap_file: .*boot\.txt:1: unknown role "publisher"/,
    );
  });

  it('api-key without a config or key file is a usage error', async () => {
    const r = await sluice(['api-key', 'list'], {});
    // cwd is the repository root, which has no sluice.yaml.
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(/give -c FILE/);
  });
});
