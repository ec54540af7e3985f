/** Whole-rule tables for FOREACH / DO / INCASE (spec rule-sql §4.2). */
import { describe } from 'vitest';
import { msg, runCases } from './table.js';

const sensors = {
  device: 'd1',
  sensors: [
    { name: 'a', v: 1 },
    { name: 'b', v: 5 },
    { name: 'c', v: 9 },
  ],
};

describe('§4.2 FOREACH / DO / INCASE', () => {
  runCases([
    {
      spec: '§4.2',
      name: 'DO shapes each element, INCASE filters',
      sql: 'FOREACH payload.sensors AS s DO s.name AS n, clientid INCASE s.v > 2 FROM "t/#"',
      context: msg(sensors),
      expected: [
        { n: 'b', clientid: 'c1' },
        { n: 'c', clientid: 'c1' },
      ],
    },
    {
      spec: '§4.2.1',
      name: 'FOREACH aliases are visible to the following items',
      sql: 'FOREACH json_decode(payload) AS p, p.sensors AS s DO s.name AS n FROM "t/#"',
      context: msg(sensors),
      expected: [{ n: 'a' }, { n: 'b' }, { n: 'c' }],
    },
    {
      spec: '§4.2.2',
      name: 'without alias the element is `item`',
      sql: 'FOREACH payload.sensors DO item.v AS v FROM "t/#"',
      context: msg(sensors),
      expected: [{ v: 1 }, { v: 5 }, { v: 9 }],
    },
    {
      spec: '§4.2.2',
      name: 'a non-list collection is empty (no error)',
      sql: 'FOREACH payload.device DO item AS v FROM "t/#"',
      context: msg(sensors),
      expected: [],
    },
    {
      spec: '§4.2.2',
      name: 'FOREACH payload decodes the JSON payload',
      sql: 'FOREACH payload DO item * 2 AS v FROM "t/#"',
      context: msg([1, 2]),
      expected: [{ v: 2 }, { v: 4 }],
    },
    {
      spec: '§4.2.3',
      name: 'WHERE runs once over columns + FOREACH output',
      sql: 'FOREACH payload.sensors AS s DO s.name AS n FROM "t/#" WHERE clientid = \'zz\'',
      context: msg(sensors),
      expected: [],
    },
    {
      spec: '§4.2.3',
      name: 'WHERE sees the collection alias',
      sql: 'FOREACH payload.sensors AS s DO s.name AS n FROM "t/#" WHERE length(s) = 3',
      context: msg(sensors),
      expected: [{ n: 'a' }, { n: 'b' }, { n: 'c' }],
    },
    {
      spec: '§4.2.4',
      name: 'without DO the whole context + FOREACH output + element is emitted',
      sql: 'FOREACH payload.l AS x INCASE x > 1 FROM "t/#"',
      context: { topic: 't/1', payload: '{"l":[1,2]}' },
      expected: [{ topic: 't/1', payload: '{"l":[1,2]}', x: 2 }],
    },
    {
      spec: '§4.2.4',
      name: 'DO items see earlier DO aliases',
      sql: 'FOREACH payload.l AS x DO x * 10 AS a, a + 1 AS b FROM "t/#"',
      context: msg({ l: [1] }),
      expected: [{ a: 10, b: 11 }],
    },
    {
      spec: '§4.2.4',
      name: '* in DO copies context + FOREACH output + element',
      sql: 'FOREACH payload.l AS x DO * FROM "t/#"',
      context: { topic: 't', payload: '{"l":[7]}' },
      expected: [{ topic: 't', payload: '{"l":[7]}', x: 7 }],
    },
    {
      spec: '§4.2.5',
      name: 'an empty result counts as no result',
      sql: 'FOREACH payload.l AS x INCASE x > 100 FROM "t/#"',
      context: msg({ l: [1, 2] }),
      expected: [],
    },
    {
      spec: '§4.2.6',
      name: "the collection's own name is the whole list inside DO/INCASE",
      sql: 'FOREACH a DO a INCASE a <> 1 FROM "t/#"',
      context: { a: [1, 2] },
      expected: [{ a: [1, 2] }, { a: [1, 2] }],
    },
    {
      spec: '§4.2.7',
      name: 'an error in the FOREACH list is select_and_collect_error',
      sql: 'FOREACH payload.l - 1 AS x FROM "t/#"',
      context: msg({ l: [1] }),
      expected: { error: 'select_and_collect_error' },
    },
    {
      spec: '§4.2.7',
      name: 'an error in INCASE is match_incase_error',
      sql: 'FOREACH payload.l AS x INCASE x > \'q\' FROM "t/#"',
      context: msg({ l: [1] }),
      expected: { error: 'match_incase_error' },
    },
    {
      spec: '§4.2.7',
      name: 'an error in DO is doeach_error',
      sql: 'FOREACH payload.l AS x DO x - \'q\' AS y FROM "t/#"',
      context: msg({ l: [1] }),
      expected: { error: 'doeach_error' },
    },
    {
      spec: '§4.2.7',
      name: 'a non-boolean INCASE is match_incase_error',
      sql: 'FOREACH payload.l AS x INCASE x FROM "t/#"',
      context: msg({ l: [1] }),
      expected: { error: 'match_incase_error' },
    },
    {
      spec: '§4.2',
      name: 'a range literal as the collection',
      sql: 'FOREACH [1..3] AS i DO i * i AS sq INCASE i <> 2 FROM "t/#"',
      context: msg({}),
      expected: [{ sq: 1 }, { sq: 9 }],
    },
  ]);
});

describe('§4.2 FOREACH edge cases', () => {
  runCases([
    {
      spec: '§4.2.2',
      name: '`*` as the last FOREACH item iterates nothing',
      sql: 'FOREACH payload.l AS x, * FROM "t/#"',
      context: msg({ l: [1] }),
      expected: [],
    },
    {
      spec: '§4.2.4',
      name: 'an element named like a FOREACH alias wins over the collection',
      sql: 'FOREACH payload.l AS x DO x AS v FROM "t/#"',
      context: msg({ l: ['a', 'b'] }),
      expected: [{ v: 'a' }, { v: 'b' }],
    },
  ]);
});
