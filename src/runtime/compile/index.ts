/**
 * The rule compiler: SQL text or AST → plan → closures, once per rule (CONVENTIONS.md #3).
 */
import type { Diagnostic, ParseLimits, Statement } from '../../sql-parser/index.js';
import { createBuiltinRegistry, createDefaultServices } from '../functions/index.js';
import type { FunctionRegistry, FunctionServices } from '../functions/index.js';
import { SqlError } from '../errors.js';
import { buildPlan } from '../plan/build.js';
import type { RulePlan } from '../plan/types.js';
import { createCompiledRule } from './rule.js';
import type { CompiledRule } from './rule.js';

export type { CompiledRule } from './rule.js';

const JQ_CALL = /\bjq\s*\(/;

export interface CompileOptions {
  /** Function library; defaults to every built-in. */
  readonly functions?: FunctionRegistry;
  /**
   * Clock, kv store, environment and node name for functions. Defaults to real ones, created per
   * compiled rule — pass one shared object so `kv_store_*` is node-global across rules.
   */
  readonly services?: Partial<FunctionServices>;
  /** SQL size limits (default: `services.sqlLimits`, else the parser's defaults). */
  readonly limits?: ParseLimits;
}

export interface ResolvedOptions {
  readonly functions: FunctionRegistry;
  readonly services: FunctionServices;
  /** The caller passed its own complete services (an engine's, shared across rules). */
  readonly shared?: boolean;
}

export function resolveOptions(options: CompileOptions = {}): ResolvedOptions {
  const s = options.services;
  const complete =
    s !== undefined &&
    typeof s.now === 'function' &&
    s.kvStore !== undefined &&
    typeof s.getenv === 'function' &&
    typeof s.node === 'string';
  return {
    functions: options.functions ?? createBuiltinRegistry(),
    services: complete ? (s as FunctionServices) : createDefaultServices(s ?? {}),
    shared: complete,
  };
}

/** Plan an already-parsed statement; diagnostics for semantic errors. */
export function planStatement(
  sql: string,
  statement: Statement,
  options: CompileOptions = {},
): { plan: RulePlan } | { diagnostics: Diagnostic[] } {
  return buildPlan(sql, statement, resolveOptions(options));
}

/** Compile an already-parsed statement; throws `SqlError` on semantic diagnostics. */
export function compileStatement(
  sql: string,
  statement: Statement,
  options: CompileOptions = {},
): CompiledRule {
  const resolved = resolveOptions(options);
  const result = buildPlan(sql, statement, resolved);
  if ('diagnostics' in result) throw new SqlError(result.diagnostics);
  // Start the engine's jq worker at rule creation so the first message does not wait for its
  // WebAssembly to load (jq-runner.ts). A `jq(` inside a string only starts it early.
  if (resolved.shared && JQ_CALL.test(sql)) resolved.services.jqWarm?.();
  return createCompiledRule(result.plan, resolved.services);
}
