import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EFloat } from '../../core/index.js';
import { badArg, both, call } from './test-helpers.js';

const hex = (h: string): Buffer => Buffer.from(h, 'hex');

describe('bitwise integer functions', () => {
  it('work on integers of any size', () => {
    expect(call('bitand', [0b1100, 0b1010])).toBe(0b1000);
    expect(call('bitor', [0b1100, 0b1010])).toBe(0b1110);
    expect(call('bitxor', [0b1100, 0b1010])).toBe(0b0110);
    expect(call('bitnot', [0])).toBe(-1);
    expect(call('bitsl', [1, 64])).toBe(2n ** 64n);
    expect(call('bitsr', [2n ** 64n, 60])).toBe(16);
    expect(call('bitsr', [-1, 10])).toBe(-1);
    expect(call('bitsl', [8, -2])).toBe(2);
  });
  it('reject floats, strings and huge shifts', () => {
    badArg('bitand', [1.5, 1]);
    badArg('bitnot', ['1']);
    badArg('bitsl', [1, 10_000_000], 'too large');
    badArg('bitor', [undefined, 1]);
  });
});

describe('bitsize / bytesize', () => {
  it('count bits and bytes of text and binaries', () => {
    expect(call('bitsize', ['é'])).toBe(16);
    expect(call('bytesize', ['é'])).toBe(2);
    expect(call('bytesize', [Buffer.alloc(0)])).toBe(0);
    badArg('bitsize', [12]);
  });
});

describe('subbits', () => {
  it('reads the first Len bits by default (unsigned big integer)', () => {
    expect(both('subbits', [hex('f0'), 4])).toBe(15);
    expect(both('subbits', [hex('abcd'), 1, 16])).toBe(0xabcd);
  });
  it('reads from a 1-based Start, also across byte boundaries', () => {
    expect(both('subbits', [hex('0ff0'), 5, 8])).toBe(0xff);
    expect(both('subbits', [hex('0ff0'), 13, 4])).toBe(0);
  });
  it('signed and little-endian forms', () => {
    expect(both('subbits', [hex('ff'), 1, 8, 'integer', 'signed'])).toBe(-1);
    expect(both('subbits', [hex('80'), 1, 4, 'integer', 'signed'])).toBe(-8);
    expect(both('subbits', [hex('0100'), 1, 16, 'integer', 'unsigned', 'little'])).toBe(1);
    expect(both('subbits', [hex('feff'), 1, 16, 'integer', 'signed', 'little'])).toBe(-2);
    // Erlang little-endian with a partial last byte: <<16#AB, 16#C:4>> reads as 16#CAB.
    expect(both('subbits', [hex('abc0'), 1, 12, 'integer', 'unsigned', 'little'])).toBe(0xcab);
  });
  it('floats of 32 and 64 bits, both endiannesses', () => {
    const b = Buffer.alloc(4);
    b.writeFloatBE(1.5);
    expect(both('subbits', [b, 1, 32, 'float'])).toBe(1.5);
    b.writeFloatLE(-2);
    expect(both('subbits', [b, 1, 32, 'float', 'signed', 'little'])).toEqual(new EFloat(-2));
    expect(both('subbits', [hex('3c00'), 1, 16, 'float'])).toEqual(new EFloat(1));
    badArg('subbits', [hex('ffff'), 1, 12, 'float'], '16, 32 or 64');
    badArg('subbits', [hex('7ff0000000000000'), 1, 64, 'float'], 'finite');
  });
  it('uses the remaining bits when fewer than Len remain; Start past the end is undefined', () => {
    expect(both('subbits', [hex('ff'), 5, 100])).toBe(15);
    expect(both('subbits', [hex('ff'), 9, 1])).toBe(undefined);
    expect(both('subbits', [hex('ff'), 0, 1])).toBe(undefined);
    expect(both('subbits', [Buffer.alloc(0), 1])).toBe(undefined);
  });
  it("'bits' returns a bit string that bitsize and bin2hexstr understand", () => {
    const bits = call('subbits', [hex('ff'), 1, 5, 'bits']);
    expect(call('bitsize', [bits])).toBe(5);
    expect(call('bin2hexstr', [bits])).toBe('1F');
    const nine = call('subbits', [hex('ffff'), 1, 9, 'bits']);
    expect(call('bin2hexstr', [nine])).toBe('1FF');
    badArg('bytesize', [nine], 'whole number of bytes');
  });
  it('rejects bad options, negative lengths and non-binaries', () => {
    badArg('subbits', [hex('ff'), 1, 8, 'decimal'], 'Type');
    badArg('subbits', [hex('ff'), 1, 8, 'integer', 'maybe'], 'Signedness');
    badArg('subbits', [hex('ff'), 1, 8, 'integer', 'signed', 'middle'], 'Endianness');
    badArg('subbits', [hex('ff'), 1, -1], 'negative');
    badArg('subbits', [255, 8]);
    badArg('subbits', [undefined, 8]);
  });
});

describe('subbits integer reads match a bit-by-bit reference', () => {
  /** Reference: Erlang bit syntax on a '0'/'1' string. */
  function reference(
    bytes: Buffer,
    start: number,
    len: number,
    signed: boolean,
    little: boolean,
  ): bigint | undefined {
    const all = [...bytes].map((b) => b.toString(2).padStart(8, '0')).join('');
    if (start < 1 || start > all.length) return undefined;
    const bits = all.slice(start - 1, start - 1 + len);
    let v = 0n;
    if (little) {
      // whole bytes first (least significant), the remaining bits on top
      let shift = 0n;
      for (let i = 0; i < bits.length; i += 8) {
        const chunk = bits.slice(i, i + 8);
        v |= BigInt('0b' + chunk) << shift;
        shift += BigInt(chunk.length);
      }
    } else v = bits === '' ? 0n : BigInt('0b' + bits);
    const n = bits.length;
    if (signed && n > 0 && v >> BigInt(n - 1) === 1n) v -= 1n << BigInt(n);
    return v;
  }
  it('for any bytes, start, length, sign and endianness', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 12 }),
        fc.integer({ min: 1, max: 100 }),
        fc.integer({ min: 1, max: 80 }),
        fc.boolean(),
        fc.boolean(),
        (arr, start, len, signed, little) => {
          const b = Buffer.from(arr);
          const got = call('subbits', [
            b,
            start,
            len,
            'integer',
            signed ? 'signed' : 'unsigned',
            little ? 'little' : 'big',
          ]);
          const want = reference(b, start, len, signed, little);
          expect(got === undefined ? undefined : BigInt(got as number | bigint)).toBe(want);
        },
      ),
      { numRuns: 500 },
    );
  });
});
