/**
 * Rule-SQL grammar (shared/spec/rule-sql.md §2, §3, §6.1) as a Chevrotain CstParser.
 *
 * Grammar only: no actions. `ast-builder.ts` turns the CST into the typed AST and performs the
 * checks a context-free grammar expresses poorly (what a select item may be, what an alias index
 * may be, number conversion). One instance per process; `performSelfAnalysis()` runs at module
 * load, so a broken grammar fails the first test that imports it (CONVENTIONS.md #2).
 *
 * Expression levels (low → high, §6.1): OR < AND < NOT < comparison (non-associative; also
 * `[NOT] IN (…)`) < `+ -` < `* / div mod` < unary `+ -` < postfix paths / primaries.
 * Every position accepts a full expression; EMQX's stricter "no AND/OR/NOT/IN in a select item"
 * rule is enforced by the AST builder with its own diagnostic.
 */
import {
  CstParser,
  type CstNode,
  createTokenInstance,
  Lexer,
  type IParserErrorMessageProvider,
  type IToken,
  type TokenType,
} from 'chevrotain';
import * as T from './lexer.js';

/**
 * Chevrotain builds a message per error; we instead record the structured facts (rule name,
 * expected token types) as JSON so diagnostics.ts can phrase its own message.
 */
export interface RawParseError {
  readonly kind: 'mismatch' | 'noViableAlt' | 'earlyExit' | 'notAllInput';
  readonly ruleName: string;
  readonly expected: readonly string[];
}

const names = (types: readonly TokenType[]): string[] => types.map((t) => t.name);

const errorMessageProvider: IParserErrorMessageProvider = {
  buildMismatchTokenMessage: (o) =>
    JSON.stringify({ kind: 'mismatch', ruleName: o.ruleName, expected: [o.expected.name] }),
  buildNotAllInputParsedMessage: (o) =>
    JSON.stringify({ kind: 'notAllInput', ruleName: o.ruleName, expected: [] }),
  buildNoViableAltMessage: (o) =>
    JSON.stringify({
      kind: 'noViableAlt',
      ruleName: o.ruleName,
      expected: o.expectedPathsPerAlt.flatMap((alt) => alt.map((p) => p[0]?.name ?? 'EOF')),
    }),
  buildEarlyExitMessage: (o) =>
    JSON.stringify({
      kind: 'earlyExit',
      ruleName: o.ruleName,
      expected: o.expectedIterationPaths.flatMap((p) => names(p.slice(0, 1))),
    }),
};

class RuleSqlParser extends CstParser {
  constructor() {
    super(T.allTokens as TokenType[], {
      recoveryEnabled: false,
      nodeLocationTracking: 'onlyOffset',
      errorMessageProvider,
      maxLookahead: 3,
    });
    this.performSelfAnalysis();
  }

  // --- statements (§2) ------------------------------------------------------------------------

