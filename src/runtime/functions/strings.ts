/**
 * String functions, spec §8.6 (EMQX `emqx_variform_bif`). Every function here rejects
 * undefined/null input with BadArg; "characters" are grapheme clusters (Erlang `string`
 * module semantics: `strlen`, `substr`, `reverse`, `pad`); `substr` is 0-based. Literal
 * options, separators, regexes and formats are prepared once per call site (`specialize`).
 *
 * Long only because it holds ~25 declarative definitions (docs + examples); the operations
 * themselves live in string-ops.ts, sprintf.ts and regex.ts.
 */
import { toText } from '../../core/index.js';
import type { Value } from '../../core/index.js';
import type { CallContext, FunctionDef, FunctionImpl, MaybeConstant } from './registry.js';
import { badArg } from './registry.js';
import { compilePcre, compileRuntimePattern, parseReplacement, regexExtract } from './regex.js';
import type { PcreRegex } from './regex.js';
import { parseFormat, renderFormat } from './sprintf.js';
import {
  FIND_WHERE,
  PAD_WHERE,
  REPLACE_WHERE,
  SPLIT_OPTIONS,
  WHITESPACE,
  find,
  pad,
  redisValue,
  replace,
  split,
  sqlLiteral,
  tokenSeps,
  tokens,
  trimWith,
  unescape,
} from './string-ops.js';
import type { SplitOption } from './string-ops.js';
import { graphemes, needInt, needList, needMap, needOption, needText } from './util.js';

const FAMILY = 'string';

function trimDef(
  name: string,
  lead: boolean,
  trail: boolean,
  what: string,
  results: readonly [string, string],
): FunctionDef {
  const ws = (g: string): boolean => WHITESPACE.has(g);
  const charSet = (v: Value): ((g: string) => boolean) => {
    const chars = new Set(graphemes(needText(v, 'Chars')));
    return (g) => chars.has(g);
  };
  return {
    name,
    family: FAMILY,
    arity: { min: 1, max: 2 },
    signature: `${name}(S[, Chars])`,
    description: `Remove ${what} whitespace, or with Chars every character of Chars.`,
    examples: [
      { sql: `${name}('  a b  ')`, result: results[0] },
      { sql: `${name}('xxaxx', 'x')`, result: results[1] },
    ],
    impl: (args) =>
      trimWith(needText(args[0], 'S'), args.length === 1 ? ws : charSet(args[1]), lead, trail),
    specialize: ([, chars]) => {
      if (chars === undefined || typeof chars === 'symbol') return undefined;
      const strip = charSet(chars);
      return (args) => trimWith(needText(args[0], 'S'), strip, lead, trail);
    },
    pure: true,
  };
}

/** Call-site specialisation when the arguments at `literal` positions are constant text. */
function whenLiteral(
  positions: readonly number[],
  make: (lits: readonly Value[]) => FunctionImpl,
): (args: readonly MaybeConstant[]) => FunctionImpl | undefined {
  return (args) => {
    const lits: Value[] = [];
    for (const p of positions) {
      if (p >= args.length) {
        lits.push(undefined);
        continue;
      }
      const a = args[p];
      if (typeof a === 'symbol') return undefined;
      lits.push(a);
    }
    return make(lits);
  };
}

/** A literal pattern, compiled once at rule creation (BadArg → `sql_function_bad_literal`). */
function literalRegex(re: Value): PcreRegex {
  return compilePcre(needText(re, 'Regex'));
}

/** A pattern computed per message, through the engine's bounded cache when it has one. */
function runtimeRegex(re: Value, ctx: CallContext): PcreRegex {
  const pattern = needText(re, 'Regex');
  return ctx.services.regex ? ctx.services.regex(pattern) : compileRuntimePattern(pattern);
}

function def(d: Omit<FunctionDef, 'family' | 'pure'> & { pure?: boolean }): FunctionDef {
  return { family: FAMILY, pure: true, ...d };
}

