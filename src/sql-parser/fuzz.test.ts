/**
 * Convention 1 ("never throw on bad input") as a property: arbitrary text and arbitrary soups of
 * rule-SQL fragments either parse or yield well-formed diagnostics whose ranges lie in the text.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SqlParserErrors } from './errors.js';
import { parseRule } from './parse-rule.js';
import { printRule } from './printer.js';
import { stripRanges } from './test-helpers.js';

const FRAGMENTS = [
  'SELECT',
  'FOREACH',
  'FROM',
  'WHERE',
  'DO',
  'INCASE',
  'AS',
  'AND',
  'OR',
  'NOT',
  'IN',
  'CASE',
  'WHEN',
  'THEN',
  'ELSE',
  'END',
  'if',
  'div',
  'mod',
  'true',
  'false',
  'a',
  'b.c',
  'x[1]',
  'y[-1]',
  'z[1..2]',
  '[1..3]',
  '"t/#"',
  "'s'",
  "'it''s'",
  '1',
  '2.5',
  '10e2',
  '0x1F',
  '(',
  ')',
  '[',
  ']',
  ',',
  '.',
  '+',
  '-',
  '*',
  '/',
  '=',
  '!=',
  '<>',
  '<',
  '>',
  '<=',
  '>=',
  '=~',
  '~=',
  '==',
  'f(',
  '--',
  '\n',
  '\r\n',
  ' ',
  '_x',
  ';',
  '&',
  '"',
  "'",
  '$events/x',
  'é',
  '\t',
];

const declared = new Set(Object.keys(SqlParserErrors));

function check(sql: string): void {
  const r = parseRule(sql);
  if (r.ast !== undefined) {
    // Whatever parses must also round-trip.
    const again = parseRule(printRule(r.ast));
    expect(again.ast && stripRanges(again.ast)).toEqual(stripRanges(r.ast));
    return;
  }
  expect(r.diagnostics.length).toBeGreaterThan(0);
  for (const d of r.diagnostics) {
    expect(declared.has(d.code)).toBe(true);
    expect(d.message.length).toBeGreaterThan(0);
    expect(d.message).not.toMatch(/[\r\n]/);
    expect(d.range.start.offset).toBeGreaterThanOrEqual(0);
    expect(d.range.end.offset).toBeLessThanOrEqual(sql.length);
    expect(d.range.start.offset).toBeLessThanOrEqual(d.range.end.offset);
    expect(d.line).toBeGreaterThanOrEqual(1);
    expect(d.column).toBeGreaterThanOrEqual(1);
  }
}

describe('parseRule never throws (CONVENTIONS.md #1)', () => {
  it('on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (s) => check(s)),
      { numRuns: 200 },
    );
  });

  it('on arbitrary full-Unicode strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (s) => check(s)),
      { numRuns: 100 },
    );
  });

  it('on soups of rule-SQL fragments', () => {
    const soup = fc
      .array(fc.constantFrom(...FRAGMENTS), { minLength: 1, maxLength: 14 })
      .map((parts) => parts.join(' '));
    fc.assert(
      fc.property(soup, (s) => check(s)),
      { numRuns: 300 },
    );
  });

  it('on statements with one fragment inserted', () => {
    const base = 'SELECT a, b.c AS d FROM "t/#" WHERE x > 1 AND y IN (1, \'z\')';
    fc.assert(
      fc.property(fc.nat(base.length), fc.constantFrom(...FRAGMENTS), (at, frag) =>
        check(`${base.slice(0, at)} ${frag} ${base.slice(at)}`),
      ),
      { numRuns: 200 },
    );
  });
});
