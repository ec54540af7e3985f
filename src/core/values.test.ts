import { describe, expect, it } from 'vitest';
import {
  EFloat,
  compareTerms,
  decodeJson,
  encodeJson,
  exactEquals,
  floatToText,
  toText,
} from './values.js';

describe('value model', () => {
  it('formats floats like float_to_binary(F, [{decimals,10}, compact]) (rule-sql §6.2)', () => {
    expect(floatToText(0.1)).toBe('0.1');
    expect(floatToText(2)).toBe('2.0');
    expect(floatToText(1 / 3)).toBe('0.3333333333');
    expect(floatToText(-1.5)).toBe('-1.5');
    expect(toText(new EFloat(2))).toBe('2.0');
    expect(toText(undefined)).toBe('undefined');
    expect(floatToText(1e22)).toBe('10000000000000000000000.0');
    expect(floatToText(-2.5e21)).toBe('-2500000000000000000000.0');
  });

  it('keeps integral floats and big integers through JSON decode/encode', () => {
    const v = decodeJson('{"a":2.0,"b":2,"c":12345678901234567890,"d":null,"e":1.5}') as Record<
      string,
      unknown
    >;
    expect(v['a']).toBeInstanceOf(EFloat);
    expect(v['b']).toBe(2);
    expect(v['c']).toBe(12345678901234567890n);
    expect(v['d']).toBeNull();
    expect(encodeJson(v as never)).toBe(
      '{"a":2.0,"b":2,"c":12345678901234567890,"d":null,"e":1.5}',
    );
  });

  it('distinguishes exact equality from numeric-aware comparison (§6.3)', () => {
    expect(exactEquals(1, new EFloat(1))).toBe(false);
    expect(compareTerms(1, new EFloat(1))).toBe(0);
    expect(exactEquals('ab', Buffer.from('ab'))).toBe(true);
    expect(compareTerms(1, 'a')).toBeLessThan(0);
  });
});
