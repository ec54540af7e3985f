/**
 * Parser tables: statement forms (§2), names/paths/aliases (§3), precedence (§6.1), lexical rules
 * as seen through the parser (§1), and the error cases (§9: syntax errors fail rule creation).
 * Section numbers refer to shared/spec/rule-sql.md.
 */
import { describe, expect, it } from 'vitest';
import { parseRule } from './parse-rule.js';
import {
  and,
  arith,
  ast,
  bool,
  call,
  cmp,
  diag,
  float,
  idx,
  inList,
  int,
  kase,
  key,
  list,
  neg,
  not,
  or,
  path,
  pos,
  qpath,
  range,
  selectExpr,
  slice,
  str,
  v,
  whereExpr,
} from './test-helpers.js';

describe('statements (§2)', () => {
  it('SELECT … FROM … WHERE …', () => {
    expect(ast('SELECT a, b AS c FROM "t/#" WHERE a > 1')).toEqual({
      kind: 'Select',
      fields: [
        { kind: 'Field', expr: v('a') },
        {
          kind: 'Field',
          expr: v('b'),
          alias: { kind: 'AliasTarget', root: 'c', segments: [] },
          explicitAs: true,
        },
      ],
      from: [{ kind: 'From', topic: 't/#', quote: 'double' }],
      where: cmp('>', v('a'), int('1')),
    });
  });

  it('SELECT without WHERE has no where key', () => {
    expect(ast('SELECT * FROM t')).toEqual({
      kind: 'Select',
      fields: [{ kind: 'Wildcard' }],
      from: [{ kind: 'From', topic: 't', quote: 'none' }],
    });
  });

  it('FOREACH with DO, INCASE, WHERE', () => {
    expect(
      ast("FOREACH payload.s AS s DO s.id AS id INCASE s.v > 1 FROM 't/1' WHERE clientid = 'c'"),
    ).toEqual({
      kind: 'Foreach',
      fields: [
        {
          kind: 'Field',
          expr: path('payload', key('s')),
          alias: { kind: 'AliasTarget', root: 's', segments: [] },
          explicitAs: true,
        },
      ],
      do: [
        {
          kind: 'Field',
          expr: path('s', key('id')),
          alias: { kind: 'AliasTarget', root: 'id', segments: [] },
          explicitAs: true,
        },
      ],
      incase: cmp('>', path('s', key('v')), int('1')),
      from: [{ kind: 'From', topic: 't/1', quote: 'single' }],
      where: cmp('=', v('clientid'), str('c')),
    });
  });

  it.each([
    ['FOREACH a FROM t', { do: false, incase: false }],
    ['FOREACH a DO b FROM t', { do: true, incase: false }],
    ['FOREACH a INCASE b > 1 FROM t', { do: false, incase: true }],
    ['FOREACH a DO b INCASE b > 1 FROM t WHERE c = 1', { do: true, incase: true }],
  ])('§2 FOREACH optional clauses: %s', (sql, has) => {
    const s = ast(sql) as Record<string, unknown>;
    expect(s.kind).toBe('Foreach');
    expect('do' in s).toBe(has.do);
    expect('incase' in s).toBe(has.incase);
  });

  it('keywords are case-insensitive (§1)', () => {
    expect(ast('select a from t where a and b')).toEqual(ast('SELECT a FROM t WHERE a AND b'));
    expect(ast('ForEach a Do b InCase c From t')).toEqual(ast('FOREACH a DO b INCASE c FROM t'));
  });

  it('§2 several FROM entries of all three kinds', () => {
    expect(
      (ast(`SELECT a FROM "a/#", 'b/+', c, "$events/client_connected"`) as { from: unknown }).from,
    ).toEqual([
      { kind: 'From', topic: 'a/#', quote: 'double' },
      { kind: 'From', topic: 'b/+', quote: 'single' },
      { kind: 'From', topic: 'c', quote: 'none' },
      { kind: 'From', topic: '$events/client_connected', quote: 'double' },
    ]);
  });

  it('§2 $events, $bridges and $sources topics', () => {
    const s = ast(`SELECT * FROM "$events/sys/+", '$bridges/mqtt:b1', "$sources/kafka:s"`) as {
      from: { topic: string }[];
    };
    expect(s.from.map((f) => f.topic)).toEqual([
      '$events/sys/+',
      '$bridges/mqtt:b1',
      '$sources/kafka:s',
    ]);
  });

  it('§1 quoted FROM topics lose all leading/trailing quotes', () => {
    const s = ast(`SELECT * FROM """t""", '''u'''`) as { from: { topic: string }[] };
    expect(s.from.map((f) => f.topic)).toEqual(['t', 'u']);
  });

  it('§2 * anywhere in the select list', () => {
    const s = ast('SELECT a, *, b FROM t') as { fields: { kind: string }[] };
    expect(s.fields.map((f) => f.kind)).toEqual(['Field', 'Wildcard', 'Field']);
  });

  it('leading/trailing whitespace and CRLF are fine (§1)', () => {
    expect(ast('\r\n  SELECT a\r\nFROM t \r\n\t')).toEqual(ast('SELECT a FROM t'));
  });

  it('§1 comments with a following line are skipped', () => {
    expect(ast('-- leading\nSELECT a -- x\n, b\nFROM t -- y\nWHERE a = 1')).toEqual(
      ast('SELECT a, b FROM t WHERE a = 1'),
    );
    expect(ast('SELECT a--1\nFROM t')).toEqual(ast('SELECT a FROM t'));
  });
});

