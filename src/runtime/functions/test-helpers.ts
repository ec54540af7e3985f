/** Shared helpers for the function-family tests (not a test file itself). */
import { expect } from 'vitest';
import type { Value } from '../../core/index.js';
import { BadArg, NOT_CONSTANT, createBuiltinRegistry, createDefaultServices } from './index.js';
import type { CallContext, Clause, FunctionServices, MaybeConstant } from './index.js';

export const registry = createBuiltinRegistry();

export function makeCtx(
  opts: {
    clause?: Clause;
    columns?: Record<string, Value>;
    services?: Partial<FunctionServices>;
  } = {},
): CallContext {
  return {
    clause: opts.clause ?? 'select',
    columns: opts.columns ?? {},
    services: createDefaultServices({ localOffsetSeconds: () => 0, ...opts.services }),
  };
}

function def(name: string) {
  const d = registry.get(name);
  if (!d) throw new Error(`no function ${name}`);
  return d;
}

/** Call a function's plain impl. */
export function call(name: string, args: readonly Value[], ctx: CallContext = makeCtx()): Value {
  return def(name).impl(args, ctx);
}

/**
 * Call through `specialize` with the arguments at `literal` positions treated as literals (all
 * by default), falling back to impl when the function does not specialise.
 */
export function callSpecialized(
  name: string,
  args: readonly Value[],
  literal: readonly number[] = args.map((_, i) => i),
  ctx: CallContext = makeCtx(),
): Value {
  const d = def(name);
  const lits: MaybeConstant[] = args.map((a, i) => (literal.includes(i) ? a : NOT_CONSTANT));
  const fast = d.specialize?.(lits);
  return (fast ?? d.impl)(args, ctx);
}

/** Both paths must agree; returns the value. */
export function both(name: string, args: readonly Value[], ctx: CallContext = makeCtx()): Value {
  const a = call(name, args, ctx);
  const b = callSpecialized(name, args, undefined, ctx);
  expect(b).toEqual(a);
  return a;
}

/** Expect BadArg (optionally with a message fragment) from the plain impl. */
export function badArg(name: string, args: readonly Value[], fragment?: string | RegExp): void {
  let err: unknown;
  try {
    call(name, args);
  } catch (e) {
    err = e;
  }
  expect(err, `${name}(${args.map(String).join(', ')}) should fail`).toBeInstanceOf(BadArg);
  if (fragment !== undefined) expect((err as BadArg).reason).toMatch(fragment);
}
