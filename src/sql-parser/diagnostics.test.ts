/**
 * Rendered diagnostics for typical mistakes (file snapshot, reviewed by hand), plus the shape
 * guarantees every diagnostic gives: stable code, line/column matching the range, a snippet
 * with a caret, expected names that are readable.
 */
import { describe, expect, it } from 'vitest';
import { createDiagnostic, formatDiagnostic, renderSnippet } from './diagnostics.js';
import { SqlParserErrors } from './errors.js';
import { parseRule } from './parse-rule.js';
import { diag } from './test-helpers.js';

const MISTAKES: [string, string][] = [
  ['missing FROM', 'SELECT a, b'],
  ['FROM misspelt', 'SELECT a FORM "t/#"'],
  ['unterminated string', 'SELECT a FROM "t" WHERE b = \'abc'],
  ['unknown token', 'SELECT a FROM "t" WHERE a & 1'],
  ['trailing comma in select list', 'SELECT a, b, FROM "t"'],
  ['== instead of =', 'SELECT a FROM "t" WHERE a == 1'],
  ['unbalanced parenthesis (missing close)', 'SELECT abs(a FROM "t"'],
  ['unbalanced parenthesis (extra close)', 'SELECT a FROM "t" WHERE (a > 1))'],
  ['CASE missing THEN', 'SELECT CASE WHEN a > 1 \'big\' END FROM "t"'],
  ['CASE missing END', 'SELECT CASE WHEN a > 1 THEN \'big\' AS size FROM "t"'],
  ['FROM a b', 'SELECT a FROM t1 t2'],
  ['reserved word as alias', 'SELECT a AS end FROM "t"'],
  ['SELECT if', 'SELECT if FROM "t"'],
  ['empty SQL', '   '],
  ['comment on the last line', 'SELECT a\nFROM "t" -- all topics'],
  ['_x identifier', 'SELECT _x FROM "t"'],
  ['bad number 10e2', 'SELECT 10e2 AS n FROM "t"'],
  ['a = b = c', 'SELECT a FROM "t" WHERE a = b = c'],
  ['AND in a select item', 'SELECT a > 1 AND b > 2 AS both FROM "t"'],
  ['WHERE typo', 'SELECT a FROM "t" WHER a > 1'],
  ['unquoted topic with slash', 'SELECT a FROM sensors/temp'],
  ['multi-line: error on line 3', 'SELECT\n  a,\n  b +\nFROM "t"'],
  ['semicolon', 'SELECT a FROM "t";'],
  ['~= operator', 'SELECT a FROM "t" WHERE a ~= \'x\''],
  ['clause order', 'FOREACH payload.l FROM "t" DO item.a'],
  ['missing comma between select items', 'SELECT a b c FROM "t"'],
  ['count(*)', 'SELECT count(*) FROM "t"'],
  ['ORDER BY', 'SELECT a FROM "t" ORDER BY a'],
];

describe('rendered diagnostics', () => {
  it('match the reviewed snapshot', async () => {
    const rendered = MISTAKES.map(([name, sql]) => {
      const r = parseRule(sql);
      const body =
        r.diagnostics === undefined
          ? 'UNEXPECTEDLY PARSED'
          : r.diagnostics.map((d) => formatDiagnostic(d)).join('\n');
      return `### ${name}\n${sql}\n---\n${body}\n`;
    }).join('\n');
    await expect(rendered).toMatchFileSnapshot('./__snapshots__/diagnostics.txt');
  });

  it.each(MISTAKES)('%s: well-formed diagnostic', (_name, sql) => {
    const d = diag(sql);
    expect(d.code).toMatch(/^sql_[a-z0-9_]+$/);
    expect(d.line).toBe(d.range.start.line);
    expect(d.column).toBe(d.range.start.column);
    expect(d.range.end.offset).toBeGreaterThanOrEqual(d.range.start.offset);
    expect(d.snippet).toContain('^');
    expect(d.message).not.toMatch(/\n/);
    for (const e of d.expected ?? []) expect(e).not.toMatch(/^[A-Z][a-z]+[A-Z]/); // no token-type names
  });

  it('every code a diagnostic can carry is declared with defineErrors', () => {
    const declared = new Set(Object.keys(SqlParserErrors));
    for (const [, sql] of MISTAKES) expect(declared.has(diag(sql).code)).toBe(true);
  });

  it('caret columns point at the offending token', () => {
    const d = diag('SELECT a FROM "t" WHERE a == 1');
    expect(d.line).toBe(1);
    expect(d.column).toBe(27);
    expect(d.range.end.column).toBe(29);
    expect(d.snippet).toBe(
      ' 1 | SELECT a FROM "t" WHERE a == 1\n   |                           ^^',
    );
  });

  it('end-of-input errors point just past the last character', () => {
    const d = diag('SELECT a\n');
    expect(d.range.start).toEqual({ offset: 8, line: 1, column: 9 });
    expect(d.expected).toContain('FROM');
  });

  it('createDiagnostic gives later stages the same shape', () => {
    const sql = 'SELECT nope(1) FROM "t"';
    const r = parseRule(sql);
    if (r.ast === undefined || r.ast.kind !== 'Select') throw new Error('parse');
    const f = r.ast.fields[0];
    if (f?.kind !== 'Field' || f.expr.kind !== 'Call') throw new Error('shape');
    const d = createDiagnostic(
      sql,
      'sql_function_not_supported',
      'unknown function `nope`',
      f.expr.nameRange,
    );
    expect(formatDiagnostic(d, 'rule r1')).toBe(
      'rule r1:1:8: error[sql_function_not_supported]: unknown function `nope`\n' +
        ' 1 | SELECT nope(1) FROM "t"\n' +
        '   |        ^^^^',
    );
    expect(renderSnippet(sql, f.expr.nameRange)).toBe(d.snippet);
  });
});
