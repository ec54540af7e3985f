/**
 * List functions, spec §8.8. Indexes are 1-based (Erlang `lists`); out-of-range `nth` and
 * `first`/`last` of an empty list are errors.
 */
import { exactEquals } from '../../core/index.js';
import type { FunctionDef } from './registry.js';
import { badArg } from './registry.js';
import { needInt, needList } from './util.js';

const FAMILY = 'array';

export const arrayFunctions: readonly FunctionDef[] = [
  {
    name: 'nth',
    family: FAMILY,
    arity: { min: 2, max: 2 },
    signature: 'nth(N, List)',
    description: 'The N-th element (1-based); N outside 1..length is an error.',
    examples: [{ sql: "nth(2, ['a', 'b', 'c'])", result: '"b"' }],
    impl: (args) => {
      const n = needInt(args[0], 'N');
      const list = needList(args[1], 'List');
      if (n < 1 || n > list.length) return badArg(`nth: index ${n} out of range 1..${list.length}`);
      return list[n - 1];
    },
    pure: true,
  },
  {
    name: 'length',
    family: FAMILY,
    arity: { min: 1, max: 1 },
    signature: 'length(List)',
    description: 'Number of elements of a list.',
    examples: [{ sql: 'length([1, 2, 3])', result: '3' }],
    impl: (args) => needList(args[0], 'List').length,
    pure: true,
  },
  {
    name: 'sublist',
    family: FAMILY,
    arity: { min: 2, max: 3 },
    signature: 'sublist(Len, List) | sublist(Start, Len, List)',
    description:
      'At most Len elements, from the start or from the 1-based Start (a Start past the end gives `[]`; Start < 1 or a negative Len is an error).',
    examples: [
      { sql: 'sublist(2, [1, 2, 3])', result: '[1,2]' },
      { sql: 'sublist(2, 5, [1, 2, 3])', result: '[2,3]' },
      { sql: 'sublist(7, 1, [1, 2, 3])', result: '[]' },
    ],
    impl: (args) => {
      const three = args.length === 3;
      const start = three ? needInt(args[0], 'Start') : 1;
      const len = needInt(args[three ? 1 : 0], 'Len');
      const list = needList(args[three ? 2 : 1], 'List');
      if (len < 0) return badArg(`sublist: negative length ${len}`);
      if (start < 1) return badArg(`sublist: start ${start} must be >= 1`);
      return list.slice(start - 1, start - 1 + len);
    },
    pure: true,
  },
  {
    name: 'first',
    family: FAMILY,
    arity: { min: 1, max: 1 },
    signature: 'first(List)',
    description: 'The first element; an empty list is an error.',
    examples: [{ sql: 'first([1, 2])', result: '1' }],
    impl: (args) => {
      const list = needList(args[0], 'List');
      if (list.length === 0) return badArg('first: empty list');
      return list[0];
    },
    pure: true,
  },
  {
    name: 'last',
    family: FAMILY,
    arity: { min: 1, max: 1 },
    signature: 'last(List)',
    description: 'The last element; an empty list is an error.',
    examples: [{ sql: 'last([1, 2])', result: '2' }],
    impl: (args) => {
      const list = needList(args[0], 'List');
      if (list.length === 0) return badArg('last: empty list');
      return list[list.length - 1];
    },
    pure: true,
  },
  {
    name: 'contains',
    family: FAMILY,
    arity: { min: 2, max: 2 },
    signature: 'contains(X, List)',
    description: 'True when List has an element exactly equal to X (deep, no coercion: 1 ≠ 1.0).',
    examples: [
      { sql: 'contains(2, [1, 2])', result: 'true' },
      { sql: 'contains(2.0, [1, 2])', result: 'false' },
    ],
    impl: (args) => needList(args[1], 'List').some((v) => exactEquals(v, args[0])),
    pure: true,
  },
];
