/**
 * String functions, spec §8.6. Every string function rejects undefined/null (and other
 * non-string inputs unless documented) with BadArg, as EMQX's `emqx_variform_bif` does.
 */
import { toText } from '../../core/index.js';
import type { Value } from '../../core/index.js';
import type { FunctionDef } from './registry.js';
import { needList, needText } from './util.js';

const FAMILY = 'string';

/** Text of a `concat` operand: strings as is, anything else like `str` (undefined → `undefined`). */
function concatPart(v: Value): string {
  return toText(v);
}

export const stringFunctions: FunctionDef[] = [
  {
    name: 'lower',
    family: FAMILY,
    arity: { min: 1, max: 1 },
    signature: 'lower(S)',
    description: 'Lower-case (Unicode case mapping).',
    examples: [{ sql: "lower('ÀBC')", result: '"àbc"' }],
    impl: (args) => needText(args[0], 'S').toLowerCase(),
    pure: true,
  },
  {
    name: 'upper',
    family: FAMILY,
    arity: { min: 1, max: 1 },
    signature: 'upper(S)',
    description: 'Upper-case (Unicode case mapping).',
    examples: [{ sql: "upper('àbc')", result: '"ÀBC"' }],
    impl: (args) => needText(args[0], 'S').toUpperCase(),
    pure: true,
  },
  {
    name: 'concat',
    family: FAMILY,
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
        ? needList(args[0], 'List').map(concatPart).join('')
        : concatPart(args[0]) + concatPart(args[1]),
    pure: true,
  },
];
