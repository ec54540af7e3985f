/**
 * Compile loaded rule entries, turning SQL diagnostics into located `ConfigIssue`s: a
 * diagnostic's SQL line/column is mapped to the file through the entry's `SqlOrigin` and
 * rendered with the file's own line and a caret under the offending text.
 */
import type { Diagnostic } from '../sql-parser/index.js';
import type { ConfigIssue } from './issues.js';
import { caretSnippet } from './issues.js';
import type { RuleEntry, SqlOrigin } from './rule-file.js';

/** The engine adapts the compiler to this shape (compile errors as values). */
export type RuleCompiler<R> = (
  sql: string,
  id: string,
) => { ok: true; rule: R } | { ok: false; diagnostics: readonly Diagnostic[] };

export interface CompiledEntry<R> {
  readonly entry: RuleEntry;
  readonly rule: R;
}

export function mapDiagnostic(d: Diagnostic, origin: SqlOrigin): ConfigIssue {
  const line = d.line + origin.lineOffset;
  const column = d.column + (d.line === 1 ? origin.firstColumnOffset : origin.columnOffset);
  const width =
    d.range.end.line === d.range.start.line
      ? Math.max(1, d.range.end.column - d.range.start.column)
      : 1;
  const expected = d.expected && d.expected.length ? ` (expected ${d.expected.join(', ')})` : '';
  return {
    code: d.code,
    file: origin.file,
    line,
    column,
    path: origin.path,
    reason: `${d.message}${expected}`,
    snippet: caretSnippet(origin.fileText, line, column, width),
  };
}

export function compileRules<R>(
  entries: readonly RuleEntry[],
  compile: RuleCompiler<R>,
): { compiled: CompiledEntry<R>[]; failed: RuleEntry[]; issues: ConfigIssue[] } {
  const compiled: CompiledEntry<R>[] = [];
  const failed: RuleEntry[] = [];
  const issues: ConfigIssue[] = [];
  for (const entry of entries) {
    const r = compile(entry.sql, entry.id);
    if (r.ok) compiled.push({ entry, rule: r.rule });
    else {
      failed.push(entry);
      issues.push(
        ...r.diagnostics.map((d) => ({ ...mapDiagnostic(d, entry.origin), rule: entry.id })),
      );
    }
  }
  return { compiled, failed, issues };
}
