import { describe, expect, it } from 'vitest';
import { EFloat } from '../../core/index.js';
import { badArg, both, call, callSpecialized } from './test-helpers.js';

const f = (fmt: string, ...args: unknown[]): unknown =>
  both('sprintf', [fmt, ...(args as never[])]);

describe('sprintf / sprintf_s (Erlang io_lib:format directives)', () => {
  it('~s and ~ts print text; ~n and ~~', () => {
    expect(f('~s|~ts', 'a', 'é')).toBe('a|é');
    expect(f('~s', Buffer.from('bin'))).toBe('bin');
    expect(f('~s', true)).toBe('true');
    expect(f('a~nb~~')).toBe('a\nb~');
  });
  it('~p and ~w print Erlang terms', () => {
    expect(f('~p', 'abc')).toBe('<<"abc">>');
    expect(f('~tp', 'é')).toBe('<<"é"/utf8>>');
    expect(f('~p', 'é')).toBe('<<195,169>>');
    expect(f('~w', 'a')).toBe('<<97>>');
    expect(f('~p', { k: [1, new EFloat(2), null] })).toBe('#{<<"k">> => [1,2.0,null]}');
    expect(f('~p ~p', undefined, 0.1)).toBe('undefined 0.1');
    expect(f('~p', 1e21)).toBe('1000000000000000000000');
    expect(f('~p', new EFloat(1e21))).toBe('1.0e21');
    expect(f('~p', 'a"b')).toBe('<<"a\\"b">>');
  });
  it('width, precision, left-justification and pad characters', () => {
    expect(f('[~6s]', 'ab')).toBe('[    ab]');
    expect(f('[~-6s]', 'ab')).toBe('[ab    ]');
    expect(f('[~.2s]', 'abcd')).toBe('[ab]');
    expect(f('[~6.2.xs]', 'abcd')).toBe('[xxxxab]');
    expect(f('[~6.2.*s]', 45, 'abcd')).toBe('[----ab]');
    expect(f('[~*s]', 4, 'a')).toBe('[   a]');
    expect(f('[~5.10.0B]', 42)).toBe('[00042]');
    expect(f('[~3s]', 'abcdef')).toBe('[abc]'); // text is cut to the field
    expect(f('[~3p]', 123456)).toBe('[***]'); // other output too wide → stars
    expect(f('[~5.2c]', 120)).toBe('[   xx]');
  });
  it('integers in bases, with prefixes', () => {
    expect(f('~b ~.16b ~.16B ~.2B', 10, 255, 255, 5)).toBe('10 ff FF 101');
    expect(f('~.16x', 255, '0x')).toBe('0xff');
    expect(f('~.16#', 255)).toBe('16#FF');
    expect(f('~b', -12)).toBe('-12');
    expect(f('~b', 2n ** 64n)).toBe('18446744073709551616');
  });
  it('floats and characters', () => {
    expect(f('~f', 1.5)).toBe('1.500000');
    expect(f('~.2f', 3.14159)).toBe('3.14');
    expect(f('~e', 1.5)).toBe('1.50000e+0');
    expect(f('~.3e', 12345.678)).toBe('1.23e+4');
    expect(f('~g', 1.5)).toBe('1.500000');
    expect(f('~c~3c', 97, 98)).toBe('abbb');
    expect(f('~i~s', 'ignored', 'x')).toBe('x');
  });
  it('sprintf_s takes the arguments as a list', () => {
    expect(both('sprintf_s', ['~s=~p', ['k', 1]])).toBe('k=1');
    badArg('sprintf_s', ['~s', 'k']);
  });
  it('argument count and type errors', () => {
    badArg('sprintf', ['~s ~s', 'a'], 'not enough');
    badArg('sprintf', ['~s', 'a', 'b'], 'too many');
    badArg('sprintf', ['~b', 1.5], 'integer');
    badArg('sprintf', ['~s', 12], 'string');
    badArg('sprintf', ['~f', 'x'], 'number');
    badArg('sprintf', [undefined]);
    badArg('sprintf', ['~*s', 1e9, 'a'], 'allowed');
    badArg('sprintf', ['~999999999c', 97], 'allowed');
  });
  it('unknown directives fail at specialisation time when the format is literal', () => {
    badArg('sprintf', ['~z', 1], 'unsupported');
    expect(() => callSpecialized('sprintf', ['~q', 1], [0])).toThrow(/unsupported/);
    expect(call('sprintf', ['plain'])).toBe('plain');
  });
});
