/**
 * Type conversion, spec §8.4. `str` and friends use the value model's `toText` (floats with at
 * most 10 decimals, compact); numeric parsing of strings follows Erlang: an integer, or a float
 * written with a decimal point (`'1.5'`, `'1.0e3'`).
 */
import { decodeJson, isInt, isMap, isNumber, mkFloat, num, toText } from '../../core/index.js';
import type { Value, EFloat } from '../../core/index.js';
import type { FunctionDef } from './registry.js';
import { badArg } from './registry.js';
import { bitLength, needBytes, needInt, needNumber, needText, show } from './util.js';

const FAMILY = 'conversion';

const INT_RE = /^[+-]?\d+$/;
const FLOAT_RE = /^[+-]?\d+\.\d+(?:[eE][+-]?\d+)?$/;

/** Parse numeric text as Erlang would: integer, else float with a decimal point; else undefined. */
export function parseNumber(s: string): number | bigint | EFloat | undefined {
  if (INT_RE.test(s)) {
    const n = Number(s);
    return Number.isSafeInteger(n) ? n : BigInt(s);
  }
  if (FLOAT_RE.test(s)) {
    const f = Number(s);
    return Number.isFinite(f) ? mkFloat(f) : undefined;
  }
  return undefined;
}

function toInt(v: Value): number | bigint {
  if (isInt(v)) return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  let f: number | undefined;
  if (isNumber(v)) f = num(v);
  else if (typeof v === 'string' || Buffer.isBuffer(v)) {
    const p = parseNumber(v.toString());
    if (p !== undefined) {
      if (isInt(p)) return p;
      f = num(p);
    }
  }
  if (f === undefined || !Number.isFinite(f))
    return badArg(`cannot convert ${show(v)} to an integer`);
  const r = Math.floor(f);
  return Number.isSafeInteger(r) ? r : BigInt(r);
}

function toFloat(v: Value): number {
  if (isNumber(v)) return num(v);
  if (typeof v === 'string' || Buffer.isBuffer(v)) {
    const p = parseNumber(v.toString());
    if (p !== undefined) return num(p);
  }
  return badArg(`cannot convert ${show(v)} to a float`);
}

function toBool(v: Value): boolean {
  if (v === true || v === false) return v;
  if (typeof v === 'string' || Buffer.isBuffer(v)) {
    const s = v.toString();
    if (s === 'true') return true;
    if (s === 'false') return false;
  } else if (isNumber(v)) {
    const n = num(v);
    if (n === 1) return true;
    if (n === 0) return false;
  }
  return badArg(`cannot convert ${show(v)} to a boolean`);
}

/** Erlang `float_to_binary(F, [{decimals, D}, compact])`. */
export function floatToDecimals(f: number, decimals: number): string {
  let s = f.toFixed(Math.min(decimals, 100));
  if (s.includes('e') || !s.includes('.')) return s;
  s = s.replace(/0+$/, '');
  if (s.endsWith('.')) s += '0';
  return s;
}

const HEX = '0123456789ABCDEF';

/** Upper-case hex of a binary; a bit string is left-padded with zero bits to whole nibbles. */
export function toHex(b: Buffer): string {
  const bits = bitLength(b);
  if (bits % 8 === 0) return b.toString('hex').toUpperCase();
  // Read the bit string as a big integer, then print it in ceil(bits / 4) nibbles.
  let n = 0n;
  for (const byte of b) n = (n << 8n) | BigInt(byte);
  n >>= BigInt(b.length * 8 - bits);
  const nibbles = Math.ceil(bits / 4);
  let out = '';
  for (let i = 0; i < nibbles; i++) {
    out = HEX[Number(n & 15n)] + out;
    n >>= 4n;
  }
  return out;
}

export function fromHex(s: string): Buffer {
  if (!/^[0-9a-fA-F]*$/.test(s)) badArg(`not a hex string: ${show(s)}`);
  return Buffer.from(s.length % 2 === 1 ? '0' + s : s, 'hex');
}

