import { describe, expect, it } from 'vitest';
import { EFloat } from '../../core/index.js';
import { badArg, both, call, callSpecialized } from './test-helpers.js';

const STRING_FUNCS: [string, unknown[]][] = [
  ['lower', []],
  ['upper', []],
  ['trim', []],
  ['ltrim', []],
  ['rtrim', []],
  ['rtrim', ['x']],
  ['reverse', []],
  ['strlen', []],
  ['substr', [0]],
  ['rm_prefix', ['a']],
  ['split', ['/']],
  ['tokens', [',']],
  ['pad', [3]],
  ['replace', ['a', 'b']],
  ['regex_match', ['a']],
  ['regex_replace', ['a', 'b']],
  ['regex_extract', ['(a)']],
  ['ascii', []],
  ['find', ['a']],
  ['unescape', []],
];

describe('string functions reject undefined, null and non-strings', () => {
  for (const [f, rest] of STRING_FUNCS) {
    it(f, () => {
      badArg(f, [undefined, ...(rest as never[])]);
      badArg(f, [null, ...(rest as never[])]);
      badArg(f, [12, ...(rest as never[])]);
    });
  }
});

describe('case, trim, reverse, strlen', () => {
  it('Unicode case mapping', () => {
    expect(call('lower', ['ÉCOLE İ'])).toBe('école i̇');
    expect(call('upper', ['straße'])).toBe('STRASSE');
    expect(call('lower', [Buffer.from('ÄB')])).toBe('äb');
  });
  it('trims whitespace or given characters', () => {
    expect(call('trim', ['\t\r\n a b \u2028'])).toBe('a b');
    expect(call('ltrim', ['  a  '])).toBe('a  ');
    expect(call('rtrim', ['  a  '])).toBe('  a');
    expect(call('trim', ['\u00a0a'])).toBe('\u00a0a'); // NBSP is not whitespace for Erlang string:trim
    expect(call('rtrim', ['a,;,', ',;'])).toBe('a');
    expect(call('ltrim', ['ééa', 'é'])).toBe('a');
    expect(call('trim', ['', 'x'])).toBe('');
  });
  it('reverse and strlen work on grapheme clusters', () => {
    expect(call('reverse', ['ae\u0301👍🏽'])).toBe('👍🏽e\u0301a');
    expect(call('strlen', ['e\u0301'])).toBe(1);
    expect(call('strlen', ['🇫🇷x'])).toBe(2);
    expect(call('strlen', ['a\r\nb'])).toBe(3);
    expect(call('strlen', [''])).toBe(0);
  });
});

describe('substr (0-based, by character)', () => {
  it('slices', () => {
    expect(call('substr', ['abc', 1])).toBe('bc');
    expect(call('substr', ['abc', 0, 0])).toBe('');
    expect(call('substr', ['abc', 5])).toBe('');
    expect(call('substr', ['héllo👍🏽!', 4, 2])).toBe('o👍🏽');
  });
  it('rejects negative start/length and non-integers', () => {
    badArg('substr', ['abc', -1], 'negative');
    badArg('substr', ['abc', 0, -1], 'negative');
    badArg('substr', ['abc', 1.5]);
  });
});

describe('rm_prefix / find / ascii', () => {
  it('rm_prefix', () => {
    expect(call('rm_prefix', ['abc', ''])).toBe('abc');
    expect(call('rm_prefix', ['abc', 'abc'])).toBe('');
    expect(call('rm_prefix', ['abc', 'abcd'])).toBe('abc');
  });
  it('find', () => {
    expect(call('find', ['a.b.c', '.'])).toBe('.b.c');
    expect(call('find', ['a.b.c', '.', 'trailing'])).toBe('.c');
    expect(call('find', ['a.b.c', 'x', 'trailing'])).toBe('');
    badArg('find', ['a', 'a', 'middle'], 'Where');
  });
  it('ascii returns the first byte', () => {
    expect(call('ascii', ['A'])).toBe(65);
    expect(call('ascii', ['é'])).toBe(0xc3);
    badArg('ascii', [''], 'empty');
  });
});

