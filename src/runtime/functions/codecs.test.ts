import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EFloat } from '../../core/index.js';
import type { Value } from '../../core/index.js';
import { MAX_OUTPUT } from './compress.js';
import { badArg, both, call, callSpecialized } from './test-helpers.js';

describe('hashing', () => {
  it('md5/sha/sha256 of text and bytes, lower-case hex', () => {
    expect(call('md5', [''])).toBe('d41d8cd98f00b204e9800998ecf8427e');
    expect(call('sha', [Buffer.from([0xff])])).toBe(
      createHash('sha1')
        .update(Buffer.from([0xff]))
        .digest('hex'),
    );
    expect(call('sha256', ['é'])).toBe(createHash('sha256').update('é').digest('hex'));
    badArg('md5', [undefined]);
    badArg('sha256', [42]);
  });
  it('hash() supports every documented algorithm that this OpenSSL offers', () => {
    const node: Record<string, string> = {
      md5: 'md5',
      sha: 'sha1',
      sha1: 'sha1',
      sha224: 'sha224',
      sha256: 'sha256',
      sha384: 'sha384',
      sha512: 'sha512',
      sha3_224: 'sha3-224',
      sha3_256: 'sha3-256',
      sha3_384: 'sha3-384',
      sha3_512: 'sha3-512',
      shake128: 'shake128',
      shake256: 'shake256',
      blake2b: 'blake2b512',
      blake2s: 'blake2s256',
    };
    for (const [algo, n] of Object.entries(node))
      expect(both('hash', [algo, 'abc']), algo).toBe(createHash(n).update('abc').digest('hex'));
    expect((call('hash', ['shake256', '']) as string).length).toBe(64);
    expect(call('hash', ['sha512-256', 'abc'])).toBe(
      createHash('sha512-256').update('abc').digest('hex'),
    );
  });
  it('md4 works even where OpenSSL 3 has dropped it (RFC 1320 test suite)', () => {
    const vectors: [string, string][] = [
      ['', '31d6cfe0d16ae931b73c59d7e0c089c0'],
      ['a', 'bde52cb31de33e46245e05fbdbd6fb24'],
      ['abc', 'a448017aaf21d8525fc10ae87aa6729d'],
      ['message digest', 'd9130a8164549fe818874806e1c7014b'],
      ['abcdefghijklmnopqrstuvwxyz', 'd79e1c308aa5bbcdeea8ed63df412da9'],
      [
        'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789',
        '043f8582f241db351ce627e153e7f0e4',
      ],
      ['1234567890'.repeat(8), 'e33b4ddc9c38f2199c3e7b164fcc0536'],
    ];
    for (const [input, want] of vectors) expect(both('hash', ['md4', input]), input).toBe(want);
  });
  it('unknown algorithms fail, at specialisation time too', () => {
    badArg('hash', ['sha999', 'a'], 'unknown hash algorithm');
    expect(() => callSpecialized('hash', ['crc32x', 'a'], [0])).toThrow(/unknown hash algorithm/);
    badArg('hash', ['md5', null]);
  });
});

describe('compression', () => {
  const sample = Buffer.from('hello hello hello — ünïcode', 'utf8');
  it('each pair round-trips bytes', () => {
    for (const [c, d] of [
      ['gzip', 'gunzip'],
      ['zip', 'unzip'],
      ['zip_compress', 'zip_uncompress'],
    ]) {
      const packed = call(c as string, [sample]) as Buffer;
      expect(Buffer.isBuffer(packed)).toBe(true);
      expect(call(d as string, [packed])).toEqual(sample);
    }
  });
  it('uses the right container formats', () => {
    expect((call('gzip', ['x']) as Buffer).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    expect((call('zip_compress', ['x']) as Buffer)[0]).toBe(0x78);
    badArg('gunzip', [call('zip', ['x'])]);
    badArg('zip_uncompress', [call('gzip', ['x'])]);
  });
  it('corrupt input and wrong types fail with BadArg', () => {
    badArg('gunzip', ['not gzip']);
    badArg('unzip', [Buffer.from([0xff, 0xff, 0xff])]);
    badArg('gzip', [undefined]);
    badArg('zip', [12]);
  });
  it('refuses to inflate beyond the output cap', () => {
    const bomb = gzipSync(Buffer.alloc(MAX_OUTPUT + 1024));
    badArg('gunzip', [bomb]);
  });
});

describe('base64', () => {
  const bytes = Buffer.from([0xfb, 0xff, 0xbe, 0x01]);
  it('every option combination, any order', () => {
    expect(both('base64_encode', [bytes])).toBe('+/++AQ==');
    expect(both('base64_encode', [bytes, 'urlsafe'])).toBe('-_--AQ==');
    expect(both('base64_encode', [bytes, 'no_padding'])).toBe('+/++AQ');
    expect(both('base64_encode', [bytes, 'urlsafe', 'no_padding'])).toBe('-_--AQ');
    expect(both('base64_encode', [bytes, 'no_padding', 'urlsafe'])).toBe('-_--AQ');
    expect(both('base64_encode', [bytes, 'whatever'])).toBe('+/++AQ==');
    expect(both('base64_decode', ['+/++AQ=='])).toEqual(bytes);
    expect(both('base64_decode', ['-_--AQ==', 'urlsafe'])).toEqual(bytes);
    expect(both('base64_decode', ['-_--AQ', 'no_padding', 'urlsafe'])).toEqual(bytes);
    expect(both('base64_decode', ['+/++AQ', 'no_padding'])).toEqual(bytes);
    expect(both('base64_encode', [''])).toBe('');
    expect(both('base64_decode', [''])).toEqual(Buffer.alloc(0));
  });
  it('decoding is strict about padding and alphabet', () => {
    badArg('base64_decode', ['+/++AQ'], 'padding');
    badArg('base64_decode', ['-_--AQ=='], 'invalid characters');
    badArg('base64_decode', ['+/++AQ==', 'urlsafe'], 'invalid characters');
    badArg('base64_decode', ['a', 'no_padding'], 'length');
    badArg('base64_decode', ['ab$=']);
    badArg('base64_decode', [undefined]);
  });
  it('round-trips arbitrary bytes with every option set', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 }),
        fc.subarray(['urlsafe', 'no_padding']),
        (arr, opts) => {
          const b = Buffer.from(arr);
          const text = call('base64_encode', [b, ...opts]);
          expect(call('base64_decode', [text, ...opts])).toEqual(b);
        },
      ),
    );
  });
});

