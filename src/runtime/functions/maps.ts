/**
 * Map functions, spec §8.7. Wherever a map is expected a string argument is JSON-decoded first.
 * `map_get`/`map_put` take a dot path (`'a.b'`); `mget`/`mput` take one literal key. Maps are
 * never mutated: `map_put`/`mput` return a new map.
 */

import { isMap } from '../../core/index.js';
import type { Value } from '../../core/index.js';
import type { FunctionDef } from './registry.js';
import { getPath, putPath, splitPath } from './paths.js';
import { needMap, needScalarText } from './util.js';

const FAMILY = 'map';

/**
 * `map_get`: like EMQX `nested_get`, anything that is not a map (or JSON object text) simply
 * has no value at the path, so Default is returned instead of an error.
 */
function mapGet(keys: readonly string[], m: Value, dflt: Value): Value {
  const v = getPath(m, keys);
  return v === undefined ? dflt : v;
}

/**
 * `map_put`: like EMQX `nested_put`, writing undefined leaves the map unchanged, and a
 * non-map (or non-object text) Map starts from an empty map.
 */
function mapPut(keys: readonly string[], val: Value, m: Value): Value {
  if (val === undefined) return isMap(m) ? m : putPath(m, [], undefined);
  return putPath(m, keys, val);
}

export const mapFunctions: readonly FunctionDef[] = [
  {
    name: 'map_new',
    family: FAMILY,
    arity: { min: 0, max: 0 },
    signature: 'map_new()',
    description: 'A new empty map.',
    examples: [{ sql: 'map_new()', result: '{}' }],
    impl: () => ({}),
    pure: false, // a fresh object per call
  },
  {
    name: 'map_get',
    family: FAMILY,
    arity: { min: 2, max: 3 },
    signature: 'map_get(Key, Map[, Default])',
    description:
      'The value at dot path Key (`a.b` reads `Map.a.b`; JSON object text is decoded at every step), or Default (undefined) when missing — also when Map is not a map at all.',
    examples: [
      { sql: 'map_get(\'a.b\', \'{"a":{"b":1}}\')', result: '1' },
      { sql: "map_get('x', '{\"a\":1}', 'none')", result: '"none"' },
    ],
    impl: (args) => mapGet(splitPath(needScalarText(args[0], 'Key')), args[1], args[2]),
    specialize: ([key]) => {
      if (typeof key !== 'string') return undefined;
      const keys = splitPath(key);
      return (args) => mapGet(keys, args[1], args[2]);
    },
    pure: true,
  },
  {
    name: 'map_put',
    family: FAMILY,
    arity: { min: 3, max: 3 },
    signature: 'map_put(Key, Value, Map)',
    description:
      'A copy of Map (JSON object text is decoded; anything else counts as an empty map) with Value written at dot path Key, creating or replacing intermediate maps as needed. Writing undefined leaves the map unchanged.',
    examples: [{ sql: "map_put('a.b', 1, map_new())", result: '{"a":{"b":1}}' }],
    impl: (args) => mapPut(splitPath(needScalarText(args[0], 'Key')), args[1], args[2]),
    specialize: ([key]) => {
      if (typeof key !== 'string') return undefined;
      const keys = splitPath(key);
      return (args) => mapPut(keys, args[1], args[2]);
    },
    pure: true,
  },
  {
    name: 'mget',
    family: FAMILY,
    arity: { min: 2, max: 3 },
    signature: 'mget(Key, Map[, Default])',
    description: 'The value under the single key Key (dots are not special), or Default.',
    examples: [{ sql: "mget('a.b', '{\"a.b\":1}')", result: '1' }],
    impl: (args) => {
      const m = needMap(args[1], 'Map');
      const k = needScalarText(args[0], 'Key');
      return Object.hasOwn(m, k) ? m[k] : args[2];
    },
    pure: true,
  },
  {
    name: 'mput',
    family: FAMILY,
    arity: { min: 3, max: 3 },
    signature: 'mput(Key, Value, Map)',
    description: 'A copy of Map with Value under the single key Key.',
    examples: [{ sql: "mput('a.b', 1, map_new())", result: '{"a.b":1}' }],
    impl: (args) => ({ ...needMap(args[2], 'Map'), [needScalarText(args[0], 'Key')]: args[1] }),
    pure: true,
  },
  {
    name: 'map_keys',
    family: FAMILY,
    arity: { min: 1, max: 1 },
    signature: 'map_keys(Map)',
    description: 'The keys of Map as a list.',
    examples: [{ sql: 'map_keys(\'{"a":1,"b":2}\')', result: '["a","b"]' }],
    impl: (args) => Object.keys(needMap(args[0], 'Map')),
    pure: true,
  },
  {
    name: 'map_values',
    family: FAMILY,
    arity: { min: 1, max: 1 },
    signature: 'map_values(Map)',
    description: 'The values of Map as a list, in key order.',
    examples: [{ sql: 'map_values(\'{"a":1,"b":2}\')', result: '[1,2]' }],
    impl: (args) => Object.values(needMap(args[0], 'Map')),
    pure: true,
  },
  {
    name: 'map_to_entries',
    family: FAMILY,
    arity: { min: 1, max: 1 },
    signature: 'map_to_entries(Map)',
    description: 'A list of `{"key": K, "value": V}` maps, one per entry.',
    examples: [{ sql: 'map_to_entries(\'{"a":1}\')', result: '[{"key":"a","value":1}]' }],
    impl: (args) => Object.entries(needMap(args[0], 'Map')).map(([key, value]) => ({ key, value })),
    pure: true,
  },
  {
    name: 'map_size',
    family: FAMILY,
    arity: { min: 1, max: 1 },
    signature: 'map_size(Map)',
    description: 'Number of entries of Map.',
    examples: [{ sql: 'map_size(\'{"a":1,"b":2}\')', result: '2' }],
    impl: (args) => Object.keys(needMap(args[0], 'Map')).length,
    pure: true,
  },
];
