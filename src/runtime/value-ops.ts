/**
 * Operator semantics of rule SQL (spec rule-sql §6): arithmetic (§6.2), comparison (§6.3),
 * exact membership. Pure functions over the core value model; failures raise the internal
 * `EvalFault` (converted to the clause's error code by the evaluator).
 */
import { EFloat, compareTerms, isNumber, mkFloat, num, toText } from '../core/index.js';
import type { Value } from '../core/index.js';
import { fault } from './errors.js';
import { topicMatches } from './topic.js';

export type ArithOp = '+' | '-' | '*' | '/' | 'div' | 'mod';
export type CompareOp = '=' | '!=' | '<>' | '<' | '>' | '<=' | '>=' | '=~';

/** Short rendering of a value for error reasons (never the whole payload). */
export function describe(v: Value): string {
  if (v === undefined) return 'undefined';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  if (Buffer.isBuffer(v)) return `<<${v.length} bytes>>`;
  const t = toText(v);
  return t.length > 40 ? t.slice(0, 40) + '…' : t;
}

function isInteger(v: Value): v is number | bigint {
  return (typeof v === 'number' && Number.isInteger(v)) || typeof v === 'bigint';
}

/** Normalise a bigint result back to a number when it fits exactly. */
function normBig(b: bigint): number | bigint {
  return b >= -9007199254740991n && b <= 9007199254740991n ? Number(b) : b;
}

function intResult(exact: number, a: number | bigint, b: number | bigint, op: ArithOp): Value {
  if (Number.isSafeInteger(exact)) return exact === 0 ? 0 : exact;
  const x = BigInt(a);
  const y = BigInt(b);
  return normBig(op === '+' ? x + y : op === '-' ? x - y : x * y);
}

function needNumbers(op: string, a: Value, b: Value): void {
  if (!isNumber(a) || !isNumber(b))
    fault(`bad arithmetic operands: ${describe(a)} ${op} ${describe(b)} (numbers required)`);
}

/** `+`: numeric sum, or concatenation as soon as one side is a string (§6.2). */
export function add(a: Value, b: Value): Value {
  if (typeof a === 'number' && typeof b === 'number') {
    const r = a + b;
    if (Number.isInteger(a) && Number.isInteger(b)) return intResult(r, a, b, '+');
    return mkFloat(r);
  }
  if (typeof a === 'string' || Buffer.isBuffer(a) || typeof b === 'string' || Buffer.isBuffer(b))
    return toText(a) + toText(b);
  needNumbers('+', a, b);
  return numeric('+', a, b);
}

export function sub(a: Value, b: Value): Value {
  if (typeof a === 'number' && typeof b === 'number') {
    if (Number.isInteger(a) && Number.isInteger(b)) return intResult(a - b, a, b, '-');
    return mkFloat(a - b);
  }
  needNumbers('-', a, b);
  return numeric('-', a, b);
}

export function mul(a: Value, b: Value): Value {
  if (typeof a === 'number' && typeof b === 'number') {
    if (Number.isInteger(a) && Number.isInteger(b)) return intResult(a * b, a, b, '*');
    return mkFloat(a * b);
  }
  needNumbers('*', a, b);
  return numeric('*', a, b);
}

/** Slow path for bigint/EFloat operands of + - *. */
function numeric(op: ArithOp, a: Value, b: Value): Value {
  const x = a as number | bigint | EFloat;
  const y = b as number | bigint | EFloat;
  if (isInteger(x) && isInteger(y)) {
    const bx = BigInt(x);
    const by = BigInt(y);
    return normBig(op === '+' ? bx + by : op === '-' ? bx - by : bx * by);
  }
  const p = num(x);
  const q = num(y);
  return mkFloat(op === '+' ? p + q : op === '-' ? p - q : p * q);
}

/** `/`: always a float (EFloat when integral); division by zero is an error (§6.2). */
export function divide(a: Value, b: Value): Value {
  needNumbers('/', a, b);
  const q = num(b as number);
  if (q === 0) fault(`division by zero: ${describe(a)} / ${describe(b)}`);
  return mkFloat(num(a as number) / q);
}

/** `div`: integer quotient truncated toward zero; integers only. */
export function intDiv(a: Value, b: Value): Value {
  if (!isInteger(a) || !isInteger(b))
    fault(`bad arithmetic operands: ${describe(a)} div ${describe(b)} (integers required)`);
  if (b === 0 || b === 0n) fault(`division by zero: ${describe(a)} div ${describe(b)}`);
  if (typeof a === 'number' && typeof b === 'number') return Math.trunc(a / b) || 0;
  return normBig(BigInt(a) / BigInt(b));
}

