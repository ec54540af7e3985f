/**
 * Friendly wording for lexer and parser failures. Long on purpose: each known mistake is a small
 * separate rule, kept in one ordered list so their priority is visible. Input: the failing position and what the
 * grammar would have accepted there; output: a stable code, one sentence (no location — the
 * Diagnostic carries that), the source span to underline and readable expected-token names.
 *
 * The checks run from most specific (a known mistake with a known fix, e.g. `==`, `FROM a b`,
 * a trailing comma, an unclosed parenthesis) to the generic "expected X, found Y".
 */
import { EOF, tokenMatcher, type IToken, type TokenType } from 'chevrotain';
import { editDistance } from '../core/index.js';
import type { SqlParserErrorCode } from './errors.js';
import * as T from './lexer.js';

export interface Problem {
  readonly code: SqlParserErrorCode;
  readonly message: string;
  readonly start: number;
  /** Exclusive end offset. */
  readonly end: number;
  readonly expected?: readonly string[];
}

// --- lexer -------------------------------------------------------------------------------------

/** Explain why `text` cannot be tokenised at `offset`. */
export function explainLexError(text: string, offset: number, length: number): Problem {
  const c = text[offset] ?? '';
  const next = text[offset + 1] ?? '';
  const lineEnd = (() => {
    const i = text.slice(offset).search(/[\r\n]/);
    return i < 0 ? text.length : offset + i;
  })();
  const at = (code: SqlParserErrorCode, message: string, len = Math.max(length, 1)): Problem => ({
    code,
    message,
    start: offset,
    end: offset + len,
  });
  switch (c) {
    case "'":
      return {
        ...at('sql_unterminated_string', "unterminated string literal: no closing `'`"),
        end: lineEnd,
      };
    case '"':
      return {
        ...at('sql_unterminated_string', 'unterminated quoted identifier: no closing `"`'),
        end: lineEnd,
      };
    case '_': {
      const word = /^_[A-Za-z0-9_$@~]*/.exec(text.slice(offset))?.[0] ?? '_';
      return at(
        'sql_lex_error',
        `identifiers must start with a letter: \`${word}\` is not a valid name (quote it as "${word}")`,
        word.length,
      );
    }
    case '&':
      return next === '&'
        ? at('sql_unsupported_operator', '`&&` is not an operator; use AND', 2)
        : at(
            'sql_unsupported_operator',
            '`&` is not an operator; use AND (or bitand(a, b) for bits)',
          );
    case '|':
      return next === '|'
        ? at(
            'sql_unsupported_operator',
            '`||` is not an operator; use OR (to join strings use + or concat())',
            2,
          )
        : at(
            'sql_unsupported_operator',
            '`|` is not an operator; use OR (or bitor(a, b) for bits)',
          );
    case '!':
      return at(
        'sql_unsupported_operator',
        '`!` is not an operator; use NOT (or `!=` for "not equal")',
      );
    case ';':
      return at('sql_lex_error', 'unexpected `;`: a rule is a single statement and takes no `;`');
    case '#':
      return at(
        'sql_lex_error',
        'unexpected `#`: topic filters with `/`, `#` or `+` must be quoted, e.g. FROM "t/#"',
      );
    case '$':
      return at(
        'sql_lex_error',
        'unexpected `$`: topics starting with `$` must be quoted, e.g. FROM "$events/client_connected"',
      );
    case '`':
      return at(
        'sql_lex_error',
        'backticks are not quotes in rule SQL: write "name" for a column and \'text\' for a string',
      );
    default: {
      const ch = String.fromCodePoint(text.codePointAt(offset) ?? 0);
      if (/\p{L}/u.test(ch)) {
        return at(
          'sql_lex_error',
          `unexpected character \`${ch}\`: names may only use ASCII letters, digits, _, $, @ and ~; ` +
            'quote other names as "name"',
          ch.length,
        );
      }
      return at('sql_lex_error', `unexpected character \`${ch}\``, ch.length);
    }
  }
}

// --- parser ------------------------------------------------------------------------------------

/** Structural tokens listed by name in "expected …", in this order. */
const STRUCTURAL: readonly TokenType[] = [
  T.From,
  T.Where,
  T.Do,
  T.Incase,
  T.When,
  T.Then,
  T.Else,
  T.End,
  T.As,
  T.Comma,
  T.RParen,
  T.RBracket,
  T.LParen,
  T.In,
];

