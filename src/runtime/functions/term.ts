/**
 * Erlang external term format (ETF, version 131) for `term_encode`/`term_decode` (spec §8.9),
 * restricted to the terms the rule value model can represent:
 *
 * | value            | encoded as                                                     |
 * |------------------|----------------------------------------------------------------|
 * | integer          | SMALL_INTEGER_EXT / INTEGER_EXT / SMALL_BIG_EXT / LARGE_BIG_EXT |
 * | float            | NEW_FLOAT_EXT                                                  |
 * | string / binary  | BINARY_EXT                                                     |
 * | true/false/undefined/null | SMALL_ATOM_UTF8_EXT                                   |
 * | list             | LIST_EXT (proper) or NIL_EXT                                   |
 * | map              | MAP_EXT, binary keys in byte order (as Erlang writes small maps) |
 *
 * Decoding also accepts ATOM_EXT/ATOM_UTF8_EXT/SMALL_ATOM_EXT (atoms other than the four
 * above become their name as text), STRING_EXT (a list of bytes), FLOAT_EXT, atom/integer map
 * keys (as text). Tuples, pids, refs, funs, compressed terms and improper lists are rejected
 * with a clear BadArg.
 */
import { EFloat, VALUE_MAX_DEPTH, isMap, mkFloat, setOwn } from '../../core/index.js';
import type { Value, ValueMap } from '../../core/index.js';
import { badArg } from './registry.js';
import { show } from './util.js';

const VERSION = 131;

export function termEncode(v: Value): Buffer {
  const chunks: Buffer[] = [Buffer.from([VERSION])];
  encode(v, chunks, 0);
  return Buffer.concat(chunks);
}

function atom(name: string, out: Buffer[]): void {
  const b = Buffer.from(name, 'utf8');
  out.push(Buffer.from([119, b.length]), b);
}

function bigint(n: bigint, out: Buffer[]): void {
  const sign = n < 0n ? 1 : 0;
  let m = n < 0n ? -n : n;
  const digits: number[] = [];
  while (m > 0n) {
    digits.push(Number(m & 0xffn));
    m >>= 8n;
  }
  if (digits.length < 256) out.push(Buffer.from([110, digits.length, sign, ...digits]));
  else {
    const h = Buffer.alloc(6);
    h[0] = 111;
    h.writeUInt32BE(digits.length, 1);
    h[5] = sign;
    out.push(h, Buffer.from(digits));
  }
}

function encode(v: Value, out: Buffer[], depth: number): void {
  if (depth > VALUE_MAX_DEPTH)
    badArg(`term_encode: value nested deeper than ${VALUE_MAX_DEPTH} levels`);
  if (v === undefined) return atom('undefined', out);
  if (v === null) return atom('null', out);
  if (typeof v === 'boolean') return atom(v ? 'true' : 'false', out);
  if (typeof v === 'number' && Number.isInteger(v)) {
    if (v >= 0 && v <= 255) out.push(Buffer.from([97, v]));
    else if (v >= -(2 ** 31) && v < 2 ** 31) {
      const b = Buffer.alloc(5);
      b[0] = 98;
      b.writeInt32BE(v, 1);
      out.push(b);
    } else bigint(BigInt(v), out);
    return;
  }
  if (typeof v === 'bigint') return bigint(v, out);
  if (typeof v === 'number' || v instanceof EFloat) {
    const b = Buffer.alloc(9);
    b[0] = 70;
    b.writeDoubleBE(typeof v === 'number' ? v : v.value, 1);
    out.push(b);
    return;
  }
  if (typeof v === 'string' || Buffer.isBuffer(v)) {
    const b = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
    const h = Buffer.alloc(5);
    h[0] = 109;
    h.writeUInt32BE(b.length, 1);
    out.push(h, b);
    return;
  }
  if (Array.isArray(v)) {
    if (v.length === 0) {
      out.push(Buffer.from([106]));
      return;
    }
    const h = Buffer.alloc(5);
    h[0] = 108;
    h.writeUInt32BE(v.length, 1);
    out.push(h);
    for (const x of v) encode(x, out, depth + 1);
    out.push(Buffer.from([106]));
    return;
  }
  if (isMap(v)) {
    const keys = Object.keys(v).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    const h = Buffer.alloc(5);
    h[0] = 116;
    h.writeUInt32BE(keys.length, 1);
    out.push(h);
    for (const k of keys) {
      encode(k, out, depth + 1);
      encode(v[k], out, depth + 1);
    }
    return;
  }
  badArg(`term_encode: cannot encode ${show(v)}`);
}

