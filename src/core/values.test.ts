import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EFloat,
  compareTerms,
  decodeJson,
  encodeJson,
  encodeJsonGeneric,
  exactEquals,
  floatToText,
  toText,
} from './values.js';
import type { Value } from './values.js';

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

describe('encodeJson fast path', () => {
  const leaf = fc.oneof(
    fc.constant(undefined),
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double(), // includes NaN, ±Infinity, -0
    fc.constantFrom(1e21, -3e25, 2 ** 53 + 2, 123456789012345680000),
    fc.bigInt(),
    fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => new EFloat(Math.trunc(d))),
    fc.string({ unit: 'grapheme' }),
    fc.string({ unit: 'binary' }), // lone surrogates
    fc.uint8Array({ maxLength: 8 }).map((a) => Buffer.from(a)),
  );
  const value = fc.letrec((tie) => ({
    v: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaf,
      fc.array(tie('v'), { maxLength: 4 }),
      fc.dictionary(fc.string(), tie('v'), { maxKeys: 4 }),
    ),
  })).v;

  it('gives exactly the generic encoder text for every value of the model', () => {
    fc.assert(
      fc.property(value, (v) => {
        expect(encodeJson(v as Value)).toBe(encodeJsonGeneric(v as Value));
      }),
      { numRuns: 3000 },
    );
  });

  it('a record holding Buffers (the MQTT payload) encodes exactly as the generic encoder', () => {
    const payload = Buffer.from('{"ts":1.5,"seq":7,"pad":"ü\\"x"}');
    const records: Record<string, Value>[] = [
      { clientid: 'c1', topic: 'bench/r1/x', payload, qos: 1 },
      { 2: Buffer.from('b'), 1: 'a', z: [1, 'x', null], ['__proto__']: Buffer.from([0xff, 0x41]) },
      JSON.parse('{"__proto__": 1, "p": "x"}') as Record<string, Value>,
      { payload, a: 1, b: 'x' }, // the copy starts at the first member
      { a: 1, b: [2, 'y'], payload }, // ... or at the last one
      { 10: 'ten', a: Buffer.from('a'), 2: Buffer.from('two'), b: undefined },
      JSON.parse('{"a": 1, "__proto__": "x", "b": 2}') as Record<string, Value>,
    ];
    records[2]!['p'] = Buffer.from('x');
    records[6]!['b'] = Buffer.from('after __proto__');
    for (const r of records) expect(encodeJson(r)).toBe(encodeJsonGeneric(r));
    expect(encodeJson(records[0]!)).toBe(
      '{"clientid":"c1","topic":"bench/r1/x","payload":"{\\"ts\\":1.5,\\"seq\\":7,\\"pad\\":\\"ü\\\\\\"x\\"}","qos":1}',
    );
  });

  it('keeps the EMQX-visible differences from plain JSON.stringify', () => {
    expect(encodeJson({ a: undefined, b: new EFloat(2), c: 10n ** 22n })).toBe(
      '{"a":null,"b":2.0,"c":10000000000000000000000}',
    );
    expect(encodeJson({ big: 1e21, buf: Buffer.from('hi') })).toBe(
      '{"big":1000000000000000000000,"buf":"hi"}',
    );
    expect(encodeJson([undefined, NaN, -0])).toBe('[null,null,0]');
  });
});
