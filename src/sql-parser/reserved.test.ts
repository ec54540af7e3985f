/**
 * §1: keywords (and the reserved IF/ELSIF) in any casing are never names; every other generated
 * identifier is. Checked as a bare column, an alias (with and without AS) and a key after `.`.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RESERVED_WORDS } from './lexer.js';
import { parseRule } from './parse-rule.js';

/** A reserved word with each letter's case chosen at random. */
const reservedAnyCase = fc
  .tuple(fc.constantFrom(...RESERVED_WORDS), fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }))
  .map(([w, flips]) =>
    [...w].map((c, i) => (flips[i % flips.length] ? c.toLowerCase() : c)).join(''),
  );

/** §1 identifiers: a letter, then letters, digits, `_ $ @ ~`. */
const identifier = fc
  .stringMatching(/^[A-Za-z][A-Za-z0-9_$@~]{0,10}$/)
  .filter(
    (s) =>
      !RESERVED_WORDS.includes(s.toUpperCase()) && !['div', 'mod', 'true', 'false'].includes(s),
  );

const positions: [string, (w: string) => string][] = [
  ['bare column', (w) => `SELECT ${w} FROM t`],
  ['column in WHERE', (w) => `SELECT a FROM t WHERE ${w} = 1`],
  ['alias with AS', (w) => `SELECT a AS ${w} FROM t`],
  ['alias without AS', (w) => `SELECT a ${w}, b FROM t`],
  ['key after a dot', (w) => `SELECT a.${w} FROM t`],
  ['nested alias key', (w) => `SELECT a AS b.${w} FROM t`],
];

describe('reserved words (§1)', () => {
  it('RESERVED_WORDS is the keyword list of §1 plus IF/ELSIF', () => {
    expect([...RESERVED_WORDS].sort()).toEqual(
      'SELECT FROM WHERE AS AND OR NOT IN CASE WHEN THEN ELSE END FOREACH DO INCASE IF ELSIF'
        .split(' ')
        .sort(),
    );
  });

  it.each(positions)('a reserved word in any casing is rejected as %s', (_name, sql) => {
    fc.assert(
      fc.property(reservedAnyCase, (w) => {
        const r = parseRule(sql(w));
        expect(r.ast).toBeUndefined();
      }),
      { numRuns: 150 },
    );
  });

  it.each(positions)('any other identifier is accepted as %s', (_name, sql) => {
    fc.assert(
      fc.property(identifier, (w) => {
        const r = parseRule(sql(w));
        expect(r.diagnostics).toBeUndefined();
      }),
      { numRuns: 150 },
    );
  });

  it('a reserved word is accepted when double-quoted', () => {
    fc.assert(
      fc.property(reservedAnyCase, (w) => {
        expect(parseRule(`SELECT "${w}" AS "${w}" FROM t`).ast).toBeDefined();
      }),
      { numRuns: 50 },
    );
  });

  it('reserved alias/name diagnostics use sql_reserved_word', () => {
    for (const w of RESERVED_WORDS) {
      expect(parseRule(`SELECT a AS ${w.toLowerCase()} FROM t`).diagnostics?.[0]?.code).toBe(
        'sql_reserved_word',
      );
    }
    expect(parseRule('SELECT If FROM t').diagnostics?.[0]?.code).toBe('sql_reserved_word');
    expect(parseRule('SELECT a FROM t WHERE ElsIf').diagnostics?.[0]?.code).toBe(
      'sql_reserved_word',
    );
  });
});
