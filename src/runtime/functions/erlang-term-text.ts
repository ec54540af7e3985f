/**
 * Erlang-style text of values, as `io_lib:format("~p" | "~w")` prints them (used by
 * `sprintf`): binaries as `<<"text">>`, maps as `#{<<"k">> => V}`, floats always with a
 * decimal point, undefined/null/true/false as atoms.
 */
import { EFloat, isMap } from '../../core/index.js';
import type { Value } from '../../core/index.js';

/** Erlang shortest float text: `2.0`, `0.1`, `1.0e21`, `1.5e-7`. */
export function erlangFloat(f: number): string {
  const s = String(f);
  const m = /^(-?)(\d+)(?:\.(\d+))?e([+-])(\d+)$/.exec(s);
  if (m) return `${m[1]}${m[2]}.${m[3] ?? '0'}e${m[4] === '-' ? '-' : ''}${m[5]}`;
  return s.includes('.') ? s : s + '.0';
}

function printableAscii(b: Buffer): boolean {
  for (const c of b) if (c < 32 || c > 126) if (!(c >= 8 && c <= 13) && c !== 27) return false;
  return true;
}

function escapeChars(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\\"\n\r\t\v\f\b\x1b]/g, (c) => {
    switch (c) {
      case '\n':
        return '\\n';
      case '\r':
        return '\\r';
      case '\t':
        return '\\t';
      case '\v':
        return '\\v';
      case '\f':
        return '\\f';
      case '\b':
        return '\\b';
      case '\x1b':
        return '\\e';
      default:
        return '\\' + c;
    }
  });
}

function binaryText(b: Buffer, unicode: boolean, pretty: boolean): string {
  if (pretty && printableAscii(b)) return `<<"${escapeChars(b.toString('latin1'))}">>`;
  if (pretty && unicode) {
    const s = b.toString('utf8');
    // eslint-disable-next-line no-control-regex
    if (Buffer.from(s, 'utf8').equals(b) && !/[\x00-\x07\x0e-\x1a\x1c-\x1f\x7f]/.test(s))
      return `<<"${escapeChars(s)}"/utf8>>`;
  }
  return `<<${[...b].join(',')}>>`;
}

/** `~p` (pretty, `pretty = true`) or `~w` text of a value; `unicode` is the `t` modifier. */
export function erlangTerm(v: Value, pretty: boolean, unicode: boolean): string {
  if (v === undefined) return 'undefined';
  if (v === null) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') return Number.isInteger(v) ? BigInt(v).toString() : erlangFloat(v);
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof EFloat) return erlangFloat(v.value);
  if (typeof v === 'string') return binaryText(Buffer.from(v, 'utf8'), unicode, pretty);
  if (Buffer.isBuffer(v)) return binaryText(v, unicode, pretty);
  if (Array.isArray(v)) return '[' + v.map((x) => erlangTerm(x, pretty, unicode)).join(',') + ']';
  if (isMap(v)) {
    const parts = Object.keys(v).map(
      (k) => `${erlangTerm(k, pretty, unicode)} => ${erlangTerm(v[k], pretty, unicode)}`,
    );
    return '#{' + parts.join(',') + '}';
  }
  return String(v);
}
