/**
 * Encodings, spec §8.9: base64 (with the 6.x `no_padding` / `urlsafe` options), JSON, and the
 * Erlang external term format (`term_encode`/`term_decode`, see term.ts).
 */
import { decodeJson, encodeJson } from '../../core/index.js';
import type { Value } from '../../core/index.js';
import type { FunctionDef, FunctionImpl, MaybeConstant } from './registry.js';
import { badArg } from './registry.js';
import { needBytes, show } from './util.js';
import { termDecode, termEncode } from './term.js';

const FAMILY = 'encoding';

interface B64Options {
  readonly urlsafe: boolean;
  readonly padding: boolean;
}

/** Options are read from text arguments; unknown options are ignored (as in EMQX). */
function b64Options(opts: readonly Value[]): B64Options {
  let urlsafe = false;
  let padding = true;
  for (const o of opts) {
    const s = typeof o === 'string' ? o : Buffer.isBuffer(o) ? o.toString() : undefined;
    if (s === 'urlsafe') urlsafe = true;
    else if (s === 'no_padding') padding = false;
  }
  return { urlsafe, padding };
}

function b64Encode(b: Buffer, o: B64Options): string {
  let s = b.toString(o.urlsafe ? 'base64url' : 'base64');
  if (o.urlsafe && o.padding && s.length % 4 !== 0) s += '='.repeat(4 - (s.length % 4));
  if (!o.urlsafe && !o.padding) s = s.replace(/=+$/, '');
  return s;
}

const STD = /^[A-Za-z0-9+/]*$/;
const URL = /^[A-Za-z0-9\-_]*$/;

function b64Decode(text: string, o: B64Options): Buffer {
  let body = text;
  if (o.padding) {
    if (body.length % 4 !== 0) badArg(`base64_decode: missing padding in ${show(text)}`);
    body = body.replace(/={1,2}$/, '');
  } else if (body.length % 4 === 1) {
    badArg(`base64_decode: invalid length in ${show(text)}`);
  }
  if (!(o.urlsafe ? URL : STD).test(body))
    badArg(`base64_decode: invalid characters in ${show(text)}`);
  return Buffer.from(body, o.urlsafe ? 'base64url' : 'base64');
}

function b64Specialize(
  f: (b: Value, o: B64Options) => Value,
): (args: readonly MaybeConstant[]) => FunctionImpl | undefined {
  return (args) => {
    const rest = args.slice(1);
    if (rest.some((a) => typeof a === 'symbol')) return undefined;
    const o = b64Options(rest as Value[]);
    return (a) => f(a[0], o);
  };
}

const encode = (v: Value, o: B64Options): Value => b64Encode(needBytes(v, 'Data'), o);
const decode = (v: Value, o: B64Options): Value => {
  const s = typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString('latin1') : undefined;
  if (s === undefined) return badArg(`base64_decode needs a string, got ${show(v)}`);
  return b64Decode(s, o);
};

export const encodingFunctions: readonly FunctionDef[] = [
  {
    name: 'base64_encode',
    family: FAMILY,
    arity: { min: 1, max: 3 },
    signature: 'base64_encode(Data[, Opt1[, Opt2]])',
    description:
      "Base64 of the bytes of Data. Options (any order): `'urlsafe'` uses `-` and `_`, `'no_padding'` omits trailing `=`; unknown options are ignored.",
    examples: [
      { sql: "base64_encode('hi?>')", result: '"aGk/Pg=="' },
      { sql: "base64_encode('hi?>', 'urlsafe')", result: '"aGk_Pg=="' },
      { sql: "base64_encode('hi?>', 'no_padding', 'urlsafe')", result: '"aGk_Pg"' },
    ],
    impl: (args) => encode(args[0], b64Options(args.slice(1))),
    specialize: b64Specialize(encode),
    pure: true,
  },
  {
    name: 'base64_decode',
    family: FAMILY,
    arity: { min: 1, max: 3 },
    signature: 'base64_decode(Text[, Opt1[, Opt2]])',
    description:
      "Bytes from Base64 text. Without `'no_padding'` the text must be padded to a multiple of 4; `'urlsafe'` expects the URL alphabet; invalid text is an error.",
    examples: [
      { sql: "base64_decode('aGk/Pg==')", result: '"hi?>"' },
      { sql: "base64_decode('aGk_Pg', 'urlsafe', 'no_padding')", result: '"hi?>"' },
    ],
    impl: (args) => decode(args[0], b64Options(args.slice(1))),
    specialize: b64Specialize(decode),
    pure: true,
  },
  {
    name: 'json_encode',
    family: FAMILY,
    arity: { min: 1, max: 1 },
    signature: 'json_encode(X)',
    description:
      'Compact JSON text of X (a string becomes a quoted JSON string; undefined becomes `null`; `2.0` keeps its decimal).',
    examples: [
      { sql: 'json_encode(json_decode(\'{"a":[1,2.0]}\'))', result: '"{\\"a\\":[1,2.0]}"' },
      { sql: "json_encode('a\"b')", result: '"\\"a\\\\\\"b\\""' },
    ],
    impl: (args) => encodeJson(args[0]),
    pure: true,
  },
  {
    name: 'json_decode',
    family: FAMILY,
    arity: { min: 1, max: 1 },
    signature: 'json_decode(Text)',
    description: 'The value of JSON text (any JSON value); invalid JSON is an error.',
    examples: [
      { sql: 'json_decode(\'{"a":1}\')', result: '{"a":1}' },
      { sql: "json_decode('[1, 2.5]')", result: '[1,2.5]' },
    ],
    impl: (args) => {
      const v = args[0];
      if (typeof v !== 'string' && !Buffer.isBuffer(v))
        return badArg(`json_decode needs a string, got ${show(v)}`);
      try {
        return decodeJson(v);
      } catch (e) {
        return badArg(`json_decode: invalid JSON (${(e as Error).message})`);
      }
    },
    pure: true,
  },
  {
    name: 'term_encode',
    family: FAMILY,
    arity: { min: 1, max: 1 },
    signature: 'term_encode(X)',
    description:
      'X in the Erlang external term format (bytes, as `term_to_binary`): integers, floats, binaries, lists, maps with text keys and the atoms true/false/undefined/null.',
    examples: [
      {
        sql: 'bin2hexstr(term_encode(json_decode(\'{"a":[1,2.5]}\')))',
        result: '"8374000000016D00000001616C0000000261014640040000000000006A"',
      },
      { sql: "term_decode(term_encode('héllo'))", result: '"héllo"' },
    ],
    impl: (args) => termEncode(args[0]),
    pure: true,
  },
  {
    name: 'term_decode',
    family: FAMILY,
    arity: { min: 1, max: 1 },
    signature: 'term_decode(Bytes)',
    description:
      'The value of Erlang external-term-format bytes (see `term_encode`); other atoms become text; tuples, pids, references, funs and compressed terms are errors.',
    examples: [
      { sql: "term_decode(hexstr2bin('836C0000000261017704747275656A'))", result: '[1,true]' },
    ],
    impl: (args) => {
      return termDecode(needBytes(args[0], 'Bytes'));
    },
    pure: true,
  },
];