export const convertFunctions: readonly FunctionDef[] = [
  {
    name: 'str',
    family: FAMILY,
    arity: { min: 1, max: 1 },
    signature: 'str(X)',
    description:
      'Text form of any value: strings unchanged, integers plainly, floats with at most 10 decimals (compact), booleans as `true`/`false`, maps and lists as compact JSON, undefined as `undefined`.',
    examples: [
      { sql: 'str(0.1)', result: '"0.1"' },
      { sql: 'str(2.0)', result: '"2.0"' },
      { sql: 'str(1/3)', result: '"0.3333333333"' },
      { sql: 'str(json_decode(\'{"a":[1,"é"]}\'))', result: '"{\\"a\\":[1,\\"é\\"]}"' },
    ],
    impl: (args) => toText(args[0]),
    pure: true,
  },
  {
    name: 'str_utf8',
    family: FAMILY,
    arity: { min: 1, max: 1 },
    signature: 'str_utf8(X)',
    description: 'Same as `str`; the result is UTF-8 text.',
    examples: [{ sql: "str_utf8('héllo')", result: '"héllo"' }],
    impl: (args) => toText(args[0]),
    pure: true,
  },
  {
    name: 'str_utf16_le',
    family: FAMILY,
    arity: { min: 1, max: 1 },
    signature: 'str_utf16_le(X)',
    description: 'The text form of X (as `str`) encoded as UTF-16LE bytes.',
    examples: [{ sql: "bin2hexstr(str_utf16_le('hi'))", result: '"68006900"' }],
    impl: (args) => Buffer.from(toText(args[0]), 'utf16le'),
    pure: true,
  },
  {
    name: 'int',
    family: FAMILY,
    arity: { min: 1, max: 1 },
    signature: 'int(X)',
    description:
      "Integer from a number (floats are floored: `int(-1.5)` is -2), a numeric string (`'1.0'` → 1) or a boolean (1/0); anything else is an error.",
    examples: [
      { sql: 'int(-1.5)', result: '-2' },
      { sql: "int('42')", result: '42' },
      { sql: "int('3.9')", result: '3' },
      { sql: 'int(true)', result: '1' },
    ],
    impl: (args) => toInt(args[0]),
    pure: true,
  },
  {
    name: 'float',
    family: FAMILY,
    arity: { min: 1, max: 2 },
    signature: 'float(X[, Decimals])',
    description:
      'Float from a number or numeric string; with Decimals (> 0) the result is rounded to that many decimal places.',
    examples: [
      { sql: 'float(2)', result: '2.0' },
      { sql: "float('1.25')", result: '1.25' },
      { sql: 'float(3.14159, 2)', result: '3.14' },
    ],
    impl: (args) => {
      const f = toFloat(args[0]);
      if (args.length === 1) return mkFloat(f);
      const d = needInt(args[1], 'Decimals');
      if (d <= 0) return badArg(`Decimals must be > 0, got ${d}`);
      return mkFloat(d > 100 ? f : Number(f.toFixed(d)));
    },
    pure: true,
  },
  {
    name: 'float2str',
    family: FAMILY,
    arity: { min: 2, max: 2 },
    signature: 'float2str(Float, Precision)',
    description:
      'Text of a number with Precision decimals (exact binary expansion), trailing zeros dropped but one decimal kept.',
    examples: [
      { sql: 'float2str(20.2, 15)', result: '"20.199999999999999"' },
      { sql: 'float2str(0.5, 3)', result: '"0.5"' },
    ],
    impl: (args) => {
      const p = needInt(args[1], 'Precision');
      if (p < 0 || p > 253) return badArg(`Precision must be 0..253, got ${p}`);
      return floatToDecimals(needNumber(args[0], 'Float'), p);
    },
    pure: true,
  },
  {
    name: 'bool',
    family: FAMILY,
    arity: { min: 1, max: 1 },
    signature: 'bool(X)',
    description:
      "true/'true'/1/1.0 → true; false/'false'/0/0.0 → false; anything else is an error.",
    examples: [
      { sql: "bool('true')", result: 'true' },
      { sql: 'bool(0)', result: 'false' },
    ],
    impl: (args) => toBool(args[0]),
    pure: true,
  },
  {
    name: 'map',
    family: FAMILY,
    arity: { min: 1, max: 1 },
    signature: 'map(X)',
    description: 'A map from JSON object text (other JSON is an error); a map is returned as is.',
    examples: [{ sql: 'map(\'{"a":1}\')', result: '{"a":1}' }],
    impl: (args) => {
      const v = args[0];
      if (isMap(v)) return v;
      if (typeof v === 'string' || Buffer.isBuffer(v)) {
        let d: Value;
        try {
          d = decodeJson(v);
        } catch {
          return badArg(`map: invalid JSON ${show(v)}`);
        }
        if (isMap(d)) return d;
      }
      return badArg(`map: not a JSON object: ${show(v)}`);
    },
    pure: true,
  },
  {
    name: 'bin2hexstr',
    family: FAMILY,
    arity: { min: 1, max: 2 },
    signature: 'bin2hexstr(Bin[, Prefix])',
    description:
      'Upper-case hex text of the bytes of Bin (a bit string is left-padded to whole nibbles); Prefix, if given, is prepended.',
    examples: [
      { sql: "bin2hexstr('Az')", result: '"417A"' },
      { sql: "bin2hexstr('Az', '0x')", result: '"0x417A"' },
      { sql: "bin2hexstr(subbits('a', 1, 3, 'bits'))", result: '"3"' },
    ],
    impl: (args) => {
      const hex = toHex(needBytes(args[0], 'Bin'));
      return args.length > 1 ? needText(args[1], 'Prefix') + hex : hex;
    },
    pure: true,
  },
  {
    name: 'hexstr2bin',
    family: FAMILY,
    arity: { min: 1, max: 2 },
    signature: 'hexstr2bin(Hex[, Prefix])',
    description:
      'Bytes from hex text (either case; an odd length is left-padded with 0). With Prefix the text must start with it (else error `binary_prefix_unmatch`) and it is removed first.',
    examples: [
      { sql: "hexstr2bin('417a')", result: '"Az"' },
      { sql: "hexstr2bin('0x41', '0x')", result: '"A"' },
    ],
    impl: (args) => {
      let s = needText(args[0], 'Hex');
      if (args.length > 1) {
        const prefix = needText(args[1], 'Prefix');
        if (!s.startsWith(prefix))
          return badArg(`binary_prefix_unmatch: ${show(s)} does not start with ${show(prefix)}`);
        s = s.slice(prefix.length);
      }
      return fromHex(s);
    },
    pure: true,
  },
  {
    name: 'sqlserver_bin2hexstr',
    family: FAMILY,
    arity: { min: 1, max: 1 },
    signature: 'sqlserver_bin2hexstr(Bin)',
    description: 'SQL Server binary literal: `0x` followed by upper-case hex.',
    examples: [{ sql: "sqlserver_bin2hexstr('Az')", result: '"0x417A"' }],
    impl: (args) => '0x' + toHex(needBytes(args[0], 'Bin')),
    pure: true,
  },
];
