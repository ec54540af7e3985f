/**
 * sql-parser public surface. Nothing outside this module imports chevrotain or sees a CST.
 *
 * - `parseRule(sql)` → `{ ast }` or `{ diagnostics }` (never throws on bad input);
 * - `printRule(stmt)` → SQL text that parses back to the same AST (modulo ranges);
 * - `createDiagnostic` lets later stages (compiler: unknown function, arity, unknown event)
 *   report problems in the same shape, with a caret snippet.
 */
export type * from './ast.js';
export type { Diagnostic } from './diagnostics.js';
export { renderSnippet, formatDiagnostic, createDiagnostic } from './diagnostics.js';
export {
  parseRule,
  DEFAULT_PARSE_LIMITS,
  type ParseLimits,
  type ParseResult,
} from './parse-rule.js';
export { printRule, printExpr } from './printer.js';
export { RESERVED_WORDS } from './lexer.js';
export { SqlParserErrors, type SqlParserErrorCode } from './errors.js';