describe('expressions (§1, §2, §3.1)', () => {
  const table: [string, string, unknown][] = [
    ['§1 integer', '42', int('42')],
    [
      '§1 big integer kept as text',
      '123456789012345678901234567890',
      int('123456789012345678901234567890'),
    ],
    ['§1 float', '1.5', float('1.5', 1.5)],
    ['§1 float exponent', '1.5e3', float('1.5e3', 1500)],
    ['§1 float negative exponent', '2.5E-1', float('2.5E-1', 0.25)],
    ['§1 float suffix', '1.5f', float('1.5f', 1.5)],
    ['§1 integral float', '1.0', float('1.0', 1)],
    ['§1 string', "'abc'", str('abc')],
    ['§1 string: no escapes', "'a\\nb'", str('a\\nb')],
    ["§1 string: '' not collapsed", "'it''s'", str("it''s")],
    ['§1 string: all edge quotes stripped', "'''x'''", str('x')],
    ['§1 string: empty', "''", str('')],
    ['§1 string: raw newline kept', "'a\nb'", str('a\nb')],
    ['§1 true', 'true', bool(true)],
    ['§1 false', 'false', bool(false)],
    ['§1 TRUE is a variable', 'TRUE', v('TRUE')],
    ['§1 null is a variable', 'null', v('null')],
    ['§1 negative number = unary minus', '-1', neg(int('1'))],
    ['§1 unary plus', '+a', pos(v('a'))],
    ['§1 double negation needs a space', '- -1', neg(neg(int('1')))],
    ['§1 quoted identifier is a column', '"topic"', qpath('topic')],
    ['§1 quoted identifier, all edge quotes stripped', '"""x"""', qpath('x')],
    ['§3.1 path', 'payload.a.b', path('payload', key('a'), key('b'))],
    ['§3.1 numeric key', 'a.1', path('a', key('1'))],
    ['§3.1 numeric then quoted numeric key', "a.1.'5'", path('a', key('1'), key('5', true))],
    [
      '§3.1 single-quoted key',
      "pub_props.'User-Property'",
      path('pub_props', key('User-Property', true)),
    ],
    ["§3.1 key '1.5'", "a.'1.5'", path('a', key('1.5', true))],
    ['§3.1 double-quoted key', 'a."b c"', path('a', key('b c', true))],
    [
      '§3.1 keys true/div lex as words but are keys',
      'a.true.div',
      path('a', key('true'), key('div')),
    ],
    ['§3.1 index', 'a[1]', path('a', idx(int('1')))],
    ['§3.1 negative index', 'a[-1]', path('a', idx(neg(int('1'))))],
    ['§3.1 index 0', 'a[0]', path('a', idx(int('0')))],
    ['§3.1 chained indexes', 'a[2][3].b', path('a', idx(int('2')), idx(int('3')), key('b'))],
    ['§3.1 variable index', 'a[i]', path('a', idx(v('i')))],
    ['§3.1 path index', 'a[b.c]', path('a', idx(path('b', key('c'))))],
    ['§3.1 nested path index', 'a[b[1].c]', path('a', idx(path('b', idx(int('1')), key('c'))))],
    ['§3.1 slice', 'a[1..-1]', path('a', slice(1, -1))],
    ['§3.1 slice after key', 'p.x[2..3]', path('p', key('x'), slice(2, 3))],
    ['§3.1 quoted root with path', '"a b".c', { ...(qpath('a b', key('c')) as object) }],
    ['§2 call', 'abs(-1)', call('abs', [neg(int('1'))])],
    ['§2 call without args', 'now_timestamp()', call('now_timestamp', [])],
    ['§2 nested calls', 'f(g(1), h())', call('f', [call('g', [int('1')]), call('h', [])])],
    ['§2 Module.fn call', 'emqx_rule_funcs.abs(1)', call('abs', [int('1')], 'emqx_rule_funcs')],
    ['§2 call args may be comparisons', 'f(a = 1)', call('f', [cmp('=', v('a'), int('1'))])],
    [
      '§2 call args may be CASE',
      'f(CASE WHEN a THEN 1 END)',
      call('f', [kase([[v('a'), int('1')]])]),
    ],
    ['§1 div call form', 'div(7, 2)', call('div', [int('7'), int('2')])],
    ['§1 mod call form', 'mod(3,2)', call('mod', [int('3'), int('2')])],
    [
      '§1 DIV(7,2) is an ordinary (unknown) function',
      'DIV(7,2)',
      call('DIV', [int('7'), int('2')]),
    ],
    ['§2 list', "[1, 'a', b]", list(int('1'), str('a'), v('b'))],
    ['§2 empty list', '[]', list()],
    [
      '§2 list of expressions',
      '[a + 1, f(b), [c]]',
      list(arith('+', v('a'), int('1')), call('f', [v('b')]), list(v('c'))),
    ],
    ['§2 range literal', '[1..4]', range(1, 4)],
    ['§2 negative range literal', '[-3..-1]', range(-3, -1)],
    ['§2 range inside a list', '[[1..2]]', list(range(1, 2))],
    [
      '§2 searched CASE',
      "CASE WHEN a > 1 THEN 'big' WHEN a > 0 THEN 'small' ELSE 'none' END",
      kase(
        [
          [cmp('>', v('a'), int('1')), str('big')],
          [cmp('>', v('a'), int('0')), str('small')],
        ],
        { else: str('none') },
      ),
    ],
    [
      '§2 simple CASE',
      'CASE x WHEN 1 THEN a WHEN 2 THEN b END',
      kase(
        [
          [int('1'), v('a')],
          [int('2'), v('b')],
        ],
        { subject: v('x') },
      ),
    ],
    [
      '§2 CASE conditions may use AND/OR/NOT/IN',
      'CASE WHEN a AND NOT b OR c IN (1) THEN 1 END',
      kase([[or(and(v('a'), not(v('b'))), inList(v('c'), [int('1')])), int('1')]]),
    ],
    ['§2 parenthesised CASE', '(CASE WHEN a THEN 1 END)', kase([[v('a'), int('1')]])],
    ['§2 parentheses', '((a))', v('a')],
  ];

  it.each(table)('%s: %s', (_name, expr, expected) => {
    expect(selectExpr(expr)).toEqual(expected);
  });
});

