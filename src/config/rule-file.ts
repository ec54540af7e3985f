/**
 * Rule files: one rule per `*.sql` file, kept in git by data engineers. A small header of
 * `-- key: value` comment lines at the top carries what is not SQL:
 *
 * ```sql
 * -- id: high_temp                    (default: the file name without .sql)
 * -- description: Temperature above 30 °C
 * -- actions: kafka_out, console      (sink names, comma-separated; default: none)
 * -- enabled: true                    (true | false; default: true)
 * SELECT payload.temp AS t, clientid FROM "sensors/#" WHERE payload.temp > 30
 * ```
 *
 * The header ends at the first line that is not a `--` comment (blank lines are allowed).
 * Other comment lines are free text, but a comment of the form `-- word: …` whose word is not
 * one of the keys above is reported (it is almost always a typo such as `-- action:`). Header
 * lines are blanked before the SQL is compiled, so SQL diagnostics keep the file's line numbers.
 */
import path from 'node:path';

import type { ConfigIssue } from './issues.js';
import { caretSnippet } from './issues.js';

/** Where a rule's SQL text sits in its file, to map SQL diagnostics back to file positions. */
export interface SqlOrigin {
  readonly file: string;
  /** Full text of the file (for snippets). */
  readonly fileText: string;
  /** Field path of the rule inside the file ('' for a rule file). */
  readonly path: string;
  /** File line of SQL line 1, minus 1. */
  readonly lineOffset: number;
  /** Added to SQL columns on SQL line 1. */
  readonly firstColumnOffset: number;
  /** Added to SQL columns on later lines (block-scalar indentation). */
  readonly columnOffset: number;
}

export interface RuleEntry {
  readonly id: string;
  readonly sql: string;
  readonly actions: readonly string[];
  readonly enabled: boolean;
  readonly description: string;
  readonly origin: SqlOrigin;
  /** Position of the rule's declaration (for rule-level issues such as an unknown action). */
  readonly at: { readonly line: number; readonly column: number; readonly path: string };
  /** Positions of each action name (rule files: the header line). */
  readonly actionAt?: readonly { readonly line: number; readonly column: number }[];
}

const HEADER_KEYS = ['id', 'description', 'actions', 'enabled'] as const;
const HEADER_LINE = /^--\s*([A-Za-z_][A-Za-z0-9_-]*)\s*:\s?(.*)$/;
export const RULE_ID_PATTERN = '^[A-Za-z0-9_][A-Za-z0-9_.:-]*$';

export function parseRuleFile(
  file: string,
  text: string,
): { entry?: RuleEntry; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const lines = text.split(/\r\n|\r|\n/);
  const header: Record<string, { value: string; line: number; column: number }> = {};
  const sqlLines = [...lines];
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] as string;
    const trimmed = raw.trim();
    if (trimmed === '') continue;
    if (!trimmed.startsWith('--')) break;
    const m = HEADER_LINE.exec(trimmed);
    if (!m) continue;
    const key = m[1] as string;
    const column = raw.indexOf(key) + 1;
    if (!(HEADER_KEYS as readonly string[]).includes(key)) {
      issues.push({
        code: 'rule_header_invalid',
        file,
        line: i + 1,
        column,
        path: key,
        reason: `unknown header key ${JSON.stringify(key)} (known: ${HEADER_KEYS.join(', ')})`,
        snippet: caretSnippet(text, i + 1, column, key.length),
      });
      continue;
    }
    if (header[key]) {
      issues.push({
        code: 'rule_header_invalid',
        file,
        line: i + 1,
        column,
        path: key,
        reason: `header key ${JSON.stringify(key)} given twice`,
        snippet: caretSnippet(text, i + 1, column, key.length),
      });
      continue;
    }
    const value = (m[2] as string).trim();
    header[key] = { value, line: i + 1, column: raw.indexOf(value, column + key.length) + 1 };
    sqlLines[i] = '';
  }

  const id = header['id']?.value ?? path.basename(file).replace(/\.sql$/i, '');
  if (!new RegExp(RULE_ID_PATTERN).test(id)) {
    const h = header['id'];
    issues.push({
      code: 'rule_header_invalid',
      file,
      line: h?.line ?? 0,
      column: h?.column ?? 0,
      path: 'id',
      reason: `rule id ${JSON.stringify(id)} must match /${RULE_ID_PATTERN}/`,
      ...(h ? { snippet: caretSnippet(text, h.line, h.column, id.length) } : {}),
    });
  }
  let enabled = true;
  const en = header['enabled'];
  if (en) {
    if (en.value === 'true') enabled = true;
    else if (en.value === 'false') enabled = false;
    else
      issues.push({
        code: 'rule_header_invalid',
        file,
        line: en.line,
        column: en.column,
        path: 'enabled',
        reason: `must be true or false, got ${JSON.stringify(en.value)}`,
        snippet: caretSnippet(text, en.line, en.column, en.value.length),
      });
  }
  const act = header['actions'];
  const actions: string[] = [];
  const actionAt: { line: number; column: number }[] = [];
  if (act) {
    let from = 0;
    for (const part of act.value.split(',')) {
      const name = part.trim();
      const at = act.value.indexOf(name, from);
      from = at + name.length;
      if (!name) continue;
      actions.push(name);
      actionAt.push({ line: act.line, column: act.column + at });
    }
  }
  if (issues.length) return { issues };
  const idLine = header['id'] ?? { line: 1, column: 1 };
  return {
    issues,
    entry: {
      id,
      sql: sqlLines.join('\n'),
      actions,
      enabled,
      description: header['description']?.value ?? '',
      origin: {
        file,
        fileText: text,
        path: '',
        lineOffset: 0,
        firstColumnOffset: 0,
        columnOffset: 0,
      },
      at: { line: idLine.line, column: idLine.column, path: '' },
      actionAt,
    },
  };
}