  public statement = this.RULE('statement', () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.selectStatement) },
      { ALT: () => this.SUBRULE(this.foreachStatement) },
    ]);
  });

  private selectStatement = this.RULE('selectStatement', () => {
    this.CONSUME(T.Select);
    this.SUBRULE(this.fieldList, { LABEL: 'fields' });
    this.SUBRULE(this.fromClause);
    this.OPTION(() => {
      this.CONSUME(T.Where);
      this.SUBRULE(this.expression, { LABEL: 'where' });
    });
  });

  private foreachStatement = this.RULE('foreachStatement', () => {
    this.CONSUME(T.Foreach);
    this.SUBRULE(this.fieldList, { LABEL: 'fields' });
    this.OPTION(() => {
      this.CONSUME(T.Do);
      this.SUBRULE2(this.fieldList, { LABEL: 'do' });
    });
    this.OPTION2(() => {
      this.CONSUME(T.Incase);
      this.SUBRULE(this.expression, { LABEL: 'incase' });
    });
    this.SUBRULE(this.fromClause);
    this.OPTION3(() => {
      this.CONSUME(T.Where);
      this.SUBRULE2(this.expression, { LABEL: 'where' });
    });
  });

  private fieldList = this.RULE('fieldList', () => {
    this.AT_LEAST_ONE_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.selectItem) });
  });

  private selectItem = this.RULE('selectItem', () => {
    this.OR([
      { ALT: () => this.CONSUME(T.Star) },
      {
        ALT: () => {
          this.SUBRULE(this.expression);
          this.OPTION(() => {
            this.OPTION2(() => this.CONSUME(T.As));
            this.SUBRULE(this.aliasTarget);
          });
        },
      },
    ]);
  });

  /** `name`, `"name"`, then `.key` / `[int]` / `[-int]` segments (§3.2). */
  private aliasTarget = this.RULE('aliasTarget', () => {
    this.OR([
      { ALT: () => this.CONSUME(T.Identifier, { LABEL: 'root' }) },
      { ALT: () => this.CONSUME(T.QuotedIdent, { LABEL: 'root' }) },
      { ALT: () => this.CONSUME(T.True, { LABEL: 'root' }) },
      { ALT: () => this.CONSUME(T.False, { LABEL: 'root' }) },
    ]);
    // Same segments as a path; the AST builder rejects what an alias cannot hold (ranges,
    // non-integer indexes).
    this.MANY(() => this.SUBRULE(this.pathSegment));
  });

  private fromClause = this.RULE('fromClause', () => {
    this.CONSUME(T.From);
    this.AT_LEAST_ONE_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.fromEntry) });
  });

  private fromEntry = this.RULE('fromEntry', () => {
    this.OR([
      { ALT: () => this.CONSUME(T.QuotedIdent) },
      { ALT: () => this.CONSUME(T.StringLit) },
      { ALT: () => this.CONSUME(T.Identifier) },
    ]);
  });

  // --- expressions (§3, §6.1) -----------------------------------------------------------------

  public expression = this.RULE('expression', () => {
    this.SUBRULE(this.andExpr, { LABEL: 'operands' });
    this.MANY(() => {
      this.CONSUME(T.Or, { LABEL: 'ops' });
      this.SUBRULE2(this.andExpr, { LABEL: 'operands' });
    });
  });

  private andExpr = this.RULE('andExpr', () => {
    this.SUBRULE(this.notExpr, { LABEL: 'operands' });
    this.MANY(() => {
      this.CONSUME(T.And, { LABEL: 'ops' });
      this.SUBRULE2(this.notExpr, { LABEL: 'operands' });
    });
  });

  private notExpr = this.RULE('notExpr', () => {
    this.OR([
      {
        ALT: () => {
          this.CONSUME(T.Not);
          this.SUBRULE(this.notExpr);
        },
      },
      { ALT: () => this.SUBRULE(this.comparisonExpr) },
    ]);
  });

  /** Non-associative: at most one comparison or `[NOT] IN (…)` per level (§6.1). */
  private comparisonExpr = this.RULE('comparisonExpr', () => {
    this.SUBRULE(this.additiveExpr, { LABEL: 'left' });
    this.OPTION(() => {
      this.OR([
        {
          ALT: () => {
            this.CONSUME(T.CompareOp);
            this.SUBRULE2(this.additiveExpr, { LABEL: 'right' });
          },
        },
        {
          ALT: () => {
            this.OPTION2(() => this.CONSUME(T.Not));
            this.CONSUME(T.In);
            this.CONSUME(T.LParen);
            this.AT_LEAST_ONE_SEP({
              SEP: T.Comma,
              DEF: () => this.SUBRULE(this.expression, { LABEL: 'list' }),
            });
            this.CONSUME(T.RParen);
          },
        },
      ]);
    });
  });

  private additiveExpr = this.RULE('additiveExpr', () => {
    this.SUBRULE(this.multiplicativeExpr, { LABEL: 'operands' });
    this.MANY(() => {
      this.OR([
        { ALT: () => this.CONSUME(T.Plus, { LABEL: 'ops' }) },
        { ALT: () => this.CONSUME(T.Minus, { LABEL: 'ops' }) },
      ]);
      this.SUBRULE2(this.multiplicativeExpr, { LABEL: 'operands' });
    });
  });

  private multiplicativeExpr = this.RULE('multiplicativeExpr', () => {
    this.SUBRULE(this.unaryExpr, { LABEL: 'operands' });
    this.MANY(() => {
      this.OR([
        { ALT: () => this.CONSUME(T.Star, { LABEL: 'ops' }) },
        { ALT: () => this.CONSUME(T.Slash, { LABEL: 'ops' }) },
        { ALT: () => this.CONSUME(T.Div, { LABEL: 'ops' }) },
        { ALT: () => this.CONSUME(T.Mod, { LABEL: 'ops' }) },
      ]);
      this.SUBRULE2(this.unaryExpr, { LABEL: 'operands' });
    });
  });

  private unaryExpr = this.RULE('unaryExpr', () => {
    this.OR([
      {
        ALT: () => {
          this.OR2([
            { ALT: () => this.CONSUME(T.Plus, { LABEL: 'op' }) },
            { ALT: () => this.CONSUME(T.Minus, { LABEL: 'op' }) },
          ]);
          this.SUBRULE(this.unaryExpr);
        },
      },
      { ALT: () => this.SUBRULE(this.primary) },
    ]);
  });

  private primary = this.RULE('primary', () => {
    this.OR([
      { ALT: () => this.CONSUME(T.Integer) },
      { ALT: () => this.CONSUME(T.Float) },
      { ALT: () => this.CONSUME(T.StringLit) },
      { ALT: () => this.CONSUME(T.True) },
      { ALT: () => this.CONSUME(T.False) },
      { ALT: () => this.CONSUME(T.RangeTok) },
      { ALT: () => this.SUBRULE(this.listLiteral) },
      { ALT: () => this.SUBRULE(this.parenExpr) },
      { ALT: () => this.SUBRULE(this.caseExpr) },
      { ALT: () => this.SUBRULE(this.operatorCall) },
      { ALT: () => this.SUBRULE(this.pathOrCall) },
    ]);
  });

  private parenExpr = this.RULE('parenExpr', () => {
    this.CONSUME(T.LParen);
    this.SUBRULE(this.expression);
    this.CONSUME(T.RParen);
  });

  /** `[]`, `[e1, e2, …]` — elements are arbitrary expressions (§2). */
  private listLiteral = this.RULE('listLiteral', () => {
    this.CONSUME(T.LBracket);
    this.MANY_SEP({
      SEP: T.Comma,
      DEF: () => this.SUBRULE(this.expression, { LABEL: 'elements' }),
    });
    this.CONSUME(T.RBracket);
  });

  /** Searched `CASE WHEN c THEN v … [ELSE v] END` or simple `CASE x WHEN v THEN r … END` (§2). */
  private caseExpr = this.RULE('caseExpr', () => {
    this.CONSUME(T.Case);
    this.OPTION(() => this.SUBRULE(this.expression, { LABEL: 'subject' }));
    this.AT_LEAST_ONE(() => {
      this.CONSUME(T.When);
      this.SUBRULE2(this.expression, { LABEL: 'when' });
      this.CONSUME(T.Then);
      this.SUBRULE3(this.expression, { LABEL: 'then' });
    });
    this.OPTION2(() => {
      this.CONSUME(T.Else);
      this.SUBRULE4(this.expression, { LABEL: 'else' });
    });
    this.CONSUME(T.End);
  });

  /** `div(a, b)` / `mod(a, b)`: the call forms of the lower-case operators (§1). */
  private operatorCall = this.RULE('operatorCall', () => {
    this.OR([{ ALT: () => this.CONSUME(T.Div) }, { ALT: () => this.CONSUME(T.Mod) }]);
    this.SUBRULE(this.callArgs);
  });

  /**
   * A path (`a.b[1].'c'`, `"topic"`, `a[1..2]`) optionally followed by an argument list.
   * Only `name(…)` and `Module.name(…)` are valid calls; the builder checks that.
   */
  private pathOrCall = this.RULE('pathOrCall', () => {
    this.OR([
      { ALT: () => this.CONSUME(T.Identifier, { LABEL: 'root' }) },
      { ALT: () => this.CONSUME(T.QuotedIdent, { LABEL: 'root' }) },
    ]);
    this.MANY(() => this.SUBRULE(this.pathSegment));
    this.OPTION(() => this.SUBRULE(this.callArgs));
  });

  private pathSegment = this.RULE('pathSegment', () => {
    this.OR([
      {
        ALT: () => {
          this.CONSUME(T.Dot);
          this.SUBRULE(this.pathKey);
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.LBracket);
          this.SUBRULE(this.expression, { LABEL: 'index' });
          this.CONSUME(T.RBracket);
        },
      },
      { ALT: () => this.CONSUME(T.RangeTok) },
    ]);
  });

  /** The key after `.`: `name`, `"name"`, `'any text'`, `1` (§3.1). */
  private pathKey = this.RULE('pathKey', () => {
    this.OR([
      { ALT: () => this.CONSUME(T.Identifier) },
      { ALT: () => this.CONSUME(T.QuotedIdent) },
      { ALT: () => this.CONSUME(T.StringLit) },
      { ALT: () => this.CONSUME(T.Integer) },
      { ALT: () => this.CONSUME(T.Float) },
      { ALT: () => this.CONSUME(T.True) },
      { ALT: () => this.CONSUME(T.False) },
      { ALT: () => this.CONSUME(T.Div) },
      { ALT: () => this.CONSUME(T.Mod) },
    ]);
  });

  private callArgs = this.RULE('callArgs', () => {
    this.CONSUME(T.LParen);
    this.MANY_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.expression, { LABEL: 'args' }) });
    this.CONSUME(T.RParen);
  });
}