export function termDecode(b: Buffer): Value {
  if (b.length === 0 || b[0] !== VERSION)
    return badArg('term_decode: not an Erlang external term (bad version byte)');
  const r = { b, i: 1 };
  const v = decode(r, 0);
  if (r.i !== b.length) return badArg('term_decode: trailing bytes after the term');
  return v;
}

interface Reader {
  readonly b: Buffer;
  i: number;
}

function need(r: Reader, n: number): void {
  if (r.i + n > r.b.length) badArg('term_decode: truncated term');
}

function atomValue(name: string): Value {
  switch (name) {
    case 'true':
      return true;
    case 'false':
      return false;
    case 'undefined':
      return undefined;
    case 'null':
      return null;
    default:
      return name;
  }
}

function readBig(r: Reader, n: number): Value {
  need(r, 1 + n);
  const sign = r.b[r.i++];
  let v = 0n;
  for (let k = n - 1; k >= 0; k--) v = (v << 8n) | BigInt(r.b[r.i + k] as number);
  r.i += n;
  if (sign) v = -v;
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(v)
    : v;
}

function decode(r: Reader, depth: number): Value {
  // A crafted binary can nest lists as deep as it is long: stop before the stack does.
  if (depth > VALUE_MAX_DEPTH)
    badArg(`term_decode: term nested deeper than ${VALUE_MAX_DEPTH} levels`);
  need(r, 1);
  const tag = r.b[r.i++] as number;
  switch (tag) {
    case 97:
      need(r, 1);
      return r.b[r.i++] as number;
    case 98: {
      need(r, 4);
      const v = r.b.readInt32BE(r.i);
      r.i += 4;
      return v;
    }
    case 110: {
      need(r, 1);
      const n = r.b[r.i++] as number;
      return readBig(r, n);
    }
    case 111: {
      need(r, 4);
      const n = r.b.readUInt32BE(r.i);
      r.i += 4;
      return readBig(r, n);
    }
    case 70: {
      need(r, 8);
      const f = r.b.readDoubleBE(r.i);
      r.i += 8;
      return mkFloat(f);
    }
    case 99: {
      need(r, 31);
      const f = Number.parseFloat(
        r.b
          .subarray(r.i, r.i + 31)
          .toString('latin1')
          .replace(/\0+$/, ''),
      );
      r.i += 31;
      return mkFloat(f);
    }
    case 109: {
      need(r, 4);
      const n = r.b.readUInt32BE(r.i);
      r.i += 4;
      need(r, n);
      const s = Buffer.from(r.b.subarray(r.i, r.i + n));
      r.i += n;
      return s;
    }
    case 100:
    case 118:
    case 115:
    case 119: {
      const small = tag === 115 || tag === 119;
      need(r, small ? 1 : 2);
      const n = small ? (r.b[r.i] as number) : r.b.readUInt16BE(r.i);
      r.i += small ? 1 : 2;
      need(r, n);
      const name = r.b
        .subarray(r.i, r.i + n)
        .toString(tag === 100 || tag === 115 ? 'latin1' : 'utf8');
      r.i += n;
      return atomValue(name);
    }
    case 106:
      return [];
    case 107: {
      need(r, 2);
      const n = r.b.readUInt16BE(r.i);
      r.i += 2;
      need(r, n);
      const out = [...r.b.subarray(r.i, r.i + n)];
      r.i += n;
      return out;
    }
    case 108: {
      need(r, 4);
      const n = r.b.readUInt32BE(r.i);
      r.i += 4;
      const out: Value[] = [];
      for (let k = 0; k < n; k++) out.push(decode(r, depth + 1));
      need(r, 1);
      if (r.b[r.i++] !== 106) return badArg('term_decode: improper lists are not supported');
      return out;
    }
    case 116: {
      need(r, 4);
      const n = r.b.readUInt32BE(r.i);
      r.i += 4;
      const out: ValueMap = {};
      for (let k = 0; k < n; k++) {
        const key = decode(r, depth + 1);
        let ks: string;
        if (typeof key === 'string') ks = key;
        else if (Buffer.isBuffer(key)) ks = key.toString('utf8');
        else if (typeof key === 'number' || typeof key === 'bigint' || typeof key === 'boolean')
          ks = String(key);
        else if (key === undefined || key === null) ks = String(key);
        else return badArg('term_decode: map keys must be binaries, atoms or integers');
        setOwn(out, ks, decode(r, depth + 1));
      }
      return out;
    }
    default:
      return badArg(
        `term_decode: unsupported term tag ${tag} (tuples, pids, refs, funs and compressed terms are not supported)`,
      );
  }
}
