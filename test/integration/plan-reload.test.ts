/**
 * `sluice plan` predicts the reload: a running engine (rules from files, one rule disabled
 * over the API) is planned against through GET /api/v5/config/running, then reloaded; the
 * plan's rule ids (added, updated, removed, kept), restart-required sections and issue codes
 * equal the reload report's. `--from` the original file plans from the file's state instead
 * (it does not see the API change), and the endpoint is administrators-only.
 */
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createApiServer } from '../../src/api/index.js';
import type { ApiServer } from '../../src/api/index.js';
import { planCommand } from '../../src/cli/plan-command.js';
import type { PlanJson } from '../../src/cli/plan-command.js';
import { silentLogger } from '../../src/core/index.js';
import { createEngine } from '../../src/engine/index.js';
import type { Engine } from '../../src/engine/index.js';

const YAML_A = `
broker:
  listeners:
    tcp: { type: tcp, bind: 127.0.0.1, port: 0 }
sinks:
  out: { type: memory, linger: 0 }
  two: { type: memory, linger: 0 }
rule_files: [rules/*.sql]
reload: { enabled: false }
`;

const rule = (id: string, sql: string, actions = 'out'): string =>
  `-- id: ${id}\n-- actions: ${actions}\n${sql}\n`;

describe('sluice plan predicts what the reload does', () => {
  let dir = '';
  let file = '';
  let old = '';
  let engine: Engine;
  let api: ApiServer;
  let url = '';
  const token = 'plan-test-token-0123456789abcdef';
  const w = (rel: string, text: string): void => writeFileSync(path.join(dir, rel), text);

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sluice-plan-'));
    mkdirSync(path.join(dir, 'rules'));
    file = path.join(dir, 'sluice.yaml');
    w('sluice.yaml', YAML_A);
    w('rules/a.sql', rule('a', 'SELECT * FROM "a/#"'));
    w('rules/b.sql', rule('b', 'SELECT * FROM "b/#"'));
    w('rules/c.sql', rule('c', 'SELECT * FROM "c/#"'));
    w('rules/g.sql', rule('g', 'SELECT * FROM "g/#"', 'two'));
    // A copy of the starting point for --from.
    old = path.join(dir, 'old.yaml');
    writeFileSync(old, YAML_A.replace('rules/*.sql', 'old-rules/*.sql'));
    mkdirSync(path.join(dir, 'old-rules'));
    for (const id of ['a', 'b', 'c']) w(`old-rules/${id}.sql`, rule(id, `SELECT * FROM "${id}/#"`));
    w('old-rules/g.sql', rule('g', 'SELECT * FROM "g/#"', 'two'));
    w('viewers.txt', 'viewer-key:viewer-secret-0123456789:viewer\n');

    engine = createEngine(file, { logger: silentLogger, watch: false });
    await engine.start();
    api = createApiServer(
      { engine, logger: silentLogger },
      { bind: '127.0.0.1', port: 0, token, bootstrapFile: path.join(dir, 'viewers.txt') },
    );
    url = (await api.start()).url;
    // Changed at run time, not in any file: only --against can see it.
    engine.disableRule('g');

    // The new configuration: a's SQL changes, b goes, c's new version is broken, d is new,
    // e names a sink that exists only after a restart, sink `out` gets a new batch size and
    // sink `three` is added.
    w(
      'sluice.yaml',
      YAML_A.replace(
        '  out: { type: memory, linger: 0 }',
        '  out: { type: memory, linger: 0, batch_size: 7 }\n  three: { type: memory }',
      ),
    );
    w('rules/a.sql', rule('a', 'SELECT clientid\nFROM "a/#"\nWHERE qos > 0'));
    unlinkSync(path.join(dir, 'rules/b.sql'));
    w('rules/c.sql', rule('c', 'SELECT * FORM "c/#"'));
    w('rules/d.sql', rule('d', 'SELECT * FROM "d/#"'));
    w('rules/e.sql', rule('e', 'SELECT * FROM "e/#"', 'three'));
  });

  afterAll(async () => {
    await api?.stop();
    await engine?.stop({ drainMs: 100 });
    rmSync(dir, { recursive: true, force: true });
  });

  it('the endpoint needs an administrator (a viewer key gets 403)', async () => {
    const viewer = Buffer.from('viewer-key:viewer-secret-0123456789').toString('base64');
    const v = await fetch(`${url}/api/v5/config/running`, {
      headers: { authorization: `Basic ${viewer}` },
    });
    expect(v.status).toBe(403);
    const anon = await fetch(`${url}/api/v5/config/running`);
    expect(anon.status).toBe(401);
    const ok = await fetch(`${url}/api/v5/config/running`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(ok.status).toBe(200);
    const body = (await ok.json()) as { sinks: Record<string, { digest: string }> };
    // Digests only: no sink setting's value appears in the answer (`linger: 0` in the file).
    expect(JSON.stringify(body)).not.toContain('"linger":0');
    expect(body.sinks['out']?.digest).toMatch(/^[0-9a-f]{64}$/);
  });

  it('--against the running instance, then reload: the same changes', async () => {
    const r = await planCommand(
      { config: file, against: url, json: true },
      { SLUICE_API_TOKEN: token },
    );
    expect(r.stderr).toEqual([]);
    const plan = JSON.parse(r.stdout.join('')) as PlanJson;
    // Issues (c broken, e needs a restart) make it exit 1.
    expect(r.exitCode).toBe(1);

    const report = engine.reload();
    expect(plan.rules.added.map((x) => x.id)).toEqual(report.added);
    expect(plan.rules.updated.map((x) => x.id)).toEqual(report.updated);
    expect(plan.rules.removed).toEqual(report.removed);
    expect(plan.rules.kept).toEqual(report.kept);
    expect(plan.restartRequired).toEqual(report.restartRequired);
    expect(plan.issues.map((i) => [i.code, i.rule])).toEqual(
      report.issues.map((i) => [i.code, i.rule]),
    );

    // And what that is, concretely.
    expect(report.added).toEqual(['d']);
    expect([...report.updated].sort()).toEqual(['a', 'g']);
    expect(report.removed).toEqual(['b']);
    expect(report.kept).toEqual(['c']);
    expect(report.restartRequired).toEqual(['sinks']);
    const a = plan.rules.updated.find((x) => x.id === 'a');
    expect(a?.changed).toEqual(['sql']);
    expect(a?.diff).toEqual([
      '- SELECT * FROM "a/#"',
      '+ SELECT clientid',
      '+ FROM "a/#"',
      '+ WHERE qos > 0',
    ]);
    expect(plan.rules.updated.find((x) => x.id === 'g')?.changed).toEqual(['enabled']);
    expect(plan.sinks).toEqual([
      { name: 'out', change: 'changed', type: 'memory', fields: ['batch_size'] },
      { name: 'three', change: 'added', type: 'memory' },
    ]);
  });

  it('after the reload, planning again shows only what still needs a restart', async () => {
    const r = await planCommand(
      { config: file, against: url, json: true },
      { SLUICE_API_TOKEN: token },
    );
    const plan = JSON.parse(r.stdout.join('')) as PlanJson;
    expect(plan.rules.added).toEqual([]);
    expect(plan.rules.updated).toEqual([]);
    expect(plan.rules.removed).toEqual([]);
    expect(plan.rules.kept).toEqual(['c']);
    expect(plan.restartRequired).toEqual(['sinks']);
  });

  it('--from the old file: the file state (g was never disabled there), readable text', async () => {
    const r = await planCommand({ config: file, from: old }, {});
    expect(r.exitCode).toBe(1);
    const text = r.stdout.join('\n');
    expect(text).toContain('  + d (actions: out)');
    expect(text).toContain('  ~ a: sql changed');
    expect(text).toContain('      + WHERE qos > 0');
    expect(text).toContain('  - b');
    expect(text).toContain('  = c: the new version is broken; the running version is kept');
    expect(text).not.toContain('~ g');
    expect(text).toContain('  ~ out (memory): batch_size changed');
    expect(text).toContain('  + three (memory)');
    expect(text).toContain('restart required for: sinks');
    expect(text).toMatch(/error\[rule_unknown_action\].*three/);
  });

  it('no changes: exit 0; unreachable API: exit 1', async () => {
    const same = await planCommand({ config: old, from: old }, {});
    expect(same.stdout.at(-1)).toBe('plan: no changes');
    expect(same.exitCode).toBe(0);
    const down = await planCommand({ config: file, against: 'http://127.0.0.1:9' }, {});
    expect(down.exitCode).toBe(1);
    expect(down.stderr.join('\n')).toContain('cannot reach');
  });
});
