/**
 * Test-only helpers: range-free AST constructors and `stripRanges`, so parser tables can state
 * the expected AST compactly and round-trip tests can compare ASTs "modulo ranges".
 * Not exported from index.ts.
 */
import { parseRule } from './parse-rule.js';
import type * as A from './ast.js';
import type { Diagnostic } from './diagnostics.js';

/** Deep copy without `range` / `nameRange` keys. */
export function stripRanges<T>(v: T): T {
  return JSON.parse(
    JSON.stringify(v, (k, val: unknown) => (k === 'range' || k === 'nameRange' ? undefined : val)),
  ) as T;
}

/** Parse and return the range-free AST; fails the test with the diagnostics otherwise. */
export function ast(sql: string): unknown {
  const r = parseRule(sql);
  if (r.ast === undefined) {
    throw new Error(`expected ${JSON.stringify(sql)} to parse: ${JSON.stringify(r.diagnostics)}`);
  }
  return stripRanges(r.ast);
}

/** Parse and return the single diagnostic; fails the test if the SQL parses. */
export function diag(sql: string): Diagnostic {
  const r = parseRule(sql);
  if (r.diagnostics === undefined) throw new Error(`expected ${JSON.stringify(sql)} to fail`);
  return r.diagnostics[0] as Diagnostic;
}

/** The range-free select expression of `SELECT <expr> FROM t`. */
export function selectExpr(expr: string): unknown {
  const s = ast(`SELECT ${expr} FROM t`) as { fields: { expr: unknown }[] };
  return s.fields[0]?.expr;
}

/** The range-free WHERE expression of `SELECT 1 FROM t WHERE <cond>`. */
export function whereExpr(cond: string): unknown {
  return (ast(`SELECT 1 FROM t WHERE ${cond}`) as { where: unknown }).where;
}

type NoRange<T> = T extends unknown ? Omit<T, 'range' | 'nameRange'> : never;
type E = NoRange<A.Expr> | Record<string, unknown>;

export const int = (raw: string): E => ({ kind: 'Integer', raw });
export const float = (raw: string, value: number): E => ({ kind: 'Float', raw, value });
export const str = (value: string): E => ({ kind: 'String', value });
export const bool = (value: boolean): E => ({ kind: 'Boolean', value });
export const key = (k: string, quoted = false) => ({ kind: 'Key', key: k, quoted });
export const idx = (index: E) => ({ kind: 'Index', index });
export const slice = (from: number, to: number) => ({ kind: 'Slice', from, to });
export const path = (root: string, ...segments: unknown[]): E => ({
  kind: 'Path',
  root,
  quotedRoot: false,
  segments,
});
export const qpath = (root: string, ...segments: unknown[]): E => ({
  kind: 'Path',
  root,
  quotedRoot: true,
  segments,
});
export const call = (name: string, args: E[], module?: string): E => ({
  kind: 'Call',
  name,
  ...(module === undefined ? {} : { module }),
  args,
});
export const arith = (op: string, left: E, right: E): E => ({
  kind: 'Arithmetic',
  op,
  left,
  right,
});
export const neg = (operand: E): E => ({ kind: 'Unary', op: '-', operand });
export const pos = (operand: E): E => ({ kind: 'Unary', op: '+', operand });
export const cmp = (op: string, left: E, right: E): E => ({ kind: 'Compare', op, left, right });
export const and = (left: E, right: E): E => ({ kind: 'Logical', op: 'and', left, right });
export const or = (left: E, right: E): E => ({ kind: 'Logical', op: 'or', left, right });
export const not = (operand: E): E => ({ kind: 'Not', operand });
export const inList = (operand: E, list: E[], negated = false): E => ({
  kind: 'In',
  operand,
  list,
  negated,
});
export const list = (...elements: E[]): E => ({ kind: 'List', elements });
export const range = (from: number, to: number): E => ({ kind: 'Range', from, to });
export const kase = (branches: [E, E][], opts: { subject?: E; else?: E } = {}): E => ({
  kind: 'Case',
  ...(opts.subject === undefined ? {} : { subject: opts.subject }),
  branches: branches.map(([when, then]) => ({ when, then })),
  ...(opts.else === undefined ? {} : { else: opts.else }),
});
export const v = (name: string): E => path(name);
