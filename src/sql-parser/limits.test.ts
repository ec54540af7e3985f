import { describe, expect, it } from 'vitest';
import { DEFAULT_PARSE_LIMITS, parseRule } from './index.js';

const caseRule = (n: number): string =>
  `SELECT CASE ${Array.from({ length: n }, (_, i) => `WHEN payload.v = ${i} THEN 'b${i}'`).join(' ')} ELSE 'none' END AS c FROM "t"`;

describe('SQL size limits (issue #19)', () => {
  it('a rule over max_sql_bytes is refused before lexing, pointing at the first byte over', () => {
    const sql = `SELECT 'é${'x'.repeat(20)}' AS s FROM "t"`; // é is 2 bytes
    const r = parseRule(sql, { maxBytes: 12 });
    expect(r.diagnostics).toHaveLength(1);
    const d = r.diagnostics![0]!;
    expect(d.code).toBe('sql_too_large');
    expect(d.message).toContain(`is ${Buffer.byteLength(sql)} bytes, over the limit of 12`);
    // Bytes 1–12 are `SELECT 'é` (10) plus `xx`: byte 13 is the third x, UTF-16 offset 11.
    expect(d.range.start.offset).toBe(11);
    expect(d.column).toBe(12);
    expect(parseRule(sql, { maxBytes: Buffer.byteLength(sql) }).ast).toBeDefined();
    expect(parseRule(sql, { maxBytes: 0 }).ast).toBeDefined(); // 0 disables
    // Raw bytes are checked before decoding.
    expect(parseRule(Buffer.from(sql), { maxBytes: 12 }).diagnostics?.[0]?.code).toBe(
      'sql_too_large',
    );
  });

  it('a rule over max_sql_tokens is refused after lexing, at the first token over', () => {
    const sql = 'SELECT a, b, c FROM "t"'; // 8 tokens
    const r = parseRule(sql, { maxTokens: 5 });
    const d = r.diagnostics![0]!;
    expect(d.code).toBe('sql_too_large');
    expect(d.message).toMatch(/has 8 tokens, over the limit of 5 .*max_sql_tokens/);
    expect(sql.slice(d.range.start.offset, d.range.end.offset)).toBe('c'); // token 6
    expect(parseRule(sql, { maxTokens: 8 }).ast).toBeDefined();
  });

  it('the defaults refuse the abuse suite’s 5,000-branch CASE and accept a 480-branch one', () => {
    const big = caseRule(5000);
    expect(Buffer.byteLength(big)).toBeGreaterThan(DEFAULT_PARSE_LIMITS.maxBytes);
    const d = parseRule(big).diagnostics![0]!;
    expect(d.code).toBe('sql_too_large');
    expect(d.message).toContain('max_sql_bytes');
    // The snippet of a one-line 169 KB rule is a window around the caret, not the whole line.
    expect(d.snippet.length).toBeLessThan(400);
    expect(d.snippet).toMatch(/…\n.*\^/);
    const tokens = caseRule(1000); // 33 KB passes the byte limit: tokens stop it
    expect(parseRule(tokens).diagnostics?.[0]?.message).toContain('max_sql_tokens');
    expect(parseRule(caseRule(480)).ast).toBeDefined();
    expect(parseRule(caseRule(1000), { maxTokens: 10_000 }).ast).toBeDefined();
  });
});