describe('split: every option', () => {
  const s = '/a//b/';
  const table: [string | undefined, unknown][] = [
    [undefined, ['a', 'b']],
    ['notrim', ['', 'a', '', 'b', '']],
    ['leading', ['a//b/']],
    ['leading_notrim', ['', 'a//b/']],
    ['trailing', ['/a//b']],
    ['trailing_notrim', ['/a//b', '']],
  ];
  for (const [opt, want] of table) {
    it(`split('${s}', '/'${opt ? `, '${opt}'` : ''})`, () => {
      const args = opt ? [s, '/', opt] : [s, '/'];
      expect(both('split', args)).toEqual(want);
      expect(callSpecialized('split', args, [1, 2])).toEqual(want);
    });
  }
  it('leading/trailing split once at the first/last separator', () => {
    expect(call('split', ['a,b,c', ',', 'leading'])).toEqual(['a', 'b,c']);
    expect(call('split', ['a,b,c', ',', 'trailing'])).toEqual(['a,b', 'c']);
    expect(call('split', ['abc', ',', 'leading'])).toEqual(['abc']);
    expect(call('split', ['abc', ',', 'trailing_notrim'])).toEqual(['abc']);
  });
  it('multi-character separators and empty input', () => {
    expect(call('split', ['a::b::::c', '::'])).toEqual(['a', 'b', 'c']);
    expect(call('split', ['', '/'])).toEqual([]);
    expect(call('split', ['', '/', 'notrim'])).toEqual(['']);
  });
  it('rejects unknown options and empty separators (at specialisation too)', () => {
    badArg('split', ['a', '/', 'all'], 'Option');
    badArg('split', ['a', ''], 'empty');
    expect(() => callSpecialized('split', ['a', '/', 'bogus'], [1, 2])).toThrow(/Option/);
  });
});

describe('tokens', () => {
  it('splits at any separator character and drops empty tokens', () => {
    expect(both('tokens', [',a,,b;c;', ',;'])).toEqual(['a', 'b', 'c']);
    expect(both('tokens', ['', ','])).toEqual([]);
    expect(both('tokens', ['a\r\nb\nc d', ' ', 'nocrlf'])).toEqual(['a', 'b', 'c', 'd']);
    expect(both('tokens', ['a\r\nb', ' '])).toEqual(['a\r\nb']);
    expect(both('tokens', ['aébéc', 'é'])).toEqual(['a', 'b', 'c']);
    badArg('tokens', ['a', ',', 'crlf']);
  });
});

describe('concat / join_to_string', () => {
  it('converts like str, including undefined and floats', () => {
    expect(call('concat', [undefined, 'a'])).toBe('undefineda');
    expect(call('concat', [new EFloat(1), null])).toBe('1.0null');
    expect(call('concat', [[]])).toBe('');
    expect(call('concat', [[{ a: 1 }, [2]]])).toBe('{"a":1}[2]');
    badArg('concat', ['not a list']);
  });
  it('join_to_string', () => {
    expect(call('join_to_string', [[]])).toBe('');
    expect(call('join_to_string', [['a', undefined, 0.5]])).toBe('a, undefined, 0.5');
    expect(call('join_to_string', ['', ['a', 'b']])).toBe('ab');
    badArg('join_to_string', [1, ['a']]);
    badArg('join_to_string', ['a']);
  });
});

describe('pad: every position', () => {
  it('pads by character count', () => {
    expect(call('pad', ['é', 3])).toBe('é  ');
    expect(call('pad', ['abc', 6, 'leading'])).toBe('   abc');
    expect(call('pad', ['abc', 6, 'both'])).toBe(' abc  ');
    expect(call('pad', ['abc', 7, 'both', '-'])).toBe('--abc--');
    expect(call('pad', ['abc', 5, 'leading', 'xy'])).toBe('xyxyabc');
    expect(call('pad', ['abc', 2, 'both'])).toBe('abc');
    expect(call('pad', ['', 2, 'trailing', '0'])).toBe('00');
  });
  it('rejects unknown positions and non-integer lengths', () => {
    badArg('pad', ['a', 3, 'middle'], 'Where');
    badArg('pad', ['a', '3']);
    badArg('pad', ['a', 3, 'both', 1]);
    badArg('pad', ['a', 1e9], 'allowed');
  });
});

describe('replace: every position', () => {
  it('replaces literally', () => {
    expect(call('replace', ['a.b.c', '.', '$&'])).toBe('a$&b$&c');
    expect(call('replace', ['aaa', 'a', 'b', 'all'])).toBe('bbb');
    expect(call('replace', ['aaa', 'a', 'b', 'leading'])).toBe('baa');
    expect(call('replace', ['aaa', 'a', 'b', 'trailing'])).toBe('aab');
    expect(call('replace', ['abc', 'x', 'y', 'trailing'])).toBe('abc');
    badArg('replace', ['a', 'a', 'b', 'first'], 'Where');
    badArg('replace', ['a', '', 'b'], 'empty');
  });
});

