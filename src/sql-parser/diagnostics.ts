/**
 * One diagnostic shape for every rule problem found before a rule runs: lexer, parser and
 * semantic (unknown function, wrong arity, unknown event) errors alike (CONVENTIONS.md #1).
 */
import type { SourceRange } from './ast.js';

export interface Diagnostic {
  /** Stable code, documented in docs/errors.md (e.g. `sql_syntax_error`). */
  readonly code: string;
  /** Human sentence without location, e.g. `expected FROM, found end of input`. */
  readonly message: string;
  readonly line: number;
  readonly column: number;
  readonly range: SourceRange;
  /** What the parser expected at this point, if known (`["FROM", "','"]`). */
  readonly expected?: readonly string[];
  /** The offending source line with a caret underline (see `renderSnippet`). */
  readonly snippet: string;
}

/**
 * Render the source line of `range` with a caret line under it:
 *
 * ```
 *   1 | SELECT a FORM "t/#"
 *     |          ^^^^
 * ```
 */
/** Lines longer than this are shown as a window of SNIPPET_CONTEXT characters around the caret. */
const SNIPPET_MAX = 200;
const SNIPPET_CONTEXT = 60;

export function renderSnippet(sql: string, range: SourceRange): string {
  const lines = sql.split(/\r\n|\r|\n/);
  const lineNo = Math.min(Math.max(range.start.line, 1), Math.max(lines.length, 1));
  let lineText = (lines[lineNo - 1] ?? '').replace(/\t/g, ' ');
  let startCol = Math.max(range.start.column, 1);
  let endCol =
    range.end.line === range.start.line
      ? Math.max(range.end.column, startCol + 1)
      : lineText.length + 1;
  if (lineText.length > SNIPPET_MAX) {
    // A very long line (a generated rule): show a window around the caret, not the whole line.
    const from = Math.max(0, startCol - 1 - SNIPPET_CONTEXT);
    const to = Math.min(lineText.length, startCol - 1 + 2 * SNIPPET_CONTEXT);
    const head = from > 0 ? '…' : '';
    lineText = head + lineText.slice(from, to) + (to < lineText.length ? '…' : '');
    startCol = startCol - from + head.length;
    endCol = Math.min(endCol - from + head.length, lineText.length + 1);
  }
  const width = Math.max(1, Math.min(endCol, lineText.length + 1) - startCol);
  const gutter = String(lineNo).length;
  return (
    `${String(lineNo).padStart(gutter + 1)} | ${lineText}\n` +
    `${' '.repeat(gutter + 1)} | ${' '.repeat(startCol - 1)}${'^'.repeat(width)}`
  );
}

/** `line:column: message` followed by the snippet — what the CLI prints. */
export function formatDiagnostic(d: Diagnostic, source = '<rule>'): string {
  const expected =
    d.expected && d.expected.length > 0 ? ` (expected ${d.expected.join(', ')})` : '';
  return `${source}:${d.line}:${d.column}: error[${d.code}]: ${d.message}${expected}\n${d.snippet}`;
}

/**
 * Build a Diagnostic for `range` of `sql` (the text given to `parseRule`), rendering its snippet.
 * Used by the parser and by later stages (the compiler's unknown function / arity / unknown event
 * diagnostics) so that every rule problem has the same shape.
 */
export function createDiagnostic(
  sql: string,
  code: string,
  message: string,
  range: SourceRange,
  expected?: readonly string[],
): Diagnostic {
  return {
    code,
    message,
    line: range.start.line,
    column: range.start.column,
    range,
    ...(expected !== undefined && expected.length > 0 ? { expected } : {}),
    snippet: renderSnippet(sql, range),
  };
}
