/**
 * Where the rule editor draws its error marks: the SQL text cut into plain and marked runs
 * from the diagnostics' ranges (0-based offsets, end exclusive, as src/sql-parser reports
 * them). The editor renders the runs in a layer under the transparent textarea, so a wavy
 * underline sits exactly under the offending characters. Pure, unit-tested.
 */

export interface MarkRange {
  readonly start: number;
  readonly end: number;
  /** Index of the diagnostic, for its title and test hooks. */
  readonly index: number;
}

export interface Run {
  readonly text: string;
  /** The diagnostic marking this run, if any. */
  readonly mark?: number;
}

/**
 * Cut `text` into runs. Overlapping ranges keep the earlier diagnostic; an empty range (the
 * end of input: "expected FROM, found end of input") marks one character — a space appended
 * after the text when it is at the very end, so the mark can be seen.
 */
export function markRuns(text: string, ranges: readonly MarkRange[]): Run[] {
  const sorted = ranges
    .map((r) => {
      const start = Math.max(0, Math.min(r.start, text.length));
      const end = Math.max(start + 1, Math.min(r.end, text.length + 1));
      return { start, end, index: r.index };
    })
    .sort((a, b) => a.start - b.start || a.index - b.index);
  const src = sorted.some((r) => r.end > text.length) ? text + ' ' : text;
  const runs: Run[] = [];
  let at = 0;
  for (const r of sorted) {
    if (r.start < at) continue; // overlaps an earlier mark
    if (r.start > at) runs.push({ text: src.slice(at, r.start) });
    runs.push({ text: src.slice(r.start, r.end), mark: r.index });
    at = r.end;
  }
  if (at < src.length) runs.push({ text: src.slice(at) });
  return runs;
}

/**
 * The 0-based offset of a 1-based line and column (the API's diagnostics carry line/column
 * only), counting CRLF, CR and LF as one line end; clamped to the text.
 */
export function offsetOf(text: string, line: number, column: number): number {
  let l = 1;
  let i = 0;
  while (l < line && i < text.length) {
    const ch = text[i];
    i++;
    if (ch === '\r' && text[i] === '\n') i++;
    if (ch === '\n' || ch === '\r') l++;
  }
  let end = i;
  while (end < text.length && text[end] !== '\n' && text[end] !== '\r') end++;
  return Math.min(i + Math.max(0, column - 1), end);
}
