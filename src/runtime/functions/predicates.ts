/**
 * Type and null predicates and the conditional helpers, spec §8.5 and §6.4. `is_null` is true
 * only for undefined; `is_null_var` also for JSON null.
 */
import { decodeJson, isFloat, isInt, isMap, isNumber } from '../../core/index.js';
import type { Value } from '../../core/index.js';
import type { FunctionDef } from './registry.js';

const FAMILY = 'predicate';

function pred(
  name: string,
  test: (v: Value) => boolean,
  description: string,
  examples: { sql: string; result: string }[],
): FunctionDef {
  return {
    name,
    family: FAMILY,
    arity: { min: 1, max: 1 },
    signature: `${name}(X)`,
    description,
    examples,
    impl: (args) => test(args[0]),
    pure: true,
  };
}

const isStr = (v: Value): v is string | Buffer => typeof v === 'string' || Buffer.isBuffer(v);

function isEmpty(v: Value): boolean {
  if (Array.isArray(v)) return v.length === 0;
  if (isMap(v)) return Object.keys(v).length === 0;
  if (isStr(v)) {
    if (v.length === 0) return true;
    try {
      const d = decodeJson(v);
      return isMap(d) && Object.keys(d).length === 0;
    } catch {
      return false;
    }
  }
  return false;
}

/** `coalesce`-style: first element that passes `keep`, else undefined. */
function firstKept(keep: (v: Value) => boolean) {
  return (args: readonly Value[]): Value => {
    const items = args.length === 1 && Array.isArray(args[0]) ? args[0] : args;
    for (const v of items) if (keep(v)) return v;
    return undefined;
  };
}

export const predicateFunctions: readonly FunctionDef[] = [
  pred('is_null', (v) => v === undefined, 'True only for undefined (a JSON null is a value).', [
    { sql: 'is_null(null())', result: 'true' },
    { sql: "is_null(json_decode('null'))", result: 'false' },
  ]),
  pred('is_not_null', (v) => v !== undefined, 'Negation of `is_null`.', [
    { sql: 'is_not_null(1)', result: 'true' },
  ]),
  pred('is_null_var', (v) => v === undefined || v === null, 'True for undefined or JSON null.', [
    { sql: "is_null_var(json_decode('null'))", result: 'true' },
  ]),
  pred('is_not_null_var', (v) => v !== undefined && v !== null, 'Negation of `is_null_var`.', [
    { sql: "is_not_null_var('')", result: 'true' },
  ]),
  pred('is_str', isStr, 'True for strings and binaries.', [
    { sql: "is_str('a')", result: 'true' },
    { sql: 'is_str(1)', result: 'false' },
  ]),
  pred('is_bool', (v) => typeof v === 'boolean', 'True for `true`/`false`.', [
    { sql: 'is_bool(false)', result: 'true' },
    { sql: "is_bool('true')", result: 'false' },
  ]),
  pred('is_int', isInt, 'True for integers.', [
    { sql: 'is_int(2)', result: 'true' },
    { sql: 'is_int(2.0)', result: 'false' },
  ]),
  pred('is_float', isFloat, 'True for floats, including integral ones such as `2.0`.', [
    { sql: 'is_float(2.0)', result: 'true' },
    { sql: 'is_float(2)', result: 'false' },
  ]),
  pred('is_num', isNumber, 'True for integers and floats.', [
    { sql: 'is_num(1.5)', result: 'true' },
    { sql: "is_num('1')", result: 'false' },
  ]),
  pred('is_map', isMap, 'True for maps (JSON objects). JSON text is not decoded.', [
    { sql: "is_map(json_decode('{}'))", result: 'true' },
    { sql: "is_map('{}')", result: 'false' },
  ]),
  pred('is_array', Array.isArray, 'True for lists (JSON arrays).', [
    { sql: 'is_array([1, 2])', result: 'true' },
  ]),
  pred(
    'is_empty',
    isEmpty,
    "True for `[]`, `''`, an empty map, or text that decodes to an empty JSON object; false for anything else.",
    [
      { sql: "is_empty('{}')", result: 'true' },
      { sql: 'is_empty([])', result: 'true' },
      { sql: "is_empty('a')", result: 'false' },
    ],
  ),
  {
    name: 'coalesce',
    family: FAMILY,
    arity: { min: 1, max: 2 },
    signature: 'coalesce(List) | coalesce(A, B)',
    description:
      'The first value that is not undefined (a JSON null counts as a value); undefined if there is none.',
    examples: [
      { sql: "coalesce(null(), 'b')", result: '"b"' },
      { sql: "coalesce([null(), json_decode('null'), 1])", result: 'null' },
    ],
    impl: firstKept((v) => v !== undefined),
    pure: true,
  },
  {
    name: 'coalesce_ne',
    family: FAMILY,
    arity: { min: 1, max: 2 },
    signature: 'coalesce_ne(List) | coalesce_ne(A, B)',
    description: 'The first value that is neither undefined nor the empty string.',
    examples: [
      { sql: "coalesce_ne('', 'b')", result: '"b"' },
      { sql: "coalesce_ne([null(), '', 'c'])", result: '"c"' },
    ],
    impl: firstKept((v) => v !== undefined && !(isStr(v) && v.length === 0)),
    pure: true,
  },
];
