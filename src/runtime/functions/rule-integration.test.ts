/**
 * The function library as the rule compiler uses it: clause-dependent context functions,
 * literal arguments rejected at rule creation, bad arguments as per-message failures, and
 * node-global state shared through one services object.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { SqlError, compileRule } from '../index.js';
import { createDefaultServices } from './index.js';

const services = createDefaultServices({ localOffsetSeconds: () => 0 });
afterAll(() => services.close?.());

const columns = {
  clientid: 'c1',
  topic: 'a/b',
  payload: '{"n":5,"s":"x"}',
  flags: { retain: true },
};

describe('functions inside compiled rules', () => {
  it('context functions answer in SELECT but not in WHERE', () => {
    const seen = compileRule(
      'SELECT clientid() AS c, topic(2) AS t FROM "a/#" WHERE is_null(clientid())',
      {
        services,
      },
    );
    expect(seen.evaluate(columns)).toEqual([{ c: 'c1', t: 'b' }]);
    const filtered = compileRule('SELECT 1 AS x FROM "a/#" WHERE clientid() = \'c1\'', {
      services,
    });
    expect(filtered.run(columns).kind).toBe('filtered');
  });

  it('bad literal arguments are rejected when the rule is created', () => {
    for (const sql of [
      `SELECT regex_match(payload.s, '(') AS m FROM "t"`,
      `SELECT split(payload.s, '/', 'sideways') AS m FROM "t"`,
      `SELECT hash('nope', payload.s) AS m FROM "t"`,
      `SELECT sprintf('~q', payload.s) AS m FROM "t"`,
      `SELECT subbits(payload, 1, 8, 'decimal') AS m FROM "t"`,
    ]) {
      let err: unknown;
      try {
        compileRule(sql, { services });
      } catch (e) {
        err = e;
      }
      expect(err, sql).toBeInstanceOf(SqlError);
      expect(
        (err as SqlError).diagnostics.map((d) => d.code),
        sql,
      ).toEqual(['sql_function_bad_literal']);
    }
  });

  it('a bad argument value fails that message with bad_sql_function_argument', () => {
    const rule = compileRule('SELECT abs(payload.n) AS a, lower(payload.missing) AS l FROM "t"', {
      services,
    });
    const outcome = rule.run(columns);
    expect(outcome.kind).toBe('failed');
    if (outcome.kind === 'failed') {
      expect(outcome.code).toBe('bad_sql_function_argument');
      expect(outcome.reason).toMatch(/lower/);
    }
  });

  it('kv_store is shared by rules that share services', () => {
    const put = compileRule(`SELECT kv_store_put('last', payload.n) AS ok FROM "t"`, { services });
    const get = compileRule(`SELECT kv_store_get('last', 0) AS v FROM "t"`, { services });
    expect(get.evaluate(columns)).toEqual([{ v: 0 }]);
    put.evaluate(columns);
    expect(get.evaluate(columns)).toEqual([{ v: 5 }]);
  });

  it('functions compose with operators and paths', () => {
    const rule = compileRule(
      `SELECT upper(payload.s) + str(payload.n / 2) AS a,
              format_date('second', '+01:00', '%H:%M', 0) AS b,
              nth(2, split(topic, '/')) AS c
       FROM "a/#"`,
      { services },
    );
    expect(rule.evaluate(columns)).toEqual([{ a: 'X2.5', b: '01:00', c: 'b' }]);
  });
});
