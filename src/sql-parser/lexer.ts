/**
 * Rule-SQL tokens (shared/spec/rule-sql.md §1), built with Chevrotain.
 *
 * Contract: `lexRule(text)` tokenises text that the caller has already right-trimmed (§1: trailing
 * spaces, tabs, CR and LF are removed before lexing — which is why a `--` comment on the last line
 * has no line break to end it). Leading whitespace is skipped like any other whitespace, so token
 * offsets are offsets into the caller's original string.
 *
 * Ordering rules that matter (Chevrotain takes the first pattern that matches, not the longest):
 * - keywords come before `Identifier` and carry `longer_alt: Identifier`, so `selection` is an
 *   identifier and `SELECT`/`select`/`Select` are the keyword (CONVENTIONS.md #2);
 * - `INCASE` before `IN`, `ELSIF` before `ELSE`-prefixed words is not needed (they differ early);
 * - `Range` (`[1..-1]`) before `[`; `Float` before `Integer`; `Comment` before `-`;
 * - two-character operators before their one-character prefixes.
 */
import { createToken, Lexer, type IToken, type TokenType } from 'chevrotain';

/** Abstract category of every reserved word (used by diagnostics and the reserved-word check). */
export const Keyword = createToken({ name: 'Keyword', pattern: Lexer.NA });
/** Abstract category of the comparison operators of §6.1. */
export const CompareOp = createToken({ name: 'CompareOp', pattern: Lexer.NA });
/** Abstract category of operators we lex only to report them clearly (`==`, `~=`). */
export const BadOperator = createToken({ name: 'BadOperator', pattern: Lexer.NA });

export const WhiteSpace = createToken({
  name: 'WhiteSpace',
  pattern: /[ \t\r\n]+/,
  group: Lexer.SKIPPED,
  line_breaks: true,
});

/** `--` to end of line, *including* the line break (§1): a comment needs a newline after it. */
export const Comment = createToken({
  name: 'Comment',
  pattern: /--[^\n]*\n/,
  group: Lexer.SKIPPED,
  line_breaks: true,
});

/** `'…'`: no escapes; doubled `''` accepted but not collapsed (§1). May span lines. */
export const StringLit = createToken({
  name: 'StringLit',
  pattern: /'(?:[^']|'')*'/,
  line_breaks: true,
  label: 'string',
});

/** `"…"`: a quoted identifier, never a string (§1). */
export const QuotedIdent = createToken({
  name: 'QuotedIdent',
  pattern: /"(?:[^"]|"")*"/,
  line_breaks: true,
  label: 'quoted identifier',
});

/** `[m..n]` with optionally negative integer bounds and no spaces: one token (§1). */
export const RangeTok = createToken({
  name: 'RangeTok',
  pattern: /\[-?\d+\.\.-?\d+\]/,
  label: 'range',
});

const floatRe = /\d+\.?\d+(?:[eE][+-]?\d+)?[fFdD]?/y;
/**
 * Float (§1): digits, optional `.`, digits (at least two digits in total), optional exponent,
 * optional suffix. A match made only of digits is left to `Integer`. `10e2` (exponent, no dot) is
 * still lexed as a Float so that the AST builder can report `sql_bad_number`, as EMQX fails its
 * conversion; `1e5` has one digit only, so it lexes as `1` followed by the identifier `e5`.
 */
export const Float = createToken({
  name: 'Float',
  pattern: {
    exec: (text: string, offset: number): RegExpExecArray | null => {
      floatRe.lastIndex = offset;
      const m = floatRe.exec(text);
      if (m === null || /^\d+$/.test(m[0])) return null;
      return m;
    },
  },
  line_breaks: false,
  start_chars_hint: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  label: 'number',
});

/** Decimal digits only; `0x1F` is `0` then the identifier `x1F` (§1). */
export const Integer = createToken({ name: 'Integer', pattern: /\d+/, label: 'integer' });

/** A letter, then letters, digits, `_ $ @ ~` (§1). Case-sensitive. */
export const Identifier = createToken({
  name: 'Identifier',
  pattern: /[A-Za-z][A-Za-z0-9_$@~]*/,
  label: 'identifier',
});

function keyword(word: string): TokenType {
  return createToken({
    name: word[0] + word.slice(1).toLowerCase(),
    pattern: new RegExp(word, 'i'),
    longer_alt: Identifier,
    categories: [Keyword],
    label: word,
  });
}

