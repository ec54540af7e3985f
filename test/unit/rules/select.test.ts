/** Whole-rule tables for statement forms, names/paths/aliases, SELECT evaluation and payload (spec rule-sql §1–§5). */
import { describe } from 'vitest';
import { EFloat } from '../../../src/index.js';
import { msg, runCases } from './table.js';

const P = { a: 1, s: 'x', l: [10, 20, 30], m: { 'x-y': 2, '1': 'one', '1.5': 'f' }, n: null };

describe('§1 lexical structure, as seen at run time', () => {
  runCases([
    {
      spec: '§1',
      name: 'double quotes are an identifier',
      sql: 'SELECT "topic" FROM "t/#"',
      context: msg(P),
      expected: [{ topic: 't/1' }],
    },
    {
      spec: '§1',
      name: 'single quotes are a string',
      sql: 'SELECT \'topic\' AS v FROM "t/#"',
      context: msg(P),
      expected: [{ v: 'topic' }],
    },
    {
      spec: '§1',
      name: 'no escapes in strings',
      sql: 'SELECT \'\\n\' AS v FROM "t/#"',
      context: msg(P),
      expected: [{ v: '\\n' }],
    },
    {
      spec: '§1',
      name: 'lower-case booleans only; TRUE is a variable',
      sql: 'SELECT true AS a, false AS b, TRUE AS c FROM "t/#"',
      context: msg(P),
      expected: [{ a: true, b: false, c: undefined }],
    },
    {
      spec: '§1',
      name: 'null is an ordinary identifier',
      sql: 'SELECT null AS v FROM "t/#"',
      context: msg(P),
      expected: [{ v: undefined }],
    },
    {
      spec: '§1',
      name: '0x1F is 0 with implicit alias x1F',
      sql: 'SELECT 0x1F FROM "t/#"',
      context: msg(P),
      expected: [{ x1F: 0 }],
    },
    {
      spec: '§1',
      name: 'identifiers are case-sensitive',
      sql: 'SELECT ClientId AS a, clientid AS b FROM "t/#"',
      context: msg(P),
      expected: [{ a: undefined, b: 'c1' }],
    },
    {
      spec: '§1',
      name: 'float literal with integral value is a float',
      sql: 'SELECT 2.0 AS f, 1.5e3 AS g FROM "t/#"',
      context: msg(P),
      expected: [{ f: new EFloat(2), g: new EFloat(1500) }],
    },
    {
      spec: '§1',
      name: 'integers beyond 2^53 stay exact',
      sql: 'SELECT 9007199254740993 AS big FROM "t/#"',
      context: msg(P),
      expected: [{ big: 9007199254740993n }],
    },
  ]);
});

describe('§1 lexical oddities that reach the runtime', () => {
  runCases([
    {
      spec: '§1',
      name: '1e5 is 1 with the implicit alias e5',
      sql: 'SELECT 1e5 FROM "t/#"',
      context: msg({}),
      expected: [{ e5: 1 }],
    },
    {
      spec: '§1',
      name: 'a -- comment followed by a newline is ignored',
      sql: 'SELECT clientid -- the client\nFROM "t/#"',
      context: msg({}),
      expected: [{ clientid: 'c1' }],
    },
  ]);
});

