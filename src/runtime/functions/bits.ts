/**
 * Bitwise integer operations and bit strings, spec §8.3. Integers are arbitrary precision
 * (bigint internally, normalised back to numbers when they fit). `subbits` reads Erlang
 * bit-syntax segments: `<<_:Start-1, X:Len/Type-Sign-Endian, _/bits>>`.
 */
import { mkFloat } from '../../core/index.js';
import type { Value } from '../../core/index.js';
import type { FunctionDef, FunctionImpl, MaybeConstant } from './registry.js';
import { badArg } from './registry.js';
import {
  bitLength,
  fromBigInt,
  makeBitString,
  needBigInt,
  needBytes,
  needInt,
  needOption,
  show,
} from './util.js';

const FAMILY = 'bits';

/** Largest shift accepted by `bitsl` (guards against allocating gigantic integers). */
const MAX_SHIFT = 1_000_000n;

function binop(
  name: string,
  f: (a: bigint, b: bigint) => bigint,
  ex: string,
  res: string,
): FunctionDef {
  return {
    name,
    family: FAMILY,
    arity: { min: 2, max: 2 },
    signature: `${name}(A, B)`,
    description: `Bitwise ${name.slice(3)} of two integers.`,
    examples: [{ sql: ex, result: res }],
    impl: (args) => fromBigInt(f(needBigInt(args[0], 'A'), needBigInt(args[1], 'B'))),
    pure: true,
  };
}

/** Read `n` bits starting at bit `off` (big-endian bit order) as an unsigned bigint. */
function readBits(b: Buffer, off: number, n: number): bigint {
  let v = 0n;
  for (let i = off; i < off + n; i++) {
    const bit = ((b[i >> 3] as number) >> (7 - (i & 7))) & 1;
    v = (v << 1n) | BigInt(bit);
  }
  return v;
}

/** Bytes holding `n` bits read from `off`, left-aligned (unused low bits zero). */
function sliceBits(b: Buffer, off: number, n: number): Buffer {
  const out = Buffer.alloc(Math.ceil(n / 8));
  for (let i = 0; i < n; i++) {
    const j = off + i;
    const bit = ((b[j >> 3] as number) >> (7 - (j & 7))) & 1;
    if (bit) out[i >> 3] = (out[i >> 3] as number) | (1 << (7 - (i & 7)));
  }
  return makeBitString(out, n);
}

/** Erlang little-endian integer of `n` bits: whole bytes first (least significant), then the rest. */
function readLittle(b: Buffer, off: number, n: number): bigint {
  let v = 0n;
  let shift = 0n;
  let pos = off;
  let left = n;
  while (left > 0) {
    const chunk = Math.min(8, left);
    v |= readBits(b, pos, chunk) << shift;
    shift += BigInt(chunk);
    pos += chunk;
    left -= chunk;
  }
  return v;
}

const TYPES = ['integer', 'float', 'bits'] as const;
const SIGNS = ['unsigned', 'signed'] as const;
const ENDIANS = ['big', 'little'] as const;

interface SubbitsOpts {
  readonly type: (typeof TYPES)[number];
  readonly signed: boolean;
  readonly little: boolean;
}

function subbitsOpts(type: Value, sign: Value, endian: Value): SubbitsOpts {
  return {
    type: type === undefined ? 'integer' : needOption(type, TYPES, 'Type'),
    signed: sign === undefined ? false : needOption(sign, SIGNS, 'Signedness') === 'signed',
    little: endian === undefined ? false : needOption(endian, ENDIANS, 'Endianness') === 'little',
  };
}

function subbits(binV: Value, startV: Value, lenV: Value, o: SubbitsOpts): Value {
  const bin = needBytes(binV, 'Bin');
  const start = needInt(startV, 'Start');
  const len = needInt(lenV, 'Len');
  if (len < 0) return badArg(`subbits: negative length ${len}`);
  const total = bitLength(bin);
  const begin = start - 1;
  if (begin < 0 || begin >= total) return undefined;
  const n = Math.min(len, total - begin);
  if (o.type === 'bits') return sliceBits(bin, begin, n);
  if (o.type === 'float') {
    if (n !== 16 && n !== 32 && n !== 64)
      return badArg(`subbits: a float must be 16, 32 or 64 bits, got ${n}`);
    const bytes = Buffer.alloc(n / 8);
    for (let i = 0; i < n / 8; i++) bytes[i] = Number(readBits(bin, begin + i * 8, 8));
    const f =
      n === 16
        ? o.little
          ? half(bytes.readUInt16LE(0))
          : half(bytes.readUInt16BE(0))
        : n === 32
          ? o.little
            ? bytes.readFloatLE(0)
            : bytes.readFloatBE(0)
          : o.little
            ? bytes.readDoubleLE(0)
            : bytes.readDoubleBE(0);
    if (!Number.isFinite(f)) return badArg('subbits: the bits are not a finite float');
    return mkFloat(f);
  }
  // Fast path: byte-aligned reads of 1..6 whole bytes (the common case) use Buffer's readers.
  if (begin % 8 === 0 && n % 8 === 0 && n > 0 && n <= 48) {
    const at = begin / 8;
    const len = n / 8;
    if (o.signed) return o.little ? bin.readIntLE(at, len) : bin.readIntBE(at, len);
    return o.little ? bin.readUIntLE(at, len) : bin.readUIntBE(at, len);
  }
  let v = o.little ? readLittle(bin, begin, n) : readBits(bin, begin, n);
  if (o.signed && n > 0 && v >> BigInt(n - 1) === 1n) v -= 1n << BigInt(n);
  return fromBigInt(v);
}