describe('precedence (§6.1)', () => {
  const table: [string, unknown][] = [
    ['a + b * c', arith('+', v('a'), arith('*', v('b'), v('c')))],
    ['a * b + c', arith('+', arith('*', v('a'), v('b')), v('c'))],
    ['a - b - c', arith('-', arith('-', v('a'), v('b')), v('c'))],
    ['a / b div c mod d', arith('mod', arith('div', arith('/', v('a'), v('b')), v('c')), v('d'))],
    ['-a * b', arith('*', neg(v('a')), v('b'))],
    ['a * -b', arith('*', v('a'), neg(v('b')))],
    ['a - -b', arith('-', v('a'), neg(v('b')))],
    ['-(a + b)', neg(arith('+', v('a'), v('b')))],
    ['(a + b) * c', arith('*', arith('+', v('a'), v('b')), v('c'))],
    ['a + 1 = b * 2', cmp('=', arith('+', v('a'), int('1')), arith('*', v('b'), int('2')))],
    ['a < b', cmp('<', v('a'), v('b'))],
    ['a <= b', cmp('<=', v('a'), v('b'))],
    ['a > b', cmp('>', v('a'), v('b'))],
    ['a >= b', cmp('>=', v('a'), v('b'))],
    ['a != b', cmp('!=', v('a'), v('b'))],
    ['a <> b', cmp('<>', v('a'), v('b'))],
    ["a =~ '^x'", cmp('=~', v('a'), str('^x'))],
    ['a OR b AND c', or(v('a'), and(v('b'), v('c')))],
    ['a AND b OR c', or(and(v('a'), v('b')), v('c'))],
    ['a OR b OR c', or(or(v('a'), v('b')), v('c'))],
    ['a AND b AND c', and(and(v('a'), v('b')), v('c'))],
    ['NOT a AND b', and(not(v('a')), v('b'))],
    ['NOT a = b', not(cmp('=', v('a'), v('b')))],
    ['NOT NOT a', not(not(v('a')))],
    ['NOT (a AND b)', not(and(v('a'), v('b')))],
    ['NOT (a OR b)', not(or(v('a'), v('b')))],
    ['NOT x IN (1, 2)', not(inList(v('x'), [int('1'), int('2')]))],
    ["x NOT IN ('a')", inList(v('x'), [str('a')], true)],
    ['x IN (1) AND y IN (2)', and(inList(v('x'), [int('1')]), inList(v('y'), [int('2')]))],
    [
      'x + 1 IN (a * 2, f(b))',
      inList(arith('+', v('x'), int('1')), [arith('*', v('a'), int('2')), call('f', [v('b')])]),
    ],
    ['(a = 1) = true', cmp('=', cmp('=', v('a'), int('1')), bool(true))],
    ['f(x)', call('f', [v('x')])],
    ['true', bool(true)],
  ];
  it.each(table)('%s', (cond, expected) => {
    expect(whereExpr(cond)).toEqual(expected);
  });

  it('§6.1 comparisons are non-associative: a = b = c is an error', () => {
    expect(diag('SELECT a FROM t WHERE a = b = c').code).toBe('sql_syntax_error');
    expect(diag('SELECT a = b = c FROM t').message).toMatch(/cannot be chained/);
  });
});