describe('§2 statement forms', () => {
  runCases([
    {
      spec: '§2',
      name: '* copies every column',
      sql: 'SELECT * FROM "t/#"',
      context: { topic: 't/1', qos: 0 },
      expected: [{ topic: 't/1', qos: 0 }],
    },
    {
      spec: '§2',
      name: '* position matters: later items overwrite',
      sql: 'SELECT *, 2 AS qos FROM "t/#"',
      context: { topic: 't/1', qos: 0 },
      expected: [{ topic: 't/1', qos: 2 }],
    },
    {
      spec: '§2',
      name: '* after an alias overwrites it with the column',
      sql: 'SELECT 2 AS qos, * FROM "t/#"',
      context: { topic: 't/1', qos: 0 },
      expected: [{ qos: 0, topic: 't/1' }],
    },
    {
      spec: '§2',
      name: 'implicit alias without AS',
      sql: 'SELECT clientid c FROM "t/#"',
      context: msg(P),
      expected: [{ c: 'c1' }],
    },
    {
      spec: '§2',
      name: 'a comparison as a select item',
      sql: 'SELECT qos >= 1 AS big, qos = 2 AS two FROM "t/#"',
      context: msg(P),
      expected: [{ big: true, two: false }],
    },
    {
      spec: '§2',
      name: 'searched CASE, first true branch',
      sql: "SELECT CASE WHEN payload.a > 5 THEN 'big' WHEN payload.a > 0 THEN 'small' ELSE 'neg' END AS c FROM \"t/#\"",
      context: msg(P),
      expected: [{ c: 'small' }],
    },
    {
      spec: '§2',
      name: 'CASE without match and without ELSE is undefined (key kept)',
      sql: 'SELECT CASE WHEN payload.a > 5 THEN \'big\' END AS c FROM "t/#"',
      context: msg(P),
      expected: [{ c: undefined }],
    },
    {
      spec: '§2',
      name: 'simple CASE uses exact equality (1.0 does not match 1)',
      sql: "SELECT CASE payload.f WHEN 1 THEN 'int' WHEN 1.0 THEN 'float' ELSE 'none' END AS c FROM \"t/#\"",
      context: msg('{"f":1.0}'),
      expected: [{ c: 'float' }],
    },
    {
      spec: '§2',
      name: 'simple CASE does not coerce strings',
      sql: "SELECT CASE payload.s WHEN 1 THEN 'one' ELSE 'other' END AS c FROM \"t/#\"",
      context: msg('{"s":"1"}'),
      expected: [{ c: 'other' }],
    },
    {
      spec: '§2',
      name: 'list literal with expressions',
      sql: 'SELECT [1, payload.a, qos + 1] AS l FROM "t/#"',
      context: msg(P),
      expected: [{ l: [1, 1, 2] }],
    },
    {
      spec: '§2',
      name: 'range literal',
      sql: 'SELECT [1..4] AS r, [] AS e FROM "t/#"',
      context: msg(P),
      expected: [{ r: [1, 2, 3, 4], e: [] }],
    },
    {
      spec: '§2',
      name: 'div/mod call forms',
      sql: 'SELECT div(7, 2) AS d, mod(7, 2) AS m FROM "t/#"',
      context: msg(P),
      expected: [{ d: 3, m: 1 }],
    },
    {
      spec: '§2',
      name: 'nested calls inside arithmetic',
      sql: 'SELECT strlen(upper(\'ab\')) * 2 AS n FROM "t/#"',
      context: msg(P),
      expected: [{ n: 4 }],
    },
    {
      spec: '§2',
      name: 'parenthesised CASE',
      sql: 'SELECT (CASE WHEN true THEN 1 END) + 1 AS n FROM "t/#"',
      context: msg(P),
      expected: [{ n: 2 }],
    },
  ]);
});

