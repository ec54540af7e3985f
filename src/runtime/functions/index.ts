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

/** Every built-in function definition, in family order. */
export const builtinFunctions: readonly FunctionDef[] = [
  ...contextFunctions,
  ...mathFunctions,
  ...convertFunctions,
  ...predicateFunctions,
  ...stringFunctions,
  ...mapFunctions,
  ...arrayFunctions,
  ...encodingFunctions,
];

/** A registry of all built-ins (cheap; build one per engine). */
export function createBuiltinRegistry(): FunctionRegistry {
  return createFunctionRegistry(builtinFunctions);
}

/**
 * Default services: wall clock, a fresh node-global kv table, OS environment restricted to
 * `EMQXVAR_`-prefixed names (each name read once, then cached), node name `sluice@127.0.0.1`.
 */
export function createDefaultServices(overrides: Partial<FunctionServices> = {}): FunctionServices {
  const envCache = new Map<string, string | undefined>();
  const getenv = (name: string): string | undefined => {
    if (!name.startsWith('EMQXVAR_')) return undefined;
    if (!envCache.has(name)) envCache.set(name, process.env[name]);
    return envCache.get(name);
  };
  return {
    now: () => Date.now(),
    kvStore: new Map<string, Value>(),
    getenv,
    node: 'sluice@127.0.0.1',
    ...overrides,
  };
}
