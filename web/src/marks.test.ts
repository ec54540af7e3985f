import { describe, expect, it } from 'vitest';

import { markRuns, offsetOf } from './marks.js';

describe('markRuns (the error marks under the SQL editor)', () => {
  const sql = 'SELECT a\nFORM "t/#"';

  it('cuts the text into plain and marked runs that add up to the text', () => {
    const runs = markRuns(sql, [{ start: 14, end: 19, index: 0 }]);
    expect(runs).toEqual([{ text: 'SELECT a\nFORM ' }, { text: '"t/#"', mark: 0 }]);
    expect(runs.map((r) => r.text).join('')).toBe(sql);
  });

  it('marks one visible character (an added space) for an empty range at the end of input', () => {
    const runs = markRuns('SELECT a', [{ start: 8, end: 8, index: 0 }]);
    expect(runs).toEqual([{ text: 'SELECT a' }, { text: ' ', mark: 0 }]);
  });

  it('keeps the earlier diagnostic where ranges overlap, and orders by position', () => {
    const runs = markRuns('abcdefgh', [
      { start: 5, end: 7, index: 1 },
      { start: 1, end: 3, index: 0 },
      { start: 2, end: 6, index: 2 },
    ]);
    expect(runs).toEqual([
      { text: 'a' },
      { text: 'bc', mark: 0 },
      { text: 'de' },
      { text: 'fg', mark: 1 },
      { text: 'h' },
    ]);
  });
});

describe('offsetOf (line/column → offset)', () => {
  it('counts LF, CRLF and CR as one line end and clamps the column to the line', () => {
    expect(offsetOf('ab\ncd', 2, 2)).toBe(4);
    expect(offsetOf('ab\r\ncd', 2, 1)).toBe(4);
    expect(offsetOf('ab\rcd', 2, 2)).toBe(4);
    expect(offsetOf('ab\ncd', 1, 99)).toBe(2);
    expect(offsetOf('ab', 5, 1)).toBe(2);
  });
});
