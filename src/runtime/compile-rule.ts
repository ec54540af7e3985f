/** SQL text → compiled rule or plan text (parse → plan → closures, once per rule). */
import { parseRule } from '../sql-parser/index.js';
import type { ParseLimits, ParseResult } from '../sql-parser/index.js';
import { compileStatement, planStatement, resolveOptions } from './compile/index.js';
import type { CompileOptions, CompiledRule } from './compile/index.js';
import { SqlError } from './errors.js';
import { explainPlan } from './plan/explain.js';

/**
 * Compile rule SQL into a `CompiledRule` (parse → plan → closures, once).
 * @throws SqlError listing every diagnostic (rendered with carets in `.message`).
 */
export function compileRule(sql: string, options: CompileOptions = {}): CompiledRule {
  const parsed = parseRule(sql, options.limits ?? options.services?.sqlLimits);
  if (parsed.ast === undefined) throw new SqlError(parsed.diagnostics);
  return compileStatement(sql, parsed.ast, options);
}

/** `parseRule` as a promise: a `ParseWorker`'s `parse` (the SQL may be parsed on a worker thread). */
export type ParseSql = (sql: string, limits?: ParseLimits) => Promise<ParseResult>;

/**
 * `compileRule` for callers that can wait (the API): `parse` may lex and parse on a worker
 * thread (`createParseWorker`, parse-worker.ts), so a large rule does not hold the event loop; the
 * plan and the closures are built here, on the caller's thread (≈ 1/10 of the parse time).
 * Same result and same diagnostics as `compileRule`.
 * @throws SqlError as `compileRule`; whatever `parse` rejects with (`sql_parse_worker_failed`).
 */
export async function compileRuleAsync(
  sql: string,
  options: CompileOptions & { readonly parse: ParseSql },
): Promise<CompiledRule> {
  const parsed = await options.parse(sql, options.limits ?? options.services?.sqlLimits);
  if (parsed.ast === undefined) throw new SqlError(parsed.diagnostics);
  // The worker's answer was turned back into an AST (JSON.parse) in the turn that received
  // it; plan and closures get a turn of their own, so I/O waiting meanwhile runs in between
  // and the longest turn is the larger of the two, not their sum.
  await new Promise<void>((resolve) => setImmediate(resolve));
  return compileStatement(sql, parsed.ast, options);
}

/**
 * The plan of a rule as readable text: sources, each item with its output target, conditions,
 * folded constants and specialised calls.
 * @throws SqlError when the SQL does not compile.
 */
export function explainRule(sql: string, options: CompileOptions = {}): string {
  const parsed = parseRule(sql, options.limits ?? options.services?.sqlLimits);
  if (parsed.ast === undefined) throw new SqlError(parsed.diagnostics);
  const result = planStatement(sql, parsed.ast, resolveOptions(options));
  if ('diagnostics' in result) throw new SqlError(result.diagnostics);
  return explainPlan(result.plan);
}
