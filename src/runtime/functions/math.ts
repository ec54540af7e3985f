/**
 * Arithmetic and math, spec §6.2 and §8.2. The operator functions (`+ - * /`, `div`, `mod`)
 * carry the exact semantics of the infix operators, so the compiler may use them for both.
 * Integer arithmetic is exact (promoted to bigint beyond 2^53, as Erlang integers are
 * unbounded); float results are `mkFloat`-boxed; an infinite or NaN float is an error (Erlang
 * raises `badarith`).
 */
import { compareTerms, isInt, isNumber, mkFloat, num, toText } from '../../core/index.js';
import type { Value, EFloat } from '../../core/index.js';
import type { FunctionDef } from './registry.js';
import { badArg } from './registry.js';
import { fromBigInt, needNumber, show } from './util.js';

const FAMILY = 'math';

function finite(x: number, what: string): number {
  if (!Number.isFinite(x)) badArg(`${what}: result is not a finite number`);
  return x;
}

/** A float result (boxed when integral); non-finite → BadArg. */
function floatResult(x: number, what: string): number | EFloat {
  return mkFloat(finite(x, what));
}

/** Integer result of an integer op on numbers; falls back to bigint when inexact. */
function intOp(
  a: number | bigint,
  b: number | bigint,
  f: (x: number, y: number) => number,
  g: (x: bigint, y: bigint) => bigint,
): number | bigint {
  if (typeof a === 'number' && typeof b === 'number') {
    const r = f(a, b);
    if (Number.isSafeInteger(r)) return r;
  }
  return fromBigInt(g(BigInt(a), BigInt(b)));
}

function numericOp(
  op: string,
  f: (x: number, y: number) => number,
  g: (x: bigint, y: bigint) => bigint,
) {
  return (args: readonly Value[]): Value => {
    const [a, b] = args;
    if (!isNumber(a) || !isNumber(b))
      return badArg(`'${op}' needs two numbers, got ${show(a)} and ${show(b)}`);
    if (isInt(a) && isInt(b)) return intOp(a, b, f, g);
    return floatResult(f(num(a), num(b)), `'${op}'`);
  };
}

const plusNumbers = numericOp(
  '+',
  (x, y) => x + y,
  (x, y) => x + y,
);

/** The `+` operator: numeric sum, or text concatenation when either side is a string (§6.2). */
export function plus(a: Value, b: Value): Value {
  if (isNumber(a) && isNumber(b)) return plusNumbers([a, b]);
  if (typeof a === 'string' || Buffer.isBuffer(a) || typeof b === 'string' || Buffer.isBuffer(b))
    return toText(a) + toText(b);
  return badArg(`'+' needs numbers or strings, got ${show(a)} and ${show(b)}`);
}

function intPair(op: string, args: readonly Value[]): [number | bigint, number | bigint] {
  const [a, b] = args;
  if (!isInt(a) || !isInt(b)) badArg(`'${op}' needs two integers, got ${show(a)} and ${show(b)}`);
  if ((typeof b === 'number' && b === 0) || b === 0n) badArg(`'${op}': division by zero`);
  return [a, b];
}

/** A one-argument float function from `Math`; domain errors (NaN/∞) → BadArg. */
function unary(
  name: string,
  f: (x: number) => number,
  example: string,
  result: string,
): FunctionDef {
  return {
    name,
    family: FAMILY,
    arity: { min: 1, max: 1 },
    signature: `${name}(X)`,
    description: `${name} of a number, as a float (a domain error such as a negative square root fails).`,
    examples: [{ sql: example, result }],
    impl: (args) => floatResult(f(needNumber(args[0], 'X')), `${name}(${show(args[0])})`),
    pure: true,
  };
}

/** Float rounding to an integer value in the value model (bigint when beyond 2^53). */
function toInteger(x: number): number | bigint {
  return Number.isSafeInteger(x) ? x : BigInt(x);
}

function rounding(
  name: string,
  f: (x: number) => number,
  desc: string,
  ex: string,
  res: string,
): FunctionDef {
  return {
    name,
    family: FAMILY,
    arity: { min: 1, max: 1 },
    signature: `${name}(X)`,
    description: desc,
    examples: [{ sql: ex, result: res }],
    impl: (args) => {
      const x = args[0];
      if (isInt(x)) return x;
      return toInteger(finite(f(needNumber(x, 'X')), name));
    },
    pure: true,
  };
}

