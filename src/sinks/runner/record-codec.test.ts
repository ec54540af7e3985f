import { describe, expect, it } from 'vitest';
import { EFloat } from '../../core/index.js';
import type { SinkRecord } from '../../core/index.js';
import { readRecord, Writer, writeRecord } from './record-codec.js';

const roundTrip = (r: SinkRecord): SinkRecord => {
  const w = new Writer(8); // tiny on purpose: forces growth
  w.u8(0xee); // encoding starts at an offset, as inside a frame
  writeRecord(w, r);
  return readRecord(w.buf, 1, w.pos);
};

describe('record codec', () => {
  it('reproduces every kind of value exactly (what JSON cannot)', () => {
    const r: SinkRecord = {
      ruleId: 'rule-ü',
      ingestTs: 1_700_000_000_123.5,
      data: {
        i: 42,
        neg: -7,
        big: 2n ** 70n,
        f: 0.25,
        negzero: -0,
        huge: 2 ** 40,
        float2: new EFloat(2),
        s: 'héllo 🌍',
        b: Buffer.from([0, 1, 2, 255]),
        n: null,
        t: true,
        no: false,
        u: undefined,
        list: [1, undefined, 'x', [new EFloat(3)], { k: Buffer.alloc(0) }],
        nested: { a: { b: { c: [] } } },
      },
      context: { clientid: 'c1', payload: Buffer.from('{"x":1}'), qos: 1 },
    };
    const back = roundTrip(r);
    expect(back).toEqual(r);
    expect(back.data['float2']).toBeInstanceOf(EFloat);
    expect(Buffer.isBuffer(back.data['b'])).toBe(true);
    expect(typeof back.data['big']).toBe('bigint');
    expect(Object.is(back.data['negzero'], -0)).toBe(true);
    expect('u' in back.data).toBe(true);
  });

  it('keeps a record without context without one', () => {
    const back = roundTrip({ ruleId: 'r', ingestTs: 1, data: {} });
    expect(back).toEqual({ ruleId: 'r', ingestTs: 1, data: {} });
    expect('context' in back).toBe(false);
  });

  it('throws RangeError on a truncated encoding instead of reading past the end', () => {
    const w = new Writer();
    writeRecord(w, { ruleId: 'r', ingestTs: 1, data: { s: 'a long enough string' } });
    for (const cut of [3, 10, w.pos - 1])
      expect(() => readRecord(w.buf, 0, cut)).toThrow(RangeError);
  });
});