describe('§3.1 reading values', () => {
  runCases([
    {
      spec: '§3.1',
      name: 'map navigation',
      sql: "SELECT payload.m.'x-y' AS a, payload.m.1 AS b, payload.m.'1.5' AS c FROM \"t/#\"",
      context: msg(P),
      expected: [{ a: 2, b: 'one', c: 'f' }],
    },
    {
      spec: '§3.1',
      name: 'quoted key segment on a column',
      sql: 'SELECT pub_props.\'User-Property\'.a AS v FROM "t/#"',
      context: msg(P),
      expected: [{ v: 'b' }],
    },
    {
      spec: '§3.1',
      name: 'indexes are 1-based, negative from the end',
      sql: 'SELECT payload.l[1] AS first, payload.l[-1] AS last, payload.l[-2] AS mid FROM "t/#"',
      context: msg(P),
      expected: [{ first: 10, last: 30, mid: 20 }],
    },
    {
      spec: '§3.1',
      name: 'index 0, out of range and non-list read as undefined',
      sql: 'SELECT payload.l[0] AS z, payload.l[9] AS o, payload.a[1] AS n, payload.missing.x AS m FROM "t/#"',
      context: msg(P),
      expected: [{ z: undefined, o: undefined, n: undefined, m: undefined }],
    },
    {
      spec: '§3.1',
      name: 'chained indexes',
      sql: 'SELECT payload.g[2][1].b AS v FROM "t/#"',
      context: msg({ g: [[0], [{ b: 'x' }]] }),
      expected: [{ v: 'x' }],
    },
    {
      spec: '§3.1',
      name: 'index from a variable',
      sql: 'SELECT l[qos] AS v FROM "t/#"',
      context: msg(P, { l: ['a', 'b'] }),
      expected: [{ v: 'a' }],
    },
    {
      spec: '§3.1',
      name: 'inside a payload path the index variable is read from the payload',
      sql: 'SELECT payload.l[i] AS v FROM "t/#"',
      context: msg({ l: ['a', 'b', 'c'], i: 3 }, { i: 1 }),
      expected: [{ v: 'c' }],
    },
    {
      spec: '§3.1',
      name: 'index path inside the payload',
      sql: 'SELECT payload.l[p.i] AS v FROM "t/#"',
      context: msg({ l: ['a', 'b'], p: { i: 2 } }),
      expected: [{ v: 'b' }],
    },
    {
      spec: '§3.1',
      name: 'sub-list ranges',
      sql: 'SELECT payload.l[2..3] AS a, payload.l[1..-1] AS b, payload.l[-2..-1] AS c FROM "t/#"',
      context: msg(P),
      expected: [{ a: [20, 30], b: [10, 20, 30], c: [20, 30] }],
    },
    {
      spec: '§3.1',
      name: 'a range on a non-list is an error',
      sql: 'SELECT payload.a[1..2] AS v FROM "t/#"',
      context: msg(P),
      expected: { error: 'select_and_transform_error' },
    },
    {
      spec: '§3.1',
      name: 'navigation through a JSON string decodes it',
      sql: 'SELECT j.a.b AS v, j.l[2] AS w FROM "t/#"',
      context: msg(P, { j: '{"a":{"b":7},"l":[1,2]}' }),
      expected: [{ v: 7, w: 2 }],
    },
    {
      spec: '§3.1',
      name: 'navigation through a nested JSON string in the payload',
      sql: 'SELECT payload.inner.x AS v FROM "t/#"',
      context: msg({ inner: '{"x":true}' }),
      expected: [{ v: true }],
    },
    {
      spec: '§3.1',
      name: 'a non-JSON string navigates to undefined (no error)',
      sql: 'SELECT clientid.x AS v FROM "t/#"',
      context: msg(P),
      expected: [{ v: undefined }],
    },
  ]);
});

describe('§3.2 naming the output', () => {
  runCases([
    {
      spec: '§3.2',
      name: 'nested AS builds objects and merges',
      sql: 'SELECT 1 AS a.b, 2 AS a.c, 3 AS a.d.e FROM "t/#"',
      context: msg(P),
      expected: [{ a: { b: 1, c: 2, d: { e: 3 } } }],
    },
    {
      spec: '§3.2',
      name: 'scalar write replaces (last write wins)',
      sql: 'SELECT 1 AS a.b, 2 AS a FROM "t/#"',
      context: msg(P),
      expected: [{ a: 2 }],
    },
    {
      spec: '§3.2',
      name: 'a path without alias keeps its shape',
      sql: 'SELECT payload.a, payload.m.1 FROM "t/#"',
      context: msg(P),
      expected: [{ payload: { a: 1, m: { '1': 'one' } } }],
    },
    {
      spec: '§3.2',
      name: 'an indexed path without alias becomes a fresh one-element list',
      sql: 'SELECT payload.l[2] FROM "t/#"',
      context: msg(P),
      expected: [{ payload: { l: [20] } }],
    },
    {
      spec: '§3.2',
      name: 'a string literal names itself',
      sql: 'SELECT \'x\' FROM "t/#"',
      context: msg(P),
      expected: [{ x: 'x' }],
    },
    {
      spec: '§3.2',
      name: 'AS l[2] replaces, l[-1] from the end',
      sql: 'SELECT [1,2,3] AS l, 9 AS l[2], 8 AS l[-1] FROM "t/#"',
      context: msg(P),
      expected: [{ l: [1, 9, 8] }],
    },
    {
      spec: '§3.2',
      name: 'AS l[5] out of range is a no-op',
      sql: 'SELECT [1,2] AS l, 9 AS l[5] FROM "t/#"',
      context: msg(P),
      expected: [{ l: [1, 2] }],
    },
    {
      spec: '§3.2',
      name: 'AS l[0] prepends and l[-0] appends',
      sql: 'SELECT [1,2] AS l, 0 AS l[0], 3 AS l[-0] FROM "t/#"',
      context: msg(P),
      expected: [{ l: [0, 1, 2, 3] }],
    },
    {
      spec: '§3.2',
      name: 'index targets create lists when needed',
      sql: 'SELECT 0 AS m.a[2].b, 1 AS n[0] FROM "t/#"',
      context: msg(P),
      expected: [{ m: { a: [{ b: 0 }] }, n: [1] }],
    },
    {
      spec: '§3.2',
      name: 'a string under the key is replaced by a fresh map',
      sql: 'SELECT payload AS p, payload.a AS p.answer FROM "t/#"',
      context: msg(P),
      expected: [{ p: { answer: 1 } }],
    },
    {
      spec: '§3.2',
      name: 'selected payload is decoded and merged into',
      sql: 'SELECT payload, \'X\' AS payload.data[1].name FROM "t/#"',
      context: msg({ data: [{ name: 'a', v: 1 }, { name: 'b' }], k: 2 }),
      expected: [{ payload: { data: [{ name: 'X', v: 1 }, { name: 'b' }], k: 2 } }],
    },
    {
      spec: '§3.2',
      name: 'payload not selected: the output payload starts empty',
      sql: 'SELECT \'X\' AS payload.name FROM "t/#"',
      context: msg(P),
      expected: [{ payload: { name: 'X' } }],
    },
  ]);
});

