/** Algebraic properties across families (fast-check). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { call } from './test-helpers.js';

const text = fc.string({ unit: 'grapheme', maxLength: 30 });
const sep = fc.constantFrom('/', ',', '::', 'é', '👍');

describe('properties', () => {
  it("split(s, sep, 'notrim') joined by sep gives s back", () => {
    fc.assert(
      fc.property(text, sep, (s, p) => {
        const parts = call('split', [s, p, 'notrim']) as string[];
        expect(call('join_to_string', [p, parts])).toBe(s);
        expect(call('split', [s, p])).toEqual(parts.filter((x) => x !== ''));
      }),
    );
  });

  it('leading/trailing split at most once and keep the text', () => {
    fc.assert(
      fc.property(text, sep, (s, p) => {
        for (const opt of ['leading_notrim', 'trailing_notrim']) {
          const parts = call('split', [s, p, opt]) as string[];
          expect(parts.length).toBeLessThanOrEqual(2);
          expect(parts.join(p)).toBe(s);
        }
      }),
    );
  });

  it('hexstr2bin inverts bin2hexstr', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (arr) => {
        const b = Buffer.from(arr);
        expect(call('hexstr2bin', [call('bin2hexstr', [b])])).toEqual(b);
      }),
    );
  });

  it('pad reaches the requested length in characters (single-character fill)', () => {
    fc.assert(
      fc.property(
        text,
        fc.integer({ min: 0, max: 50 }),
        fc.constantFrom('trailing', 'leading', 'both'),
        (s, n, w) => {
          const out = call('pad', [s, n, w, '·']) as string;
          expect(call('strlen', [out])).toBe(Math.max(n, call('strlen', [s]) as number));
          expect(out.includes(s)).toBe(true);
        },
      ),
    );
  });

  it('reverse is an involution and keeps strlen', () => {
    fc.assert(
      fc.property(text, (s) => {
        const r = call('reverse', [s]);
        expect(call('strlen', [r])).toBe(call('strlen', [s]));
        expect(call('reverse', [r])).toBe(s);
      }),
    );
  });

  it('substr slices compose', () => {
    fc.assert(
      fc.property(text, fc.nat(40), fc.nat(40), (s, a, n) => {
        const head = call('substr', [s, 0, a]) as string;
        const tail = call('substr', [s, a]) as string;
        expect(head + tail).toBe(s);
        expect(call('strlen', [call('substr', [s, a, n])])).toBeLessThanOrEqual(n);
      }),
    );
  });

  it('json_decode inverts json_encode for JSON values', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const decoded = call('json_decode', [JSON.stringify(v)]);
        expect(call('json_decode', [call('json_encode', [decoded])])).toEqual(decoded);
      }),
    );
  });

  it('div and mod satisfy a = b*div(a,b) + mod(a,b)', () => {
    fc.assert(
      fc.property(
        fc.integer(),
        fc.integer().filter((x) => x !== 0),
        (a, b) => {
          const q = call('div', [a, b]) as number;
          const r = call('mod', [a, b]) as number;
          expect(b * q + r).toBe(a);
          expect(Math.abs(r)).toBeLessThan(Math.abs(b));
          expect(r === 0 || Math.sign(r) === Math.sign(a)).toBe(true);
        },
      ),
    );
  });
});
