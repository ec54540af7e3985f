/** The ten subtleties of spec rule-sql §11, one table row (or more) each. */
import { describe } from 'vitest';
import { EFloat } from '../../../src/index.js';
import { msg, runCases } from './table.js';

describe('§11 subtleties', () => {
  runCases([
    {
      spec: '§11.1',
      name: '"x" is an identifier, \'x\' a string',
      sql: "SELECT \"clientid\" AS a, 'clientid' AS b FROM 't/#'",
      context: msg({}),
      expected: [{ a: 'c1', b: 'clientid' }],
    },
    {
      spec: '§11.2',
      name: '1-based indexes; [0]/out of range undefined; [0] prepends, [-0] appends as targets; substr is 0-based',
      sql: 'SELECT payload.l[1] AS a, payload.l[0] AS b, payload.l[3] AS c, [2] AS t, 1 AS t[0], 3 AS t[-0], substr(\'abc\', 1) AS s FROM "t/#"',
      context: msg({ l: ['x', 'y'] }),
      expected: [{ a: 'x', b: undefined, c: undefined, t: [1, 2, 3], s: 'bc' }],
    },
    {
      spec: '§11.3',
      name: 'later items and WHERE see earlier aliases; aliases shadow columns',
      sql: "SELECT 'z' AS clientid, clientid + '!' AS c FROM \"t/#\" WHERE c = 'z!'",
      context: msg({}),
      expected: [{ clientid: 'z', c: 'z!' }],
    },
    {
      spec: '§11.4',
      name: 'undefined vs JSON null',
      sql: 'SELECT is_null(payload.v) AS a, is_null(payload.w) AS b, payload.w = nope AS c, payload.w != 1 AS d, payload.w AS e FROM "t/#"',
      context: msg({ v: null }),
      expected: [{ a: false, b: true, c: true, d: false, e: undefined }],
    },
    {
      spec: '§11.5',
      name: '+ concatenates, / is float, div/mod on ints, float text ≤10 decimals',
      sql: "SELECT '1' + 1 AS a, x + 'a' AS b, 6 / 3 AS c, -7 div 2 AS d, -7 mod 3 AS e, '' + 1 / 3 AS f FROM \"t/#\"",
      context: msg({}),
      expected: [{ a: '11', b: 'undefineda', c: new EFloat(2), d: -3, e: -1, f: '0.3333333333' }],
    },
    {
      spec: '§11.6',
      name: 'coercion only number vs string and boolean vs string; IN and simple CASE exact',
      sql: "SELECT '2' > 1 AS a, true = 'true' AS b, CASE 1 WHEN 1.0 THEN 'co' ELSE 'exact' END AS c FROM \"t/#\" WHERE NOT 1 IN ('1', 1.0)",
      context: msg({}),
      expected: [{ a: true, b: true, c: 'exact' }],
    },
    {
      spec: '§11.7',
      name: 'payload decoded lazily, only through paths; strings decode on the fly; SELECT payload stays raw',
      sql: 'SELECT payload, j.k AS k FROM "t/#"',
      context: msg('{oops', { j: '{"k":1}' }),
      expected: [{ payload: Buffer.from('{oops'), k: 1 }],
    },
    {
      spec: '§11.8',
      name: 'paths keep their shape; nested AS merges maps, replaces strings; payload merge',
      sql: 'SELECT payload.a.b, 1 AS o.x, 2 AS o.y, clientid AS s, 3 AS s.z FROM "t/#"',
      context: msg({ a: { b: 5 } }),
      expected: [{ payload: { a: { b: 5 } }, o: { x: 1, y: 2 }, s: { z: 3 } }],
    },
    {
      spec: '§11.8',
      name: 'selected payload then payload.x merges into the decoded payload',
      sql: 'SELECT payload, 1 AS payload.x FROM "t/#"',
      context: msg({ k: 'v' }),
      expected: [{ payload: { k: 'v', x: 1 } }],
    },
    {
      spec: '§11.9',
      name: 'FOREACH: last item is the collection, item when unaliased, INCASE per element, DO shapes',
      sql: 'FOREACH payload.a, payload.l DO item AS v INCASE item > 1 FROM "t/#"',
      context: msg({ a: 1, l: [1, 2, 3] }),
      expected: [{ v: 2 }, { v: 3 }],
    },
    {
      spec: '§11.10',
      name: 'lower-case booleans; keywords case-insensitive; div lower-case',
      sql: 'select true AS t, TRUE AS u, 7 div 2 AS d from "t/#" where qos = 1',
      context: msg({}),
      expected: [{ t: true, u: undefined, d: 3 }],
    },
  ]);
});