const OPERATORS = new Set<TokenType>([
  T.CompareOp,
  T.Eq,
  T.NotEq,
  T.LtGt,
  T.Lt,
  T.Gt,
  T.LtEq,
  T.GtEq,
  T.RegexMatch,
  T.Plus,
  T.Minus,
  T.Star,
  T.Slash,
  T.Div,
  T.Mod,
  T.And,
  T.Or,
  T.Not,
  T.In,
  T.Dot,
  T.LBracket,
  T.RangeTok,
]);

const is = (t: IToken | undefined, type: TokenType): boolean =>
  t !== undefined && tokenMatcher(t, type);
const isEof = (t: IToken | undefined): boolean => t === undefined || t.tokenType === EOF;

/** `keyword FROM`, `identifier foo`, `end of input`, … */
export function describeToken(t: IToken | undefined): string {
  if (isEof(t)) return 'end of input';
  const tok = t as IToken;
  const oneLine = tok.image.replace(/\r\n|\r|\n/g, '⏎');
  const img = oneLine.length > 40 ? `${oneLine.slice(0, 37)}...` : oneLine;
  if (tokenMatcher(tok, T.Keyword)) return `keyword \`${img}\``;
  switch (tok.tokenType) {
    case T.Identifier:
      return `identifier \`${img}\``;
    case T.QuotedIdent:
      return `quoted identifier \`${img}\``;
    case T.StringLit:
      return `string \`${img}\``;
    case T.Integer:
    case T.Float:
      return `number \`${img}\``;
    default:
      return `\`${img}\``;
  }
}

function readable(t: TokenType): string {
  return String(t.LABEL ?? t.name);
}

/** Readable, de-noised list of what could come next. */
export function summariseExpected(
  types: readonly TokenType[],
  prev: IToken | undefined,
  endAllowed: boolean,
): string[] {
  const set = new Set(types);
  const out: string[] = [];
  if (is(prev, T.As)) return ['an alias name'];
  if (is(prev, T.Dot)) return ['a key name'];
  if (set.has(T.Integer)) {
    if (set.has(T.Star)) out.push("'*'");
    out.push('an expression');
  }
  const structural = STRUCTURAL.filter((s) => set.has(s));
  // `(` (a call) and IN can follow almost any expression; list them only when nothing else fits.
  const noisy = new Set<TokenType>([T.LParen, T.In]);
  const strong = structural.filter((s) => !noisy.has(s));
  const shown = strong.length > 0 || set.has(T.Integer) ? strong : structural;
  for (const s of shown) out.push(readable(s));
  if (!set.has(T.Integer) && set.has(T.Identifier) && is(prev, T.From)) out.push('a topic');
  const operator = [...set].some((t) => OPERATORS.has(t) && t !== T.In && t !== T.LBracket);
  if (strong.length === 0 && !set.has(T.Integer) && operator) {
    out.splice(0, out.length, ...out.filter((x) => x !== "'('" && x !== 'IN'), 'an operator');
  }
  if (endAllowed) out.push('end of input');
  if (out.length === 0 && set.has(T.Identifier)) out.push('a name');
  return out;
}

