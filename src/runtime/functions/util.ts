/**
 * Argument helpers shared by every function family. Each `need*` helper either returns the
 * argument narrowed to the type the function needs or throws `BadArg` (spec §8 general rules:
 * wrong argument type → `bad_sql_function_argument`; string functions reject undefined/null).
 */
import { EFloat, decodeJson, isMap, isNumber, num, toText } from '../../core/index.js';
import type { Value, ValueMap } from '../../core/index.js';
import { badArg } from './registry.js';

/** Short rendering of a value for error messages. */
export function show(v: Value): string {
  if (v === undefined) return 'undefined';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? v.slice(0, 60) + '…' : v);
  if (Buffer.isBuffer(v)) return `<<${v.length} bytes>>`;
  const t = toText(v);
  return t.length > 60 ? t.slice(0, 60) + '…' : t;
}

/** Text of a string argument. Numbers/booleans are NOT accepted; undefined/null → BadArg. */
export function needText(v: Value, what = 'argument'): string {
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  return badArg(`${what} must be a string, got ${show(v)}`);
}

/**
 * Text of an argument for functions that convert scalars to text first (EMQX `str/1` on the
 * input): strings as is, numbers and booleans via `toText`; undefined/null and maps/lists →
 * BadArg.
 */
export function needScalarText(v: Value, what = 'argument'): string {
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return toText(v);
  if (v instanceof EFloat) return toText(v);
  return badArg(`${what} must be a string, got ${show(v)}`);
}

/** Bytes of a binary argument (strings are UTF-8 encoded). */
export function needBytes(v: Value, what = 'argument'): Buffer {
  if (Buffer.isBuffer(v)) return v;
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  return badArg(`${what} must be a binary, got ${show(v)}`);
}

/** A number (int, float, EFloat or bigint) as a JS number. */
export function needNumber(v: Value, what = 'argument'): number {
  if (isNumber(v)) return num(v);
  return badArg(`${what} must be a number, got ${show(v)}`);
}

/** An integer as a JS number (bigints beyond 2^53 rejected). */
export function needInt(v: Value, what = 'argument'): number {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (
    typeof v === 'bigint' &&
    v >= BigInt(Number.MIN_SAFE_INTEGER) &&
    v <= BigInt(Number.MAX_SAFE_INTEGER)
  )
    return Number(v);
  return badArg(`${what} must be an integer, got ${show(v)}`);
}

/** An integer as a bigint (for arbitrary-precision bit operations). */
export function needBigInt(v: Value, what = 'argument'): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  return badArg(`${what} must be an integer, got ${show(v)}`);
}

/** Normalise an integral bigint result back to the value model (number when safe). */
export function fromBigInt(b: bigint): number | bigint {
  return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(b)
    : b;
}

export function needList(v: Value, what = 'argument'): Value[] {
  if (Array.isArray(v)) return v;
  return badArg(`${what} must be a list, got ${show(v)}`);
}

/** A map argument; a string is JSON-decoded first (spec §8 general rules). */
export function needMap(v: Value, what = 'argument'): ValueMap {
  if (isMap(v)) return v;
  if (Array.isArray(v) && v.length === 0) return {}; // Erlang maps:from_list([])
  if (typeof v === 'string' || Buffer.isBuffer(v)) {
    let decoded: Value;
    try {
      decoded = decodeJson(v);
    } catch {
      return badArg(`${what} must be a map or JSON object text, got ${show(v)}`);
    }
    if (isMap(decoded)) return decoded;
  }
  return badArg(`${what} must be a map, got ${show(v)}`);
}

/** An option given as text (atoms are written as strings in rule SQL). */
export function needOption<T extends string>(v: Value, allowed: readonly T[], what = 'option'): T {
  const s = typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString('utf8') : undefined;
  if (s !== undefined && (allowed as readonly string[]).includes(s)) return s as T;
  return badArg(`${what} must be one of ${allowed.join(', ')}, got ${show(v)}`);
}

/** Split text into user-perceived characters (grapheme clusters). */
const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
export function graphemes(s: string): string[] {
  // Fast path: pure ASCII has one grapheme per code unit except CR LF.
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(s) && !s.includes('\r\n')) return s.split('');
  const out: string[] = [];
  for (const seg of segmenter.segment(s)) out.push(seg.segment);
  return out;
}

/**
 * Bit strings (Erlang bitstrings whose size is not a whole number of bytes) exist only as the
 * result of `subbits(…, 'bits')`. They are Buffers tagged with their bit length; the unused low
 * bits of the last byte are zero. Every other function sees them as their bytes.
 */
const BIT_LENGTH: unique symbol = Symbol('bitLength');
type TaggedBuffer = Buffer & { [BIT_LENGTH]?: number };

export function makeBitString(bytes: Buffer, bits: number): Buffer {
  if (bits === bytes.length * 8) return bytes;
  const b = bytes as TaggedBuffer;
  Object.defineProperty(b, BIT_LENGTH, { value: bits, enumerable: false });
  return b;
}

/** Bit length of a binary (8 × bytes unless tagged as a bit string). */
export function bitLength(b: Buffer): number {
  return (b as TaggedBuffer)[BIT_LENGTH] ?? b.length * 8;
}

/**
 * Largest text a function builds by repetition (`pad`, `sprintf` field widths): 16 Mi
 * characters. Beyond it the call fails with BadArg instead of exhausting memory.
 */
export const MAX_BUILT_TEXT = 16 * 1024 * 1024;

export function checkBuiltLength(n: number, what: string): void {
  if (n > MAX_BUILT_TEXT)
    badArg(`${what}: ${n} characters is more than the ${MAX_BUILT_TEXT} allowed`);
}
