/**
 * sql-parser public surface. Nothing outside this module imports chevrotain or sees a CST.
 */
export type * from './ast.js';
export type { Diagnostic } from './diagnostics.js';
export { renderSnippet, formatDiagnostic } from './diagnostics.js';