/** The single parser instance (stateful while parsing; parsing is synchronous). */
export const parser = new RuleSqlParser();

export interface ParseOutcome {
  readonly cst?: CstNode;
  readonly error?: {
    readonly token: IToken;
    readonly previousToken?: IToken;
    readonly raw: RawParseError;
    readonly ruleStack: readonly string[];
  };
}

/** Parse a token vector into a CST, or report the first syntax error. Never throws on bad input. */
export function parseTokens(tokens: IToken[]): ParseOutcome {
  parser.input = tokens;
  const cst = parser.statement();
  const e = parser.errors[0];
  if (e === undefined) return { cst };
  let raw: RawParseError;
  try {
    raw = JSON.parse(e.message) as RawParseError;
  } catch {
    raw = { kind: 'mismatch', ruleName: '', expected: [] };
  }
  const prev = (e as { previousToken?: IToken }).previousToken;
  return {
    error: {
      token: e.token,
      ...(prev === undefined ? {} : { previousToken: prev }),
      raw,
      ruleStack: e.context.ruleStack,
    },
  };
}

const CANDIDATES: readonly TokenType[] = T.allTokens.filter(
  (t) => t.PATTERN !== Lexer.NA && t.GROUP !== Lexer.SKIPPED,
);

/**
 * What the grammar accepts after `before` (for the "expected …" part of diagnostics): every
 * token type that, appended to `before`, is consumed rather than rejected; and whether the
 * statement may end there. Runs only on the error path (one small parse per token type).
 */
export function expectedAfter(before: readonly IToken[]): {
  expected: TokenType[];
  endAllowed: boolean;
} {
  const last = before[before.length - 1];
  const at = last === undefined ? 0 : last.startOffset + last.image.length + 1;
  const expected: TokenType[] = [];
  for (const type of CANDIDATES) {
    const probe = createTokenInstance(type, String(type.LABEL ?? type.name), at, at, 1, 1, 1, 1);
    parser.input = [...before, probe];
    parser.statement();
    const err = parser.errors[0];
    if (err === undefined || err.token !== probe) expected.push(type);
  }
  parser.input = [...before];
  parser.statement();
  return { expected, endAllowed: parser.errors.length === 0 };
}
