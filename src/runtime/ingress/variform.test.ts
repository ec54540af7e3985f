import { describe, expect, it } from 'vitest';

import { compileRule } from '../compile-rule.js';
import { createDefaultServices } from '../functions/index.js';
import { variformToSql } from './variform.js';

const services = createDefaultServices();
function evalVariform(expr: string, ctx: Record<string, unknown>): unknown {
  const r = variformToSql(expr);
  if ('error' in r) throw new Error(r.error.reason);
  const rule = compileRule(`SELECT ${r.sql} AS v FROM "#"`, { services });
  return rule.evaluate(ctx as never)[0]?.['v'];
}

describe('variform subset', () => {
  const ctx = {
    clientid: 'dev-1',
    topic: 't/a',
    payload: { a: { b: 5 }, from: 'x' },
    user_property: { k: 'v' },
  };
  it.each([
    ["concat([topic, '/', payload.a.b])", 't/a/5'],
    ['upper(clientid)', 'DEV-1'],
    ["'single'", 'single'],
    ['"double"', 'double'],
    ['42', 42],
    ['-1.5', -1.5],
    ['true', true],
    ['user_property.k', 'v'],
    // a path segment that is a SQL keyword still reads the field
    ['payload.from', 'x'],
    ["concat([substr(clientid, 0, 3), 'x'])", 'devx'],
    ["coalesce(payload.missing, 'dflt')", 'dflt'],
  ])('%s → %j', (expr, want) => {
    expect(evalVariform(expr, ctx)).toEqual(want);
  });

  it.each([
    ['', 0, 'expression expected'],
    ['concat(', 7, 'expression expected'],
    ['concat(1', 8, 'missing )'],
    ['[1, 2', 5, 'missing ]'],
    ["'open", 0, 'unterminated string'],
    ['a + b', 2, 'unexpected "+"'],
    ['payload.', 8, 'a path segment is expected'],
    ['f(a b)', 4, 'expected "," or ")"'],
  ])('rejects %j at offset %i', (expr, offset, reason) => {
    const r = variformToSql(expr);
    expect('error' in r && r.error).toMatchObject({ offset });
    expect('error' in r && r.error.reason).toContain(reason);
  });

  it('a string literal with a quote of the other kind stays one literal', () => {
    expect(evalVariform(`"it's"`, {})).toBe("it's");
    expect(evalVariform(`"'a'"`, {})).toBe("'a'");
  });

  it('an unknown function is caught when the SQL compiles', () => {
    const r = variformToSql('no_such_fn(1)');
    expect('sql' in r).toBe(true);
    expect(() =>
      compileRule(`SELECT ${(r as { sql: string }).sql} AS v FROM "#"`, { services }),
    ).toThrow(/sql_function_not_supported/);
  });
});
