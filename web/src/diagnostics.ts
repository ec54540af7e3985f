/**
 * The rule editor's diagnostics: the in-browser parse (src/sql-parser, bundled: it has no Node
 * dependencies) in the one shape the editor draws, which the API's `diagnostics` (a 400 from
 * save or rule_test) are converted to as well.
 */
import { parseRule } from '../../src/sql-parser/index.js';

/** One problem, from the in-browser parser or from the API (`diagnostics` of a 400). */
export interface EditorDiagnostic {
  readonly code: string;
  readonly message: string;
  readonly line: number;
  readonly column: number;
  readonly endLine: number;
  readonly endColumn: number;
  readonly expected?: readonly string[];
  readonly snippet: string;
  /** `browser` (parsed as you type) or `server` (the API's answer). */
  readonly source: 'browser' | 'server';
}

/** The browser parser's diagnostics for `sql` (syntax and lexer errors; compile errors come from the server). */
export function browserDiagnostics(sql: string): EditorDiagnostic[] {
  const r = parseRule(sql);
  if (!('diagnostics' in r) || !r.diagnostics) return [];
  return r.diagnostics.map((d) => ({
    code: d.code,
    message: d.message,
    line: d.range.start.line,
    column: d.range.start.column,
    endLine: d.range.end.line,
    endColumn: d.range.end.column,
    ...(d.expected ? { expected: d.expected } : {}),
    snippet: d.snippet,
    source: 'browser' as const,
  }));
}
