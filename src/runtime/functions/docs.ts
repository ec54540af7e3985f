/**
 * Renders docs/functions.md from the registry (issue #3): one entry per built-in with its
 * signature, meaning and examples. `scripts/gen-functions-doc.ts` writes the file; a test fails
 * when the checked-in file differs from this output.
 */
import type { FunctionDef } from './registry.js';

const FAMILY_TITLES: Readonly<Record<string, string>> = {
  context: 'Context ("IoT") functions',
  math: 'Arithmetic and math',
  bits: 'Bitwise operations and bit strings',
  conversion: 'Type conversion',
  predicate: 'Type and null predicates, conditionals',
  string: 'Strings',
  map: 'Maps',
  array: 'Arrays (lists)',
  hash: 'Hashing',
  compression: 'Compression',
  encoding: 'Encoding',
  date: 'Date and time',
  misc: 'Random values, environment and state',
  jq: 'jq',
  schema: 'Schema registry and Sparkplug B',
};

const FAMILY_NOTES: Readonly<Record<string, string>> = {
  schema:
    'These use the engine’s schema registry (`schema_registry` in sluice.yaml, `/api/v5/schema_registry`; docs/schema-registry.md). A schema is looked up by name on every call, so a schema changed over the API applies to the next message. Failures carry the registry’s codes (`serde_not_found`, `schema_decode_error`, …) as the rule’s failure code. The examples run with three registered schemas — `reading` (JSON Schema 2020-12: an object with a required number `temp`), `person` (proto3 `message Person { string name = 1; int32 id = 2; string email = 3; }`) and `reading_avro` (Avro record `Reading` with `temp: double` and `unit: [null, string]`) — and an external registry `demo` whose schema 1 is that Avro record (test/schema-examples.ts).',
  context:
    'These read the trigger’s columns only in SELECT and DO fields; in WHERE, FOREACH and INCASE they return undefined (`flags()` returns `{}`). Plain columns (`topic`, `clientid`, …) work everywhere and are preferred.',
  math: 'The operator entries (`+ - * /`) document the infix operators, which share these semantics. Integer arithmetic is exact at any size; a float result that is not finite is an error.',
  string: [
    'Every string function fails on undefined or JSON null input. “Characters” are grapheme clusters (what a reader sees as one character). Literal separators, options, patterns and formats are prepared once when the rule is created.',
    '',
    '**Regular expressions** (`regex_match`, `regex_replace`, `regex_extract`) take PCRE syntax, as EMQX does, but run on a linear-time engine (RE2): the time grows with the length of S whatever the pattern, so a pattern such as `^(a+)+$` cannot stall the broker. Matching is by Unicode code point. What RE2 cannot express is refused with the reason — when the rule is created if the pattern is a literal (`sql_function_bad_literal`), otherwise for that message (`bad_sql_function_argument`):',
    '- backreferences (`\\1`, `\\g{1}`, `\\k<name>`, `(?P=name)`), lookahead `(?=…)` `(?!…)` and lookbehind `(?<=…)` `(?<!…)`, atomic groups `(?>…)`, possessive quantifiers (`a++`, `a*+`), recursion and subroutine calls, conditionals `(?(…)…)`, branch reset `(?|…)`, callouts, backtracking verbs `(*…)`, `\\G`, `\\K`, `\\X`, `\\C`, inline options other than `i m s x U`;',
    '- repeat counts above 1000 (`a{1001}`); literal patterns longer than 32 768 characters, and patterns computed per message longer than 4096.',
    '',
    'Other PCRE differences, all rare: what follows a `$` (without `(?m)`) or `\\Z` that matched before a final newline is matched after that newline (`a$\\n` or `a$\\b` on `"a\\n"` differ); a repeated group that can match the empty string may capture, and exceptionally match, differently (`(a|b?)+` on `ab` captures `b`, PCRE an empty last repetition); `(?m)^` also matches after a final newline; after an empty match `regex_replace` resumes one character later instead of first trying a non-empty match at the same place (`a??`, `(?:)|a`). Patterns computed per message are compiled once and kept in a cache of the last 256.',
  ].join('\n'),
  map: 'Wherever a map is expected, JSON object text is decoded first.',
  date: 'Units: `second` (default), `millisecond`, `microsecond`, `nanosecond`. Offsets: `Z`/`z`, `+HH:MM`, `+HH:MM:SS`, `+HHMM`, `local`, an integer number of seconds, or undefined (= UTC). Examples run with a clock frozen at 2023-11-14T22:13:20.123Z on a server in UTC.',
  misc: '`getenv` examples assume `EMQXVAR_GREETING=hello`.',
};

function escapeCell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function anchor(name: string): string {
  const map: Record<string, string> = { '+': 'plus', '-': 'minus', '*': 'times', '/': 'divide' };
  return `fn-${map[name] ?? name}`;
}

function entry(def: FunctionDef): string {
  const lines = [
    `<a id="${anchor(def.name)}"></a>`,
    '',
    `### \`${def.name}\``,
    '',
    `\`${def.signature}\``,
    '',
    def.description,
    '',
  ];
  const ex = def.examples ?? [];
  if (ex.length > 0) {
    lines.push('| example | result |', '| --- | --- |');
    for (const e of ex) lines.push(`| \`${escapeCell(e.sql)}\` | \`${escapeCell(e.result)}\` |`);
    lines.push('');
  }
  return lines.join('\n');
}

/** The full markdown text of docs/functions.md for the given definitions. */
export function renderFunctionsDoc(defs: readonly FunctionDef[]): string {
  const families: string[] = [];
  for (const d of defs) if (!families.includes(d.family)) families.push(d.family);
  const out: string[] = [
    '<!-- Generated by `npm run gen:functions-doc` from src/runtime/functions. Do not edit. -->',
    '',
    '# Built-in SQL functions',
    '',
    'Functions callable from rule SQL, grouped by family. Names are lower-case and case-sensitive; an unknown name or a wrong number of arguments is reported when the rule is created, and a wrong argument value makes that message’s evaluation fail with `bad_sql_function_argument`. Results are shown as the JSON the rule would output (undefined prints as `null`). Every example here is executed by the test suite.',
    '',
    'When an argument that selects behaviour (a regular expression, a date or `sprintf` format, a `split`/`base64`/`subbits` option, a hash algorithm, a map path) is a literal, it is checked and prepared once when the rule is created: an invalid one makes rule creation fail with `sql_function_bad_literal` instead of failing every message.',
    '',
    'EMQX’s variform-only helpers (`topic_join`, `topic_split`, `topic_match`, `int2hexstr`, `hash_to_range`, `map_to_range`, `json_value`, `jwt_value`, `rand_str`, `rand_int`, `str_eq` and the other `str_*`/`num_*` comparisons) are not rule SQL functions in EMQX and are not available here either.',
    '',
    '## Contents',
    '',
  ];
  for (const f of families) {
    const names = defs
      .filter((d) => d.family === f)
      .map((d) => `[\`${d.name}\`](#${anchor(d.name)})`);
    out.push(`- **${FAMILY_TITLES[f] ?? f}**: ${names.join(', ')}`);
  }
  out.push('');
  for (const f of families) {
    out.push(`## ${FAMILY_TITLES[f] ?? f}`, '');
    const note = FAMILY_NOTES[f];
    if (note) out.push(note, '');
    for (const d of defs.filter((x) => x.family === f)) out.push(entry(d));
  }
  return out.join('\n').replace(/\n+$/, '\n');
}
