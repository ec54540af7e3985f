/**
 * Miscellaneous and stateful functions, spec §8.11: `random`, `uuid_v4`, `uuid_v4_no_hyphen`,
 * `getenv` (only `EMQXVAR_`-prefixed OS variables, through `services.getenv`), the node-global
 * `kv_store_*` table (`services.kvStore`) and the per-client `proc_dict_*` state
 * (`services.procDict`, keyed by the trigger's `clientid`).
 */
import { randomUUID } from 'node:crypto';
import { encodeJson, mkFloat } from '../../core/index.js';
import type { Value } from '../../core/index.js';
import type { CallContext, FunctionDef } from './registry.js';
import { badArg } from './registry.js';
import { needText } from './util.js';

const FAMILY = 'misc';

/**
 * Table key of a term: text keys as themselves, other terms by their JSON text behind a NUL
 * tag, so `1` and `'1'` stay distinct keys as they are in EMQX.
 */
export function termKey(k: Value): string {
  if (typeof k === 'string') return k;
  if (Buffer.isBuffer(k)) return k.toString('utf8');
  return '\u0000' + (k === undefined ? 'undefined' : encodeJson(k));
}

function procDict(ctx: CallContext): Map<string, Value> {
  if (!ctx.services.procDict)
    return badArg('proc_dict_*: per-client state is not available in this runtime');
  const c = ctx.columns['clientid'];
  const id = typeof c === 'string' ? c : Buffer.isBuffer(c) ? c.toString('utf8') : '';
  return ctx.services.procDict(id);
}

export const miscFunctions: readonly FunctionDef[] = [
  {
    name: 'random',
    effects: true,
    family: FAMILY,
    arity: { min: 0, max: 0 },
    signature: 'random()',
    description: 'A uniformly distributed float in [0, 1).',
    examples: [{ sql: 'is_float(random())', result: 'true' }],
    impl: () => mkFloat(Math.random()),
  },
  {
    name: 'uuid_v4',
    effects: true,
    family: FAMILY,
    arity: { min: 0, max: 0 },
    signature: 'uuid_v4()',
    description: 'A random (version 4) UUID, lower-case with hyphens.',
    examples: [
      {
        sql: "regex_match(uuid_v4(), '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$')",
        result: 'true',
      },
    ],
    impl: () => randomUUID(),
  },
  {
    name: 'uuid_v4_no_hyphen',
    effects: true,
    family: FAMILY,
    arity: { min: 0, max: 0 },
    signature: 'uuid_v4_no_hyphen()',
    description: 'A random (version 4) UUID as 32 lower-case hex digits.',
    examples: [{ sql: 'strlen(uuid_v4_no_hyphen())', result: '32' }],
    impl: () => randomUUID().replace(/-/g, ''),
  },
  {
    name: 'getenv',
    family: FAMILY,
    arity: { min: 1, max: 1 },
    signature: 'getenv(Name)',
    description:
      "The OS environment variable `EMQXVAR_<Name>` (read once, then cached), or `''` if it is unset. Other variables cannot be read.",
    examples: [
      { sql: "getenv('GREETING')", result: '"hello"' },
      { sql: "getenv('UNSET_NAME')", result: '""' },
    ],
    impl: (args, ctx) => ctx.services.getenv('EMQXVAR_' + needText(args[0], 'Name')) ?? '',
  },
  {
    name: 'kv_store_put',
    effects: true,
    family: FAMILY,
    arity: { min: 2, max: 2 },
    signature: 'kv_store_put(Key, Value)',
    description:
      'Store Value under Key in the node-global table shared by all rules; returns true.',
    examples: [{ sql: "kv_store_put('k', 1)", result: 'true' }],
    impl: (args, ctx) => {
      ctx.services.kvStore.set(termKey(args[0]), args[1]);
      return true;
    },
  },
  {
    name: 'kv_store_get',
    effects: true,
    family: FAMILY,
    arity: { min: 1, max: 2 },
    signature: 'kv_store_get(Key[, Default])',
    description: 'The value stored under Key, or Default (undefined) when absent.',
    examples: [{ sql: "kv_store_get('absent', 0)", result: '0' }],
    impl: (args, ctx) => {
      const k = termKey(args[0]);
      return ctx.services.kvStore.has(k) ? ctx.services.kvStore.get(k) : args[1];
    },
  },
  {
    name: 'kv_store_del',
    effects: true,
    family: FAMILY,
    arity: { min: 1, max: 1 },
    signature: 'kv_store_del(Key)',
    description: 'Remove Key from the node-global table; returns true.',
    examples: [{ sql: "kv_store_del('k')", result: 'true' }],
    impl: (args, ctx) => {
      ctx.services.kvStore.delete(termKey(args[0]));
      return true;
    },
  },
  {
    name: 'proc_dict_put',
    effects: true,
    family: FAMILY,
    arity: { min: 2, max: 2 },
    signature: 'proc_dict_put(Key, Value)',
    description:
      "Store Value under Key in the current client's state (kept per client id); returns the previous value (undefined if none).",
    examples: [{ sql: "proc_dict_put('seen', 1)", result: 'null' }],
    impl: (args, ctx) => {
      const d = procDict(ctx);
      const k = termKey(args[0]);
      const old = d.get(k);
      d.set(k, args[1]);
      return old;
    },
  },
  {
    name: 'proc_dict_get',
    effects: true,
    family: FAMILY,
    arity: { min: 1, max: 1 },
    signature: 'proc_dict_get(Key)',
    description: "The value under Key in the current client's state, or undefined.",
    examples: [{ sql: "proc_dict_get('never_set')", result: 'null' }],
    impl: (args, ctx) => procDict(ctx).get(termKey(args[0])),
  },
  {
    name: 'proc_dict_del',
    effects: true,
    family: FAMILY,
    arity: { min: 1, max: 1 },
    signature: 'proc_dict_del(Key)',
    description:
      "Remove Key from the current client's state; returns the removed value (undefined if none).",
    examples: [{ sql: "proc_dict_del('never_set')", result: 'null' }],
    impl: (args, ctx) => {
      const d = procDict(ctx);
      const k = termKey(args[0]);
      const old = d.get(k);
      d.delete(k);
      return old;
    },
  },
];
