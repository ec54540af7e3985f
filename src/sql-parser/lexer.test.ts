/** Lexer table: every rule of shared/spec/rule-sql.md §1. */
import { describe, expect, it } from 'vitest';
import { lexRule } from './lexer.js';

/** `Name:image` per token, e.g. `Identifier:e5`. */
function lex(text: string): string[] {
  const r = lexRule(text);
  if (r.errors.length > 0) throw new Error(`lex error at ${r.errors[0]?.offset} in ${text}`);
  return r.tokens.map((t) => `${t.tokenType.name}:${t.image}`);
}

function lexErrorAt(text: string): number | undefined {
  return lexRule(text).errors[0]?.offset;
}

describe('lexer (§1)', () => {
  const cases: [string, string, string[]][] = [
    // keywords: case-insensitive
    [
      '§1 keywords any case',
      'SELECT select SeLeCt',
      ['Select:SELECT', 'Select:select', 'Select:SeLeCt'],
    ],
    [
      '§1 all keywords',
      'FROM WHERE AS AND OR NOT IN CASE WHEN THEN ELSE END FOREACH DO INCASE IF ELSIF',
      [
        'From:FROM',
        'Where:WHERE',
        'As:AS',
        'And:AND',
        'Or:OR',
        'Not:NOT',
        'In:IN',
        'Case:CASE',
        'When:WHEN',
        'Then:THEN',
        'Else:ELSE',
        'End:END',
        'Foreach:FOREACH',
        'Do:DO',
        'Incase:INCASE',
        'If:IF',
        'Elsif:ELSIF',
      ],
    ],
    [
      '§1 keyword prefixes are identifiers (longer_alt)',
      'selection fromage inx incased ender dot iffy asx',
      [
        'Identifier:selection',
        'Identifier:fromage',
        'Identifier:inx',
        'Identifier:incased',
        'Identifier:ender',
        'Identifier:dot',
        'Identifier:iffy',
        'Identifier:asx',
      ],
    ],
    ['§1 INCASE vs IN', 'incase in', ['Incase:incase', 'In:in']],
    // div / mod lower-case only
    ['§1 div/mod lower-case are operators', 'div mod', ['Div:div', 'Mod:mod']],
    [
      '§1 DIV/Mod are identifiers',
      'DIV Mod MOD Div',
      ['Identifier:DIV', 'Identifier:Mod', 'Identifier:MOD', 'Identifier:Div'],
    ],
    ['§1 divide is an identifier', 'divide modulo', ['Identifier:divide', 'Identifier:modulo']],
    // identifiers
    ['§1 identifier chars', 'a1_$@~ B', ['Identifier:a1_$@~', 'Identifier:B']],
    [
      '§1 identifiers are case-sensitive text',
      'ClientId clientid',
      ['Identifier:ClientId', 'Identifier:clientid'],
    ],
    // quoted identifier
    ['§1 double quotes = quoted identifier', '"a/+/#"', ['QuotedIdent:"a/+/#"']],
    ['§1 quoted identifier with quote and space', `"it's here"`, [`QuotedIdent:"it's here"`]],
    // strings
    ['§1 string', "'abc'", ["StringLit:'abc'"]],
    ['§1 string, doubled quote kept in one token', "'it''s'", ["StringLit:'it''s'"]],
    ['§1 string, backslash not an escape', "'a\\n'", ["StringLit:'a\\n'"]],
    ['§1 string with raw newline', "'a\nb'", ["StringLit:'a\nb'"]],
    ['§1 empty string', "''", ["StringLit:''"]],
    // numbers
    ['§1 integer', '0 42 007', ['Integer:0', 'Integer:42', 'Integer:007']],
    ['§1 0x1F is 0 then identifier x1F', '0x1F', ['Integer:0', 'Identifier:x1F']],
    ['§1 float', '1.5 10.25', ['Float:1.5', 'Float:10.25']],
    ['§1 float exponent', '1.5e3 1.5E-3 2.0e+10', ['Float:1.5e3', 'Float:1.5E-3', 'Float:2.0e+10']],
    [
      '§1 float suffixes',
      '1.5f 1.5F 1.5d 1.5D',
      ['Float:1.5f', 'Float:1.5F', 'Float:1.5d', 'Float:1.5D'],
    ],
    ['§1 10e2 lexes as a float (conversion fails later)', '10e2', ['Float:10e2']],
    ['§1 1e5 is 1 then identifier e5', '1e5', ['Integer:1', 'Identifier:e5']],
    ['§1 1. is 1 then dot', '1.', ['Integer:1', 'Dot:.']],
    ['§1 .5 is dot then 5', '.5', ['Dot:.', 'Integer:5']],
    ['§1 negative number is minus then literal', '-5', ['Minus:-', 'Integer:5']],
    // booleans
    [
      '§1 only lower-case booleans',
      'true false TRUE False',
      ['True:true', 'False:false', 'Identifier:TRUE', 'Identifier:False'],
    ],
    ['§1 trueish is an identifier', 'truex falsey', ['Identifier:truex', 'Identifier:falsey']],
    ['§1 null is an identifier', 'null', ['Identifier:null']],
    // range
    [
      '§1 range token',
      '[1..4] [-1..-3] [0..10]',
      ['RangeTok:[1..4]', 'RangeTok:[-1..-3]', 'RangeTok:[0..10]'],
    ],
    [
      '§1 range with spaces is not a range token',
      '[1 ..4]',
      ['LBracket:[', 'Integer:1', 'Dot:.', 'Dot:.', 'Integer:4', 'RBracket:]'],
    ],
    // punctuation and operators
    [
      '§1 punctuation',
      '( ) [ ] , . + - * /',
      [
        'LParen:(',
        'RParen:)',
        'LBracket:[',
        'RBracket:]',
        'Comma:,',
        'Dot:.',
        'Plus:+',
        'Minus:-',
        'Star:*',
        'Slash:/',
      ],
    ],
    [
      '§1 comparison operators',
      '= != <> < > <= >= =~ ~=',
      [
        'Eq:=',
        'NotEq:!=',
        'LtGt:<>',
        'Lt:<',
        'Gt:>',
        'LtEq:<=',
        'GtEq:>=',
        'RegexMatch:=~',
        'TildeEq:~=',
      ],
    ],
    ['== is one (rejected) token', 'a==b', ['Identifier:a', 'DoubleEq:==', 'Identifier:b']],
    ['§1 operators without spaces', 'a<=b', ['Identifier:a', 'LtEq:<=', 'Identifier:b']],
    // comments and whitespace
    ['§1 comment to end of line', 'a -- note\nb', ['Identifier:a', 'Identifier:b']],
    [
      '§1 comment without newline is two minus signs',
      'a -- b',
      ['Identifier:a', 'Minus:-', 'Minus:-', 'Identifier:b'],
    ],
    ['§1 whitespace: space tab CR LF', 'a\t\r\n b', ['Identifier:a', 'Identifier:b']],
    ['§1 -- inside a string is not a comment', "'a--b'", ["StringLit:'a--b'"]],
  ];

  it.each(cases)('%s', (_name, text, expected) => {
    expect(lex(text)).toEqual(expected);
  });

  const errors: [string, string, number][] = [
    ['§1 _x cannot start an identifier', 'a _x', 2],
    ['§1 unterminated string', "a 'abc", 2],
    ['§1 unterminated quoted identifier', 'a "abc', 2],
    ['§1 no block comments / unknown char', 'a & b', 2],
    ['§1 semicolon is not a token', 'a;', 1],
    ['§1 non-ASCII letter', 'é', 0],
    ['§1 # outside quotes', 't/#', 2],
  ];

  it.each(errors)('%s', (_name, text, offset) => {
    expect(lexErrorAt(text)).toBe(offset);
  });

  it('reports token offsets into the given text (leading whitespace skipped)', () => {
    const r = lexRule('  \n SELECT a');
    expect(r.tokens.map((t) => t.startOffset)).toEqual([4, 11]);
  });
});
