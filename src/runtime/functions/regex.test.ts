/**
 * The linear-time regex engine behind `regex_match`, `regex_replace` and `regex_extract`
 * (issue #19, docs/decisions/0005-linear-time-regex.md): catastrophic-backtracking patterns
 * return at once, ordinary patterns give what JavaScript RegExp gave, the PCRE specifics are
 * kept, features RE2 cannot express are rejected clearly (at rule creation when the pattern is
 * a literal, for the message otherwise), and run-time patterns go through a bounded cache.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Value } from '../../core/index.js';
import { SqlError, compileRule } from '../index.js';
import { createDefaultServices } from './index.js';
import { RUNTIME_PATTERN_MAX, compilePcre, createRegexCache } from './regex.js';
import { MAX_PATTERN_LENGTH } from './regex-syntax.js';
import { badArg, both, callSpecialized } from './test-helpers.js';

const services = createDefaultServices({ localOffsetSeconds: () => 0 });
afterAll(() => services.close?.());

/** SQL text of a string literal. */
const lit = (s: string): string => `'${s.replace(/'/g, "''")}'`;

function message(payload: Record<string, Value>): Record<string, Value> {
  return { topic: 't', clientid: 'c1', payload: JSON.stringify(payload) };
}

/** Wall time of `f` in ms, with its result. */
function timed<T>(f: () => T): [T, number] {
  const t0 = performance.now();
  const v = f();
  return [v, performance.now() - t0];
}

/**
 * A backtracking engine needs minutes to years on these subjects (the 40-character
 * message froze the process for more than 70 s); the linear engine takes well under 1 ms. The
 * bound sits between the two with room for a loaded CI machine (100 ms failed at load 17).
 */
const BOUND_MS = 1000;

