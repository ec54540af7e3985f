/**
 * Round trip: parse → print → parse yields the same AST (modulo ranges), and printing is a fixed
 * point after one step. Also a property test over generated expressions (§6.1 precedence).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type * as A from './ast.js';
import { parseRule } from './parse-rule.js';
import { printExpr, printRule } from './printer.js';
import { stripRanges } from './test-helpers.js';

export const ROUND_TRIP: readonly string[] = [
  'SELECT * FROM "t/#"',
  'SELECT payload.temp AS t, clientid FROM "sensors/#" WHERE payload.temp > 30',
  "SELECT a, 'x', \"topic\", payload.'User-Property' FROM 't', u, \"$events/client_connected\"",
  'SELECT 0x1F, 1e5 FROM t',
  'SELECT 1 AS a.b, 2 AS l[2], 3 l[-1], 4 AS l[0], 5 AS l[-0], 0 AS m.a[2].b FROM t',
  'SELECT 1 AS "select", 2 AS "a b".c, 3 AS x."from", 4 AS "true" FROM t',
  "SELECT 1 AS x.'1.5', 2 AS y.1, 3 z.'it\"s' FROM t",
  'SELECT x[i], a[b[1].c], a[2][3].b, a[-1], a[0], a[1..-1], p.x[2..3] FROM t',
  "SELECT a.1.'5', a.\"b c\", a.'d', a.true.div.mod.false FROM t",
  'SELECT a.1 .5 AS x.1 .2, b.2 .3[1] FROM t',
  'SELECT "it\'s".x, "a""b" FROM t',
  'SELECT DIV(7, 2), div(7, 2), mod(3, 2), 7 div 2, 7 mod 2, Mod.fn(1) FROM t',
  'SELECT TRUE, true, false, null, FALSE FROM t',
  'SELECT -a * b, - -1, a - -1, +a, -(a + b), - +a FROM t',
  'SELECT 1.5e3, 1.5f, 1.5E+3D, 10.25, 1.0, 007, 123456789012345678901234567890 FROM t',
  "SELECT 'it''s', '', 'a\\nb', 'multi\nline', '--', '\"' FROM t",
  'SELECT [] AS e, [1..4] AS r, [-1..-3], [1, [2, [3]], a + 1, f(b)] FROM t',
  'SELECT CASE WHEN a = 1 THEN 2 WHEN b THEN 3 ELSE 4 END AS c FROM t',
  'SELECT CASE x WHEN 1 THEN a WHEN 2 THEN b END FROM t',
  'SELECT CASE WHEN a AND NOT b OR c IN (1, 2) THEN 1 END FROM t',
  'SELECT CASE CASE a WHEN 1 THEN 2 END WHEN 2 THEN 3 END FROM t',
  'SELECT f(CASE WHEN a THEN 1 END, g(h(1)), x = 1) FROM t',
  'SELECT a = b AS c, x >= 2 big, a + 1 < b * 2 FROM t',
  'SELECT a FROM t WHERE a OR b AND c',
  'SELECT a FROM t WHERE (a OR b) AND c',
  'SELECT a FROM t WHERE a OR (b OR c)',
  'SELECT a FROM t WHERE a AND (b AND c)',
  'SELECT a FROM t WHERE NOT (a AND b)',
  'SELECT a FROM t WHERE NOT (a OR b)',
  'SELECT a FROM t WHERE NOT a AND b',
  'SELECT a FROM t WHERE NOT NOT a',
  'SELECT a FROM t WHERE NOT x IN (1, 2)',
  "SELECT a FROM t WHERE x NOT IN ('a') AND y IN (1)",
  'SELECT a FROM t WHERE (a = 1) = true',
  'SELECT a FROM t WHERE a = (b = c)',
  'SELECT a FROM t WHERE (x IN (1)) = false',
  'SELECT a FROM t WHERE (NOT a) = b',
  'SELECT a FROM t WHERE a - (b - c) = (a - b) - c',
  'SELECT a FROM t WHERE a / (b * c) > a / b * c',
  'SELECT a FROM t WHERE a div (b mod c) <= (a div b) mod c',
  "SELECT a FROM t WHERE a =~ '^x' AND b <> 1 AND c != 2 AND d <= 3 AND e >= 4 AND f < 5 AND g > 6",
  'SELECT a FROM t WHERE f(x) AND true',
  'SELECT a FROM t WHERE (CASE WHEN a THEN true ELSE false END)',
  'SELECT a FROM t WHERE x IN (a AND b, c)',
  'FOREACH payload FROM t',
  'FOREACH payload.sensors AS s DO s.id, s[1] AS x INCASE s.v > 1 AND NOT (a OR b) FROM "t"',
  'FOREACH json_decode(payload) AS p, p.sensors AS s, s.list AS x DO x.a FROM "t/#" WHERE clientid = \'c\'',
  'FOREACH a INCASE a <> 1 FROM t',
  'FOREACH a DO a FROM t',
  'FOREACH a, * DO * FROM t',
  'select a from t where a and b',
  '  \r\n SELECT a -- c\nFROM t -- d\nWHERE a \n\n',
];

function roundTrip(sql: string): { first: A.Statement; printed: string; second: A.Statement } {
  const r1 = parseRule(sql);
  if (r1.ast === undefined)
    throw new Error(`does not parse: ${sql}: ${r1.diagnostics[0]?.message}`);
  const printed = printRule(r1.ast);
  const r2 = parseRule(printed);
  if (r2.ast === undefined) {
    throw new Error(`printed SQL does not parse: ${printed}: ${r2.diagnostics[0]?.message}`);
  }
  return { first: r1.ast, printed, second: r2.ast };
}

describe('printer round trip', () => {
  it.each(ROUND_TRIP)('%s', (sql) => {
    const { first, printed, second } = roundTrip(sql);
    expect(stripRanges(second)).toEqual(stripRanges(first));
    expect(printRule(second)).toBe(printed);
  });

  it('quotes a bare FROM topic of a hand-built AST when it is not a name', () => {
    const r = parseRule('SELECT a FROM t');
    if (r.ast === undefined) throw new Error('parse');
    const edited = { ...r.ast, from: [{ ...r.ast.from[0]!, topic: 'a/b' }] };
    expect(printRule(edited)).toBe('SELECT a FROM "a/b"');
  });

  it('prints canonical text', () => {
    expect(roundTrip('select  a as b,c  from "t"  where a=1 and not(b or c)').printed).toBe(
      'SELECT a AS b, c FROM "t" WHERE a = 1 AND NOT (b OR c)',
    );
    expect(roundTrip('SELECT (((a))) + (b * c) FROM t').printed).toBe('SELECT a + b * c FROM t');
    expect(roundTrip('SELECT - - 1 FROM t').printed).toBe('SELECT - -1 FROM t');
  });
});

// --- property: random expressions survive print → parse -----------------------------------------

const name = fc.constantFrom('a', 'b', 'c', 'x1', 'payload', 'TRUE', 'null', 'Div');
const leaf: fc.Arbitrary<A.Expr> = fc.oneof(
  fc.nat(1000).map((n) => ({ kind: 'Integer', raw: String(n) }) as unknown as A.Expr),
  fc
    .constantFrom('1.5', '0.25', '2.0e3')
    .map((raw) => ({ kind: 'Float', raw, value: Number(raw) }) as unknown as A.Expr),
  fc
    .stringMatching(/^[a-z -]{0,6}$/)
    .map((value) => ({ kind: 'String', value }) as unknown as A.Expr),
  fc.boolean().map((value) => ({ kind: 'Boolean', value }) as unknown as A.Expr),
  name.map(
    (root) => ({ kind: 'Path', root, quotedRoot: false, segments: [] }) as unknown as A.Expr,
  ),
);

const { expr } = fc.letrec<{ expr: A.Expr; value: A.Expr; cond: A.Expr }>((tie) => ({
  // value-level expressions (what may appear in arithmetic / comparisons)
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc
      .tuple(fc.constantFrom('+', '-', '*', '/', 'div', 'mod'), tie('value'), tie('value'))
      .map(([op, left, right]) => ({ kind: 'Arithmetic', op, left, right }) as unknown as A.Expr),
    fc
      .tuple(fc.constantFrom('+', '-'), tie('value'))
      .map(([op, operand]) => ({ kind: 'Unary', op, operand }) as unknown as A.Expr),
    fc
      .tuple(name, fc.array(tie('value'), { maxLength: 3 }))
      .map(([n, args]) => ({ kind: 'Call', name: n, args }) as unknown as A.Expr),
    fc
      .array(tie('value'), { maxLength: 3 })
      .map((elements) => ({ kind: 'List', elements }) as unknown as A.Expr),
    fc.tuple(tie('cond'), tie('value'), fc.option(tie('value'), { nil: undefined })).map(
      ([when, then, els]) =>
        ({
          kind: 'Case',
          branches: [{ when, then }],
          ...(els === undefined ? {} : { else: els }),
        }) as unknown as A.Expr,
    ),
  ),
  cond: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    tie('value'),
    fc
      .tuple(
        fc.constantFrom('=', '!=', '<>', '<', '>', '<=', '>=', '=~'),
        tie('value'),
        tie('value'),
      )
      .map(([op, left, right]) => ({ kind: 'Compare', op, left, right }) as unknown as A.Expr),
    fc
      .tuple(fc.constantFrom('and', 'or'), tie('cond'), tie('cond'))
      .map(([op, left, right]) => ({ kind: 'Logical', op, left, right }) as unknown as A.Expr),
    tie('cond').map((operand) => ({ kind: 'Not', operand }) as unknown as A.Expr),
    fc
      .tuple(tie('value'), fc.array(tie('value'), { minLength: 1, maxLength: 3 }), fc.boolean())
      .map(
        ([operand, l, negated]) => ({ kind: 'In', operand, list: l, negated }) as unknown as A.Expr,
      ),
  ),
  expr: tie('cond'),
}));

describe('printer property (§6.1)', () => {
  it('any generated condition prints to SQL that parses back to the same AST', () => {
    fc.assert(
      fc.property(expr, (e) => {
        const sql = `SELECT 1 FROM t WHERE ${printExpr(e)}`;
        const r = parseRule(sql);
        if (r.ast === undefined) throw new Error(`${sql}: ${r.diagnostics[0]?.message}`);
        expect(stripRanges(r.ast.where)).toEqual(stripRanges(e));
      }),
      { numRuns: 300 },
    );
  });
});