describe('aliases (§3.2)', () => {
  const alias = (sql: string) =>
    (ast(`SELECT ${sql} FROM t`) as { fields: { alias?: unknown; explicitAs?: boolean }[] })
      .fields[0];
  const table: [string, string, unknown[], boolean][] = [
    ['AS name', 'x AS n', [], true],
    ['implicit alias', 'x n', [], false],
    ['AS a.b', 'x AS n.b', [{ kind: 'Key', key: 'b' }], true],
    [
      'implicit a.b',
      'x n.b.c',
      [
        { kind: 'Key', key: 'b' },
        { kind: 'Key', key: 'c' },
      ],
      false,
    ],
    ['AS l[2]', 'x AS n[2]', [{ kind: 'Index', index: 2, negative: false }], true],
    ['AS l[-1]', 'x AS n[-1]', [{ kind: 'Index', index: 1, negative: true }], true],
    ['AS l[0] prepends', 'x AS n[0]', [{ kind: 'Index', index: 0, negative: false }], true],
    ['AS l[-0] appends', 'x AS n[-0]', [{ kind: 'Index', index: 0, negative: true }], true],
    [
      'AS m.a[2].b',
      'x AS n.a[2].b',
      [
        { kind: 'Key', key: 'a' },
        { kind: 'Index', index: 2, negative: false },
        { kind: 'Key', key: 'b' },
      ],
      true,
    ],
    ['AS n.1', 'x AS n.1', [{ kind: 'Key', key: '1' }], true],
    ["AS n.'x-y'", "x AS n.'x-y'", [{ kind: 'Key', key: 'x-y' }], true],
  ];
  it.each(table)('%s', (_name, sql, segments, explicitAs) => {
    expect(alias(sql)).toEqual({
      kind: 'Field',
      expr: v('x'),
      alias: { kind: 'AliasTarget', root: 'n', segments },
      explicitAs,
    });
  });

  it('§3.2 quoted alias roots may be reserved words', () => {
    expect((alias('x AS "select"') as { alias: { root: string } }).alias.root).toBe('select');
  });
  it('§1 0x1F is 0 with the implicit alias x1F; 1e5 is 1 AS e5', () => {
    expect(ast('SELECT 0x1F, 1e5 FROM t')).toEqual(ast('SELECT 0 x1F, 1 e5 FROM t'));
  });
  it('§2 a comparison may be a select item', () => {
    expect(alias('a = b AS c')).toEqual({
      kind: 'Field',
      expr: cmp('=', v('a'), v('b')),
      alias: { kind: 'AliasTarget', root: 'c', segments: [] },
      explicitAs: true,
    });
  });
  it('§2 CASE … END AS target', () => {
    expect((alias('CASE WHEN a THEN 1 END AS c') as { alias: { root: string } }).alias.root).toBe(
      'c',
    );
  });
});

