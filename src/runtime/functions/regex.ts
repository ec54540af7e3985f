/**
 * PCRE (Erlang `re`) patterns on a linear-time engine, for `regex_match`, `regex_replace` and
 * `regex_extract` (spec §8.6, issue #19, docs/decisions/0005-linear-time-regex.md).
 *
 * Patterns run on re2js (RE2's automata in plain JavaScript): matching time grows linearly with
 * the subject whatever the pattern, so no message and no rule_test request can hold the event
 * loop with a catastrophic-backtracking pattern such as `^(a+)+$`. `regex-syntax.ts` translates
 * PCRE syntax to RE2 and rejects what RE2 cannot express (backreferences, lookaround, …) with a
 * BadArg — at rule creation for a literal pattern (`specialize`), for the message otherwise.
 *
 * Compiled once: a literal pattern per call site; a pattern computed per message through the
 * engine's bounded LRU (`FunctionServices.regex`, `createRegexCache`).
 *
 * Semantics kept from the JavaScript RegExp version: code-point matching of the UTF-8 text,
 * `regex_replace` replaces every match and, after an empty match, resumes one code point later
 * (as PCRE and RegExp do), unset groups read as `''`.
 */
import { RE2JS, RE2JSException } from 're2js';
import type { Matcher } from 're2js';
import { BadArg, badArg } from './registry.js';
import { pcreToRe2 } from './regex-syntax.js';
import type { Re2Pattern } from './regex-syntax.js';
import { show } from './util.js';

/** A compiled pattern; every method takes time linear in the subject. */
export interface PcreRegex {
  /** The pattern as written in the rule. */
  readonly pattern: string;
  /** True when the pattern matches anywhere in `s`. */
  test(s: string): boolean;
  /** The first match: `[whole, group1, …]` (undefined for an unset group), or null. */
  exec(s: string): (string | undefined)[] | null;
  /** `s` with every match replaced by the Erlang replacement `parts` (see parseReplacement). */
  replace(s: string, parts: readonly RepPart[]): string;
}

/** Compile a PCRE pattern; throws BadArg when it is invalid or not expressible in RE2. */
export function compilePcre(pattern: string): PcreRegex {
  const t = pcreToRe2(pattern);
  let re: RE2JS;
  try {
    re = RE2JS.compile(t.source);
  } catch (e) {
    if (!(e instanceof RE2JSException)) throw e;
    const why = e.message.replace(/^error parsing regexp: /, '');
    return badArg(`regex: invalid pattern ${show(pattern)}: ${why}`);
  }
  return createPcreRegex(pattern, re, t);
}

/**
 * Spans of the current match (`[start0, end0, start1, end1, …]`, -1 for an unset group): the
 * whole match, then the PCRE groups when `groups` is set. Reading a group makes re2js run the
 * match again with captures, so callers that need only the whole match say so.
 */
function spans(m: Matcher, t: Re2Pattern, s: string, groups: boolean): number[] {
  const len = s.length;
  // A `$`/`\Z` that took the final newline: PCRE matched before it, so every position at the
  // end of the subject is one earlier (only empty-width items can follow such a `$`).
  let end = len + 1; // a position that never occurs: nothing to move
  if (t.endNewline.length > 0 && m.end(0) === len && s.charCodeAt(len - 1) === 10)
    for (const g of t.endNewline) if (m.start(g) !== -1) end = len;
  const out = [m.start(0), m.end(0)];
  if (groups) for (const g of t.groups) out.push(m.start(g), m.end(g));
  if (end === len) for (let i = 0; i < out.length; i++) if (out[i] === len) out[i] = len - 1;
  return out;
}

function texts(s: string, sp: readonly number[]): (string | undefined)[] {
  const out: (string | undefined)[] = [];
  for (let i = 0; i < sp.length; i += 2) {
    const a = sp[i] as number;
    out.push(a === -1 ? undefined : s.slice(a, sp[i + 1]));
  }
  return out;
}

/** Index after the code point at `i` (a surrogate pair counts as one). */
function nextCodePoint(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
    const d = s.charCodeAt(i + 1);
    if (d >= 0xdc00 && d <= 0xdfff) return i + 2;
  }
  return i + 1;
}

/**
 * From this length on, `exec` and `replace` first ask the DFA whether there is a match at all:
 * finding one with positions runs the slower capture engines, ~1 µs per character for a
 * pattern like `^(a+)+$` against ~0.07 µs for the DFA; below it the extra pass costs more than
 * it saves.
 */
const PREFILTER_LENGTH = 128;