describe('json_encode / json_decode', () => {
  it('keeps the value model: floats, big integers, undefined vs null', () => {
    expect(call('json_decode', ['{"a":2.0,"b":12345678901234567890,"c":null}'])).toEqual({
      a: new EFloat(2),
      b: 12345678901234567890n,
      c: null,
    });
    expect(call('json_encode', [{ a: new EFloat(2), u: undefined, s: 'é' }])).toBe(
      '{"a":2.0,"u":null,"s":"é"}',
    );
    expect(call('json_encode', ['raw "text"'])).toBe('"raw \\"text\\""');
    expect(call('json_encode', [undefined])).toBe('null');
    expect(call('json_decode', ['"x"'])).toBe('x');
  });
  it('invalid JSON and non-text input fail', () => {
    badArg('json_decode', ['{"a":'], 'invalid JSON');
    badArg('json_decode', [''], 'invalid JSON');
    badArg('json_decode', [undefined]);
    badArg('json_decode', [{}]);
  });
});

describe('term_encode / term_decode (Erlang external term format)', () => {
  it('encodes like term_to_binary', () => {
    const hex = (v: Value): string => (call('term_encode', [v]) as Buffer).toString('hex');
    expect(hex(1)).toBe('836101');
    expect(hex(-1)).toBe('8362ffffffff');
    expect(hex(2 ** 40)).toBe('836e0600000000000001');
    expect(hex(true)).toBe('83770474727565');
    expect(hex(undefined)).toBe('837709756e646566696e6564');
    expect(hex('ab')).toBe('836d000000026162');
    expect(hex([])).toBe('836a');
    expect(hex(new EFloat(1))).toBe('83463ff0000000000000');
    expect(hex({ b: 1, a: 2 })).toBe('8374000000026d00000001616102' + '6d00000001626101');
  });
  it('round-trips every representable value', () => {
    const value: fc.Arbitrary<Value> = fc.letrec<{ v: Value }>((tie) => ({
      v: fc.oneof(
        { depthSize: 'small' },
        fc.integer(),
        fc
          .bigInt({ min: -(2n ** 200n), max: 2n ** 200n })
          .map((b) =>
            b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER)
              ? Number(b)
              : b,
          ),
        fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Number.isInteger(d)),
        fc.boolean(),
        fc.constant(null),
        fc.constant(undefined),
        fc.array(tie('v'), { maxLength: 4 }),
        fc.dictionary(fc.string(), tie('v'), { maxKeys: 4 }),
      ),
    })).v;
    fc.assert(
      fc.property(value, (v) => {
        expect(call('term_decode', [call('term_encode', [v])])).toEqual(v);
      }),
    );
  });
  it('decodes strings as binaries, other atoms as text and STRING_EXT as byte lists', () => {
    expect(call('term_decode', [Buffer.from('836d00000002c3a9', 'hex')])).toEqual(Buffer.from('é'));
    expect(call('term_decode', [Buffer.from('836400026f6b', 'hex')])).toBe('ok');
    expect(call('term_decode', [Buffer.from('836b00026869', 'hex')])).toEqual([104, 105]);
  });
  it('rejects unsupported and malformed terms clearly', () => {
    badArg('term_decode', [Buffer.from('8368026101610a', 'hex')], 'unsupported term tag 104');
    badArg('term_decode', [Buffer.from('8361', 'hex')], 'truncated');
    badArg('term_decode', [Buffer.from('6101', 'hex')], 'version');
    badArg('term_decode', [Buffer.from('83610100', 'hex')], 'trailing');
    badArg('term_decode', [Buffer.from('836c000000016101610a', 'hex')], 'improper');
    badArg('term_decode', [undefined]);
  });
});

describe('__proto__ keys stay data', () => {
  it('term_decode keeps a "__proto__" map key as an own property and pollutes nothing', () => {
    // The fast-check counterexample {["__proto__"]: []}: MAP_EXT with one binary key.
    const v = { ['__proto__']: [] } as Record<string, unknown>;
    Object.defineProperty(v, '__proto__', {
      value: [],
      enumerable: true,
      writable: true,
      configurable: true,
    });
    const back = call('term_decode', [call('term_encode', [v as never])]) as Record<
      string,
      unknown
    >;
    expect(Object.keys(back)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(back).toEqual(v);
    expect(({} as Record<string, unknown>)['x']).toBeUndefined();
  });
});
