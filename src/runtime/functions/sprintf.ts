/**
 * A subset of Erlang `io_lib:format/2` for `sprintf(Fmt, …)` and `sprintf_s(Fmt, List)`
 * (spec §8.6). The format is parsed once (at compile time when it is a literal) into parts.
 *
 * Supported: `~s ~ts ~p ~tp ~w ~tw ~P ~W`(depth ignored) `~c ~b ~B ~x ~X ~# ~+ ~e ~f ~g ~i ~n ~~`
 * with field width, precision and pad character (`~F.P.PadC`, `-F` left-justifies, `*` takes
 * the value from the arguments). Unlike Erlang, text is always produced as UTF-8 (Erlang fails
 * on `~ts` output beyond Latin-1 because it converts the result with `iolist_to_binary`).
 */
import { isNumber, num } from '../../core/index.js';
import type { Value } from '../../core/index.js';
import { badArg } from './registry.js';
import { erlangTerm } from './erlang-term-text.js';
import { checkBuiltLength, show } from './util.js';

type Spec = {
  readonly kind: 'directive';
  readonly control: string;
  readonly width: number | '*' | undefined;
  readonly left: boolean;
  readonly precision: number | '*' | undefined;
  readonly pad: string | '*';
  readonly unicode: boolean;
};
type Part = string | Spec;

const CONTROLS = 'spwPWcbBxX#+efgin~';

/** Parse a format string; unknown or malformed directives → BadArg. */
export function parseFormat(fmt: string): Part[] {
  const parts: Part[] = [];
  let lit = '';
  let i = 0;
  const num_ = (): number | '*' | undefined => {
    if (fmt[i] === '*') {
      i++;
      return '*';
    }
    const m = /^\d+/.exec(fmt.slice(i));
    if (!m) return undefined;
    i += m[0].length;
    return Number(m[0]);
  };
  while (i < fmt.length) {
    const ch = fmt[i] as string;
    if (ch !== '~') {
      lit += ch;
      i++;
      continue;
    }
    i++;
    let left = false;
    if (fmt[i] === '-') {
      left = true;
      i++;
    }
    const width = num_();
    let precision: number | '*' | undefined;
    let pad: string = ' ';
    if (fmt[i] === '.') {
      i++;
      precision = num_();
      if (fmt[i] === '.') {
        i++;
        if (fmt[i] === '*') {
          pad = '*';
          i++;
        } else if (i < fmt.length) {
          pad = fmt[i] as string;
          i++;
        }
      }
    }
    let unicode = false;
    while (fmt[i] === 't' || fmt[i] === 'l' || fmt[i] === 'k') {
      if (fmt[i] === 't') unicode = true;
      i++;
    }
    const control = fmt[i];
    if (control === undefined || !CONTROLS.includes(control))
      badArg(`sprintf: unsupported directive ~${control ?? ''} in ${show(fmt)}`);
    i++;
    if (control === 'n' || control === '~') {
      lit += control === 'n' ? '\n' : '~';
      continue;
    }
    if (lit) parts.push(lit);
    lit = '';
    parts.push({ kind: 'directive', control, width, left, precision, pad, unicode });
  }
  if (lit) parts.push(lit);
  return parts;
}

/**
 * Fit `s` into the field as io_lib does: text (`~s`, `~c`) is cut to the width; any other
 * directive whose output is wider than the field prints the field full of `*`.
 */
function justify(
  s: string,
  width: number | undefined,
  left: boolean,
  pad: string,
  text: boolean,
): string {
  if (width === undefined) return s;
  const chars = [...s];
  if (chars.length > width) return text ? chars.slice(0, width).join('') : '*'.repeat(width);
  const fill = pad.repeat(width - chars.length);
  return left ? s + fill : fill + s;
}

function textArg(v: Value): string {
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  if (v === undefined) return 'undefined';
  if (v === null) return 'null';
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v) && v.every((c) => typeof c === 'number' && Number.isInteger(c) && c >= 0))
    return String.fromCodePoint(...(v as number[]));
  return badArg(`sprintf: ~s needs a string, got ${show(v)}`);
}

function intArg(v: Value, c: string): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  return badArg(`sprintf: ~${c} needs an integer, got ${show(v)}`);
}

function floatArg(v: Value, c: string): number {
  if (isNumber(v)) return num(v);
  return badArg(`sprintf: ~${c} needs a number, got ${show(v)}`);
}

/** Erlang `~e`: Precision significant digits (default 6), exponent without zero padding. */
function expText(f: number, p: number): string {
  const s = f.toExponential(Math.max(p - 1, 0));
  return s.replace(/e\+?/, (m) => (m === 'e+' ? 'e+' : 'e'));
}

/** Render parsed parts with arguments. */
export function renderFormat(parts: readonly Part[], args: readonly Value[]): string {
  let out = '';
  let ai = 0;
  const next = (): Value => {
    if (ai >= args.length) badArg('sprintf: not enough arguments for the format');
    return args[ai++];
  };
  for (const p of parts) {
    if (typeof p === 'string') {
      out += p;
      continue;
    }
    const width = p.width === '*' ? Number(intArg(next(), '*')) : p.width;
    const precision = p.precision === '*' ? Number(intArg(next(), '*')) : p.precision;
    checkBuiltLength(Math.max(width ?? 0, precision ?? 0), 'sprintf field');
    const pad = p.pad === '*' ? String.fromCodePoint(Number(intArg(next(), '*'))) : p.pad;
    let text: string;
    switch (p.control) {
      case 's': {
        text = textArg(next());
        if (precision !== undefined) text = [...text].slice(0, precision).join('');
        break;
      }
      case 'p':
      case 'P':
      case '+':
      case 'w':
      case 'W': {
        const v = next();
        if (p.control === 'P' || p.control === 'W') next(); // depth argument
        text = erlangTerm(v, p.control !== 'w' && p.control !== 'W', p.unicode);
        break;
      }
      case 'c': {
        const ch = String.fromCodePoint(Number(intArg(next(), 'c')));
        text = ch.repeat(precision ?? width ?? 1);
        break;
      }
      case 'b':
      case 'B':
      case 'x':
      case 'X':
      case '#': {
        const n = intArg(next(), p.control);
        const base = precision ?? 10;
        if (base < 2 || base > 36) return badArg(`sprintf: base ${base} out of range 2..36`);
        let digits = (n < 0n ? -n : n).toString(base);
        digits =
          p.control === 'b' || p.control === 'x' ? digits.toLowerCase() : digits.toUpperCase();
        let prefix = '';
        if (p.control === 'x' || p.control === 'X') prefix = textArg(next());
        if (p.control === '#') prefix = `${base}#`;
        text = (n < 0n ? '-' : '') + prefix + digits;
        break;
      }
      case 'e':
        text = expText(floatArg(next(), 'e'), precision ?? 6);
        break;
      case 'f':
        text = floatArg(next(), 'f').toFixed(precision ?? 6);
        break;
      case 'g': {
        const f = floatArg(next(), 'g');
        const a = Math.abs(f);
        text = a >= 0.1 && a < 10000 ? f.toFixed(precision ?? 6) : expText(f, precision ?? 6);
        break;
      }
      case 'i':
        next();
        continue;
      default:
        return badArg(`sprintf: unsupported directive ~${p.control}`);
    }
    out += justify(text, width, p.left, pad, p.control === 's' || p.control === 'c');
  }
  if (ai < args.length) badArg('sprintf: too many arguments for the format');
  return out;
}
