/**
 * The `sluice` CLI as a user runs it: a child process (the TypeScript sources through tsx, so
 * no build is needed), real files, real signals. `check` exit codes and CI-style output,
 * `test-rule` outputs and errors, `run` + SIGTERM drains and exits 0.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import mqtt from 'mqtt';
import WebSocket from 'ws';
import { afterAll, describe, expect, it } from 'vitest';

import { checkConfig } from '../../src/engine/index.js';

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
  opts: { cwd?: string; onStderr?: (s: string, kill: () => void) => void } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', ENTRY, '--', ...args],
      {
        cwd: opts.cwd ?? root,
        env: { ...process.env, NODE_OPTIONS: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      opts.onStderr?.(stderr, () => child.kill('SIGTERM'));
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const dirs: string[] = [];
function tempDir(files: Record<string, string>): string {
  const d = mkdtempSync(path.join(tmpdir(), 'sluice-cli-'));
  dirs.push(d);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(d, name)), { recursive: true });
    writeFileSync(path.join(d, name), text);
  }
  return d;
}

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('sluice CLI', () => {
  it('--version and --help', async () => {
    const v = await sluice(['--version']);
    expect(v).toMatchObject({ code: 0, stdout: expect.stringMatching(/^\d+\.\d+\.\d+\n$/) });
    const h = await sluice(['--help']);
    expect(h.code).toBe(0);
    expect(h.stdout).toContain('sluice run');
    expect((await sluice(['frobnicate'])).code).toBe(64);
  });

  it('check: exit 0 on a valid config, 1 with file:line:col errors on invalid ones', async () => {
    const good = tempDir({
      'sluice.yaml': 'sinks:\n  out: { type: console }\n',
      'rules/a.sql': '-- actions: out\nSELECT payload.x AS x FROM "t/#"\n',
    });
    const ok = await sluice(['check', '-c', path.join(good, 'sluice.yaml')]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/ok \(1 rule\(s\), 1 sink\(s\)\)/);

    const bad = tempDir({
      'sluice.yaml':
        'sinks:\n  out: { type: console }\nrules:\n  - id: inline\n    sql: SELECT a FROM "x"\n    actions: [missing]\n',
      'rules/b.sql': '-- actions: out\nSELECT payload.x AS x\nFORM "t/#"\n',
    });
    const r = await sluice(['check', '-c', path.join(bad, 'sluice.yaml')]);
    expect(r.code).toBe(1);
    const heads = r.stderr.split('\n').filter((l) => /error\[/.test(l));
    expect(heads).toEqual([
      expect.stringMatching(/rules\/b\.sql:3:1: error\[sql_syntax_error\]: .*FORM/),
      expect.stringMatching(
        /sluice\.yaml:6:15: error\[rule_unknown_action\]: rules\[0\]\.actions\[0\]: action "missing" is not a configured sink/,
      ),
    ]);
    expect(r.stderr).toContain(' 3 | FORM "t/#"\n   | ^^^^');

    const broken = tempDir({
      'sluice.yaml': 'broker:\n  listeners:\n    t: { type: tcp, port: 70000 }\n',
    });
    const b = await sluice(['check', '-c', path.join(broken, 'sluice.yaml')]);
    expect(b.code).toBe(1);
    expect(b.stderr).toMatch(
      /sluice\.yaml:3:27: error\[config_invalid_field\]: broker\.listeners\.t\.port: must be <= 65535/,
    );
  });

  it('test-rule: prints outputs, explains no result and errors', async () => {
    const ok = await sluice([
      'test-rule',
      '--sql',
      'SELECT payload.temp AS t, clientid FROM "sensors/#" WHERE payload.temp > 30',
      '--context',
      '{"topic": "sensors/a", "clientid": "c1", "payload": {"temp": 31.5}}',
    ]);
    expect(ok).toMatchObject({ code: 0, stdout: '{"t":31.5,"clientid":"c1"}\n' });
    const none = await sluice([
      'test-rule',
      '--sql',
      'SELECT 1 AS x FROM "sensors/#" WHERE payload.temp > 30',
      '--context',
      '{"topic": "sensors/a", "payload": "{\\"temp\\": 3}"}',
    ]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no result/);
    const failed = await sluice([
      'test-rule',
      '--sql',
      'SELECT payload.x FROM "t"',
      '--context',
      '{"payload": "nope"}',
    ]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/error\[decode_json_failed\]/);
    const syntax = await sluice(['test-rule', '--sql', 'SELECT x FORM "t"']);
    expect(syntax.code).toBe(1);
    expect(syntax.stderr).toMatch(/<sql>:1:15: error\[sql_syntax_error\]: expected FROM/);
    const events = await sluice([
      'test-rule',
      '--sql',
      'SELECT clientid, event FROM "$events/client_connected"',
      '--context',
      '{"clientid": "dev9"}',
    ]);
    expect(events).toMatchObject({
      code: 0,
      stdout: '{"clientid":"dev9","event":"client.connected"}\n',
    });
  });

  it('run: serves MQTT, runs rules, and on SIGTERM drains the sinks and exits 0', async () => {
    const d = tempDir({
      'sluice.yaml': [
        'broker:',
        '  listeners:',
        '    tcp: { type: tcp, bind: 127.0.0.1, port: 0 }',
        'sinks:',
        '  out: { type: console, linger: 1s, batch_size: 1000 }',
        'api: { bind: 127.0.0.1, port: 0 }', // never a fixed port in tests
        'log: { level: warn }',
      ].join('\n'),
      'rules/echo.sql': '-- actions: out\nSELECT payload.n AS n FROM "cli/t"\n',
    });
    let published = false;
    const r = await sluice(['run', '-c', path.join(d, 'sluice.yaml')], {
      onStderr: (err, kill) => {
        const m = /mqtt:\/\/127\.0\.0\.1:(\d+)/.exec(err);
        if (!m || published) return;
        published = true;
        void (async () => {
          const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${m[1]}`, { reconnectPeriod: 0 });
          for (let n = 0; n < 5; n++)
            await c.publishAsync('cli/t', JSON.stringify({ n }), { qos: 1 });
          await c.endAsync();
          kill(); // outputs are still lingering in the sink queue (linger 1s): the drain must flush them
        })();
      },
    });
    expect(r.stderr).toMatch(/SIGTERM received, draining/);
    expect(r.stderr).toMatch(/stopped/);
    expect(r.code).toBe(0);
    const lines = r.stdout
      .split('\n')
      .filter((l) => l.startsWith('{"n"') || l.includes('"data"'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(
      lines.map((l) => (l['n'] ?? (l['data'] as Record<string, unknown>)['n']) as number),
    ).toEqual([0, 1, 2, 3, 4]);
  });

  it('run: prints the OCPP listener a charge point connects to', async () => {
    const d = tempDir({
      'sluice.yaml': [
        'broker:',
        '  listeners:',
        '    tcp: { type: tcp, bind: 127.0.0.1, port: 0 }',
        'gateway:',
        '  ocpp:',
        '    enable: true',
        '    listeners:',
        '      default: { type: ws, bind: 127.0.0.1, port: 0 }',
        'api: { bind: 127.0.0.1, port: 0 }',
        'log: { level: warn }',
      ].join('\n'),
    });
    let opened = false;
    let connected = false;
    const r = await sluice(['run', '-c', path.join(d, 'sluice.yaml')], {
      onStderr: (err, kill) => {
        const m =
          /OCPP ws {2}listener default: ws:\/\/127\.0\.0\.1:(\d+)\/ocpp\/<charge point id>/.exec(
            err,
          );
        if (!m || opened) return;
        opened = true;
        // The printed address is the one that accepts a charge point.
        const ws = new WebSocket(`ws://127.0.0.1:${m[1]}/ocpp/CP-CLI`, ['ocpp1.6']);
        ws.once('open', () => {
          connected = true;
          ws.close();
          kill();
        });
        ws.once('error', () => kill());
      },
    });
    expect(connected).toBe(true);
    expect(r.code).toBe(0);
  });

  it('every example config checks clean', () => {
    const examples = path.join(root, 'examples');
    // Every examples/*.yaml and examples/<name>/sluice.yaml.
    const files = readdirSync(examples, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory()
        ? [path.join(examples, e.name, 'sluice.yaml')]
        : e.name.endsWith('.yaml')
          ? [path.join(examples, e.name)]
          : [],
    );
    expect(files.length).toBeGreaterThanOrEqual(3);
    for (const f of files) {
      const r = checkConfig(f, {
        env: { KAFKA_PASSWORD: 'x', HSTREAM_URL: 'hstream://127.0.0.1:6570' },
      });
      expect({ file: f, issues: r.issues }).toEqual({ file: f, issues: [] });
    }
  });
});
