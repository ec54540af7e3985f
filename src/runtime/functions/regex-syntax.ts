/**
 * PCRE (Erlang `re`) pattern syntax → RE2 syntax, for the linear-time regex engine (re2js)
 * behind `regex_match`, `regex_replace` and `regex_extract` (spec §8.6,
 * docs/decisions/0005-linear-time-regex.md).
 *
 * One pass over the pattern. RE2 already reads most PCRE syntax the same way (classes, `\d \w
 * \b \p{…} \Q…\E \A \z`, `(?i) (?m) (?s) (?U)` scoped as in PCRE, `(?P<n>…)`, `(?<n>…)`, lazy
 * quantifiers). Rewritten here:
 * - `(?x)` extended mode (RE2 has none): whitespace and `#` comments outside classes dropped;
 *   `(?#…)` comments dropped; `(?'name'…)` → `(?P<name>…)`.
 * - `$` without `(?m)` and `\Z`: PCRE matches at the end or before a final newline. RE2 cannot
 *   look ahead, so they become `(?:\z|(\n)\z)`; the added group tells the matcher that the
 *   newline was taken, and it moves every position at the end of the subject back by one
 *   (`endNewline` below) — what PCRE reports.
 * - PCRE classes RE2 lacks or reads differently: `\h \H` (horizontal space), `\v \V` (vertical
 *   space; in RE2 `\v` is only VT), `\R`, `\N`, `\s` (PCRE includes VT), `\e`, `\cX`, and in
 *   classes `\b` (backspace) and octal `\ddd`.
 * Rejected with a clear BadArg (no linear-time equivalent): backreferences, lookahead,
 * lookbehind, atomic groups, possessive quantifiers, recursion and subroutine calls,
 * conditionals, branch reset, callouts, backtracking verbs, `\G`, `\K`, `\X`, `\C`.
 */
import { badArg } from './registry.js';
import { show } from './util.js';

export interface Re2Pattern {
  /** The RE2 source to compile. */
  readonly source: string;
  /** RE2 group number of each PCRE capture group (`groups[0]` is PCRE group 1). */
  readonly groups: readonly number[];
  /** RE2 groups that capture the final newline taken by a PCRE `$` or `\Z` (see above). */
  readonly endNewline: readonly number[];
}

/**
 * Longest pattern accepted (a literal, compiled once per rule; see RUNTIME_PATTERN_MAX for the
 * others): re2js takes 60–150 ms to compile 32 KiB of pattern.
 */
export const MAX_PATTERN_LENGTH = 32_768;

const END_OR_FINAL_NEWLINE = '(?:\\z|(\\n)\\z)';
const HSPACE = '\\t \\x{a0}\\x{1680}\\x{180e}\\x{2000}-\\x{200a}\\x{202f}\\x{205f}\\x{3000}';
const VSPACE = '\\n\\x0b\\f\\r\\x{85}\\x{2028}\\x{2029}';
const SPACE = '\\t\\n\\x0b\\f\\r ';
/** Whitespace that PCRE extended mode skips. */
const X_SPACE = new Set([' ', '\t', '\n', '\x0b', '\f', '\r']);
/** Inline options RE2 shares with PCRE; `x` is handled here. */
const RE2_OPTIONS = new Set(['i', 'm', 's', 'U']);

interface Scope {
  readonly multiline: boolean;
  readonly extended: boolean;
}

function unsupported(what: string, pattern: string): never {
  return badArg(`regex: ${what} not supported (linear-time engine): ${show(pattern)}`);
}

/** `c` quoted for RE2 wherever it stands (used for `\Q…\E` text). */
function quoteChar(c: string): string {
  return /[A-Za-z0-9]/.test(c) || c.charCodeAt(0) > 0x7f ? c : `\\${c}`;
}

function hex(code: number): string {
  return `\\x{${code.toString(16)}}`;
}

