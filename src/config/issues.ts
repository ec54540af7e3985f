/**
 * One shape for every configuration problem: where (file, line, column, field path), what
 * (stable code, reason) and, for SQL, a caret snippet. Rendered CI-style by `formatIssue`:
 *
 *     sluice.yaml:12:7: error[config_invalid_field]: sinks.k1.batch.max_bytes: must be >= 1
 */

export interface ConfigIssue {
  readonly code: string;
  readonly file: string;
  /** 1-based; 0 when unknown. */
  readonly line: number;
  /** 1-based; 0 when unknown. */
  readonly column: number;
  /** Dotted field path inside the file (`sinks.k1.type`, `rules[2].sql`); '' for the file. */
  readonly path: string;
  readonly reason: string;
  /** Source line with a caret underline, when the issue points into source text. */
  readonly snippet?: string;
  /** Id of the rule the issue belongs to, when it belongs to one (logged as `rule`). */
  readonly rule?: string;
}

export function formatIssue(issue: ConfigIssue): string {
  const where =
    issue.line > 0 ? `${issue.file}:${issue.line}:${Math.max(issue.column, 1)}` : issue.file;
  const path = issue.path ? `${issue.path}: ` : '';
  const head = `${where}: error[${issue.code}]: ${path}${issue.reason}`;
  return issue.snippet ? `${head}\n${issue.snippet}` : head;
}

/** Render the 1-based `line` of `text` with a caret at `column` (width `width`). */
export function caretSnippet(text: string, line: number, column: number, width = 1): string {
  const lines = text.split(/\r\n|\r|\n/);
  const src = (lines[line - 1] ?? '').replace(/\t/g, ' ');
  const gutter = String(line).length;
  const w = Math.max(1, Math.min(width, Math.max(1, src.length - column + 1)));
  return (
    `${String(line).padStart(gutter + 1)} | ${src}\n` +
    `${' '.repeat(gutter + 1)} | ${' '.repeat(Math.max(column - 1, 0))}${'^'.repeat(w)}`
  );
}
