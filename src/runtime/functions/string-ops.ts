/**
 * The string operations behind strings.ts, on plain JS strings (arguments already checked):
 * Erlang `string` module semantics for trim/split/pad/replace/find, `unescape`, the SQL and
 * Redis value renderings (the regex operations are in regex.ts).
 */
import { encodeJson, isFloat, isInt, isNumber, num, toText } from '../../core/index.js';
import type { Value } from '../../core/index.js';
import { badArg } from './registry.js';
import { floatToDecimals } from './convert.js';
import { checkBuiltLength, graphemes } from './util.js';

/** Whitespace as Erlang `string:trim/1` sees it. */
export const WHITESPACE = new Set([
  ' ',
  '\t',
  '\n',
  '\v',
  '\f',
  '\r',
  '\r\n',
  '\u0085',
  '\u200e',
  '\u200f',
  '\u2028',
  '\u2029',
]);

export function trimWith(
  s: string,
  strip: (g: string) => boolean,
  lead: boolean,
  trail: boolean,
): string {
  const g = graphemes(s);
  let a = 0;
  let b = g.length;
  if (lead) while (a < b && strip(g[a] as string)) a++;
  if (trail) while (b > a && strip(g[b - 1] as string)) b--;
  return g.slice(a, b).join('');
}

export const SPLIT_OPTIONS = [
  'notrim',
  'leading',
  'leading_notrim',
  'trailing',
  'trailing_notrim',
] as const;
export type SplitOption = (typeof SPLIT_OPTIONS)[number] | 'all';

export function split(s: string, sep: string, opt: SplitOption): string[] {
  if (sep === '') return badArg('split: the separator must not be empty');
  let parts: string[];
  if (opt === 'all' || opt === 'notrim') parts = s.split(sep);
  else {
    const i = opt.startsWith('leading') ? s.indexOf(sep) : s.lastIndexOf(sep);
    parts = i < 0 ? [s] : [s.slice(0, i), s.slice(i + sep.length)];
  }
  return opt.endsWith('notrim') ? parts : parts.filter((x) => x !== '');
}

export function tokens(s: string, seps: ReadonlySet<string>): string[] {
  const out: string[] = [];
  let cur = '';
  for (const ch of s) {
    if (seps.has(ch)) {
      if (cur) out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur) out.push(cur);
  return out;
}

export function tokenSeps(seps: string, nocrlf: boolean): Set<string> {
  const set = new Set(seps);
  if (nocrlf) {
    set.add('\r');
    set.add('\n');
  }
  return set;
}

export const PAD_WHERE = ['trailing', 'leading', 'both'] as const;

export function pad(
  s: string,
  len: number,
  where: (typeof PAD_WHERE)[number],
  fill: string,
): string {
  const n = len - graphemes(s).length;
  if (n <= 0) return s;
  checkBuiltLength(n * fill.length, 'pad');
  if (where === 'trailing') return s + fill.repeat(n);
  if (where === 'leading') return fill.repeat(n) + s;
  const pre = Math.floor(n / 2);
  return fill.repeat(pre) + s + fill.repeat(n - pre);
}

export const REPLACE_WHERE = ['all', 'leading', 'trailing'] as const;

export function replace(
  s: string,
  p: string,
  r: string,
  where: (typeof REPLACE_WHERE)[number],
): string {
  if (p === '') return badArg('replace: the pattern must not be empty');
  if (where === 'all') return s.split(p).join(r);
  const i = where === 'leading' ? s.indexOf(p) : s.lastIndexOf(p);
  return i < 0 ? s : s.slice(0, i) + r + s.slice(i + p.length);
}

export const FIND_WHERE = ['leading', 'trailing'] as const;

export function find(s: string, p: string, where: (typeof FIND_WHERE)[number]): string {
  const i = where === 'leading' ? s.indexOf(p) : s.lastIndexOf(p);
  return i < 0 ? '' : s.slice(i);
}

/** `unescape`: C-like escapes; `\x` takes every following hex digit as one code point. */
export function unescape(s: string): string {
  const simple: Record<string, string> = {
    n: '\n',
    t: '\t',
    r: '\r',
    b: '\b',
    f: '\f',
    v: '\v',
    "'": "'",
    '"': '"',
    '?': '?',
    a: '\x07',
    '\\': '\\',
  };
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c !== '\\' || i + 1 >= s.length) {
      out += c;
      continue;
    }
    const e = s[i + 1] as string;
    const mapped = simple[e];
    if (mapped !== undefined) {
      out += mapped;
      i++;
      continue;
    }
    const hex = e === 'x' ? /^[0-9a-fA-F]+/.exec(s.slice(i + 2)) : null;
    if (hex === null) return badArg(`unescape: unrecognized escape sequence \\${e}`);
    const cp = parseInt(hex[0], 16);
    if (!(cp <= 0x10ffff) || (cp >= 0xd800 && cp <= 0xdfff))
      return badArg(`unescape: invalid Unicode code point \\x${hex[0]}`);
    out += String.fromCodePoint(cp);
    i += 1 + hex[0].length;
  }
  return out;
}

/** SQL literal of one value for `join_to_sql_values_string`. */
export function sqlLiteral(v: Value): string {
  if (v === undefined || v === null) return 'NULL';
  if (typeof v === 'string' || Buffer.isBuffer(v)) return `'${v.toString().replace(/'/g, "''")}'`;
  if (isNumber(v) || typeof v === 'boolean') return toText(v);
  return `'${encodeJson(v).replace(/'/g, "''")}'`;
}

/** Redis HSET value text; undefined for values that are dropped (maps, lists, null). */
export function redisValue(v: Value): string | undefined {
  if (typeof v === 'string' || Buffer.isBuffer(v)) return v.toString();
  if (isInt(v)) return v.toString();
  if (isFloat(v)) return floatToDecimals(num(v), 6);
  if (typeof v === 'boolean') return String(v);
  return undefined;
}