/** Translate a PCRE pattern; throws BadArg for what RE2 cannot express. */
export function pcreToRe2(pattern: string): Re2Pattern {
  if (pattern.length > MAX_PATTERN_LENGTH)
    badArg(`regex: pattern longer than ${MAX_PATTERN_LENGTH} characters`);
  const p = pattern;
  const groups: number[] = [];
  const endNewline: number[] = [];
  const stack: Scope[] = [];
  let scope: Scope = { multiline: false, extended: false };
  let re2Groups = 0;
  let out = '';
  let afterQuantifier = false;
  const fail = (what: string): never => unsupported(what, pattern);
  const capture = (): void => {
    re2Groups++;
    groups.push(re2Groups);
  };

  /** `\Q…\E` from index `i` (just after `\Q`): quoted text and the index after `\E`. */
  const quoted = (i: number): [string, number] => {
    const end = p.indexOf('\\E', i);
    const text = p.slice(i, end === -1 ? p.length : end);
    return [[...text].map(quoteChar).join(''), end === -1 ? p.length : end + 2];
  };

  /** A character class starting at `i` (`[`): its RE2 text and the index after it. */
  const charClass = (start: number): [string, number] => {
    let i = start + 1;
    let text = '[';
    if (p[i] === '^') text += p[i++];
    if (p[i] === ']') {
      text += '\\]'; // a leading ] is literal in PCRE
      i++;
    }
    while (i < p.length) {
      const c = p[i] as string;
      if (c === ']') return [text + ']', i + 1];
      if (c === '[') {
        const posix = /^\[:\^?[a-z]+:\]/.exec(p.slice(i));
        text += posix ? posix[0] : '\\[';
        i += posix ? posix[0].length : 1;
        continue;
      }
      if (c !== '\\') {
        text += c;
        i++;
        continue;
      }
      const n = p[i + 1] ?? '';
      i += 2;
      if (n === 'Q') {
        const [q, next] = quoted(i);
        text += q;
        i = next;
      } else if (n === 'E') continue;
      else if (n === 'h') text += HSPACE;
      else if (n === 'v') text += VSPACE;
      else if (n === 's') text += SPACE;
      else if (n === 'H' || n === 'V') fail(`\\${n} inside a character class is`);
      else if (n === 'b') text += '\\x08';
      else if (n === 'e') text += '\\x1b';
      else if (n === 'c' && i < p.length)
        text += hex((p[i++] as string).toUpperCase().charCodeAt(0) ^ 0x40);
      else if (/[0-7]/.test(n)) {
        const oct = /^[0-7]{0,2}/.exec(p.slice(i))?.[0] ?? '';
        text += hex(parseInt(n + oct, 8));
        i += oct.length;
      } else if (n === '8' || n === '9') text += n;
      else text += `\\${n}`;
    }
    return [text, i]; // unterminated: RE2 reports "missing closing ]"
  };

  /** An escape outside classes at `i` (`\`); returns the index after it. */
  const escape = (i: number): number => {
    const n = p[i + 1];
    if (n === undefined) {
      out += '\\'; // RE2 reports the trailing backslash
      return i + 1;
    }
    i += 2;
    switch (n) {
      case 'Q': {
        const [q, next] = quoted(i);
        out += q;
        return next;
      }
      case 'E':
        return i;
      case 'Z':
        re2Groups++;
        endNewline.push(re2Groups);
        out += END_OR_FINAL_NEWLINE;
        return i;
      case 'h':
        out += `[${HSPACE}]`;
        return i;
      case 'H':
        out += `[^${HSPACE}]`;
        return i;
      case 'v':
        out += `[${VSPACE}]`;
        return i;
      case 'V':
        out += `[^${VSPACE}]`;
        return i;
      case 's':
        out += `[${SPACE}]`;
        return i;
      case 'S':
        out += `[^${SPACE}]`;
        return i;
      case 'R':
        out += `(?:\\r\\n|[${VSPACE}])`;
        return i;
      case 'N':
        if (p[i] === '{') return fail('\\N{…}');
        out += '[^\\n]';
        return i;
      case 'e':
        out += '\\x1b';
        return i;
      case 'c':
        if (i >= p.length) return fail('\\c at the end is');
        out += hex((p[i] as string).toUpperCase().charCodeAt(0) ^ 0x40);
        return i + 1;
      case 'g':
        return fail(
          p[i] === '<' || p[i] === "'"
            ? 'subroutine calls (\\g<…>) are'
            : 'backreferences (\\g…) are',
        );
      case 'k':
        return fail('backreferences (\\k<name>) are');
      case 'G':
      case 'K':
      case 'X':
      case 'C':
        return fail(`\\${n} is`);
      case 'x':
      case 'o':
      case 'p':
      case 'P': {
        // `\x{41}`, `\p{Greek}`: copied whole so the braces are not read as a repeat count
        const braced = p[i] === '{' ? p.indexOf('}', i) : -1;
        const end = braced === -1 ? i : braced + 1;
        out += `\\${n}${p.slice(i, end)}`;
        return end;
      }
      default:
        if (/[1-9]/.test(n)) return fail(`backreferences (\\${n}) are`);
        out += `\\${n}`;
        return i;
    }
  };

  /** A group opening at `i` (`(`); returns the index after what it consumed. */
  const open = (i: number): number => {
    const rest = p.slice(i);
    if (rest.startsWith('(*')) return fail('backtracking verbs such as (*UTF8) are');
    if (!rest.startsWith('(?')) {
      stack.push(scope);
      capture();
      out += '(';
      return i + 1;
    }
    if (rest.startsWith('(?#')) {
      const end = p.indexOf(')', i);
      return end === -1 ? fail('an unterminated (?# comment is') : end + 1;
    }
    const named = /^\(\?(?:P?<([A-Za-z_]\w*)>|'([A-Za-z_]\w*)')/.exec(rest);
    if (named) {
      stack.push(scope);
      capture();
      out += `(?P<${named[1] ?? named[2]}>`;
      return i + named[0].length;
    }
    if (rest.startsWith('(?R)')) return fail('recursion and subroutine calls are');
    if (rest.startsWith('(?C')) return fail('callouts (?C are');
    const opts = /^\(\?([A-Za-z]*)(?:-([A-Za-z]*))?([:)])/.exec(rest);
    if (opts) {
      const on = opts[1] ?? '';
      const off = opts[2] ?? '';
      for (const f of on + off)
        if (f !== 'x' && !RE2_OPTIONS.has(f)) fail(`the inline option (?${f}) is`);
      const next: Scope = {
        multiline: off.includes('m') ? false : on.includes('m') ? true : scope.multiline,
        extended: off.includes('x') ? false : on.includes('x') ? true : scope.extended,
      };
      const keepOn = on.replace(/x/g, '');
      const keepOff = off.replace(/x/g, '');
      const flags = keepOn + (keepOff ? `-${keepOff}` : '');
      if (opts[3] === ':') {
        stack.push(scope);
        out += `(?${flags}:`;
      } else if (flags) out += `(?${flags})`;
      scope = next;
      return i + opts[0].length;
    }
    const c = rest[2] ?? '';
    const c2 = rest[3] ?? '';
    if (c === '=' || c === '!') return fail('lookahead assertions (?= (?! are');
    if (c === '<' && (c2 === '=' || c2 === '!')) return fail('lookbehind assertions (?<= (?<! are');
    if (c === '>') return fail('atomic groups (?> are');
    if (c === '|') return fail('branch reset groups (?| are');
    if (c === '(') return fail('conditional groups (?( are');
    if (c === 'P' && c2 === '=') return fail('backreferences (?P=name) are');
    if (/[R&+\-0-9]/.test(c) || (c === 'P' && c2 === '>'))
      return fail('recursion and subroutine calls are');
    out += '(?'; // RE2 reports what it is
    return i + 2;
  };

  let i = 0;
  while (i < p.length) {
    const c = p[i] as string;
    if (scope.extended && X_SPACE.has(c)) {
      i++;
      continue;
    }
    if (scope.extended && c === '#') {
      while (i < p.length && p[i] !== '\n') i++;
      continue;
    }
    const repeat = c === '{' ? /^\{\d+(?:,\d*)?\}/.exec(p.slice(i)) : null;
    if (c === '*' || c === '+' || c === '?' || repeat) {
      if (afterQuantifier && c === '+') fail('possessive quantifiers (a++, a*+, a?+, a{n}+) are');
      if (afterQuantifier && c === '?') {
        out += '?'; // lazy
        afterQuantifier = false;
        i++;
        continue;
      }
      const q = repeat ? repeat[0] : c;
      out += q;
      afterQuantifier = true;
      i += q.length;
      continue;
    }
    afterQuantifier = false;
    if (c === '\\') i = escape(i);
    else if (c === '[') {
      const [text, next] = charClass(i);
      out += text;
      i = next;
    } else if (c === '(') i = open(i);
    else if (c === ')') {
      scope = stack.pop() ?? scope; // an unbalanced ) is reported by RE2
      out += ')';
      i++;
    } else if (c === '$' && !scope.multiline) {
      re2Groups++;
      endNewline.push(re2Groups);
      out += END_OR_FINAL_NEWLINE;
      i++;
    } else {
      out += c;
      i++;
    }
  }
  return { source: out, groups, endNewline };
}
