/**
 * The built-in function library (spec §8, issue #3): one file per family, collected here into
 * `builtinFunctions` and a registry. The compiler resolves calls through `createBuiltinRegistry()`
 * once per rule; `createDefaultServices()` builds the per-engine services (clock, kv store,
 * environment, node name) the few stateful functions need.
 */
import type { Value } from '../../core/index.js';
import type { FunctionDef, FunctionRegistry, FunctionServices } from './registry.js';
import { createFunctionRegistry } from './registry.js';
import { arrayFunctions } from './arrays.js';
import { contextFunctions } from './context.js';
import { convertFunctions } from './convert.js';
import { encodingFunctions } from './encoding.js';
import { mapFunctions } from './maps.js';
import { mathFunctions } from './math.js';
import { predicateFunctions } from './predicates.js';
import { stringFunctions } from './strings.js';
import { bitFunctions } from './bits.js';
import { hashFunctions } from './hash.js';
import { compressFunctions } from './compress.js';
import { dateFunctions } from './datetime.js';
import { miscFunctions } from './misc.js';
import { jqFunctions } from './jq.js';
import { schemaFunctions } from './schema.js';
import { createJqRunner } from './jq-runner.js';
import { createRegexCache } from './regex.js';

export type {
  CallContext,
  Clause,
  FunctionDef,
  FunctionImpl,
  FunctionRegistry,
  FunctionServices,
  MaybeConstant,
} from './registry.js';
export { BadArg, NOT_CONSTANT, badArg, createFunctionRegistry } from './registry.js';
export { plus } from './math.js';
export { topicMatches } from './context.js';
export { createJqRunner } from './jq-runner.js';
export type { JqRunner } from './jq-runner.js';
export { createRegexCache } from './regex.js';
export type { PcreRegex } from './regex.js';

/** How many clients' `proc_dict_*` state the default services keep (oldest evicted first). */
export const PROC_DICT_MAX_CLIENTS = 10_000;

/** Every built-in function definition, in family order. */
export const builtinFunctions: readonly FunctionDef[] = [
  ...contextFunctions,
  ...mathFunctions,
  ...bitFunctions,
  ...convertFunctions,
  ...predicateFunctions,
  ...stringFunctions,
  ...mapFunctions,
  ...arrayFunctions,
  ...hashFunctions,
  ...compressFunctions,
  ...encodingFunctions,
  ...dateFunctions,
  ...miscFunctions,
  ...jqFunctions,
  ...schemaFunctions,
];

/** A registry of all built-ins (cheap; build one per engine). */
export function createBuiltinRegistry(): FunctionRegistry {
  return createFunctionRegistry(builtinFunctions);
}

/**
 * Default services: wall clock, a fresh node-global kv table, OS environment restricted to
 * `EMQXVAR_`-prefixed names (each name read once, then cached), node name `sluice@127.0.0.1`,
 * the process time zone, per-client `proc_dict` maps (at most PROC_DICT_MAX_CLIENTS clients,
 * least recently used evicted — EMQX loses them when the connection process ends), a jq
 * runner whose worker thread starts when a rule calling jq is created (or on the first `jq()`
 * call), and a cache of the last
 * REGEX_CACHE_MAX regex patterns compiled at run time.
 */
export function createDefaultServices(overrides: Partial<FunctionServices> = {}): FunctionServices {
  const envCache = new Map<string, string | undefined>();
  const getenv = (name: string): string | undefined => {
    if (!name.startsWith('EMQXVAR_')) return undefined;
    if (!envCache.has(name)) envCache.set(name, process.env[name]);
    return envCache.get(name);
  };
  const dicts = new Map<string, Map<string, Value>>();
  const procDict = (clientid: string): Map<string, Value> => {
    let d = dicts.get(clientid);
    if (d) dicts.delete(clientid);
    else d = new Map();
    dicts.set(clientid, d);
    if (dicts.size > PROC_DICT_MAX_CLIENTS) {
      const oldest = dicts.keys().next().value;
      if (oldest !== undefined) dicts.delete(oldest);
    }
    return d;
  };
  let jqRunner: ReturnType<typeof createJqRunner> | undefined;
  const jq = (program: string, input: string, timeoutMs: number, budgeted?: boolean): string[] =>
    (jqRunner ??= createJqRunner()).run(program, input, timeoutMs, budgeted);
  const jqWarm = (): void => (jqRunner ??= createJqRunner()).warm();
  const jqAsync = (program: string, input: string, timeoutMs: number): Promise<string[]> =>
    (jqRunner ??= createJqRunner()).runAsync(program, input, timeoutMs);
  return {
    now: () => Date.now(),
    kvStore: new Map<string, Value>(),
    getenv,
    node: 'sluice@127.0.0.1',
    localOffsetSeconds: (ms) => -new Date(ms).getTimezoneOffset() * 60,
    procDict,
    jq,
    jqWarm,
    jqAsync,
    session: { current: undefined },
    regex: createRegexCache(),
    close: async () => {
      const r = jqRunner;
      jqRunner = undefined;
      await r?.close();
    },
    ...overrides,
  };
}