describe('catastrophic-backtracking patterns finish in linear time', () => {
  const VALIDATION = '^([a-zA-Z0-9]+\\s?)*$'; // the issue #19 pattern
  const NESTED = '^(a+)+$';
  const subjects = [40, 10_000].map((n) => 'a'.repeat(n - 1) + '!');

  for (const pattern of [VALIDATION, NESTED]) {
    for (const s of subjects) {
      it(`regex_match(<${s.length} chars>, '${pattern}') in a rule is false within ${BOUND_MS} ms`, () => {
        const literal = compileRule(
          `SELECT regex_match(payload.name, ${lit(pattern)}) AS ok FROM "t"`,
          { services },
        );
        const [out, ms] = timed(() => literal.evaluate(message({ name: s })));
        expect(out).toEqual([{ ok: false }]);
        expect(ms).toBeLessThan(BOUND_MS);

        const dynamic = compileRule('SELECT regex_match(payload.name, payload.re) AS ok FROM "t"', {
          services,
        });
        const [out2, ms2] = timed(() => dynamic.evaluate(message({ name: s, re: pattern })));
        expect(out2).toEqual([{ ok: false }]);
        expect(ms2).toBeLessThan(BOUND_MS);
      });

      it(`regex_extract and regex_replace on <${s.length} chars> with '${pattern}' within ${BOUND_MS} ms`, () => {
        const [groups, ms] = timed(() => both('regex_extract', [s, pattern]));
        expect(groups).toEqual([]);
        expect(ms).toBeLessThan(BOUND_MS);
        const [replaced, ms2] = timed(() => both('regex_replace', [s, pattern, 'x']));
        expect(replaced).toBe(s);
        expect(ms2).toBeLessThan(BOUND_MS);
      });
    }
  }

  it('the issue #19 message is filtered in WHERE at once', () => {
    const rule = compileRule(
      `SELECT payload.name AS name FROM "t" WHERE regex_match(payload.name, ${lit(VALIDATION)})`,
      { services },
    );
    const [outcome, ms] = timed(() =>
      rule.run(message({ name: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!' })),
    );
    expect(outcome.kind).toBe('filtered');
    expect(ms).toBeLessThan(BOUND_MS);
    expect(rule.evaluate(message({ name: 'abc def' }))).toEqual([{ name: 'abc def' }]);
  });
});

/**
 * Ordinary patterns, with a RegExp that means the same in JavaScript (subjects avoid the known
 * PCRE/JavaScript differences: a final newline before `$`, Unicode spaces for `\s`, `\r` for `.`).
 */
const ORDINARY: readonly [pcre: string, js: RegExp, subjects: readonly string[]][] = [
  ['^dev-[0-9]+$', /^dev-[0-9]+$/, ['dev-12345', 'dev-', 'xdev-1', 'dev-1x']],
  ['\\d+', /\d+/, ['abc123def45', 'none', '']],
  ['(\\d{4})-(\\d{2})-(\\d{2})', /(\d{4})-(\d{2})-(\d{2})/, ['on 2021-05-20, 2022-01-02', 'x']],
  ['(?i)error|warn(ing)?', /error|warn(ing)?/i, ['WARNING: x', 'an Error', 'ok']],
  [
    '^(\\w+)@([\\w.-]+)\\.([a-z]{2,})$',
    /^(\w+)@([\w.-]+)\.([a-z]{2,})$/,
    ['joe@mail.example.com', 'bad@', 'a@b.c'],
  ],
  ['[^,]+', /[^,]+/, ['a,b,,c', ',,']],
  ['(a)|(b)', /(a)|(b)/, ['xbya', 'zz']],
  ['\\bfoo\\b', /\bfoo\b/, ['foo bar', 'foobar', 'a foo.']],
  ['colou?r', /colou?r/, ['color colour colr']],
  ['(?:ab)+', /(?:ab)+/, ['ababab abab a']],
  ['a{2,3}', /a{2,3}/, ['a aa aaa aaaa']],
  ['x*', /x*/, ['abc', '', 'xx']],
  ['(.+?),', /(.+?),/, ['a,b,c', 'abc']],
  ['(\\w+)\\s(\\w+)', /(\w+)\s(\w+)/, ['Hello World foo bar']],
  ['(x)?y', /(x)?y/, ['y', 'xy', 'zz']],
  ['\\p{L}+', /\p{L}+/u, ['héllo wörld 123', '42']],
  ['\\w+', /\w+/, ['héllo']],
  ['é+', /é+/, ['ééa', 'e']],
  ['.', /./u, ['😀x']],
  ['[😀-😂]+', /[😀-😂]+/u, ['a😁😂b']],
  ['^\\S+$', /^\S+$/, ['abc', 'a b']],
  ['\\s+', /\s+/, ['a \t\nb', 'ab']],
  ['(?s)a.b', /a.b/s, ['a\nb', 'axb']],
  ['a.b', /a.b/, ['a\nb', 'axb']],
  ['(?m)^(\\w+)$', /^(\w+)$/m, ['ab\ncd', '  ']],
  ['^$', /^$/, ['', 'a']],
  ['[.*+?^${}()|[\\]\\\\]+', /[.*+?^${}()|[\]\\]+/, ['a.b*c$d', 'abc']],
  ['^[0-9]+(\\.[0-9]+)?$', /^[0-9]+(\.[0-9]+)?$/, ['3.14', '3.', '42']],
  ['\\$(\\d+)', /\$(\d+)/, ['cost $15 or $7']],
  ['(?P<year>\\d{4})/(?<month>\\d\\d)', /(?<year>\d{4})\/(?<month>\d\d)/, ['2024/05', '24/5']],
  ['[a-f0-9]{8}-[a-f0-9]{4}', /[a-f0-9]{8}-[a-f0-9]{4}/, ['id 123e4567-e89b-12d3', 'none']],
  ['(?i)straße', /straße/iu, ['STRASSE', 'Straße']],
  ['\\x41\\x{42}\\t', /\x41\u{42}\t/u, ['zAB\t', 'AB']],
];

/** `re` with its flags plus `extra` (each once). */
function withFlags(re: RegExp, extra: string): RegExp {
  return new RegExp(re.source, [...new Set(re.flags + extra)].join(''));
}

function jsExtract(re: RegExp, s: string): string[] {
  const m = withFlags(re, 'u').exec(s);
  return m === null ? [] : m.slice(1).map((g) => g ?? '');
}

function jsReplace(re: RegExp, s: string, f: (m: (string | undefined)[]) => string): string {
  return s.replace(withFlags(re, 'gu'), (...a: unknown[]) => {
    const end = typeof a[a.length - 1] === 'object' ? a.length - 3 : a.length - 2;
    return f(a.slice(0, end) as (string | undefined)[]);
  });
}

describe('ordinary patterns give the same results as JavaScript RegExp', () => {
  for (const [pcre, js, subjects] of ORDINARY) {
    it(`${pcre}`, () => {
      for (const s of subjects) {
        const re = withFlags(js, 'u');
        expect(both('regex_match', [s, pcre]), `match ${JSON.stringify(s)}`).toBe(re.test(s));
        expect(both('regex_extract', [s, pcre]), `extract ${JSON.stringify(s)}`).toEqual(
          jsExtract(js, s),
        );
        expect(both('regex_replace', [s, pcre, '<&>']), `replace & ${JSON.stringify(s)}`).toBe(
          jsReplace(js, s, (m) => `<${m[0]}>`),
        );
        expect(both('regex_replace', [s, pcre, '[\\1]']), `replace \\1 ${JSON.stringify(s)}`).toBe(
          jsReplace(js, s, (m) => `[${m[1] ?? ''}]`),
        );
      }
    });
  }
});

describe('PCRE specifics kept on RE2', () => {
  it('`$` and `\\Z` also match before a final newline, without taking it', () => {
    expect(both('regex_extract', ['a\n', '(a$)'])).toEqual(['a']);
    expect(both('regex_extract', ['a\n', '(a\\Z)'])).toEqual(['a']);
    expect(both('regex_extract', ['a\n', '(a\\z)'])).toEqual([]);
    expect(both('regex_replace', ['abc\n', '$', 'X'])).toBe('abcX\nX'); // PCRE: two matches
    expect(both('regex_replace', ['abc\n', 'c$', '<&>'])).toBe('ab<c>\n');
    expect(both('regex_replace', ['\n', '^$', 'X'])).toBe('X\n');
    expect(both('regex_replace', ['a \n', '\\s*$', '<&>'])).toBe('a< \n><>');
    expect(both('regex_match', ['ab\n\n', 'b$'])).toBe(false);
    expect(both('regex_extract', ['k=v\n', '^(\\w+)=(\\w+)$'])).toEqual(['k', 'v']);
    // (?m) makes `$` per line; a scoped (?-m) turns it back
    expect(both('regex_replace', ['a\nb', '(?m)$', '!'])).toBe('a!\nb!');
    expect(both('regex_match', ['a\nb', '(?m)a(?-m:$)'])).toBe(false);
  });
  it('extended mode, comments and quoting', () => {
    expect(
      both('regex_extract', ['ab-12', '(?x) ( [a-z]+ ) - # letters, a dash\n (\\d+)']),
    ).toEqual(['ab', '12']);
    expect(both('regex_match', ['a b', '(?x) a [ ] b'])).toBe(true); // space in a class is kept
    expect(both('regex_match', ['ab c', '(?x:a b) c'])).toBe(true); // scoped: ` c` is literal
    expect(both('regex_match', ['ab', 'a(?#note)b'])).toBe(true);
    expect(both('regex_match', ['1+1=2', '^\\Q1+1\\E=2$'])).toBe(true);
    expect(both('regex_extract', ['ab', "(?'first'a)(b)"])).toEqual(['a', 'b']);
  });
  it('PCRE escapes and classes that RE2 spells differently', () => {
    expect(both('regex_replace', ['a \tb', '\\h+', '_'])).toBe('a_b');
    expect(both('regex_replace', ['a\u00a0b', '\\H', '_'])).toBe('_\u00a0_');
    expect(both('regex_replace', ['a\r\nb\nc', '\\R', '|'])).toBe('a|b|c');
    expect(both('regex_match', ['\u2028', '^\\v$'])).toBe(true);
    expect(both('regex_match', ['\v', '^\\s$'])).toBe(true); // PCRE \s includes VT
    expect(both('regex_match', ['\v', '^[\\s]$'])).toBe(true);
    expect(both('regex_match', ['\u00a0', '\\s'])).toBe(false); // not a PCRE space
    expect(both('regex_match', ['\r', '^.$'])).toBe(true); // only \n ends a line for `.`
    expect(both('regex_replace', ['ab\nc', '\\N+', '_'])).toBe('_\n_');
    expect(both('regex_match', ['\x1b\x01', '^\\e\\cA$'])).toBe(true);
    expect(both('regex_match', ['\b', '^[\\b]$'])).toBe(true);
    expect(both('regex_match', ['A', '^[\\101]$'])).toBe(true);
    expect(both('regex_match', [']', '^[]a]$'])).toBe(true);
    expect(both('regex_match', ['x', '^[^]a]$'])).toBe(true);
    expect(both('regex_replace', ['ab12', '[[:digit:]]', '#'])).toBe('ab##');
    expect(both('regex_match', ['a{,3}', '^a{,3}$'])).toBe(true); // not a quantifier in PCRE
    expect(both('regex_match', ['ab', '(?U)a+?b'])).toBe(true);
    expect(both('regex_match', ['AB', 'a(?i)b'])).toBe(false);
    expect(both('regex_replace', ['xAAé', '\\x{41}+', '_'])).toBe('x_é'); // braces are no repeat
    expect(both('regex_replace', ['1éè2', '\\p{L}{2}', '_'])).toBe('1_2');
  });
  it('empty matches step one code point, as RegExp did', () => {
    expect(both('regex_replace', ['😀é', '', '-'])).toBe('-😀-é-');
    expect(both('regex_replace', ['abc', 'b*', '-'])).toBe('-a--c-');
    expect(both('regex_replace', ['', 'x*', '-'])).toBe('-');
  });
});

describe('patterns RE2 cannot express are rejected with the reason', () => {
  const UNSUPPORTED: readonly [pattern: string, reason: RegExp][] = [
    ['(a)\\1', /backreferences \(\\1\)/],
    ['(?<n>a)\\k<n>', /backreferences/],
    ['(?P<n>a)(?P=n)', /backreferences/],
    ['(a)\\g{1}', /backreferences/],
    ['a(?=b)', /lookahead/],
    ['a(?!b)', /lookahead/],
    ['(?<=a)b', /lookbehind/],
    ['(?<!a)b', /lookbehind/],
    ['a++', /possessive/],
    ['a*+b', /possessive/],
    ['(ab)?+', /possessive/],
    ['a{2}+', /possessive/],
    ['(?>a+)b', /atomic groups/],
    ['a(?R)?b', /recursion/],
    ['(a)(?1)', /recursion/],
    ['(a)?(?(1)b|c)', /conditional/],
    ['(?|(a)|(b))', /branch reset/],
    ['(*UTF8)a', /backtracking verbs/],
    ['\\Ga', /\\G/],
    ['a\\Kb', /\\K/],
    ['(?J)(?<n>a)', /inline option \(\?J\)/],
    ['a(?C1)b', /callouts/],
  ];

  it('as a literal: a sql_function_bad_literal diagnostic when the rule is created', () => {
    for (const [pattern, reason] of UNSUPPORTED) {
      for (const call of [
        `regex_match(payload.s, ${lit(pattern)})`,
        `regex_replace(payload.s, ${lit(pattern)}, payload.r)`,
        `regex_extract(payload.s, ${lit(pattern)})`,
      ]) {
        let err: unknown;
        try {
          compileRule(`SELECT ${call} AS m FROM "t"`, { services });
        } catch (e) {
          err = e;
        }
        expect(err, call).toBeInstanceOf(SqlError);
        const diags = (err as SqlError).diagnostics;
        expect(
          diags.map((d) => d.code),
          call,
        ).toEqual(['sql_function_bad_literal']);
        expect(diags[0]?.message, call).toMatch(reason);
        expect(diags[0]?.message, call).toMatch(/not supported \(linear-time engine\)/);
      }
    }
  });

  it('from the message: that message fails with bad_sql_function_argument and the reason', () => {
    const rule = compileRule(
      'SELECT regex_match(payload.s, payload.re) AS m, regex_extract(payload.s, payload.re) AS e FROM "t"',
      { services },
    );
    for (const [pattern, reason] of UNSUPPORTED) {
      const outcome = rule.run(message({ s: 'ab', re: pattern }));
      expect(outcome.kind, pattern).toBe('failed');
      if (outcome.kind !== 'failed') continue;
      expect(outcome.code, pattern).toBe('bad_sql_function_argument');
      expect(outcome.reason, pattern).toMatch(reason);
      expect(outcome.reason, pattern).toMatch(/regex_match\(/);
    }
    expect(rule.evaluate(message({ s: 'ab', re: '(a)b' }))).toEqual([{ m: true, e: ['a'] }]);
  });

  it('invalid syntax and limits are reported with RE2’s reason', () => {
    badArg('regex_match', ['a', '(a'], /invalid pattern .*missing closing \)/);
    badArg('regex_match', ['a', '[a'], /invalid pattern .*missing closing \]/);
    badArg('regex_match', ['a', 'a{1001}'], /invalid repeat count/);
    expect(() => compilePcre('a'.repeat(MAX_PATTERN_LENGTH + 1))).toThrow(/longer than 32768/);
  });
});

describe('run-time pattern cache', () => {
  it('compiles a pattern once and evicts the least recently used', () => {
    const get = createRegexCache(2);
    const a = get('a+');
    expect(get('a+')).toBe(a);
    const b = get('b+');
    expect(get('a+')).toBe(a); // a is now the most recent
    get('c+'); // evicts b
    expect(get('a+')).toBe(a);
    expect(get('b+')).not.toBe(b);
  });
  it('remembers invalid patterns', () => {
    const get = createRegexCache(4);
    expect(() => get('(?=a)')).toThrow(/lookahead/);
    expect(() => get('(?=a)')).toThrow(/lookahead/);
  });
  it('refuses run-time patterns longer than RUNTIME_PATTERN_MAX (literals may be longer)', () => {
    const long = 'a'.repeat(RUNTIME_PATTERN_MAX + 1);
    badArg('regex_match', ['a', long], /computed per message may be at most 4096 characters/);
    expect(callSpecialized('regex_match', [long, long], [1])).toBe(true);
    expect(() =>
      compileRule(`SELECT regex_match(payload.s, ${lit(long)}) AS m FROM "t"`),
    ).not.toThrow();
  });
  it('the default services route run-time patterns through their cache', () => {
    const rule = compileRule('SELECT regex_replace(payload.s, payload.re, \'_\') AS r FROM "t"', {
      services,
    });
    expect(rule.evaluate(message({ s: 'a1b2', re: '\\d' }))).toEqual([{ r: 'a_b_' }]);
    expect(services.regex?.('\\d')).toBe(services.regex?.('\\d'));
    expect(compilePcre('\\d')).not.toBe(services.regex?.('\\d'));
  });
});
