/**
 * AST → SQL text. Contract: `parseRule(printRule(s)).ast` equals `s` modulo source ranges for
 * every AST that `parseRule` can produce. Parentheses are added only where precedence (§6.1)
 * needs them; keywords are printed upper-case, names and literals exactly as parsed.
 */
import type * as A from './ast.js';
import { RESERVED_WORDS } from './lexer.js';

/** Binding strength, low → high (§6.1). */
const Prec = {
  Or: 1,
  And: 2,
  Not: 3,
  Compare: 4,
  Additive: 5,
  Multiplicative: 6,
  Unary: 7,
  Primary: 8,
} as const;
type Prec = (typeof Prec)[keyof typeof Prec];

const RESERVED = new Set(RESERVED_WORDS);
const BARE = /^[A-Za-z][A-Za-z0-9_$@~]*$/;
/** Words that lex as something other than an identifier although they look like one. */
const NOT_A_NAME = new Set(['div', 'mod', 'true', 'false']);

function isBareName(s: string): boolean {
  return BARE.test(s) && !RESERVED.has(s.toUpperCase()) && !NOT_A_NAME.has(s);
}

/** A name as an identifier: bare when possible, otherwise `"…"`. */
function name(s: string): string {
  return isBareName(s) ? s : `"${s}"`;
}

/** A key after `.`: bare, digits, `'…'` or `"…"`. */
function key(k: string, quoted: boolean): string {
  if (!quoted && (isBareName(k) || /^\d+$/.test(k) || NOT_A_NAME.has(k))) return k;
  return k.includes("'") ? `"${k}"` : `'${k}'`;
}

function precOf(e: A.Expr): Prec {
  switch (e.kind) {
    case 'Logical':
      return e.op === 'or' ? Prec.Or : Prec.And;
    case 'Not':
      return Prec.Not;
    case 'Compare':
    case 'In':
      return Prec.Compare;
    case 'Arithmetic':
      return e.op === '+' || e.op === '-' ? Prec.Additive : Prec.Multiplicative;
    case 'Unary':
      return Prec.Unary;
    default:
      return Prec.Primary;
  }
}

/** Print an expression; wraps it in parentheses when it binds looser than `min`. */
export function printExpr(e: A.Expr, min: number = 0): string {
  const s = printBare(e);
  return precOf(e) < min ? `(${s})` : s;
}

function printBare(e: A.Expr): string {
  switch (e.kind) {
    case 'Integer':
    case 'Float':
      return e.raw;
    case 'String':
      return `'${e.value}'`;
    case 'Boolean':
      return e.value ? 'true' : 'false';
    case 'Path':
      return (e.quotedRoot ? `"${e.root}"` : e.root) + joinSegments(e.segments.map(segment));
    case 'Call': {
      const fn = e.module === undefined ? e.name : `${e.module}.${e.name}`;
      return `${fn}(${e.args.map((a) => printExpr(a)).join(', ')})`;
    }
    case 'Arithmetic': {
      const p = precOf(e);
      return `${printExpr(e.left, p)} ${e.op} ${printExpr(e.right, p + 1)}`;
    }
    case 'Unary': {
      const operand = printExpr(e.operand, Prec.Unary);
      // `- -x` must keep its space: `--` starts a comment.
      const sep = operand.startsWith('-') || operand.startsWith('+') ? ' ' : '';
      return `${e.op}${sep}${operand}`;
    }
    case 'Compare':
      return `${printExpr(e.left, Prec.Additive)} ${e.op} ${printExpr(e.right, Prec.Additive)}`;
    case 'Logical': {
      const p = precOf(e);
      return `${printExpr(e.left, p)} ${e.op.toUpperCase()} ${printExpr(e.right, p + 1)}`;
    }
    case 'Not':
      return `NOT ${printExpr(e.operand, Prec.Not)}`;
    case 'In':
      return (
        `${printExpr(e.operand, Prec.Additive)} ${e.negated ? 'NOT IN' : 'IN'} ` +
        `(${e.list.map((x) => printExpr(x)).join(', ')})`
      );
    case 'List':
      return `[${e.elements.map((x) => printExpr(x)).join(', ')}]`;
    case 'Range':
      return `[${e.from}..${e.to}]`;
    case 'Case': {
      const parts = ['CASE'];
      if (e.subject !== undefined) parts.push(printExpr(e.subject));
      for (const b of e.branches) parts.push('WHEN', printExpr(b.when), 'THEN', printExpr(b.then));
      if (e.else !== undefined) parts.push('ELSE', printExpr(e.else));
      parts.push('END');
      return parts.join(' ');
    }
  }
}

/**
 * `a.1 .5` (keys `1` and `5`) must not print as `a.1.5`, which lexes as the number `1.5`
 * (and is rejected as ambiguous): keep a space between two bare numeric keys.
 */
function joinSegments(parts: readonly string[]): string {
  let out = '';
  for (const p of parts) out += /\d$/.test(out) && /^\.\d/.test(p) ? ` ${p}` : p;
  return out;
}

function segment(s: A.PathSegment): string {
  switch (s.kind) {
    case 'Key':
      return `.${key(s.key, s.quoted)}`;
    case 'Index':
      return `[${printExpr(s.index)}]`;
    case 'Slice':
      return `[${s.from}..${s.to}]`;
  }
}

function aliasTarget(t: A.AliasTarget): string {
  return (
    name(t.root) +
    joinSegments(
      t.segments.map((s) =>
        s.kind === 'Key' ? `.${key(s.key, false)}` : `[${s.negative ? '-' : ''}${s.index}]`,
      ),
    )
  );
}

function item(i: A.SelectItem): string {
  if (i.kind === 'Wildcard') return '*';
  const e = printExpr(i.expr);
  if (i.alias === undefined) return e;
  return `${e}${i.explicitAs === false ? ' ' : ' AS '}${aliasTarget(i.alias)}`;
}

function from(f: A.FromEntry): string {
  switch (f.quote) {
    case 'double':
      return `"${f.topic}"`;
    case 'single':
      return `'${f.topic}'`;
    default:
      // A hand-built AST may carry a topic that is not a bare name: quote it so it reparses.
      return BARE.test(f.topic) && !RESERVED.has(f.topic.toUpperCase()) ? f.topic : `"${f.topic}"`;
  }
}

/** Print a whole statement on one line. */
export function printRule(stmt: A.Statement): string {
  const items = (l: readonly A.SelectItem[]) => l.map(item).join(', ');
  const parts: string[] = [];
  if (stmt.kind === 'Select') {
    parts.push('SELECT', items(stmt.fields));
  } else {
    parts.push('FOREACH', items(stmt.fields));
    if (stmt.do !== undefined) parts.push('DO', items(stmt.do));
    if (stmt.incase !== undefined) parts.push('INCASE', printExpr(stmt.incase));
  }
  parts.push('FROM', stmt.from.map(from).join(', '));
  if (stmt.where !== undefined) parts.push('WHERE', printExpr(stmt.where));
  return parts.join(' ');
}