describe('§4.1 SELECT evaluation', () => {
  runCases([
    {
      spec: '§4.1',
      name: 'later items see earlier aliases',
      sql: 'SELECT 1 AS a, a + 1 AS b FROM "t/#"',
      context: msg(P),
      expected: [{ a: 1, b: 2 }],
    },
    {
      spec: '§4.1',
      name: 'an alias shadows a column for later items',
      sql: 'SELECT \'x\' AS clientid, clientid AS c FROM "t/#"',
      context: msg(P),
      expected: [{ clientid: 'x', c: 'x' }],
    },
    {
      spec: '§4.1',
      name: 'a nested alias is visible as a path',
      sql: 'SELECT 5 AS o.v, o.v * 2 AS w FROM "t/#"',
      context: msg(P),
      expected: [{ o: { v: 5 }, w: 10 }],
    },
    {
      spec: '§4.1',
      name: 'undefined values are still emitted',
      sql: 'SELECT a, b FROM "t/#" WHERE a = b',
      context: msg(P),
      expected: [{ a: undefined, b: undefined }],
    },
    {
      spec: '§4.1',
      name: 'WHERE sees aliases',
      sql: 'SELECT payload.a * 10 AS x FROM "t/#" WHERE x = 10',
      context: msg(P),
      expected: [{ x: 10 }],
    },
    {
      spec: '§4.1',
      name: 'WHERE false filters',
      sql: 'SELECT clientid FROM "t/#" WHERE qos = 2',
      context: msg(P),
      expected: [],
    },
    {
      spec: '§4.1',
      name: 'the output wins over the columns in WHERE',
      sql: "SELECT 'other' AS clientid FROM \"t/#\" WHERE clientid = 'other'",
      context: msg(P),
      expected: [{ clientid: 'other' }],
    },
    {
      spec: '§4.1',
      name: 'a SELECT exception fails the rule',
      sql: 'SELECT clientid - 1 AS x FROM "t/#"',
      context: msg(P),
      expected: { error: 'select_and_transform_error' },
    },
    {
      spec: '§4.1',
      name: 'a WHERE exception fails the rule',
      sql: 'SELECT clientid FROM "t/#" WHERE clientid > 1',
      context: msg(P),
      expected: { error: 'match_conditions_error' },
    },
    {
      spec: '§4.1',
      name: 'nothing is added implicitly (metadata only when selected)',
      sql: 'SELECT clientid, metadata.rule_id AS r FROM "t/#"',
      context: msg(P, { metadata: { rule_id: 'r1' } }),
      expected: [{ clientid: 'c1', r: 'r1' }],
    },
  ]);
});