export const stringFunctions: readonly FunctionDef[] = [
  def({
    name: 'lower',
    arity: { min: 1, max: 1 },
    signature: 'lower(S)',
    description: 'Lower-case (Unicode case mapping).',
    examples: [{ sql: "lower('ÀBC')", result: '"àbc"' }],
    impl: (args) => needText(args[0], 'S').toLowerCase(),
  }),
  def({
    name: 'upper',
    arity: { min: 1, max: 1 },
    signature: 'upper(S)',
    description: 'Upper-case (Unicode case mapping; `ß` becomes `SS`).',
    examples: [{ sql: "upper('àbß')", result: '"ÀBSS"' }],
    impl: (args) => needText(args[0], 'S').toUpperCase(),
  }),
  trimDef('trim', true, true, 'leading and trailing', ['"a b"', '"a"']),
  trimDef('ltrim', true, false, 'leading', ['"a b  "', '"axx"']),
  trimDef('rtrim', false, true, 'trailing', ['"  a b"', '"xxa"']),
  def({
    name: 'reverse',
    arity: { min: 1, max: 1 },
    signature: 'reverse(S)',
    description: 'The characters (grapheme clusters) of S in reverse order.',
    examples: [{ sql: "reverse('abé')", result: '"éba"' }],
    impl: (args) => graphemes(needText(args[0], 'S')).reverse().join(''),
  }),
  def({
    name: 'strlen',
    arity: { min: 1, max: 1 },
    signature: 'strlen(S)',
    description: 'Number of characters (grapheme clusters, not bytes).',
    examples: [
      { sql: "strlen('héllo')", result: '5' },
      { sql: "strlen('👍🏽')", result: '1' },
    ],
    impl: (args) => graphemes(needText(args[0], 'S')).length,
  }),
  def({
    name: 'substr',
    arity: { min: 2, max: 3 },
    signature: 'substr(S, Start[, Len])',
    description:
      "Substring from the 0-based character position Start, at most Len characters; Start past the end gives `''`; negative Start or Len is an error.",
    examples: [
      { sql: "substr('abcdef', 1)", result: '"bcdef"' },
      { sql: "substr('abcdef', 1, 2)", result: '"bc"' },
    ],
    impl: (args) => {
      const g = graphemes(needText(args[0], 'S'));
      const start = needInt(args[1], 'Start');
      if (start < 0) return badArg(`substr: negative start ${start}`);
      if (args.length === 2) return g.slice(start).join('');
      const len = needInt(args[2], 'Len');
      if (len < 0) return badArg(`substr: negative length ${len}`);
      return g.slice(start, start + len).join('');
    },
  }),
  def({
    name: 'rm_prefix',
    arity: { min: 2, max: 2 },
    signature: 'rm_prefix(S, Prefix)',
    description: 'S without Prefix if it starts with it, else S unchanged.',
    examples: [
      { sql: "rm_prefix('foo/bar', 'foo/')", result: '"bar"' },
      { sql: "rm_prefix('foo/bar', 'x')", result: '"foo/bar"' },
    ],
    impl: (args) => {
      const s = needText(args[0], 'S');
      const p = needText(args[1], 'Prefix');
      return s.startsWith(p) ? s.slice(p.length) : s;
    },
  }),
  def({
    name: 'split',
    arity: { min: 2, max: 3 },
    signature: 'split(S, Sep[, Option])',
    description:
      "Split S at every Sep, dropping empty parts. Option: `'notrim'` keeps empty parts; `'leading'`/`'trailing'` split once at the first/last Sep (dropping empties); `'leading_notrim'`/`'trailing_notrim'` split once keeping empties.",
    examples: [
      { sql: "split('/a//b/', '/')", result: '["a","b"]' },
      { sql: "split('/a//b/', '/', 'notrim')", result: '["","a","","b",""]' },
      { sql: "split('a/b/c', '/', 'leading')", result: '["a","b/c"]' },
      { sql: "split('a/b/c', '/', 'trailing')", result: '["a/b","c"]' },
      { sql: "split('/a', '/', 'leading_notrim')", result: '["","a"]' },
      { sql: "split('', '/')", result: '[]' },
    ],
    impl: (args) =>
      split(
        needText(args[0], 'S'),
        needText(args[1], 'Sep'),
        args.length > 2 ? needOption(args[2], SPLIT_OPTIONS, 'Option') : 'all',
      ),
    specialize: whenLiteral([1, 2], ([sep, opt]) => {
      const sepText = needText(sep, 'Sep');
      const o: SplitOption = opt === undefined ? 'all' : needOption(opt, SPLIT_OPTIONS, 'Option');
      return (args) => split(needText(args[0], 'S'), sepText, o);
    }),
  }),
  def({
    name: 'tokens',
    arity: { min: 2, max: 3 },
    signature: "tokens(S, Seps[, 'nocrlf'])",
    description:
      "Split S at every character of Seps, dropping empty tokens; `'nocrlf'` also splits at CR and LF.",
    examples: [
      { sql: "tokens('a, b;c', ', ;')", result: '["a","b","c"]' },
      { sql: "tokens(unescape('a b\\r\\nc'), ' ', 'nocrlf')", result: '["a","b","c"]' },
    ],
    impl: (args) =>
      tokens(
        needText(args[0], 'S'),
        tokenSeps(
          needText(args[1], 'Seps'),
          args.length > 2 && needOption(args[2], ['nocrlf']) === 'nocrlf',
        ),
      ),
    specialize: whenLiteral([1, 2], ([seps, opt]) => {
      const set = tokenSeps(
        needText(seps, 'Seps'),
        opt !== undefined && needOption(opt, ['nocrlf']) === 'nocrlf',
      );
      return (args) => tokens(needText(args[0], 'S'), set);
    }),
  }),
  def({
    name: 'concat',
    arity: { min: 1, max: 2 },
    signature: 'concat(A, B) | concat(List)',
    description:
      'Text concatenation of two values or of every element of a list; non-strings are converted like `str` (undefined becomes `undefined`).',
    examples: [
      { sql: "concat('a', 1)", result: '"a1"' },
      { sql: "concat(['a', 'b', 2.5])", result: '"ab2.5"' },
    ],
    impl: (args) =>
      args.length === 1
        ? needList(args[0], 'List').map(toText).join('')
        : toText(args[0]) + toText(args[1]),
  }),
  def({
    name: 'sprintf',
    arity: { min: 1, max: Infinity },
    signature: 'sprintf(Format, Arg…)',
    description:
      'Erlang `io_lib:format` formatting: `~s`/`~ts` text, `~p`/`~w` Erlang term, `~b`/`~x` integers in a base, `~f`/`~e`/`~g` floats, `~c` char, `~n` newline, `~~` tilde; width, precision and pad character as in Erlang.',
    examples: [
      { sql: "sprintf('~s is ~p', 'x', 1.5)", result: '"x is 1.5"' },
      { sql: "sprintf('[~5s|~-5s]', 'ab', 'cd')", result: '"[   ab|cd   ]"' },
      { sql: "sprintf('~p ~w', 'é', [1, 'a'])", result: '"<<195,169>> [1,<<97>>]"' },
      { sql: "sprintf('~.2f ~.16B ~~', 3.14159, 255)", result: '"3.14 FF ~"' },
    ],
    impl: (args) => renderFormat(parseFormat(needText(args[0], 'Format')), args.slice(1)),
    specialize: whenLiteral([0], ([fmt]) => {
      const parts = parseFormat(needText(fmt, 'Format'));
      return (args) => renderFormat(parts, args.slice(1));
    }),
  }),
  def({
    name: 'sprintf_s',
    arity: { min: 2, max: 2 },
    signature: 'sprintf_s(Format, List)',
    description: 'Like `sprintf`, with the arguments given as one list.',
    examples: [{ sql: "sprintf_s('~s-~p', ['a', 2])", result: '"a-2"' }],
    impl: (args) =>
      renderFormat(parseFormat(needText(args[0], 'Format')), needList(args[1], 'List')),
    specialize: whenLiteral([0], ([fmt]) => {
      const parts = parseFormat(needText(fmt, 'Format'));
      return (args) => renderFormat(parts, needList(args[1], 'List'));
    }),
  }),
  def({
    name: 'pad',
    arity: { min: 2, max: 4 },
    signature: 'pad(S, Len[, Where[, Char]])',
    description:
      "Pad S to Len characters. Where: `'trailing'` (default), `'leading'` or `'both'` (the extra one goes right); Char (default space) is inserted whole per missing character, even when it is longer than one character.",
    examples: [
      { sql: "pad('abc', 5)", result: '"abc  "' },
      { sql: "pad('abc', 5, 'leading', '0')", result: '"00abc"' },
      { sql: "pad('abc', 6, 'both', '*')", result: '"*abc**"' },
      { sql: "pad('abc', 5, 'trailing', 'ex')", result: '"abcexex"' },
      { sql: "pad('abcdef', 3)", result: '"abcdef"' },
    ],
    impl: (args) =>
      pad(
        needText(args[0], 'S'),
        needInt(args[1], 'Len'),
        args.length > 2 ? needOption(args[2], PAD_WHERE, 'Where') : 'trailing',
        args.length > 3 ? needText(args[3], 'Char') : ' ',
      ),
    specialize: whenLiteral([2, 3], ([where, ch]) => {
      const w = where === undefined ? 'trailing' : needOption(where, PAD_WHERE, 'Where');
      const c = ch === undefined ? ' ' : needText(ch, 'Char');
      return (args) => pad(needText(args[0], 'S'), needInt(args[1], 'Len'), w, c);
    }),
  }),
  def({
    name: 'replace',
    arity: { min: 3, max: 4 },
    signature: 'replace(S, Search, Replacement[, Where])',
    description:
      "Literal replacement of Search by Replacement. Where: `'all'` (default), `'leading'` (first occurrence) or `'trailing'` (last occurrence).",
    examples: [
      { sql: "replace('a-b-c', '-', '+')", result: '"a+b+c"' },
      { sql: "replace('a-b-c', '-', '+', 'leading')", result: '"a+b-c"' },
      { sql: "replace('a-b-c', '-', '+', 'trailing')", result: '"a-b+c"' },
    ],
    impl: (args) =>
      replace(
        needText(args[0], 'S'),
        needText(args[1], 'Search'),
        needText(args[2], 'Replacement'),
        args.length > 3 ? needOption(args[3], REPLACE_WHERE, 'Where') : 'all',
      ),
    specialize: whenLiteral([3], ([where]) => {
      const w = where === undefined ? 'all' : needOption(where, REPLACE_WHERE, 'Where');
      return (args) =>
        replace(
          needText(args[0], 'S'),
          needText(args[1], 'Search'),
          needText(args[2], 'Replacement'),
          w,
        );
    }),
  }),
  def({
    name: 'regex_match',
    arity: { min: 2, max: 2 },
    signature: 'regex_match(S, Regex)',
    description:
      'True when the PCRE-style Regex matches anywhere in S. Linear time in S whatever the pattern (see the regex notes above).',
    examples: [
      { sql: "regex_match('abc123', '\\d+')", result: 'true' },
      { sql: "regex_match('abc', '^b')", result: 'false' },
      { sql: "regex_match('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!', '^(a+)+$')", result: 'false' },
    ],
    impl: (args, ctx) => runtimeRegex(args[1], ctx).test(needText(args[0], 'S')),
    specialize: whenLiteral([1], ([re]) => {
      const r = literalRegex(re);
      return (args) => r.test(needText(args[0], 'S'));
    }),
  }),
  def({
    name: 'regex_replace',
    arity: { min: 3, max: 3 },
    signature: 'regex_replace(S, Regex, Replacement)',
    description:
      'Replace every match of Regex. In Replacement `&` (or `\\0`) inserts the whole match and `\\1`…`\\9`, `\\g{N}` a group; `\\&` and `\\\\` are literals.',
    examples: [
      { sql: "regex_replace('a1b22', '\\d+', '#')", result: '"a#b#"' },
      { sql: "regex_replace('ab', '(a)(b)', '\\2\\1&')", result: '"baab"' },
    ],
    impl: (args, ctx) =>
      runtimeRegex(args[1], ctx).replace(
        needText(args[0], 'S'),
        parseReplacement(needText(args[2], 'Replacement')),
      ),
    specialize: ([, re, rep]) => {
      if (typeof re === 'symbol') return undefined;
      const r = literalRegex(re);
      if (typeof rep === 'symbol')
        return (args) =>
          r.replace(needText(args[0], 'S'), parseReplacement(needText(args[2], 'Replacement')));
      const parts = parseReplacement(needText(rep, 'Replacement'));
      return (args) => r.replace(needText(args[0], 'S'), parts);
    },
  }),
  def({
    name: 'regex_extract',
    arity: { min: 2, max: 2 },
    signature: 'regex_extract(S, Regex)',
    description:
      "The capture groups of Regex's first match as a list (`[]` when there is no match or no group; an unset group is `''`).",
    examples: [
      {
        sql: "regex_extract('Date: 2021-05-20', '(\\d{4})-(\\d{2})-(\\d{2})')",
        result: '["2021","05","20"]',
      },
      { sql: "regex_extract('none', '(\\d+)')", result: '[]' },
    ],
    impl: (args, ctx) => regexExtract(needText(args[0], 'S'), runtimeRegex(args[1], ctx)),
    specialize: whenLiteral([1], ([re]) => {
      const r = literalRegex(re);
      return (args) => regexExtract(needText(args[0], 'S'), r);
    }),
  }),
  def({
    name: 'ascii',
    arity: { min: 1, max: 1 },
    signature: 'ascii(S)',
    description: 'The value of the first byte of S; an empty string is an error.',
    examples: [{ sql: "ascii('a')", result: '97' }],
    impl: (args) => {
      const v = args[0];
      const b = Buffer.isBuffer(v) ? v : Buffer.from(needText(v, 'S'), 'utf8');
      if (b.length === 0) return badArg('ascii: empty string');
      return b[0] as number;
    },
  }),
  def({
    name: 'find',
    arity: { min: 2, max: 3 },
    signature: "find(S, Search[, 'leading' | 'trailing'])",
    description:
      "The rest of S from the first (default, `'leading'`) or last (`'trailing'`) occurrence of Search; `''` when absent.",
    examples: [
      { sql: "find('a/b/c', '/')", result: '"/b/c"' },
      { sql: "find('a/b/c', '/', 'trailing')", result: '"/c"' },
      { sql: "find('abc', 'x')", result: '""' },
    ],
    impl: (args) =>
      find(
        needText(args[0], 'S'),
        needText(args[1], 'Search'),
        args.length > 2 ? needOption(args[2], FIND_WHERE, 'Where') : 'leading',
      ),
    specialize: whenLiteral([2], ([where]) => {
      const w = where === undefined ? 'leading' : needOption(where, FIND_WHERE, 'Where');
      return (args) => find(needText(args[0], 'S'), needText(args[1], 'Search'), w);
    }),
  }),
  def({
    name: 'join_to_string',
    arity: { min: 1, max: 2 },
    signature: 'join_to_string([Sep, ]List)',
    description: "Join the elements of List (converted like `str`) with Sep (default `', '`).",
    examples: [
      { sql: "join_to_string(['a', 1, true])", result: '"a, 1, true"' },
      { sql: "join_to_string('/', ['a', 'b'])", result: '"a/b"' },
    ],
    impl: (args) => {
      const sep = args.length === 2 ? needText(args[0], 'Sep') : ', ';
      return needList(args[args.length - 1], 'List')
        .map(toText)
        .join(sep);
    },
  }),
  def({
    name: 'join_to_sql_values_string',
    arity: { min: 1, max: 1 },
    signature: 'join_to_sql_values_string(List)',
    description:
      "The elements of List as SQL literals joined by `, `: strings single-quoted with `'` doubled, numbers and booleans bare, undefined/null as `NULL`, maps and lists as quoted JSON.",
    examples: [
      {
        sql: "join_to_sql_values_string([concat(['a', unescape('\\x27'), 'b']), 1, 2.5, [1]])",
        result: "\"'a''b', 1, 2.5, '[1]'\"",
      },
    ],
    impl: (args) => needList(args[0], 'List').map(sqlLiteral).join(', '),
  }),
  def({
    name: 'map_to_redis_hset_args',
    arity: { min: 1, max: 1 },
    signature: 'map_to_redis_hset_args(Map)',
    description:
      'Field/value list for a Redis HSET command: values that are strings, integers, floats (6 decimals, compact) or booleans are kept as text; other entries are dropped.',
    examples: [
      {
        sql: 'map_to_redis_hset_args(\'{"a":1,"b":1.5,"c":[1],"d":"x"}\')',
        result: '["a","1","b","1.5","d","x"]',
      },
    ],
    impl: (args) => {
      const m = needMap(args[0], 'Map');
      const out: string[] = [];
      for (const k of Object.keys(m)) {
        const v = redisValue(m[k]);
        if (v !== undefined) out.push(k, v);
      }
      return out;
    },
  }),
  def({
    name: 'unescape',
    arity: { min: 1, max: 1 },
    signature: 'unescape(S)',
    description:
      'Interpret escapes `\\n \\t \\r \\b \\f \\v \\\' \\" \\? \\a \\\\` and `\\xH…` (all following hex digits form one code point); any other escape or an invalid code point is an error.',
    examples: [
      { sql: "unescape('a\\tb')", result: '"a\\tb"' },
      { sql: "unescape('\\x41\\x1F600')", result: '"A😀"' },
    ],
    impl: (args) => unescape(needText(args[0], 'S')),
  }),
];
