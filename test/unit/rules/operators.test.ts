/** Whole-rule tables for arithmetic and comparison operators (spec rule-sql §6). */
import { describe } from 'vitest';
import { EFloat } from '../../../src/index.js';
import { msg, runCases } from './table.js';

const ctx = msg({ i: 7, f: 0.1, s: 'x', n: '10', t: true, z: null, l: [1, 2], m: { a: 1 } });
const sel = (expr: string) => `SELECT ${expr} AS v FROM "t/#"`;

describe('§6.2 arithmetic', () => {
  runCases([
    {
      spec: '§6.2',
      name: 'int + int is an int',
      sql: sel('1 + 2'),
      context: ctx,
      expected: [{ v: 3 }],
    },
    {
      spec: '§6.2',
      name: 'int + float is a float',
      sql: sel('payload.i + 0.5'),
      context: ctx,
      expected: [{ v: 7.5 }],
    },
    {
      spec: '§6.2',
      name: 'an integral float sum stays a float',
      sql: sel('0.5 + 0.5'),
      context: ctx,
      expected: [{ v: new EFloat(1) }],
    },
    {
      spec: '§6.2',
      name: 'string + float concatenates with compact float text',
      sql: sel("'x' + payload.f"),
      context: ctx,
      expected: [{ v: 'x0.1' }],
    },
    {
      spec: '§6.2',
      name: "'1' + 1 concatenates (no numeric coercion)",
      sql: sel("'1' + 1"),
      context: ctx,
      expected: [{ v: '11' }],
    },
    {
      spec: '§6.2',
      name: 'undefined + string is "undefined…"',
      sql: sel("nope + 'a'"),
      context: ctx,
      expected: [{ v: 'undefineda' }],
    },
    {
      spec: '§6.2',
      name: 'booleans and maps convert to text',
      sql: sel("'b' + payload.t + payload.m"),
      context: ctx,
      expected: [{ v: 'btrue{"a":1}' }],
    },
    {
      spec: '§6.2',
      name: 'float to text keeps one decimal',
      sql: sel("'v' + 2.0"),
      context: ctx,
      expected: [{ v: 'v2.0' }],
    },
    {
      spec: '§6.2',
      name: 'undefined + number is an error',
      sql: sel('nope + 1'),
      context: ctx,
      expected: { error: 'select_and_transform_error' },
    },
    {
      spec: '§6.2',
      name: '- and * need numbers',
      sql: sel('payload.s * 2'),
      context: ctx,
      expected: { error: 'select_and_transform_error' },
    },
    {
      spec: '§6.2',
      name: '/ is always a float',
      sql: 'SELECT 6 / 3 AS a, 7 / 2 AS b FROM "t/#"',
      context: ctx,
      expected: [{ a: new EFloat(2), b: 3.5 }],
    },
    {
      spec: '§6.2',
      name: 'division by zero is an error',
      sql: sel('payload.i / 0'),
      context: ctx,
      expected: { error: 'select_and_transform_error' },
    },
    {
      spec: '§6.2',
      name: 'div truncates toward zero',
      sql: 'SELECT -7 div 2 AS a, 7 div 2 AS b FROM "t/#"',
      context: ctx,
      expected: [{ a: -3, b: 3 }],
    },
    {
      spec: '§6.2',
      name: 'mod has the sign of the dividend',
      sql: 'SELECT -7 mod 3 AS a, 7 mod -2 AS b FROM "t/#"',
      context: ctx,
      expected: [{ a: -1, b: 1 }],
    },
    {
      spec: '§6.2',
      name: 'div needs integers',
      sql: sel('payload.f div 2'),
      context: ctx,
      expected: { error: 'select_and_transform_error' },
    },
    {
      spec: '§6.2',
      name: 'unary minus and plus',
      sql: 'SELECT -payload.i AS a, +payload.i AS b, -(1.5) AS c FROM "t/#"',
      context: ctx,
      expected: [{ a: -7, b: 7, c: -1.5 }],
    },
    {
      spec: '§6.2',
      name: 'unary plus is the identity on any value',
      sql: sel('+payload.s'),
      context: ctx,
      expected: [{ v: 'x' }],
    },
    {
      spec: '§6.2',
      name: 'unary minus on a string is an error',
      sql: sel('-payload.s'),
      context: ctx,
      expected: { error: 'select_and_transform_error' },
    },
    {
      spec: '§6.2',
      name: 'integer arithmetic beyond 2^53 is exact',
      sql: sel('9007199254740993 + 1'),
      context: ctx,
      expected: [{ v: 9007199254740994n }],
    },
    {
      spec: '§6.1',
      name: 'precedence: * before +, unary minus binds tightest',
      sql: sel('1 + 2 * 3 - -1'),
      context: ctx,
      expected: [{ v: 8 }],
    },
  ]);
});