describe('§5 payload decoding', () => {
  runCases([
    {
      spec: '§5',
      name: 'selecting payload returns the raw bytes',
      sql: 'SELECT payload FROM "t/#"',
      context: msg('not json'),
      expected: [{ payload: Buffer.from('not json') }],
    },
    {
      spec: '§5',
      name: 'invalid JSON is fine until a path reaches into it',
      sql: 'SELECT clientid FROM "t/#"',
      context: msg('{bad'),
      expected: [{ clientid: 'c1' }],
    },
    {
      spec: '§5',
      name: 'invalid JSON through a payload path is decode_json_failed',
      sql: 'SELECT payload.x FROM "t/#"',
      context: msg('{bad'),
      expected: { error: 'decode_json_failed' },
    },
    {
      spec: '§5',
      name: 'invalid JSON reached in WHERE',
      sql: 'SELECT clientid FROM "t/#" WHERE payload.x = 1',
      context: msg('{bad'),
      expected: { error: 'decode_json_failed' },
    },
    {
      spec: '§5',
      name: 'WHERE decoding does not change what * outputs',
      sql: 'SELECT * FROM "t/#" WHERE payload.x = 1',
      context: { topic: 't', payload: Buffer.from('{"x":1}') },
      expected: [{ topic: 't', payload: Buffer.from('{"x":1}') }],
    },
    {
      spec: '§5',
      name: 'JSON null is null, not undefined',
      sql: 'SELECT payload.n AS n, is_null(payload.n) AS a, is_null(payload.zz) AS b FROM "t/#"',
      context: msg(P),
      expected: [{ n: null, a: false, b: true }],
    },
    {
      spec: '§5',
      name: '1 and 1.0 stay distinct',
      sql: 'SELECT payload.i AS i, payload.f AS f, is_float(payload.f) AS isf FROM "t/#"',
      context: msg('{"i":1,"f":1.0}'),
      expected: [{ i: 1, f: new EFloat(1), isf: true }],
    },
    {
      spec: '§5',
      name: 'json_decode(payload) is an explicit alternative',
      sql: 'SELECT json_decode(payload) AS p, p.a AS a FROM "t/#"',
      context: msg({ a: 1 }),
      expected: [{ p: { a: 1 }, a: 1 }],
    },
    {
      spec: '§5',
      name: 'a string payload column works too',
      sql: 'SELECT payload.a AS a FROM "t/#"',
      context: { payload: '{"a":3}' },
      expected: [{ a: 3 }],
    },
    {
      spec: '§5',
      name: 'no payload column: payload paths are undefined',
      sql: 'SELECT payload.a AS a FROM "$events/client/connected"',
      context: { clientid: 'c' },
      expected: [{ a: undefined }],
    },
  ]);
});

describe('§3.2 / §4.1 further shaping and scoping cases', () => {
  runCases([
    {
      spec: '§3.2',
      name: 'writing below a JSON-text key keeps the nested value found by decoding, drops the rest',
      sql: `SELECT '{"a":{"x":1},"b":2}' AS p, 2 AS p.a.y FROM "t/#"`,
      context: msg({}),
      expected: [{ p: { a: { x: 1, y: 2 } } }],
    },
    {
      spec: '§4.1.3',
      name: 'WHERE sees the selected payload map, not the raw payload (alias to avoid)',
      sql: 'SELECT payload.a FROM "t/#" WHERE payload.b = 2',
      context: msg({ a: 1, b: 2 }),
      expected: [],
    },
    {
      spec: '§4.1.3',
      name: 'with an alias WHERE reads the payload',
      sql: 'SELECT payload.a AS a FROM "t/#" WHERE payload.b = 2',
      context: msg({ a: 1, b: 2 }),
      expected: [{ a: 1 }],
    },
    {
      spec: '§4.1.1',
      name: 'a later bare read of payload sees the decoded, updated payload',
      sql: 'SELECT 5 AS payload.x, payload AS p FROM "t/#"',
      context: msg({ k: 1 }),
      expected: [{ payload: { x: 5 }, p: { k: 1, x: 5 } }],
    },
  ]);
});
