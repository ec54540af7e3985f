/**
 * Isolation (issue #19): rule SQL over `rule_limits.max_sql_bytes` / `max_sql_tokens` is refused
 * before it is parsed, by POST /api/v5/rule_test and POST /api/v5/rules alike, with a 400 and a
 * located `sql_too_large` diagnostic; the configured limits (not only the defaults) apply.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiServer } from '../../src/api/index.js';
import type { ApiServer } from '../../src/api/index.js';
import { silentLogger } from '../../src/core/index.js';
import { createEngine } from '../../src/engine/index.js';
import type { Engine } from '../../src/engine/index.js';

interface Res {
  code?: string;
  c?: number;
  diagnostics: { code: string; message: string; line: number; column: number }[];
}

let engine: Engine;
let api: ApiServer;
let base = '';

async function post(p: string, body: unknown): Promise<{ status: number; json: Res }> {
  const r = await fetch(`${base}${p}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, json: text === '' ? undefined : JSON.parse(text) };
}

beforeAll(async () => {
  engine = createEngine(
    {
      broker: { listeners: { tcp: { type: 'tcp', bind: '127.0.0.1', port: 0 } } },
      sinks: { mem: { type: 'memory', linger: 0 } },
      rule_limits: { max_sql_tokens: 40, max_sql_bytes: 400 },
      rules: [],
    },
    { logger: silentLogger },
  );
  await engine.start();
  api = createApiServer({ engine, logger: silentLogger }, { bind: '127.0.0.1', port: 0 });
  base = (await api.start()).url;
});
afterAll(async () => {
  await api?.stop();
  await engine?.stop({ drainMs: 100 });
});

const caseRule = (n: number): string =>
  `SELECT CASE ${Array.from({ length: n }, (_, i) => `WHEN payload.v = ${i} THEN ${i}`).join(' ')} ELSE 0 END AS c FROM "t"`;

describe('rule SQL size limits over the API', () => {
  it('within the limits: rule_test answers and the rule is created', async () => {
    const sql = caseRule(3); // 3 × 8 + 9 = 33 tokens
    const t = await post('/api/v5/rule_test', { sql, context: { topic: 't', payload: '{"v":2}' } });
    expect(t.status).toBe(200);
    expect(t.json).toEqual({ c: 2 });
    const c = await post('/api/v5/rules', { id: 'small', sql, actions: ['mem'] });
    expect(c.status).toBe(201);
  });

  it('over max_sql_tokens: 400 with sql_too_large at the first token over, and no rule', async () => {
    const sql = caseRule(6); // 6 × 8 + 9 = 57 tokens
    for (const [p, body] of [
      ['/api/v5/rule_test', { sql, context: { topic: 't' } }],
      ['/api/v5/rules', { id: 'big', sql, actions: ['mem'] }],
    ] as const) {
      const r = await post(p, body);
      expect(r.status).toBe(400);
      expect(r.json.code).toBe('rule_sql_invalid');
      const d = r.json.diagnostics[0]!;
      expect(d.code).toBe('sql_too_large');
      expect(d.message).toMatch(
        /has 57 tokens, over the limit of 40 \(rule_limits\.max_sql_tokens\)/,
      );
      expect(d.line).toBe(1);
      // Token 41 is the 5th branch's THEN (SELECT CASE + 4 × 8 = 34, then WHEN payload . v = 4).
      const at = sql.indexOf('THEN 4');
      expect(d.column).toBe(at + 1);
    }
    expect(engine.rules().map((r) => r.id)).toEqual(['small']);
  });

  it('over max_sql_bytes: 400 naming the byte limit', async () => {
    const sql = `SELECT '${'x'.repeat(500)}' AS s FROM "t"`;
    const r = await post('/api/v5/rule_test', { sql, context: { topic: 't' } });
    expect(r.status).toBe(400);
    expect(r.json.diagnostics[0]).toMatchObject({ code: 'sql_too_large', column: 401 });
    expect(r.json.diagnostics[0]!.message).toMatch(
      /over the limit of 400 \(rule_limits\.max_sql_bytes\)/,
    );
  });
});