describe('§6.3 comparison', () => {
  runCases([
    {
      spec: '§6.3.1',
      name: 'undefined = undefined is true',
      sql: 'SELECT a = b AS eq, a <= b AS le, a != b AS ne, a < b AS lt FROM "t/#"',
      context: ctx,
      expected: [{ eq: true, le: true, ne: false, lt: false }],
    },
    {
      spec: '§6.3.2',
      name: 'one side undefined: false for every operator',
      sql: 'SELECT a = 1 AS eq, a != 1 AS ne, a <> 1 AS ne2, a < 1 AS lt, a >= 1 AS ge FROM "t/#"',
      context: ctx,
      expected: [{ eq: false, ne: false, ne2: false, lt: false, ge: false }],
    },
    {
      spec: '§6.3.3',
      name: 'number vs numeric string parses the string',
      sql: "SELECT '10' > 9 AS a, '1.5' = 1.5 AS b, payload.n = 10 AS c FROM \"t/#\"",
      context: ctx,
      expected: [{ a: true, b: true, c: true }],
    },
    {
      spec: '§6.3.3',
      name: 'number vs non-numeric string is an error',
      sql: 'SELECT \'x\' > 9 AS v FROM "t/#"',
      context: ctx,
      expected: { error: 'select_and_transform_error' },
    },
    {
      spec: '§6.3.4',
      name: 'boolean vs string compares as text',
      sql: "SELECT true = 'true' AS a, payload.t = 'true' AS b, payload.z = 'null' AS c FROM \"t/#\"",
      context: ctx,
      expected: [{ a: true, b: true, c: true }],
    },
    {
      spec: '§6.3.5',
      name: '= is numeric-aware',
      sql: 'SELECT 1 = 1.0 AS a, 2 > 1.5 AS b FROM "t/#"',
      context: ctx,
      expected: [{ a: true, b: true }],
    },
    {
      spec: '§6.3.5',
      name: 'strings compare byte-wise',
      sql: "SELECT 'abc' < 'abd' AS a, 'B' < 'a' AS b, 'é' > 'z' AS c FROM \"t/#\"",
      context: ctx,
      expected: [{ a: true, b: true, c: true }],
    },
    {
      spec: '§6.3.5',
      name: 'lists and maps compare structurally',
      sql: 'SELECT payload.l = [1, 2] AS a, payload.m = payload.m AS b FROM "t/#"',
      context: ctx,
      expected: [{ a: true, b: true }],
    },
    {
      spec: '§6.3',
      name: '=~ matches a topic against a filter',
      sql: "SELECT topic =~ 't/#' AS a, topic =~ 't/+/x' AS b, nope =~ '#' AS c FROM \"t/#\"",
      context: ctx,
      expected: [{ a: true, b: false, c: false }],
    },
    {
      spec: '§6.3',
      name: 'IN is exact membership',
      sql: 'SELECT clientid FROM "t/#" WHERE payload.i IN (1, \'7\', 7.0)',
      context: ctx,
      expected: [],
    },
    {
      spec: '§6.3',
      name: 'IN finds an exact member',
      sql: 'SELECT clientid FROM "t/#" WHERE payload.i IN (1, 7)',
      context: ctx,
      expected: [{ clientid: 'c1' }],
    },
    {
      spec: '§6.3',
      name: 'comparisons in SELECT yield booleans even when a side is missing',
      sql: 'SELECT a < b AS c, a < 1 AS d FROM "t/#"',
      context: ctx,
      expected: [{ c: false, d: false }],
    },
  ]);
});
