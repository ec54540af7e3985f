/**
 * Source ranges (ast.ts contract): every node has one; offsets are 0-based UTF-16 offsets into
 * the text given to parseRule, lines/columns 1-based, `end` exclusive; children lie inside their
 * parent; CallExpr.nameRange and FromEntry ranges cover exactly the name / the written entry.
 */
import { describe, expect, it } from 'vitest';
import type * as A from './ast.js';
import { parseRule } from './parse-rule.js';

function parse(sql: string): A.Statement {
  const r = parseRule(sql);
  if (r.ast === undefined) throw new Error(r.diagnostics[0]?.message);
  return r.ast;
}

const text = (sql: string, r: A.SourceRange) => sql.slice(r.start.offset, r.end.offset);

/** Independent line/column computation (\r\n, \r and \n are line breaks). */
function lineCol(sql: string, offset: number): { line: number; column: number } {
  const before = sql.slice(0, offset).replace(/\r\n/g, '\n').replace(/\r/g, '\n');
  const lines = before.split('\n');
  const last = lines[lines.length - 1] as string;
  // column counts UTF-16 units of the original text on this line
  return { line: lines.length, column: last.length + 1 };
}

/** Every `{range}` in the tree with its JSON path and its parent's range. */
function ranges(
  v: unknown,
  at = '$',
  parent?: A.SourceRange,
  out: { at: string; range: A.SourceRange; parent?: A.SourceRange }[] = [],
) {
  if (Array.isArray(v)) v.forEach((x, i) => ranges(x, `${at}[${i}]`, parent, out));
  else if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const r = o.range as A.SourceRange | undefined;
    if (r !== undefined) out.push({ at, range: r, ...(parent ? { parent } : {}) });
    for (const [k, x] of Object.entries(o)) {
      if (k !== 'range' && k !== 'nameRange') ranges(x, `${at}.${k}`, r ?? parent, out);
    }
  }
  return out;
}

const SAMPLES = [
  'SELECT payload.temp AS t, clientid FROM "sensors/#" WHERE payload.temp > 30',
  '\r\n  SELECT\r\n    a.b[1].\'c\' AS x.y[-0],\r\n    abs(-1) + 2 * 3\r\n  FROM t, "u/+"\r\n  WHERE NOT x IN (1, 2) OR y NOT IN (3)',
  "FOREACH payload.l AS s\n DO s.id, CASE s.k WHEN 1 THEN 'a' ELSE 'b' END AS k\n INCASE s.v > 1\n FROM 't'\n WHERE [1, 2] = [1..2]",
  "SELECT 'héllo→', \"ünï\".x, mod(7, 2) FROM t WHERE a =~ '日本'",
];

describe('source ranges', () => {
  it.each(SAMPLES)('every node has a consistent range: %s', (sql) => {
    const all = ranges(parse(sql));
    expect(all.length).toBeGreaterThan(5);
    for (const { at, range, parent } of all) {
      expect(range.start.offset, at).toBeLessThanOrEqual(range.end.offset);
      expect({ line: range.start.line, column: range.start.column }, at).toEqual(
        lineCol(sql, range.start.offset),
      );
      expect({ line: range.end.line, column: range.end.column }, at).toEqual(
        lineCol(sql, range.end.offset),
      );
      if (parent !== undefined) {
        expect(range.start.offset, at).toBeGreaterThanOrEqual(parent.start.offset);
        expect(range.end.offset, at).toBeLessThanOrEqual(parent.end.offset);
      }
      // ranges never start or end inside whitespace
      const t = text(sql, range);
      expect(t, at).toBe(t.trim());
    }
  });

  it('node ranges cover the written text', () => {
    const sql =
      '  SELECT payload.a[1] AS x.y, abs(-1) + 2 z, * FROM "t/#", \'u\', v WHERE NOT (a OR b)';
    const s = parse(sql);
    if (s.kind !== 'Select') throw new Error('kind');
    expect(text(sql, s.range)).toBe(sql.trim());
    const [f0, f1, f2] = s.fields as [A.FieldItem, A.FieldItem, A.WildcardItem];
    expect(text(sql, f0.range)).toBe('payload.a[1] AS x.y');
    expect(text(sql, f0.expr.range)).toBe('payload.a[1]');
    expect(text(sql, (f0.alias as A.AliasTarget).range)).toBe('x.y');
    const p = f0.expr as A.PathExpr;
    expect(p.segments.map((g) => text(sql, g.range))).toEqual(['.a', '[1]']);
    expect(text(sql, f1.range)).toBe('abs(-1) + 2 z');
    const sum = f1.expr as A.ArithmeticExpr;
    expect(text(sql, sum.range)).toBe('abs(-1) + 2');
    const c = sum.left as A.CallExpr;
    expect(text(sql, c.range)).toBe('abs(-1)');
    expect(text(sql, c.nameRange)).toBe('abs');
    expect(text(sql, (c.args[0] as A.Expr).range)).toBe('-1');
    expect(text(sql, f2.range)).toBe('*');
    expect(s.from.map((e) => text(sql, e.range))).toEqual(['"t/#"', "'u'", 'v']);
    expect(text(sql, (s.where as A.Expr).range)).toBe('NOT (a OR b)');
  });

  it('FromEntry ranges locate entries on later lines', () => {
    const sql = 'SELECT a\nFROM\n  "t/1",\n  \'$events/nope\'';
    const s = parse(sql);
    const e = s.from[1] as A.FromEntry;
    expect(e.range.start).toEqual({ offset: 25, line: 4, column: 3 });
    expect(e.range.end).toEqual({ offset: 39, line: 4, column: 17 });
    expect(text(sql, e.range)).toBe("'$events/nope'");
  });

  it('Module.fn nameRange covers the qualified name', () => {
    const sql = 'SELECT emqx_rule_funcs.f(1) FROM t';
    const s = parse(sql) as A.SelectStatement;
    const c = (s.fields[0] as A.FieldItem).expr as A.CallExpr;
    expect(text(sql, c.nameRange)).toBe('emqx_rule_funcs.f');
    expect(text(sql, c.range)).toBe('emqx_rule_funcs.f(1)');
  });

  it('div/mod call forms: nameRange is the operator word', () => {
    const sql = 'SELECT div(7, 2) FROM t';
    const c = ((parse(sql) as A.SelectStatement).fields[0] as A.FieldItem).expr as A.CallExpr;
    expect(text(sql, c.nameRange)).toBe('div');
  });

  it('IN, CASE, list and multi-line string ranges', () => {
    const sql = "SELECT CASE WHEN x IN (1, 2) THEN [a, 'b\nc'] END FROM t";
    const k = ((parse(sql) as A.SelectStatement).fields[0] as A.FieldItem).expr as A.CaseExpr;
    expect(text(sql, k.range)).toBe("CASE WHEN x IN (1, 2) THEN [a, 'b\nc'] END");
    const br = k.branches[0] as { when: A.Expr; then: A.ListExpr };
    expect(text(sql, br.when.range)).toBe('x IN (1, 2)');
    expect(text(sql, br.then.range)).toBe("[a, 'b\nc']");
    const str = br.then.elements[1] as A.Expr;
    expect(str.range.start.line).toBe(1);
    expect(str.range.end).toEqual({ offset: 43, line: 2, column: 3 });
  });
});