export const Select = keyword('SELECT');
export const From = keyword('FROM');
export const Where = keyword('WHERE');
export const As = keyword('AS');
export const And = keyword('AND');
export const Or = keyword('OR');
export const Not = keyword('NOT');
export const Incase = keyword('INCASE');
export const In = keyword('IN');
export const Case = keyword('CASE');
export const When = keyword('WHEN');
export const Then = keyword('THEN');
export const Elsif = keyword('ELSIF');
export const Else = keyword('ELSE');
export const End = keyword('END');
export const Foreach = keyword('FOREACH');
export const Do = keyword('DO');
/** Reserved although no statement uses it (§1): `SELECT if …` is a syntax error. */
export const If = keyword('IF');

/** `div` / `mod`: operators, lower-case only (§1); `DIV` is an identifier. */
export const Div = createToken({
  name: 'Div',
  pattern: /div/,
  longer_alt: Identifier,
  label: 'div',
});
export const Mod = createToken({
  name: 'Mod',
  pattern: /mod/,
  longer_alt: Identifier,
  label: 'mod',
});
/** Only the exact lower-case words are booleans (§1); `TRUE` is an identifier. */
export const True = createToken({
  name: 'True',
  pattern: /true/,
  longer_alt: Identifier,
  label: 'true',
});
export const False = createToken({
  name: 'False',
  pattern: /false/,
  longer_alt: Identifier,
  label: 'false',
});

function op(name: string, text: string, categories: TokenType[] = []): TokenType {
  return createToken({
    name,
    pattern: text,
    categories,
    label: `'${text}'`,
  });
}

export const DoubleEq = op('DoubleEq', '==', [BadOperator]);
export const RegexMatch = op('RegexMatch', '=~', [CompareOp]);
export const Eq = op('Eq', '=', [CompareOp]);
export const NotEq = op('NotEq', '!=', [CompareOp]);
export const LtGt = op('LtGt', '<>', [CompareOp]);
export const LtEq = op('LtEq', '<=', [CompareOp]);
export const Lt = op('Lt', '<', [CompareOp]);
export const GtEq = op('GtEq', '>=', [CompareOp]);
export const Gt = op('Gt', '>', [CompareOp]);
/** Lexed by EMQX but unsupported by its evaluator (§1); we reject it at parse time. */
export const TildeEq = op('TildeEq', '~=', [BadOperator]);

export const LParen = op('LParen', '(');
export const RParen = op('RParen', ')');
export const LBracket = op('LBracket', '[');
export const RBracket = op('RBracket', ']');
export const Comma = op('Comma', ',');
export const Dot = op('Dot', '.');
export const Plus = op('Plus', '+');
export const Minus = op('Minus', '-');
export const Star = op('Star', '*');
export const Slash = op('Slash', '/');

/** Every keyword token, in lexer order. */
export const keywordTokens: readonly TokenType[] = [
  Select,
  From,
  Where,
  As,
  And,
  Or,
  Not,
  Incase,
  In,
  Case,
  When,
  Then,
  Elsif,
  Else,
  End,
  Foreach,
  Do,
  If,
];

/** Upper-case spellings of every reserved word (§1). */
export const RESERVED_WORDS: readonly string[] = keywordTokens.map((t) => String(t.LABEL));

/** The full vocabulary, in matching order. */
export const allTokens: readonly TokenType[] = [
  WhiteSpace,
  Comment,
  StringLit,
  QuotedIdent,
  RangeTok,
  Float,
  Integer,
  ...keywordTokens,
  Div,
  Mod,
  True,
  False,
  Identifier,
  DoubleEq,
  RegexMatch,
  Eq,
  NotEq,
  LtGt,
  LtEq,
  Lt,
  GtEq,
  Gt,
  TildeEq,
  LParen,
  RParen,
  LBracket,
  RBracket,
  Comma,
  Dot,
  Plus,
  Minus,
  Star,
  Slash,
  Keyword,
  CompareOp,
  BadOperator,
];

/** Built once per process; a bad token definition throws here, at module load (CI catches it). */
const lexer = new Lexer(allTokens as TokenType[], {
  positionTracking: 'full',
  recoveryEnabled: false,
  ensureOptimizations: true,
});

export interface LexError {
  readonly offset: number;
  readonly length: number;
}

export interface LexResult {
  readonly tokens: IToken[];
  /** Empty on success; otherwise the first unlexable position (the lexer halts there). */
  readonly errors: readonly LexError[];
}

/** Tokenise already right-trimmed rule text. Never throws on bad input. */
export function lexRule(text: string): LexResult {
  const r = lexer.tokenize(text);
  return {
    tokens: r.tokens,
    errors: r.errors.map((e) => ({ offset: e.offset, length: e.length })),
  };
}