/**
 * Cases from EMQX's own parser test-suite (emqx/rulesql `test/rulesql_tests.erl`), restated:
 * each statement must parse, or must be rejected, exactly as there.
 */
describe('EMQX rulesql compatibility', () => {
  const accepted = [
    'SELECT * FROM "abc"',
    'SELECT x FROM abc',
    "SELECT 'x' FROM abc",
    'SELECT x,y,* FROM abc',
    'SELECT x,*,y FROM abc',
    'SELECT z + x * y as z FROM abc',
    'SELECT (z + x) * y as z FROM abc',
    'SELECT a = b FROM abc',
    "SELECT a = 'b' FROM abc",
    'SELECT 1 = 1.1 FROM abc',
    'SELECT a.b.c.d.e, e FROM abc',
    'SELECT a[1].b FROM abc',
    'SELECT a.b.c[1] FROM abc',
    'SELECT a[-1].b FROM abc',
    'SELECT a[1][2].b[c] FROM abc',
    "SELECT a.1.'b' FROM abc",
    "SELECT a.'1.5' FROM abc",
    'SELECT 1.100 FROM abc',
    "SELECT a.b.c[1].'1'.100 FROM abc",
    'SELECT e.f as c.d[1] FROM abc',
    'SELECT a[e.f], a[e[1]], a[1][2][e] FROM abc',
    'SELECT [1..3] as a, a[1..3] as b, a[1..-1] as c, a.e[1..3], a[b][1..3] as r FROM abc',
    "SELECT 'hah' as c, a.b[1..3] as d FROM abc",
    'SELECT a b, a as b, x, * FROM "abc"',
    'SELECT -1, -1 as a, 1 + 1, x / y as e, nth(1,a) as a FROM "abc"',
    'SELECT a = \'1\' as a FROM "abc"',
    'SELECT case when a > b then a when a < b then 1 else 2 end as d FROM "abc"',
    'SELECT * FROM abc, e, f, g',
    "SELECT * FROM 'a','b','c'",
    'SELECT * FROM "foo \'bar\' bazz"',
    'SELECT * FROM \'foo "bar" bazz\'',
    'SELECT * FROM "abc" WHERE 1 = 1 and (a < 2 or 3 != 3)',
    'SELECT case when a = 1 then a when a = 2 then a else a-1 end FROM abc',
    'FOREACH range(1,2) as list, list FROM "abc" WHERE 1 = 1',
    'FOREACH a DO item.a as a FROM abc',
    'FOREACH a incase a > 1.2 or a < 0 FROM abc',
    'FOREACH a DO a INCASE a <> 1 FROM abc',
    'SELECT e as a[-0], e as b[0], e as c[-1] FROM abc',
    "SELECT [], [1], [1,2,3] as list, [a,1,'b',[3,3.4,e]], abc([1]) FROM abc",
  ];
  it.each(accepted)('accepts %s', (sql) => {
    expect(parseRule(sql).diagnostics).toBeUndefined();
  });

  const rejected = [
    'SELECT 1.b FROM abc',
    'SELECT [1].b FROM abc',
    'SELECT a[1].[2] FROM abc',
    'SELECT a.1.100 FROM abc',
    'SELECT a.b[1..3].c FROM abc',
    'SELECT a.[1][1..3].c FROM abc',
    'SELECT a as [1..3] FROM abc',
    'SELECT a as e[1..3] FROM abc',
    'SELECT * FROM abc ec',
  ];
  it.each(rejected)('rejects %s', (sql) => {
    expect(parseRule(sql).ast).toBeUndefined();
  });

  it('FROM keeps the other kind of quote inside a topic', () => {
    const topics = (sql: string) =>
      (ast(sql) as { from: { topic: string }[] }).from.map((f) => f.topic);
    expect(topics(`SELECT * FROM "'foo'", "bar'foo'"`)).toEqual(["'foo'", "bar'foo'"]);
    expect(topics(`SELECT * FROM '"foo"', 'bar"foo"'`)).toEqual(['"foo"', 'bar"foo"']);
  });

  it('a-1 is a minus b', () => {
    expect(selectExpr('a-1')).toEqual(arith('-', v('a'), int('1')));
  });
});