/** IEEE 754 half precision. */
function half(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

const subbitsSpecialize = (args: readonly MaybeConstant[]): FunctionImpl | undefined => {
  if (args.length < 4)
    return (a) => subbits(a[0], a.length === 2 ? 1 : a[1], a[a.length - 1], DEFAULT_OPTS);
  const opts = args.slice(3);
  if (opts.some((x) => typeof x === 'symbol')) return undefined;
  const o = subbitsOpts(opts[0] as Value, opts[1] as Value, opts[2] as Value);
  return (a) => subbits(a[0], a[1], a[2], o);
};

const DEFAULT_OPTS: SubbitsOpts = { type: 'integer', signed: false, little: false };

export const bitFunctions: readonly FunctionDef[] = [
  {
    name: 'bitnot',
    family: FAMILY,
    arity: { min: 1, max: 1 },
    signature: 'bitnot(Int)',
    description: "Bitwise complement (two's complement, arbitrary precision: `bitnot(0)` is -1).",
    examples: [{ sql: 'bitnot(5)', result: '-6' }],
    impl: (args) => fromBigInt(~needBigInt(args[0], 'Int')),
    pure: true,
  },
  binop('bitand', (a, b) => a & b, 'bitand(12, 10)', '8'),
  binop('bitor', (a, b) => a | b, 'bitor(12, 10)', '14'),
  binop('bitxor', (a, b) => a ^ b, 'bitxor(12, 10)', '6'),
  {
    name: 'bitsl',
    family: FAMILY,
    arity: { min: 2, max: 2 },
    signature: 'bitsl(Int, N)',
    description: 'Int shifted left by N bits (exact; a negative N shifts right).',
    examples: [{ sql: 'bitsl(1, 62)', result: '4611686018427387904' }],
    impl: (args) => {
      const n = needBigInt(args[1], 'N');
      if (n > MAX_SHIFT) return badArg(`bitsl: shift ${n} too large`);
      return fromBigInt(needBigInt(args[0], 'Int') << n);
    },
    pure: true,
  },
  {
    name: 'bitsr',
    family: FAMILY,
    arity: { min: 2, max: 2 },
    signature: 'bitsr(Int, N)',
    description: 'Arithmetic shift right by N bits (sign-preserving: `bitsr(-8, 1)` is -4).',
    examples: [
      { sql: 'bitsr(-8, 1)', result: '-4' },
      { sql: 'bitsr(255, 4)', result: '15' },
    ],
    impl: (args) => {
      const n = needBigInt(args[1], 'N');
      if (-n > MAX_SHIFT) return badArg(`bitsr: shift ${n} too large`);
      return fromBigInt(needBigInt(args[0], 'Int') >> n);
    },
    pure: true,
  },
  {
    name: 'bitsize',
    family: FAMILY,
    arity: { min: 1, max: 1 },
    signature: 'bitsize(Bin)',
    description: 'Size of a binary (or bit string) in bits.',
    examples: [
      { sql: "bitsize('ab')", result: '16' },
      { sql: "bitsize(subbits('ab', 1, 3, 'bits'))", result: '3' },
    ],
    impl: (args) => bitLength(needBytes(args[0], 'Bin')),
    pure: true,
  },
  {
    name: 'bytesize',
    family: FAMILY,
    arity: { min: 1, max: 1 },
    signature: 'bytesize(Bin)',
    description: 'Size of a binary in bytes (UTF-8 bytes for text).',
    examples: [{ sql: "bytesize('hé')", result: '3' }],
    impl: (args) => {
      const b = needBytes(args[0], 'Bin');
      if (bitLength(b) % 8 !== 0)
        return badArg(`bytesize: ${show(b)} is not a whole number of bytes`);
      return b.length;
    },
    pure: true,
  },
  {
    name: 'subbits',
    family: FAMILY,
    arity: { min: 2, max: 6 },
    signature: 'subbits(Bin, Len) | subbits(Bin, Start, Len[, Type[, Sign[, Endian]]])',
    description:
      "Read Len bits from the 1-based bit position Start (default 1). Type `'integer'` (default), `'float'` (16/32/64 bits) or `'bits'` (a bit string); Sign `'unsigned'` (default) or `'signed'`; Endian `'big'` (default) or `'little'`. Fewer remaining bits than Len → the remaining bits; Start past the end → undefined.",
    examples: [
      { sql: "subbits('abc', 8)", result: '97' },
      { sql: "subbits(hexstr2bin('FF00'), 1, 4)", result: '15' },
      { sql: "subbits(hexstr2bin('FF'), 1, 8, 'integer', 'signed')", result: '-1' },
      { sql: "subbits(hexstr2bin('0102'), 1, 16, 'integer', 'unsigned', 'little')", result: '513' },
      { sql: "subbits(hexstr2bin('3FF0000000000000'), 1, 64, 'float')", result: '1.0' },
      { sql: "subbits(hexstr2bin('FF'), 5, 100)", result: '15' },
      { sql: "subbits('a', 9, 1)", result: 'null' },
    ],
    impl: (args) => {
      if (args.length === 2) return subbits(args[0], 1, args[1], DEFAULT_OPTS);
      return subbits(args[0], args[1], args[2], subbitsOpts(args[3], args[4], args[5]));
    },
    specialize: subbitsSpecialize,
    pure: true,
  },
];