/** `mod`: remainder with the dividend's sign; integers only. */
export function intMod(a: Value, b: Value): Value {
  if (!isInteger(a) || !isInteger(b))
    fault(`bad arithmetic operands: ${describe(a)} mod ${describe(b)} (integers required)`);
  if (b === 0 || b === 0n) fault(`division by zero: ${describe(a)} mod ${describe(b)}`);
  if (typeof a === 'number' && typeof b === 'number') return a % b || 0;
  return normBig(BigInt(a) % BigInt(b));
}

export function negate(a: Value): Value {
  if (typeof a === 'number') return a === 0 ? 0 : -a;
  if (typeof a === 'bigint') return normBig(-a);
  if (a instanceof EFloat) return new EFloat(-a.value);
  return fault(`bad operand for unary minus: ${describe(a)}`);
}

/** Unary `+` is the identity, on any value (EMQX evaluates `+x` as `x`). */
export function identity(a: Value): Value {
  return a;
}

export const ARITH: Readonly<Record<ArithOp, (a: Value, b: Value) => Value>> = {
  '+': add,
  '-': sub,
  '*': mul,
  '/': divide,
  div: intDiv,
  mod: intMod,
};

const INT_RE = /^[+-]?\d+$/;
const FLOAT_RE = /^[+-]?\d+\.\d+(?:[eE][+-]?\d+)?$/;

/** EMQX `number/1`: a string compared with a number is read as an integer or a float (§6.3.3). */
export function parseNumber(s: string): number | bigint | EFloat {
  if (INT_RE.test(s)) {
    const n = Number(s);
    return Number.isSafeInteger(n) ? n : BigInt(s);
  }
  if (FLOAT_RE.test(s)) return mkFloat(Number(s));
  return fault(`cannot compare a number with the non-numeric string ${describe(s)}`);
}

function textOf(v: string | Buffer): string {
  return typeof v === 'string' ? v : v.toString('utf8');
}

/** UTF-8 byte order of two JS strings (code-point order; differs from `<` only for astral chars). */
function compareText(a: string, b: string): number {
  if (a === b) return 0;
  if (!/[\ud800-\uffff]/.test(a) && !/[\ud800-\uffff]/.test(b)) return a < b ? -1 : 1;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function apply(op: CompareOp, c: number): boolean {
  switch (op) {
    case '=':
      return c === 0;
    case '!=':
    case '<>':
      return c !== 0;
    case '<':
      return c < 0;
    case '>':
      return c > 0;
    case '<=':
      return c <= 0;
    case '>=':
      return c >= 0;
    default:
      return false;
  }
}

/**
 * Comparison with EMQX's rules, in order (§6.3): both undefined → equal; one undefined → false
 * for every operator; number vs string → the string is parsed (non-numeric → error);
 * boolean/null vs string → compared as text; otherwise term order with numeric-aware equality.
 */
export function compare(op: CompareOp, a: Value, b: Value): boolean {
  if (typeof a === 'number' && typeof b === 'number' && op !== '=~') {
    switch (op) {
      case '=':
        return a === b;
      case '!=':
      case '<>':
        return a !== b;
      case '<':
        return a < b;
      case '>':
        return a > b;
      case '<=':
        return a <= b;
      default:
        return a >= b;
    }
  }
  if (a === undefined || b === undefined) {
    if (a !== b || op === '=~') return false;
    return op === '=' || op === '<=' || op === '>=';
  }
  if (op === '=~') {
    if (
      !(typeof a === 'string' || Buffer.isBuffer(a)) ||
      !(typeof b === 'string' || Buffer.isBuffer(b))
    )
      return fault(`=~ needs a topic and a topic filter, got ${describe(a)} =~ ${describe(b)}`);
    return topicMatches(textOf(a), textOf(b));
  }
  const aStr = typeof a === 'string' || Buffer.isBuffer(a);
  const bStr = typeof b === 'string' || Buffer.isBuffer(b);
  if (aStr && bStr) return apply(op, compareText(textOf(a), textOf(b)));
  if (isNumber(a) && bStr) return apply(op, compareTerms(a, parseNumber(textOf(b))));
  if (aStr && isNumber(b)) return apply(op, compareTerms(parseNumber(textOf(a)), b));
  if ((typeof a === 'boolean' || a === null) && bStr)
    return apply(op, compareText(String(a), textOf(b)));
  if (aStr && (typeof b === 'boolean' || b === null))
    return apply(op, compareText(textOf(a), String(b)));
  return apply(op, compareTerms(a, b));
}