describe('errors (§1, §2, §9)', () => {
  const table: [string, string, string, RegExp?][] = [
    ['§1 empty SQL', '', 'sql_empty'],
    ['§1 whitespace-only SQL', ' \r\n\t ', 'sql_empty'],
    ['§1 _x identifier', 'SELECT _x FROM t', 'sql_lex_error', /must start with a letter/],
    ['§1 unterminated string', "SELECT 'a FROM t", 'sql_unterminated_string'],
    ['§1 unterminated quoted identifier', 'SELECT "a FROM t', 'sql_unterminated_string'],
    ['§1 10e2 fails conversion', 'SELECT 10e2 FROM t', 'sql_bad_number'],
    ['§1 12f fails conversion', 'SELECT 12f FROM t', 'sql_bad_number'],
    ['§1 1. is invalid', 'SELECT 1. FROM t', 'sql_bad_number'],
    ['§1 .5 is invalid', 'SELECT .5 FROM t', 'sql_bad_number'],
    ['§1 IF is reserved', 'SELECT if FROM t', 'sql_reserved_word'],
    ['§1 ELSIF is reserved', 'SELECT a FROM t WHERE elsif = 1', 'sql_reserved_word'],
    ['§1 keyword as alias', 'SELECT 1 AS from FROM t', 'sql_reserved_word'],
    ['§1 keyword as key', 'SELECT a.select FROM t', 'sql_reserved_word'],
    ['§1 comment on the last line', 'SELECT a FROM t -- c', 'sql_comment_on_last_line'],
    ['§1 comment on its own last line', 'SELECT a FROM t\n-- c', 'sql_comment_on_last_line'],
    [
      '§1 comment on last line that would parse',
      'SELECT a FROM t WHERE b = 1 -- 2',
      'sql_comment_on_last_line',
    ],
    ['§1 ~= is lexed but unsupported', 'SELECT a FROM t WHERE a ~= b', 'sql_unsupported_operator'],
    [
      '== is not an operator',
      'SELECT a FROM t WHERE a == b',
      'sql_unsupported_operator',
      /use `=`/,
    ],
    ['&& is not an operator', 'SELECT a FROM t WHERE a && b', 'sql_unsupported_operator'],
    ['|| is not an operator', 'SELECT a FROM t WHERE a || b', 'sql_unsupported_operator'],
    ['! is not an operator', 'SELECT a FROM t WHERE !a', 'sql_unsupported_operator'],
    ['§2 FROM is mandatory', 'SELECT a', 'sql_syntax_error', /expected FROM/],
    ['§2 FROM a b', 'SELECT a FROM a b', 'sql_syntax_error', /separated by commas/],
    ['§2 bare topic with /', 'SELECT a FROM a/b', 'sql_syntax_error', /must be quoted/],
    [
      '§2 trailing comma in select list',
      'SELECT a, FROM t',
      'sql_syntax_error',
      /trailing comma in the select list/,
    ],
    [
      '§2 trailing comma in FROM',
      'SELECT a FROM t,',
      'sql_syntax_error',
      /trailing comma in the FROM list/,
    ],
    ['§2 AND in a select item', 'SELECT a AND b FROM t', 'sql_select_item_not_allowed'],
    ['§2 OR in a select item', 'SELECT a OR b AS c FROM t', 'sql_select_item_not_allowed'],
    ['§2 NOT in a select item', 'SELECT NOT a FROM t', 'sql_select_item_not_allowed'],
    ['§2 IN in a select item', 'SELECT a IN (1) FROM t', 'sql_select_item_not_allowed'],
    [
      '§2 parenthesised AND in a select item',
      'SELECT (a AND b) FROM t',
      'sql_select_item_not_allowed',
    ],
    ['§2 AND in a DO item', 'FOREACH a DO a AND b FROM t', 'sql_select_item_not_allowed'],
    ['§2 AND in a FOREACH item', 'FOREACH a AND b FROM t', 'sql_select_item_not_allowed'],
    ['§2 CASE without WHEN', 'SELECT CASE END FROM t', 'sql_syntax_error'],
    [
      '§2 CASE missing THEN',
      'SELECT CASE WHEN a 1 END FROM t',
      'sql_syntax_error',
      /expected THEN/,
    ],
    ['§2 CASE missing END', 'SELECT CASE WHEN a THEN 1 FROM t', 'sql_syntax_error', /END/],
    ['§2 unbalanced (', 'SELECT f(a FROM t', 'sql_syntax_error', /missing `\)`/],
    ['§2 unbalanced )', 'SELECT a) FROM t', 'sql_syntax_error', /no matching `\(`/],
    ['§2 unbalanced [', 'SELECT [1, 2 FROM t', 'sql_syntax_error', /missing `\]`/],
    ['§2 empty IN list', 'SELECT a FROM t WHERE a IN ()', 'sql_syntax_error'],
    [
      '§2 must start with SELECT/FOREACH',
      'UPDATE t',
      'sql_syntax_error',
      /must start with SELECT or FOREACH/,
    ],
    ['§2 clause order', 'FOREACH a FROM t INCASE b', 'sql_syntax_error', /out of place/],
    ['§2 WHERE twice', 'SELECT a FROM t WHERE a WHERE b', 'sql_syntax_error'],
    ['§2 only name() or Module.name() are calls', 'SELECT a.b.c(1) FROM t', 'sql_bad_call'],
    ['§3.1 index must be integer or path', 'SELECT a[1 + 1] FROM t', 'sql_bad_index'],
    ['§3.1 string index', "SELECT a['x'] FROM t", 'sql_bad_index'],
    ['§3.2 alias index must be an integer', 'SELECT 1 AS a[i] FROM t', 'sql_bad_alias'],
    ['§3.2 no range in an alias', 'SELECT 1 AS a[1..2] FROM t', 'sql_bad_alias'],
    ['§3.1 a.1.5 is ambiguous', 'SELECT a.1.5 FROM t', 'sql_syntax_error', /ambiguous/],
    ['§3.1 a range ends a path', 'SELECT a[1..2].b FROM t', 'sql_syntax_error', /last step/],
    ['§3.2 alias must be a name', "SELECT 1 AS 'x' FROM t", 'sql_syntax_error'],
    ['navigating a call result', 'SELECT f(x).y FROM t', 'sql_syntax_error', /only a name can/],
    ['indexing a call result', 'SELECT f(x)[1] FROM t', 'sql_syntax_error', /only a name can/],
    [
      'missing comma between select items',
      'SELECT a b c FROM t',
      'sql_syntax_error',
      /missing `,`/,
    ],
    ['* inside a call', 'SELECT count(*) FROM t', 'sql_syntax_error', /whole select item/],
    [
      'ORDER BY is not rule SQL',
      'SELECT a FROM t ORDER BY a',
      'sql_syntax_error',
      /ORDER BY is not part/,
    ],
    ['LIMIT is not rule SQL', 'SELECT a FROM t LIMIT 1', 'sql_syntax_error', /LIMIT is not part/],
    ['missing key after dot', 'SELECT a. FROM t', 'sql_syntax_error', /key name after/],
    [
      'NOT without IN after an operand',
      'SELECT a FROM t WHERE x NOT y',
      'sql_syntax_error',
      /expected IN/,
    ],
    ['§6.1 a = b = c', 'SELECT a FROM t WHERE a = b = c', 'sql_syntax_error', /chained/],
    ['; is not part of a rule', 'SELECT a FROM t;', 'sql_lex_error'],
    ['# outside quotes', 'SELECT a FROM t/#', 'sql_lex_error'],
    ['§1 invalid UTF-8 (lone surrogate)', 'SELECT \uD800 FROM t', 'sql_invalid_utf8'],
  ];
  // 8,000 tokens: over the default max_sql_tokens (4,000), so the limit is lifted to reach the
  // depth guard behind it (the parser's stack overflow becomes sql_too_complex).
  const unlimited = (sql: string) => parseRule(sql, { maxTokens: 0 }).diagnostics![0]!;
  it('deep nesting', () => {
    expect(unlimited(`SELECT ${'('.repeat(4000)}1${')'.repeat(4000)} FROM t`).code).toBe(
      'sql_too_complex',
    );
    expect(diag(`SELECT ${'('.repeat(4000)}1${')'.repeat(4000)} FROM t`).code).toBe(
      'sql_too_large',
    );
  });
  it.each(table)('%s', (_name, sql, code, message) => {
    const d = diag(sql);
    expect(d.code).toBe(code);
    if (message !== undefined) expect(d.message).toMatch(message);
  });

  it('the shared parser instance still works after a too-deep statement', () => {
    expect(unlimited(`SELECT ${'('.repeat(4000)}1${')'.repeat(4000)} FROM t`).code).toBe(
      'sql_too_complex',
    );
    expect(ast('SELECT a FROM t WHERE (a + 1) * 2 > 3')).toEqual(
      ast('SELECT a FROM t WHERE (a + 1) * 2 > 3'),
    );
    expect(diag('SELECT a').message).toMatch(/expected FROM/);
  });

  it('very long statements stay linear, including their error messages', () => {
    // 4,000 tokens and more: the default max_sql_tokens is lifted here.
    const items = Array.from({ length: 2000 }, (_, i) => `a${i}`).join(', ');
    const long = parseRule(`SELECT ${items} FROM t`, { maxTokens: 0 }).ast as unknown as {
      fields: unknown[];
    };
    expect(long.fields).toHaveLength(2000);
    const d = parseRule(`SELECT ${items} FROM t WHERE a == 1`, { maxTokens: 0 }).diagnostics![0]!;
    expect(d.code).toBe('sql_unsupported_operator');
    expect(d.column).toBeGreaterThan(2000);
  });

  it('reports every semantic problem, in source order', () => {
    const r = parseRule('SELECT a AND b, 10e2, x[1 + 1], 1 AS y[z] FROM t');
    expect(r.diagnostics?.map((d) => d.code)).toEqual([
      'sql_select_item_not_allowed',
      'sql_bad_number',
      'sql_bad_index',
      'sql_bad_alias',
    ]);
  });

  it('§1 invalid UTF-8 bytes are rejected', () => {
    const r = parseRule(new Uint8Array([0x53, 0x45, 0xff, 0x4c]));
    expect(r.diagnostics?.[0]?.code).toBe('sql_invalid_utf8');
  });

  it('valid UTF-8 bytes parse like the string', () => {
    const r = parseRule(new TextEncoder().encode("SELECT 'héllo' AS x FROM t"));
    expect(r.ast).toBeDefined();
  });

  it('never throws on arbitrary junk', () => {
    for (const sql of [
      '(',
      ')',
      '[',
      "'",
      '"',
      'SELECT',
      'FROM',
      'SELECT (',
      'SELECT [',
      'SELECT CASE',
      'SELECT a FROM "t" WHERE (',
    ]) {
      expect(parseRule(sql).diagnostics?.length).toBeGreaterThan(0);
    }
  });
});