export const mathFunctions: readonly FunctionDef[] = [
  {
    name: '+',
    family: FAMILY,
    arity: { min: 2, max: 2 },
    signature: 'A + B',
    description:
      'Sum of two numbers (integer when both are integers, else float); when either side is a string, text concatenation with the other side converted like `str` (undefined becomes `undefined`).',
    examples: [
      { sql: '1 + 2', result: '3' },
      { sql: "'1' + 1", result: '"11"' },
      { sql: '1 + 1.5', result: '2.5' },
    ],
    impl: (args) => plus(args[0], args[1]),
    pure: true,
  },
  {
    name: '-',
    family: FAMILY,
    arity: { min: 2, max: 2 },
    signature: 'A - B',
    description: 'Difference of two numbers; anything else is an error.',
    examples: [{ sql: '5 - 7.5', result: '-2.5' }],
    impl: numericOp(
      '-',
      (x, y) => x - y,
      (x, y) => x - y,
    ),
    pure: true,
  },
  {
    name: '*',
    family: FAMILY,
    arity: { min: 2, max: 2 },
    signature: 'A * B',
    description: 'Product of two numbers (exact for integers of any size).',
    examples: [{ sql: '3 * 4', result: '12' }],
    impl: numericOp(
      '*',
      (x, y) => x * y,
      (x, y) => x * y,
    ),
    pure: true,
  },
  {
    name: '/',
    family: FAMILY,
    arity: { min: 2, max: 2 },
    signature: 'A / B',
    description: 'Division of two numbers; always a float. Division by zero is an error.',
    examples: [
      { sql: '6 / 3', result: '2.0' },
      { sql: '1 / 4', result: '0.25' },
    ],
    impl: (args) => {
      const [a, b] = args;
      if (!isNumber(a) || !isNumber(b))
        return badArg(`'/' needs two numbers, got ${show(a)} and ${show(b)}`);
      const d = num(b);
      if (d === 0) return badArg("'/': division by zero");
      return floatResult(num(a) / d, "'/'");
    },
    pure: true,
  },
  {
    name: 'div',
    family: FAMILY,
    arity: { min: 2, max: 2 },
    signature: 'div(A, B)',
    description: 'Integer division truncated toward zero; integers only; B = 0 is an error.',
    examples: [
      { sql: 'div(7, 2)', result: '3' },
      { sql: 'div(-7, 2)', result: '-3' },
    ],
    impl: (args) => {
      const [a, b] = intPair('div', args);
      return intOp(
        a,
        b,
        (x, y) => Math.trunc(x / y),
        (x, y) => x / y,
      );
    },
    pure: true,
  },
  {
    name: 'mod',
    family: FAMILY,
    arity: { min: 2, max: 2 },
    signature: 'mod(A, B)',
    description: "Integer remainder with the dividend's sign; integers only; B = 0 is an error.",
    examples: [
      { sql: 'mod(-7, 3)', result: '-1' },
      { sql: 'mod(7, -2)', result: '1' },
    ],
    impl: (args) => {
      const [a, b] = intPair('mod', args);
      return intOp(
        a,
        b,
        (x, y) => x % y,
        (x, y) => x % y,
      );
    },
    pure: true,
  },
  {
    name: 'eq',
    family: FAMILY,
    arity: { min: 2, max: 2 },
    signature: 'eq(A, B)',
    description: 'Equality with numeric awareness (`eq(1, 1.0)` is true); no string coercion.',
    examples: [
      { sql: 'eq(1, 1.0)', result: 'true' },
      { sql: "eq('1', 1)", result: 'false' },
    ],
    impl: (args) => compareTerms(args[0], args[1]) === 0,
    pure: true,
  },
  {
    name: 'abs',
    family: FAMILY,
    arity: { min: 1, max: 1 },
    signature: 'abs(Int)',
    description: 'Absolute value of an integer. Floats are rejected (as in every EMQX version).',
    examples: [{ sql: 'abs(-3)', result: '3' }],
    impl: (args) => {
      const x = args[0];
      if (typeof x === 'bigint') return fromBigInt(x < 0n ? -x : x);
      if (isInt(x)) return Math.abs(x);
      return badArg(`abs needs an integer, got ${show(x)}`);
    },
    pure: true,
  },
  rounding('ceil', Math.ceil, 'Smallest integer ≥ X.', 'ceil(1.2)', '2'),
  rounding('floor', Math.floor, 'Largest integer ≤ X.', 'floor(-1.2)', '-2'),
  rounding(
    'round',
    (x) => Math.sign(x) * Math.round(Math.abs(x)),
    'Nearest integer, halves rounded away from zero.',
    'round(-2.5)',
    '-3',
  ),
  unary('sqrt', Math.sqrt, 'sqrt(4)', '2.0'),
  unary('exp', Math.exp, 'exp(0)', '1.0'),
  unary('log', Math.log, 'log(1)', '0.0'),
  unary('log10', Math.log10, 'log10(1000)', '3.0'),
  unary('log2', Math.log2, 'log2(8)', '3.0'),
  unary('sin', Math.sin, 'sin(0)', '0.0'),
  unary('cos', Math.cos, 'cos(0)', '1.0'),
  unary('tan', Math.tan, 'tan(0)', '0.0'),
  unary('asin', Math.asin, 'asin(1)', '1.5707963267948966'),
  unary('acos', Math.acos, 'acos(1)', '0.0'),
  unary('atan', Math.atan, 'atan(0)', '0.0'),
  unary('sinh', Math.sinh, 'sinh(0)', '0.0'),
  unary('cosh', Math.cosh, 'cosh(0)', '1.0'),
  unary('tanh', Math.tanh, 'tanh(0)', '0.0'),
  unary('asinh', Math.asinh, 'asinh(0)', '0.0'),
  unary('acosh', Math.acosh, 'acosh(1)', '0.0'),
  unary('atanh', Math.atanh, 'atanh(0)', '0.0'),
  {
    name: 'power',
    family: FAMILY,
    arity: { min: 2, max: 2 },
    signature: 'power(X, Y)',
    description: 'X raised to Y, as a float.',
    examples: [{ sql: 'power(2, 10)', result: '1024.0' }],
    impl: (args) =>
      floatResult(Math.pow(needNumber(args[0], 'X'), needNumber(args[1], 'Y')), 'power'),
    pure: true,
  },
  {
    name: 'fmod',
    family: FAMILY,
    arity: { min: 2, max: 2 },
    signature: 'fmod(X, Y)',
    description: "Float remainder of X / Y with X's sign; Y = 0 is an error.",
    examples: [{ sql: 'fmod(7.5, 2)', result: '1.5' }],
    impl: (args) => {
      const y = needNumber(args[1], 'Y');
      if (y === 0) return badArg('fmod: division by zero');
      return floatResult(needNumber(args[0], 'X') % y, 'fmod');
    },
    pure: true,
  },
];
