/**
 * Hot reload parses long rule SQL on the parse worker (decision 0022): a rule file edit adding
 * a 5,000-branch CASE (limits off) does not hold the event loop for the parse, and what the
 * reload reports and keeps running is what the synchronous reload (`engine.reload()`) gives.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { silentLogger } from '../../src/core/index.js';
import { createEngine } from '../../src/engine/index.js';
import type { Engine, ReloadReport } from '../../src/engine/index.js';
import { compileRule } from '../../src/runtime/index.js';

const caseRule = (n: number, tail = ''): string =>
  `SELECT CASE ${Array.from({ length: n }, (_, i) => `WHEN payload.v = ${i} THEN 'b${i}'`).join(' ')} ELSE 'none' END AS c FROM "abuse/case"${tail}`;

let dir = '';
let file = '';
let engine: Engine;

function yaml(extra = ''): string {
  return `
broker:
  listeners:
    tcp: { type: tcp, bind: 127.0.0.1, port: 0 }
sinks:
  mem: { type: memory, linger: 0 }
rule_limits: { max_sql_bytes: 0, max_sql_tokens: 0 }
rules:
  - id: small
    sql: SELECT payload FROM "t/#"
    actions: [mem]
${extra}
reload: { debounce: 50ms }
`;
}
const bigRule = (sql: string) => `  - id: big\n    sql: ${JSON.stringify(sql)}\n    actions: [mem]`;

function nextReload(until: (r: ReloadReport) => boolean, ms = 60_000): Promise<ReloadReport> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no matching reload')), ms);
    const off = engine.onReload((r) => {
      if (!until(r)) return;
      clearTimeout(t);
      off();
      resolve(r);
    });
  });
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'sluice-reload-off-thread-'));
  file = path.join(dir, 'sluice.yaml');
  writeFileSync(file, yaml());
  engine = createEngine(file, { logger: silentLogger });
  await engine.start();
});
afterAll(async () => {
  await engine?.stop({ drainMs: 100 });
  rmSync(dir, { recursive: true, force: true });
});

describe('hot reload of long rule SQL (issue #19, decision 0022)', () => {
  it('adds a 5,000-branch CASE rule without holding the event loop for its parse', async () => {
    const sql = caseRule(5000);
    // What the synchronous path costs in this process (one turn: parse + plan + closures).
    const s0 = performance.now();
    compileRule(sql, { limits: { maxBytes: 0, maxTokens: 0 } });
    const syncMs = performance.now() - s0;

    const lag = monitorEventLoopDelay({ resolution: 5 });
    lag.enable();
    const reloaded = nextReload((r) => r.added.includes('big'));
    writeFileSync(file, yaml(bigRule(sql)));
    const report = await reloaded;
    await new Promise((r) => setTimeout(r, 20)); // the histogram records the last turn late
    lag.disable();
    expect(report).toMatchObject({ ok: true, added: ['big'], issues: [] });
    expect(engine.rules().find((r) => r.id === 'big')?.sql).toBe(sql);
    // Only the plan, the closures and rebuilding the AST are left on the loop.
    expect(lag.max / 1e6).toBeLessThan(syncMs * 0.6);
  });

  it('a broken long rule keeps the running version and reports what the synchronous reload does', async () => {
    const bad = caseRule(300, ' WHERE');
    const reloaded = nextReload((r) => r.issues.length > 0);
    writeFileSync(file, yaml(bigRule(bad)));
    const report = await reloaded;
    expect(report.ok).toBe(true);
    expect(report.issues).toEqual([
      expect.objectContaining({
        code: 'sql_syntax_error',
        rule: 'big',
        path: 'rules[1].sql',
        line: 13,
      }),
    ]);
    expect(engine.rules().find((r) => r.id === 'big')?.sql).toBe(caseRule(5000));
    // The same file through the synchronous reload: the same issues (line, column, caret).
    expect(engine.reload().issues).toEqual(report.issues);
  });
});
