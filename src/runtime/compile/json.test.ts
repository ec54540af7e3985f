import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { EFloat, decodeJson } from '../../core/index.js';
import { MessageContext } from '../message-context.js';
import { needsExactDecode } from './json.js';

/** What the lazily exact message context ends up with (the same as core decodeJson). */
function decodePayloadJson(raw: Buffer): unknown {
  const mc = new MessageContext({ payload: raw });
  return mc.exactPayload();
}

const b = (s: string) => Buffer.from(s, 'utf8');

describe('lazily exact payload decode (same result as core decodeJson)', () => {
  it('flags texts whose numbers need the exact decode', () => {
    for (const s of [
      '{"a":2.0}',
      '[1.00]',
      '{"a":1e3}',
      '[1.5E2]',
      '[1e-3]',
      '[12345678901234567]',
    ])
      expect(needsExactDecode(b(s)), s).toBe(true);
    for (const s of ['{"a":2.5}', '{"dev":"e5","x":10}', '[1.05]', '{"t":31.5,"h":40.2}'])
      expect(needsExactDecode(b(s)), s).toBe(false);
  });

  it('keeps integral floats and big integers', () => {
    expect(decodePayloadJson(b('{"a":2.0,"b":1e2,"c":12345678901234567890}'))).toStrictEqual({
      a: new EFloat(2),
      b: new EFloat(100),
      c: 12345678901234567890n,
    });
  });

  it('agrees with decodeJson on arbitrary JSON', () => {
    fc.assert(
      fc.property(fc.json(), (text) => {
        expect(decodePayloadJson(b(text))).toStrictEqual(decodeJson(text));
      }),
      { numRuns: 500 },
    );
  });

  it('agrees with decodeJson on number-heavy texts', () => {
    const numText = fc.oneof(
      fc.integer().map(String),
      fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
      fc.bigInt().map(String),
      fc.nat(9).map((n) => `${n}.0`),
      fc.nat(99).map((n) => `${n}e${n % 5}`),
      fc.nat(99).map((n) => `-${n}.${'0'.repeat((n % 3) + 1)}`),
    );
    fc.assert(
      fc.property(fc.array(numText, { maxLength: 8 }), (nums) => {
        const text = `[${nums.join(',')}]`;
        expect(decodePayloadJson(b(text))).toStrictEqual(decodeJson(text));
      }),
      { numRuns: 500 },
    );
  });
});

describe('rules read exact values from a lazily settled payload', () => {
  it('every top-level field read through a rule equals the exact decode', async () => {
    const { compileRule } = await import('../index.js');
    const field = fc.oneof(
      fc.integer(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.bigInt().map((b) => ({ raw: b.toString() })),
      fc.nat(9).map((n) => ({ raw: `${n}.0` })),
      fc.string(),
      fc.array(
        fc.nat(9).map((n) => ({ raw: `${n}.0` })),
        { maxLength: 3 },
      ),
    );
    const render = (v: unknown): string =>
      Array.isArray(v)
        ? `[${v.map(render).join(',')}]`
        : typeof v === 'object' && v !== null && 'raw' in v
          ? String((v as { raw: string }).raw)
          : JSON.stringify(v);
    const rule = compileRule('SELECT payload.a AS a, payload.b AS b, payload.c AS c FROM "t"');
    fc.assert(
      fc.property(field, field, field, (a, b, c) => {
        const text = `{"a":${render(a)},"b":${render(b)},"c":${render(c)}}`;
        const exact = decodeJson(text) as Record<string, unknown>;
        const [out] = rule.evaluate({ payload: Buffer.from(text) });
        expect(out).toStrictEqual({ a: exact.a, b: exact.b, c: exact.c });
      }),
      { numRuns: 300 },
    );
  });
});