describe('regex functions', () => {
  it('regex_match searches anywhere', () => {
    expect(both('regex_match', ['abc', 'b'])).toBe(true);
    expect(both('regex_match', ['abc', '^b'])).toBe(false);
    expect(both('regex_match', ['ABC', '(?i)b'])).toBe(true);
    expect(both('regex_match', ['héllo', '^h.llo$'])).toBe(true);
    expect(both('regex_match', ['key=1', '(?P<k>\\w+)=(?<v>\\d)'])).toBe(true);
    expect(both('regex_match', ['a1', '\\Aa\\d\\z'])).toBe(true);
    // PCRE `$` also matches before a final newline; \z does not; (?m) makes `$` per line
    expect(both('regex_match', ['abc\n', 'c$'])).toBe(true);
    expect(both('regex_match', ['abc\n', 'c\\z'])).toBe(false);
    expect(both('regex_match', ['abc\n', 'c\\Z'])).toBe(true);
    expect(both('regex_match', ['c\nx', 'c$'])).toBe(false);
    expect(both('regex_match', ['c\nx', '(?m)c$'])).toBe(true);
    expect(both('regex_match', ['x\nab', '\\Aab'])).toBe(false);
    expect(both('regex_match', [']', '^[]a]$'])).toBe(true);
    expect(both('regex_match', ['a\tb', 'a\\hb'])).toBe(true);
    expect(both('regex_match', ['$5', '^[$]\\d$'])).toBe(true);
    expect(both('regex_match', ['a b', '(?x) a \\  b # comment'])).toBe(true);
  });
  it('regex_replace: global, & and group references', () => {
    expect(both('regex_replace', ['a1b22c', '[0-9]+', '<&>'])).toBe('a<1>b<22>c');
    expect(both('regex_replace', ['2021-05-20', '(\\d+)-(\\d+)-(\\d+)', '\\3/\\2/\\1'])).toBe(
      '20/05/2021',
    );
    expect(both('regex_replace', ['ab', 'b', '\\&\\\\$1'])).toBe('a&\\$1');
    expect(both('regex_replace', ['ab', '(x)?b', '[\\g{1}]'])).toBe('a[]');
    expect(both('regex_replace', ['abc', 'x', 'y'])).toBe('abc');
  });
  it('regex_extract returns the first match groups', () => {
    expect(both('regex_extract', ['Hello, world!', '(\\w+).*\\s(\\w+)'])).toEqual([
      'Hello',
      'world',
    ]);
    expect(both('regex_extract', ['abc', 'b'])).toEqual([]);
    expect(both('regex_extract', ['abc', '(x)?(b)'])).toEqual(['', 'b']);
    expect(both('regex_extract', ['abc', '(\\d)'])).toEqual([]);
  });
  it('invalid or unsupported patterns fail clearly, also at specialisation', () => {
    badArg('regex_match', ['a', '('], 'invalid pattern');
    badArg('regex_match', ['a', 'a++'], 'possessive');
    badArg('regex_match', ['a', '(?>a)'], 'atomic');
    badArg('regex_match', ['key=key', '(?P<k>\\w+)=(?P=k)'], 'backreferences');
    expect(() => callSpecialized('regex_replace', ['a', '[', 'b'], [1, 2])).toThrow(/invalid/);
  });
});

describe('unescape', () => {
  it('interprets the documented escapes', () => {
    expect(call('unescape', ['\\n\\t\\r\\b\\f\\v\\\'\\"\\?\\a\\\\'])).toBe(
      '\n\t\r\b\f\v\'"?\x07\\',
    );
    expect(call('unescape', ['\\x41BC'])).toBe('\u{41bc}');
    expect(call('unescape', ['\\x1F600!'])).toBe('😀!');
    expect(call('unescape', ['no escapes'])).toBe('no escapes');
    expect(call('unescape', ['trailing\\'])).toBe('trailing\\');
  });
  it('rejects unknown escapes and invalid code points', () => {
    badArg('unescape', ['\\q'], 'unrecognized');
    badArg('unescape', ['\\xZZ'], 'unrecognized');
    badArg('unescape', ['\\x110000'], 'code point');
    badArg('unescape', ['\\xD800'], 'code point');
  });
});

describe('SQL and Redis helpers', () => {
  it('join_to_sql_values_string', () => {
    expect(
      call('join_to_sql_values_string', [["it's", -1, true, undefined, null, { a: 'b' }]]),
    ).toBe("'it''s', -1, true, NULL, NULL, '{\"a\":\"b\"}'");
    expect(call('join_to_sql_values_string', [[]])).toBe('');
    badArg('join_to_sql_values_string', ['x']);
  });
  it('map_to_redis_hset_args keeps scalar values only', () => {
    expect(
      call('map_to_redis_hset_args', [
        { s: 'x', i: 3, f: 0.1234567, b: false, n: null, l: [1], m: {} },
      ]),
    ).toEqual(['s', 'x', 'i', '3', 'f', '0.123457', 'b', 'false']);
    badArg('map_to_redis_hset_args', [[1]]);
  });
});
