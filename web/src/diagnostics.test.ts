import { describe, expect, it } from 'vitest';

import { parseRule } from '../../src/sql-parser/index.js';
import { browserDiagnostics } from './diagnostics.js';
import { markRuns, offsetOf } from './marks.js';

describe('browserDiagnostics (the parser bundled into the dashboard)', () => {
  it('is empty for valid SQL', () => {
    expect(browserDiagnostics('SELECT payload.t AS t FROM "s/#" WHERE t > 1')).toEqual([]);
  });

  it('reports the parser’s diagnostic at its line and column, and the marks land on it', () => {
    const sql = 'SELECT payload.temp AS t,\n  clientid\nFORM "sensors/#"';
    const [d, ...rest] = browserDiagnostics(sql);
    expect(rest).toEqual([]);
    const parsed = parseRule(sql);
    const want = 'diagnostics' in parsed ? parsed.diagnostics?.[0] : undefined;
    expect(d).toMatchObject({
      code: 'sql_syntax_error',
      line: 3,
      column: 6,
      message: want?.message,
      snippet: want?.snippet,
      source: 'browser',
    });
    const runs = markRuns(sql, [
      {
        start: offsetOf(sql, d!.line, d!.column),
        end: offsetOf(sql, d!.endLine, d!.endColumn),
        index: 0,
      },
    ]);
    expect(runs.find((r) => r.mark === 0)?.text).toBe('"sensors/#"');
  });
});