function createPcreRegex(pattern: string, re: RE2JS, t: Re2Pattern): PcreRegex {
  return {
    pattern,
    test: (s) => re.test(s),
    exec: (s) => {
      if (s.length >= PREFILTER_LENGTH && !re.test(s)) return null;
      const m = re.matcher(s);
      return m.find() ? texts(s, spans(m, t, s, true)) : null;
    },
    replace: (s, parts) => {
      if (s.length >= PREFILTER_LENGTH && !re.test(s)) return s;
      const groups = usesGroups(parts);
      const m = re.matcher(s);
      let out = '';
      let copied = 0; // s[copied…] is not in `out` yet
      let from = 0; // where the next search starts
      while (from <= s.length && m.find(from)) {
        const sp = spans(m, t, s, groups);
        const start = sp[0] as number;
        const end = sp[1] as number;
        out += s.slice(copied, start) + applyReplacement(parts, texts(s, sp));
        copied = end;
        if (end > start) from = end;
        else if (end < s.length) from = nextCodePoint(s, end);
        else break;
      }
      return out + s.slice(copied);
    },
  };
}

/** How many run-time (non-literal) patterns an engine keeps compiled. */
export const REGEX_CACHE_MAX = 256;
/**
 * Longest pattern accepted at run time (a literal may be up to MAX_PATTERN_LENGTH): compiling
 * one costs up to ~20 ms, and a message must not buy more than that.
 */
export const RUNTIME_PATTERN_MAX = 4096;

/** Compile a pattern that reached a call site at run time (not a literal). */
export function compileRuntimePattern(pattern: string): PcreRegex {
  if (pattern.length > RUNTIME_PATTERN_MAX)
    badArg(
      `regex: a pattern computed per message may be at most ${RUNTIME_PATTERN_MAX} characters, got ${pattern.length}`,
    );
  return compilePcre(pattern);
}

/**
 * A bounded LRU of compiled patterns for patterns that reach a call site at run time (from the
 * payload, a column, …). Invalid patterns are remembered too, so a stream of messages with the
 * same bad pattern does not recompile it. One per engine (`createDefaultServices`).
 */
export function createRegexCache(max = REGEX_CACHE_MAX): (pattern: string) => PcreRegex {
  const cache = new Map<string, PcreRegex | BadArg>();
  return (pattern) => {
    let hit = cache.get(pattern);
    if (hit !== undefined) {
      cache.delete(pattern);
      cache.set(pattern, hit); // most recently used last
    } else {
      try {
        hit = compileRuntimePattern(pattern);
      } catch (e) {
        if (!(e instanceof BadArg)) throw e;
        hit = e;
      }
      cache.set(pattern, hit);
      if (cache.size > max) cache.delete(cache.keys().next().value as string);
    }
    if (hit instanceof BadArg) throw hit;
    return hit;
  };
}

export type RepPart = string | number; // literal text or a group number (0 = whole match)

/**
 * Parse an Erlang `re:replace` replacement: `&` or `\0` is the whole match, `\N`, `\gN`,
 * `\g{N}` group N, `\&` and `\\` literals.
 */
export function parseReplacement(rep: string): RepPart[] {
  const parts: RepPart[] = [];
  let lit = '';
  for (let i = 0; i < rep.length; i++) {
    const c = rep[i] as string;
    if (c === '&') {
      if (lit) parts.push(lit);
      lit = '';
      parts.push(0);
    } else if (c === '\\' && i + 1 < rep.length) {
      const rest = rep.slice(i + 1);
      const m = /^(?:g\{(\d+)\}|g(\d+)|(\d+))/.exec(rest);
      if (m) {
        if (lit) parts.push(lit);
        lit = '';
        parts.push(Number(m[1] ?? m[2] ?? m[3]));
        i += m[0].length;
      } else {
        lit += rest[0];
        i++;
      }
    } else lit += c;
  }
  if (lit) parts.push(lit);
  return parts;
}

/** Whether a replacement refers to a group other than the whole match. */
function usesGroups(parts: readonly RepPart[]): boolean {
  for (const p of parts) if (typeof p === 'number' && p > 0) return true;
  return false;
}

export function applyReplacement(
  parts: readonly RepPart[],
  groups: readonly (string | undefined)[],
): string {
  let out = '';
  for (const p of parts) out += typeof p === 'string' ? p : (groups[p] ?? '');
  return out;
}

/** `regex_extract`: the groups of the first match, unset ones as `''`; `[]` without a match. */
export function regexExtract(s: string, re: PcreRegex): string[] {
  const m = re.exec(s);
  const out: string[] = [];
  if (m !== null) for (let i = 1; i < m.length; i++) out.push(m[i] ?? '');
  return out;
}
