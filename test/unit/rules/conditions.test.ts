/** Whole-rule tables for condition forms in WHERE, INCASE and CASE-WHEN (spec rule-sql §4.3). */
import { describe } from 'vitest';
import { msg, runCases } from './table.js';

const ctx = msg({ a: 1, b: 2, flag: true, s: 'x' });
const OUT = [{ clientid: 'c1' }];
const where = (cond: string) => `SELECT clientid FROM "t/#" WHERE ${cond}`;

describe('§4.3 condition forms', () => {
  runCases([
    {
      spec: '§4.3',
      name: 'AND / OR',
      sql: where('payload.a = 1 AND (payload.b = 3 OR qos = 1)'),
      context: ctx,
      expected: OUT,
    },
    {
      spec: '§4.3',
      name: 'AND short-circuits (right side never evaluated)',
      sql: where('payload.a = 2 AND payload.s > 1'),
      context: ctx,
      expected: [],
    },
    {
      spec: '§4.3',
      name: 'OR short-circuits',
      sql: where('payload.a = 1 OR payload.s > 1'),
      context: ctx,
      expected: OUT,
    },
    {
      spec: '§4.3',
      name: 'the constants true/false',
      sql: where('true'),
      context: ctx,
      expected: OUT,
    },
    {
      spec: '§4.3',
      name: 'a function returning a boolean',
      sql: where('is_str(payload.s)'),
      context: ctx,
      expected: OUT,
    },
    {
      spec: '§4.3',
      name: 'a function returning a non-boolean is an error',
      sql: where('abs(payload.a)'),
      context: ctx,
      expected: { error: 'match_conditions_error' },
    },
    {
      spec: '§4.3',
      name: 'a bare column as a condition is an error',
      sql: where('payload.flag'),
      context: ctx,
      expected: { error: 'match_conditions_error' },
    },
    {
      spec: '§4.3',
      name: 'arithmetic as a condition is an error',
      sql: where('payload.a + 1'),
      context: ctx,
      expected: { error: 'match_conditions_error' },
    },
    {
      spec: '§4.3',
      name: 'NOT negates a boolean',
      sql: where('NOT payload.a = 2'),
      context: ctx,
      expected: OUT,
    },
    {
      spec: '§4.3',
      name: 'NOT of a boolean column',
      sql: where('NOT payload.flag'),
      context: ctx,
      expected: [],
    },
    {
      spec: '§4.3',
      name: 'NOT of a non-boolean is false',
      sql: where('NOT payload.s'),
      context: ctx,
      expected: [],
    },
    {
      spec: '§4.3',
      name: 'NOT (a AND b) is boolean logic',
      sql: where('NOT (payload.a = 1 AND payload.b = 3)'),
      context: ctx,
      expected: OUT,
    },
    {
      spec: '§4.3',
      name: 'NOT (a OR b) is boolean logic',
      sql: where('NOT (payload.a = 5 OR payload.b = 5)'),
      context: ctx,
      expected: OUT,
    },
    {
      spec: '§4.3',
      name: 'NOT x IN (…) is boolean logic',
      sql: where('NOT payload.a IN (2, 3)'),
      context: ctx,
      expected: OUT,
    },
    {
      spec: '§4.3',
      name: 'x NOT IN (…) is boolean logic',
      sql: where('payload.a NOT IN (1, 3)'),
      context: ctx,
      expected: [],
    },
    {
      spec: '§4.3',
      name: 'WHEN accepts full conditions',
      sql: "SELECT CASE WHEN payload.a = 1 AND NOT payload.b IN (1) THEN 'y' ELSE 'n' END AS v FROM \"t/#\"",
      context: ctx,
      expected: [{ v: 'y' }],
    },
    {
      spec: '§4.3',
      name: 'a bare column in WHEN is an error',
      sql: 'SELECT CASE WHEN payload.flag THEN \'y\' END AS v FROM "t/#"',
      context: ctx,
      expected: { error: 'select_and_transform_error' },
    },
  ]);
});
