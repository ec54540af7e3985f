/**
 * Conversions between decoder output and the rule value model (core/values.ts): 64-bit
 * integers become numbers when safe and `bigint` beyond 2^53, float fields become floats
 * (`mkFloat`, so an integral 25.0 stays a float), bytes stay `Buffer`.
 */
import { EFloat, mkFloat } from '../core/index.js';
import type { Value } from '../core/index.js';

/** A long from protobufjs (Long), avsc's bigint long, or a number → the value model. */
export function intValue(v: unknown): number | bigint {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v;
  if (v && typeof v === 'object' && 'low' in v && 'high' in v) {
    // protobufjs' Long: combine the halves when the value is a safe integer (the common case),
    // exact bigint otherwise.
    const l = v as { low: number; high: number; unsigned?: boolean };
    const hi = l.unsigned ? l.high >>> 0 : l.high;
    const n = hi * 4294967296 + (l.low >>> 0);
    if (Number.isSafeInteger(n)) return n;
    const b = BigInt(String(v));
    return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(b)
      : b;
  }
  return Number(v);
}

export function floatValue(v: unknown): number | EFloat {
  return mkFloat(Number(v));
}

/** A rule value → something the encoders take: unbox EFloat, keep the rest. */
export function plainNumber(v: Value): Value {
  return v instanceof EFloat ? v.value : v;
}