function joinOr(items: readonly string[]): string {
  if (items.length <= 1) return items[0] ?? 'something else';
  return `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

/** `did you mean WHERE?` when an identifier is a near-miss of an expected keyword. */
function keywordTypo(word: IToken | undefined, expected: readonly TokenType[]): string | undefined {
  if (word === undefined || word.tokenType !== T.Identifier || word.image.length < 2)
    return undefined;
  const w = word.image.toUpperCase();
  for (const t of expected) {
    if (!T.keywordTokens.includes(t)) continue;
    const k = readable(t);
    if (w !== k && editDistance(w, k) <= (k.length <= 3 ? 1 : 2)) return k;
  }
  return undefined;
}

/** Index in `tokens` of the innermost unmatched opener of `open`/`close` before `upto`. */
function unmatchedOpener(
  tokens: readonly IToken[],
  upto: number,
  open: TokenType,
  close: TokenType,
): IToken | undefined {
  const stack: IToken[] = [];
  for (let i = 0; i < upto; i++) {
    const t = tokens[i] as IToken;
    if (tokenMatcher(t, open)) stack.push(t);
    else if (tokenMatcher(t, close)) stack.pop();
  }
  return stack[stack.length - 1];
}

const adjacent = (a: IToken | undefined, b: IToken | undefined): boolean =>
  a !== undefined && b !== undefined && a.startOffset + a.image.length === b.startOffset;

/** The innermost `(` or `[` still open before `upto`, with its index. */
function innermostOpener(
  tokens: readonly IToken[],
  upto: number,
): { token: IToken; index: number } | undefined {
  const stack: number[] = [];
  for (let i = 0; i < upto; i++) {
    const t = tokens[i] as IToken;
    if (tokenMatcher(t, T.LParen) || tokenMatcher(t, T.LBracket)) stack.push(i);
    else if (tokenMatcher(t, T.RParen) || tokenMatcher(t, T.RBracket)) stack.pop();
  }
  const i = stack[stack.length - 1];
  return i === undefined ? undefined : { token: tokens[i] as IToken, index: i };
}

/** The last keyword before index `upto` at paren depth 0 relative to `upto`. */
function lastClauseKeyword(tokens: readonly IToken[], upto: number): IToken | undefined {
  let depth = 0;
  for (let i = upto - 1; i >= 0; i--) {
    const t = tokens[i] as IToken;
    if (tokenMatcher(t, T.RParen) || tokenMatcher(t, T.RBracket)) depth++;
    else if (tokenMatcher(t, T.LParen) || tokenMatcher(t, T.LBracket)) depth--;
    else if (depth <= 0 && tokenMatcher(t, T.Keyword)) return t;
  }
  return undefined;
}

/** True when a comparison operator precedes `upto` inside the same (parenthesised) operand. */
function comparisonBefore(tokens: readonly IToken[], upto: number): boolean {
  let depth = 0;
  for (let i = upto - 1; i >= 0; i--) {
    const t = tokens[i] as IToken;
    if (tokenMatcher(t, T.RParen) || tokenMatcher(t, T.RBracket)) depth++;
    else if (tokenMatcher(t, T.LParen) || tokenMatcher(t, T.LBracket)) {
      if (depth === 0) return false;
      depth--;
    } else if (depth === 0) {
      if (tokenMatcher(t, T.CompareOp)) return true;
      if (tokenMatcher(t, T.Keyword) || tokenMatcher(t, T.Comma)) return false;
    }
  }
  return false;
}

function where(t: IToken, lineOf: (offset: number) => { line: number; column: number }): string {
  const p = lineOf(t.startOffset);
  return `line ${p.line}, column ${p.column}`;
}

export interface SyntaxFailure {
  /** Index in `tokens` of the offending token (`tokens.length` for end of input). */
  readonly index: number;
  /** Token types the grammar accepts at that point. */
  readonly expected: readonly TokenType[];
  /** True when the statement could have ended there. */
  readonly endAllowed: boolean;
}

/** Explain a syntax error at `f.index` of `tokens`. `textEnd` is the offset of end of input. */
export function explainSyntaxError(
  text: string,
  tokens: readonly IToken[],
  f: SyntaxFailure,
  textEnd: number,
  lineOf: (offset: number) => { line: number; column: number },
): Problem {
  const found = tokens[f.index];
  const prev = f.index > 0 ? tokens[f.index - 1] : undefined;
  const start = found === undefined ? textEnd : found.startOffset;
  const end = found === undefined ? textEnd : found.startOffset + found.image.length;
  const expectedNames = summariseExpected(f.expected, prev, f.endAllowed);
  const exp = new Set(f.expected);
  const foundText = describeToken(found);
  const p = (code: SqlParserErrorCode, message: string, s = start, e = end): Problem => ({
    code,
    message,
    start: s,
    end: e,
    ...(expectedNames.length > 0 ? { expected: expectedNames } : {}),
  });

  if (is(found, T.DoubleEq))
    return p('sql_unsupported_operator', '`==` is not an operator; use `=`');
  if (is(found, T.TildeEq)) {
    return p(
      'sql_unsupported_operator',
      '`~=` is not supported; use `=~` for a regular-expression match',
    );
  }
  const tok = found as IToken;
  if (is(found, T.If) || is(found, T.Elsif)) {
    return p(
      'sql_reserved_word',
      `\`${tok.image}\` is a reserved word and cannot be used as a name; quote it as "${tok.image}"`,
    );
  }
  if (is(found, T.Keyword) && is(prev, T.As)) {
    return p(
      'sql_reserved_word',
      `\`${tok.image}\` is a reserved word and cannot be used as an alias; quote it: AS "${tok.image}"`,
    );
  }
  if (is(found, T.Keyword) && is(prev, T.Dot) && !adjacent(prev, found)) {
    return p('sql_syntax_error', `expected a key name after \`.\`, found ${foundText}`);
  }
  if (is(found, T.Keyword) && is(prev, T.Dot)) {
    return p(
      'sql_reserved_word',
      `\`${tok.image}\` is a reserved word and cannot be used as a key; quote it: .'${tok.image}'`,
    );
  }
  const clause = lastClauseKeyword(tokens, f.index);
  const inFrom = is(clause, T.From);
  if (is(prev, T.Comma) && (exp.has(T.Integer) || inFrom)) {
    const opener = innermostOpener(tokens, f.index);
    const list =
      opener === undefined
        ? inFrom
          ? 'FROM list'
          : is(clause, T.Do)
            ? 'DO list'
            : is(clause, T.Foreach)
              ? 'FOREACH list'
              : 'select list'
        : is(opener.token, T.LBracket)
          ? 'list'
          : is(tokens[opener.index - 1], T.In)
            ? 'IN list'
            : 'argument list';
    return p(
      'sql_syntax_error',
      `trailing comma in the ${list}: expected another item after \`,\`, found ${foundText}`,
      (prev as IToken).startOffset,
      end,
    );
  }
  if (is(found, T.CompareOp) && !exp.has(T.Integer) && comparisonBefore(tokens, f.index)) {
    return p(
      'sql_syntax_error',
      'comparisons cannot be chained (`a = b = c`); combine them with AND: `a = b AND b = c`',
    );
  }
  if (
    (is(found, T.Dot) || is(found, T.LBracket) || is(found, T.RangeTok)) &&
    (is(prev, T.RParen) ||
      is(prev, T.RBracket) ||
      is(prev, T.End) ||
      ([T.Integer, T.Float, T.StringLit, T.True, T.False].some((k) => is(prev, k)) &&
        [T.Identifier, T.QuotedIdent, T.StringLit].some((k) => is(tokens[f.index + 1], k))))
  ) {
    return p(
      'sql_syntax_error',
      `only a name can be followed by \`${tok.image}\`: the result of a call, list, parenthesised ` +
        'expression or literal cannot be navigated; alias it first (SELECT f(…) AS v, v.key …) or use ' +
        "map_get('key', …) / nth(n, …)",
    );
  }
  if (is(found, T.Star) && exp.has(T.Integer)) {
    return p(
      'sql_syntax_error',
      '`*` is only allowed as a whole select item (SELECT *, …), not inside an expression',
    );
  }
  const unsupported = /^(ORDER|GROUP|LIMIT|HAVING|JOIN|UNION|OFFSET)$/i.exec(
    is(found, T.Identifier) ? tok.image : '',
  );
  if (unsupported !== null) {
    const clauseName = unsupported[1]?.toUpperCase() ?? '';
    const by = clauseName === 'ORDER' || clauseName === 'GROUP' ? ' BY' : '';
    return p(
      'sql_syntax_error',
      `${clauseName}${by} is not part of rule SQL: a rule is SELECT … FROM … [WHERE …] or ` +
        'FOREACH … [DO …] [INCASE …] FROM … [WHERE …]',
    );
  }
  const typoKw = keywordTypo(found, f.expected);
  if (typoKw !== undefined) {
    return p('sql_syntax_error', `unexpected ${foundText}: did you mean ${typoKw}?`);
  }
  if (is(found, T.Dot) && is(prev, T.Integer) && adjacent(prev, found)) {
    const digits = (prev as IToken).image;
    return p(
      'sql_bad_number',
      `\`${digits}.\` is not a valid number: write \`${digits}.0\` (or \`${digits}\`)`,
      (prev as IToken).startOffset,
      end,
    );
  }
  if (
    is(found, T.Dot) &&
    is(tokens[f.index + 1], T.Integer) &&
    adjacent(tok, tokens[f.index + 1])
  ) {
    const digits = (tokens[f.index + 1] as IToken).image;
    return p(
      'sql_bad_number',
      `\`.${digits}\` is not a valid number: write \`0.${digits}\``,
      start,
      start + 1 + digits.length,
    );
  }
  if (is(prev, T.Case) && exp.has(T.When)) {
    return p(
      'sql_syntax_error',
      `expected WHEN (or a value to compare) after CASE, found ${foundText}`,
    );
  }
  if (inFrom && exp.has(T.Comma) && prev !== undefined && !is(prev, T.From)) {
    if (is(found, T.Identifier) || is(found, T.QuotedIdent) || is(found, T.StringLit)) {
      return p(
        'sql_syntax_error',
        `FROM entries must be separated by commas: found ${foundText} after \`${prev.image}\``,
      );
    }
    if (is(found, T.Slash) || is(found, T.Plus)) {
      const topic = /^[^\s,]*/.exec(text.slice(prev.startOffset))?.[0] ?? prev.image;
      return p(
        'sql_syntax_error',
        `a topic containing \`${tok.image}\` must be quoted: FROM "${topic}"`,
      );
    }
  }
  if (is(found, T.RParen) && unmatchedOpener(tokens, f.index, T.LParen, T.RParen) === undefined) {
    return p('sql_syntax_error', 'unbalanced `)`: there is no matching `(`');
  }
  if (
    is(found, T.RBracket) &&
    unmatchedOpener(tokens, f.index, T.LBracket, T.RBracket) === undefined
  ) {
    return p('sql_syntax_error', 'unbalanced `]`: there is no matching `[`');
  }
  if (exp.has(T.RParen) && !exp.has(T.Integer)) {
    const open = unmatchedOpener(tokens, f.index, T.LParen, T.RParen);
    if (open !== undefined) {
      return p(
        'sql_syntax_error',
        `missing \`)\` to close the \`(\` at ${where(open, lineOf)}; found ${foundText}`,
      );
    }
  }
  if (exp.has(T.RBracket) && !exp.has(T.Integer)) {
    const open = unmatchedOpener(tokens, f.index, T.LBracket, T.RBracket);
    if (open !== undefined) {
      return p(
        'sql_syntax_error',
        `missing \`]\` to close the \`[\` at ${where(open, lineOf)}; found ${foundText}`,
      );
    }
  }
  if (exp.has(T.Then) && !exp.has(T.Integer)) {
    return p('sql_syntax_error', `expected THEN after the WHEN condition, found ${foundText}`);
  }
  if (exp.has(T.End) && !exp.has(T.Integer)) {
    const open = unmatchedOpener(tokens, f.index, T.Case, T.End);
    const at = open === undefined ? '' : ` that starts at ${where(open, lineOf)}`;
    return p(
      'sql_syntax_error',
      `expected WHEN, ELSE or END to continue the CASE${at}, found ${foundText}`,
    );
  }
  const clauseKw = [T.From, T.Where, T.Do, T.Incase];
  if (clauseKw.some((k) => is(found, k)) && !exp.has(tok.tokenType) && !exp.has(T.Integer)) {
    const foreach = is(tokens[0], T.Foreach);
    const order = foreach
      ? 'FOREACH … [DO …] [INCASE …] FROM … [WHERE …]'
      : 'SELECT … FROM … [WHERE …]';
    return p(
      'sql_syntax_error',
      `${tok.image.toUpperCase()} is out of place: the clause order is ${order}`,
    );
  }
  if (f.index === 0) {
    return p('sql_syntax_error', `a rule must start with SELECT or FOREACH, found ${foundText}`);
  }
  const typo = keywordTypo(prev, [T.From]);
  const hint =
    typo === undefined
      ? ''
      : ` (\`${(prev as IToken).image}\` was read as an alias; did you mean ${typo}?)`;
  const missingComma =
    exp.has(T.Comma) &&
    is(prev, T.Identifier) &&
    [T.Identifier, T.QuotedIdent, T.StringLit, T.Integer, T.Float].some((k) => is(found, k));
  const commaHint = missingComma && typo === undefined ? ' (missing `,` between items?)' : '';
  if (exp.has(T.From) && !exp.has(T.Integer)) {
    const list = exp.has(T.Do) || exp.has(T.Incase) ? 'FOREACH list' : 'select list';
    const what = exp.has(T.Do)
      ? 'DO, INCASE or FROM'
      : exp.has(T.Incase)
        ? 'INCASE or FROM'
        : 'FROM';
    return p(
      'sql_syntax_error',
      `expected ${what} after the ${list}, found ${foundText}${hint}${commaHint}`,
    );
  }
  if (exp.has(T.Integer) && is(found, T.Keyword)) {
    return p('sql_syntax_error', `expected an expression, found ${foundText}${hint}`);
  }
  return p('sql_syntax_error', `expected ${joinOr(expectedNames)}, found ${foundText}${hint}`);
}
