/**
 * PCRE (Erlang `re`) patterns on JavaScript RegExp, for `regex_match`, `regex_replace` and
 * `regex_extract` (spec §8.6). Patterns are translated once per call site when literal.
 *
 * Translated: leading inline options `(?i)`, `(?m)`, `(?s)`, `(?x)` (extended: whitespace and
 * `#` comments removed outside classes), `(?P<name>…)` → `(?<name>…)`, `(?P=name)` → `\k<name>`,
 * `\A` (start of subject), `\z` (end), `\Z` and — without `(?m)` — `$` (end or before a final
 * newline, as in PCRE), `\h` (horizontal space). Rejected with a clear error: possessive
 * quantifiers, atomic groups, recursion, conditionals, `\G`, `\K` — JS has no equivalent.
 */
import { badArg } from './registry.js';
import { show } from './util.js';

const UNSUPPORTED: readonly [RegExp, string][] = [
  [/\(\?>/, 'atomic groups (?>…)'],
  [/\(\?(?:R|\d+|&\w+|P>\w+)\)/, 'recursion'],
  [/\(\?\(/, 'conditional groups'],
  [/\\[GK]/, '\\G / \\K'],
  [/(?:[*+?}])\+/, 'possessive quantifiers'],
];

/** Strip extended-mode whitespace and comments outside character classes. */
function stripExtended(p: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < p.length; i++) {
    const c = p[i] as string;
    if (c === '\\') {
      out += c + (p[i + 1] ?? '');
      i++;
    } else if (inClass) {
      if (c === ']') inClass = false;
      out += c;
    } else if (c === '[') {
      inClass = true;
      out += c;
    } else if (/\s/.test(c)) {
      continue;
    } else if (c === '#') {
      while (i < p.length && p[i] !== '\n') i++;
    } else out += c;
  }
  return out;
}

/** Compile a PCRE pattern to a RegExp (flags plus `extraFlags`, e.g. `g`). */
export function compilePcre(pattern: string, extraFlags = ''): RegExp {
  let p = pattern;
  const flags = new Set<string>();
  for (;;) {
    const m = /^\(\?([imsx]+)\)/.exec(p);
    if (!m) break;
    for (const f of m[1] as string) flags.add(f);
    p = p.slice(m[0].length);
  }
  if (flags.has('x')) {
    flags.delete('x');
    p = stripExtended(p);
  }
  const withoutEscapes = p.replace(/\\\\/g, '');
  for (const [re, what] of UNSUPPORTED) {
    if (re.test(withoutEscapes)) badArg(`regex: ${what} are not supported: ${show(pattern)}`);
  }
  p = translate(p, flags.has('m'));
  const f = [...flags].join('') + extraFlags;
  try {
    return new RegExp(p, f + 'u');
  } catch {
    try {
      return new RegExp(p, f);
    } catch (e) {
      return badArg(`regex: invalid pattern ${show(pattern)}: ${(e as Error).message}`);
    }
  }
}

const END = '(?![\\s\\S])';

/** Rewrite PCRE-only syntax outside character classes (see the module comment). */
function translate(p: string, multiline: boolean): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < p.length; i++) {
    const c = p[i] as string;
    if (c === '\\') {
      const n = p[i + 1] ?? '';
      i++;
      if (inClass) out += c + n;
      else if (n === 'A') out += '(?<![\\s\\S])';
      else if (n === 'z') out += END;
      else if (n === 'Z') out += `(?=\\n?${END})`;
      else if (n === 'h') out += '[\\t \\u00a0\\u1680\\u180e\\u2000-\\u200a\\u202f\\u205f\\u3000]';
      else out += c + n;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      out += c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      if (p[i + 1] === '^') out += p[++i];
      if (p[i + 1] === ']') {
        out += '\\]'; // a leading ] is literal in PCRE (JS would read an empty class)
        i++;
      }
      continue;
    }
    if (c === '$' && !multiline) {
      out += `(?=\\n?${END})`;
      continue;
    }
    if (p.startsWith('(?P<', i)) {
      out += '(?<';
      i += 3;
      continue;
    }
    const back = /^\(\?P=(\w+)\)/.exec(p.slice(i));
    if (back) {
      out += `\\k<${back[1]}>`;
      i += back[0].length - 1;
      continue;
    }
    out += c;
  }
  return out;
}

type RepPart = string | number; // literal text or a group number (0 = whole match)

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

export function applyReplacement(
  parts: readonly RepPart[],
  groups: readonly (string | undefined)[],
): string {
  let out = '';
  for (const p of parts) out += typeof p === 'string' ? p : (groups[p] ?? '');
  return out;
}
