import { describe, expect, it } from 'vitest';
import {
  JSON_MAX_DEPTH,
  JsonTooDeepError,
  VALUE_MAX_DEPTH,
  cloneValue,
  compareTerms,
  decodeJson,
  encodeJson,
  exactEquals,
  jsonDepthExceeds,
  parseJsonCapped,
} from './values.js';
import type { Value } from './values.js';

const nested = (d: number, open = '[', close = ']'): string =>
  open.repeat(d) + '1' + close.repeat(d);
/** A value nested `d` deep, built without recursion. */
function deepValue(d: number): Value {
  let v: Value = 1;
  for (let i = 0; i < d; i++) v = i % 2 ? [v] : { a: v };
  return v;
}

describe('JSON nesting depth cap (issue #19)', () => {
  it('counts array and object nesting, not brackets inside strings', () => {
    expect(jsonDepthExceeds(nested(5), 5)).toBe(false);
    expect(jsonDepthExceeds(nested(6), 5)).toBe(true);
    expect(jsonDepthExceeds('{"a":{"b":{"c":[[1]]}}}', 4)).toBe(true);
    expect(jsonDepthExceeds('{"a":{"b":{"c":[[1]]}}}', 5)).toBe(false);
    // 12 brackets, but all inside strings (with an escaped quote before them).
    const strings = JSON.stringify({ s: '\\"[[[[[[', t: '{{{{{{' });
    expect(jsonDepthExceeds(strings, 2)).toBe(false);
    // Siblings do not add up: many shallow objects are fine.
    expect(
      jsonDepthExceeds(JSON.stringify(Array.from({ length: 50 }, () => ({ a: [1] }))), 3),
    ).toBe(false);
    // Bytes are scanned without decoding, with the same answers.
    expect(jsonDepthExceeds(Buffer.from(nested(6)), 5)).toBe(true);
    expect(jsonDepthExceeds(Buffer.from(strings), 2)).toBe(false);
  });

  it('decodeJson accepts JSON_MAX_DEPTH levels and refuses one more as JsonTooDeepError (a SyntaxError)', () => {
    expect(decodeJson(nested(JSON_MAX_DEPTH))).toBeDefined();
    expect(() => decodeJson(nested(JSON_MAX_DEPTH + 1, '{"a":', '}'))).toThrow(JsonTooDeepError);
    expect(() => decodeJson(Buffer.from(nested(100_000)))).toThrow(SyntaxError);
    expect(() => parseJsonCapped(nested(100_000))).toThrow(/nested deeper than 1000 levels/);
    expect(parseJsonCapped(Buffer.from('{"a":[1]}'))).toEqual({ a: [1] });
  });

  it('recursive helpers on a 100,000-deep value throw a clear RangeError, never a stack overflow', () => {
    const deep = deepValue(100_000);
    for (const f of [
      () => encodeJson(deep),
      () => cloneValue(deep),
      () => exactEquals(deep, deepValue(100_000)),
      () => compareTerms(deep, deepValue(100_000)),
    ]) {
      expect(f).toThrow(RangeError);
      expect(f).toThrow(`nested deeper than ${VALUE_MAX_DEPTH} levels`);
    }
  });

  it('values within VALUE_MAX_DEPTH still work through every helper', () => {
    const v = deepValue(VALUE_MAX_DEPTH - 1);
    const copy = cloneValue(v);
    expect(exactEquals(v, copy)).toBe(true);
    expect(compareTerms(v, copy)).toBe(0);
    expect(decodeJson(encodeJson(deepValue(JSON_MAX_DEPTH - 1)))).toEqual(
      deepValue(JSON_MAX_DEPTH - 1),
    );
  });
});
