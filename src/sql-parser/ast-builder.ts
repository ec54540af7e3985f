/**
 * CST → typed AST (ast.ts). One method per grammar rule, in grammar order, so that the CST
 * shape (parser.ts) and its AST mapping can be read side by side — hence the file's length. Also the semantic checks the grammar leaves open:
 * - a select item may not be AND/OR/NOT/IN (EMQX: those exist only in conditions, §2);
 * - numbers convert as EMQX converts them (`10e2` fails, §1);
 * - only `name(…)` and `Module.name(…)` are calls (§2);
 * - an alias index is an (optionally negative) integer (§3.2); a path index is an integer or a
 *   path (§3.1).
 * Problems are collected as `BuildProblem`s (code, message, source offsets); the builder never throws
 * on bad input. Quote stripping follows §1: quoted identifiers lose every leading/trailing `"`,
 * string literals every leading/trailing `'` and nothing else (no escapes, `''` kept).
 */
import type { CstElement, CstNode, IToken } from 'chevrotain';
import type * as A from './ast.js';
import type { SqlParserErrorCode } from './errors.js';
import * as T from './lexer.js';

export interface BuildProblem {
  readonly code: SqlParserErrorCode;
  readonly message: string;
  readonly start: number;
  /** Exclusive end offset. */
  readonly end: number;
}

/** Maps offsets to 1-based line/column, treating `\r\n`, `\r` and `\n` as line breaks. */
export class PositionMap {
  private readonly lineStarts: number[] = [0];

  constructor(text: string) {
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 10) this.lineStarts.push(i + 1);
      else if (c === 13) {
        if (text.charCodeAt(i + 1) === 10) i++;
        this.lineStarts.push(i + 1);
      }
    }
  }

  at(offset: number): A.Position {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.lineStarts[mid] as number) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { offset, line: lo + 1, column: offset - (this.lineStarts[lo] as number) + 1 };
  }

  range(start: number, end: number): A.SourceRange {
    return { start: this.at(start), end: this.at(end) };
  }
}

/** Strip every leading and trailing occurrence of `q` (§1). */
export function stripQuotes(text: string, q: string): string {
  let s = 0;
  let e = text.length;
  while (s < e && text[s] === q) s++;
  while (e > s && text[e - 1] === q) e--;
  return text.slice(s, e);
}

const isToken = (e: CstElement | undefined): e is IToken =>
  e !== undefined && (e as IToken).tokenType !== undefined;

const tokEnd = (t: IToken): number => t.startOffset + t.image.length;

type Children = Record<string, CstElement[] | undefined>;

function kids(node: CstNode, name: string): CstElement[] {
  return (node.children as Children)[name] ?? [];
}
function node(n: CstNode, name: string, i = 0): CstNode | undefined {
  const e = kids(n, name)[i];
  return e !== undefined && !isToken(e) ? e : undefined;
}
function nodes(n: CstNode, name: string): CstNode[] {
  return kids(n, name).filter((e): e is CstNode => !isToken(e));
}
function token(n: CstNode, name: string, i = 0): IToken | undefined {
  const e = kids(n, name)[i];
  return isToken(e) ? e : undefined;
}
function tokens(n: CstNode, name: string): IToken[] {
  return kids(n, name).filter(isToken);
}
/** The first token child of a node among the given token names. */
function firstTokenOf(n: CstNode): IToken | undefined {
  for (const list of Object.values(n.children as Children)) {
    for (const e of list ?? []) if (isToken(e)) return e;
  }
  return undefined;
}
function nodeStart(n: CstNode): number {
  return n.location?.startOffset ?? 0;
}
function nodeEnd(n: CstNode): number {
  const e = n.location?.endOffset;
  return e === undefined || Number.isNaN(e) ? nodeStart(n) : e + 1;
}

/** A parsed float literal's value, or undefined when EMQX's conversion would fail (§1). */
export function floatValue(raw: string): number | undefined {
  const body = raw.replace(/[fFdD]$/, '');
  if (!/^\d+\.\d+(?:[eE][+-]?\d+)?$/.test(body)) return undefined;
  const v = Number(body);
  return Number.isFinite(v) ? v : undefined;
}

const BOOL_OR_LOGIC = new Set(['Logical', 'Not', 'In']);

export class AstBuilder {
  readonly problems: BuildProblem[] = [];

  constructor(private readonly pos: PositionMap) {}

  private range(start: number, end: number): A.SourceRange {
    return this.pos.range(start, end);
  }
  private tokRange(t: IToken): A.SourceRange {
    return this.range(t.startOffset, tokEnd(t));
  }
  private span(a: { range: A.SourceRange }, b: { range: A.SourceRange }): A.SourceRange {
    return { start: a.range.start, end: b.range.end };
  }
  private problem(code: SqlParserErrorCode, message: string, start: number, end: number): void {
    this.problems.push({ code, message, start, end });
  }

  // --- statements -------------------------------------------------------------------------------

  statement(cst: CstNode): A.Statement {
    const sel = node(cst, 'selectStatement');
    if (sel !== undefined) {
      const where = node(sel, 'where');
      return {
        kind: 'Select',
        fields: this.fieldList(node(sel, 'fields') as CstNode),
        from: this.fromClause(node(sel, 'fromClause') as CstNode),
        ...(where === undefined ? {} : { where: this.expression(where) }),
        range: this.range(nodeStart(sel), nodeEnd(sel)),
      };
    }
    const fe = node(cst, 'foreachStatement') as CstNode;
    const doList = node(fe, 'do');
    const incase = node(fe, 'incase');
    const where = node(fe, 'where');
    return {
      kind: 'Foreach',
      fields: this.fieldList(node(fe, 'fields') as CstNode),
      ...(doList === undefined ? {} : { do: this.fieldList(doList) }),
      ...(incase === undefined ? {} : { incase: this.expression(incase) }),
      from: this.fromClause(node(fe, 'fromClause') as CstNode),
      ...(where === undefined ? {} : { where: this.expression(where) }),
      range: this.range(nodeStart(fe), nodeEnd(fe)),
    };
  }

  private fieldList(n: CstNode): A.SelectItem[] {
    return nodes(n, 'selectItem').map((i) => this.selectItem(i));
  }

  private selectItem(n: CstNode): A.SelectItem {
    const star = token(n, 'Star');
    if (star !== undefined) return { kind: 'Wildcard', range: this.tokRange(star) };
    const expr = this.expression(node(n, 'expression') as CstNode);
    if (BOOL_OR_LOGIC.has(expr.kind)) {
      const what =
        expr.kind === 'Logical' ? expr.op.toUpperCase() : expr.kind === 'Not' ? 'NOT' : 'IN';
      this.problem(
        'sql_select_item_not_allowed',
        `${what} cannot be used in a select item: AND, OR, NOT and IN are only allowed in WHERE, ` +
          `INCASE and CASE WHEN conditions; write CASE WHEN … THEN true ELSE false END instead`,
        expr.range.start.offset,
        expr.range.end.offset,
      );
    }
    const aliasNode = node(n, 'aliasTarget');
    if (aliasNode === undefined) return { kind: 'Field', expr, range: expr.range };
    const alias = this.aliasTarget(aliasNode);
    const explicitAs = token(n, 'As') !== undefined;
    return { kind: 'Field', expr, alias, explicitAs, range: this.span(expr, alias) };
  }

  private aliasTarget(n: CstNode): A.AliasTarget {
    const root = token(n, 'root') as IToken;
    const segments: A.AliasSegment[] = [];
    for (const seg of nodes(n, 'pathSegment')) {
      const k = node(seg, 'pathKey');
      if (k !== undefined) {
        for (const key of this.keyText(firstTokenOf(k) as IToken))
          segments.push({ kind: 'Key', key });
        continue;
      }
      const idx = node(seg, 'index');
      if (idx !== undefined) {
        const e = this.expression(idx);
        const v = this.intLiteral(e);
        if (v === undefined) {
          this.problem(
            'sql_bad_alias',
            'an alias index must be an integer such as [1], [-1], [0] (prepend) or [-0] (append)',
            e.range.start.offset,
            e.range.end.offset,
          );
        }
        segments.push({ kind: 'Index', index: v?.index ?? 0, negative: v?.negative ?? false });
        continue;
      }
      const r = token(seg, 'RangeTok') as IToken;
      this.problem(
        'sql_bad_alias',
        'a range cannot be used in an alias target',
        r.startOffset,
        tokEnd(r),
      );
    }
    return {
      kind: 'AliasTarget',
      root: root.tokenType === T.QuotedIdent ? stripQuotes(root.image, '"') : root.image,
      segments,
      range: this.range(nodeStart(n), nodeEnd(n)),
    };
  }

  /** `[2]`, `[-1]`, `[+3]`, `[-0]` → {index, negative}; anything else → undefined. */
  private intLiteral(e: A.Expr): { index: number; negative: boolean } | undefined {
    if (e.kind === 'Integer') return { index: Number(e.raw), negative: false };
    if (e.kind === 'Unary' && e.operand.kind === 'Integer') {
      return { index: Number(e.operand.raw), negative: e.op === '-' };
    }
    return undefined;
  }

  private fromClause(n: CstNode): A.FromEntry[] {
    return nodes(n, 'fromEntry').map((e) => {
      const t = firstTokenOf(e) as IToken;
      const quote =
        t.tokenType === T.QuotedIdent ? 'double' : t.tokenType === T.StringLit ? 'single' : 'none';
      const topic =
        quote === 'double'
          ? stripQuotes(t.image, '"')
          : quote === 'single'
            ? stripQuotes(t.image, "'")
            : t.image;
      return { kind: 'From', topic, quote, range: this.tokRange(t) };
    });
  }

  // --- expressions ------------------------------------------------------------------------------

  expression(n: CstNode): A.Expr {
    return this.leftAssoc(
      n,
      (o) => this.andExpr(o),
      (op, left, right) => ({
        kind: 'Logical',
        op: 'or',
        left,
        right,
        range: this.span(left, right),
      }),
    );
  }

  private andExpr(n: CstNode): A.Expr {
    return this.leftAssoc(
      n,
      (o) => this.notExpr(o),
      (op, left, right) => ({
        kind: 'Logical',
        op: 'and',
        left,
        right,
        range: this.span(left, right),
      }),
    );
  }

  private leftAssoc(
    n: CstNode,
    sub: (o: CstNode) => A.Expr,
    make: (op: IToken, left: A.Expr, right: A.Expr) => A.Expr,
  ): A.Expr {
    const operands = nodes(n, 'operands');
    const ops = tokens(n, 'ops');
    let acc = sub(operands[0] as CstNode);
    for (let i = 0; i < ops.length; i++) {
      acc = make(ops[i] as IToken, acc, sub(operands[i + 1] as CstNode));
    }
    return acc;
  }

  private notExpr(n: CstNode): A.Expr {
    const not = token(n, 'Not');
    if (not !== undefined) {
      const operand = this.notExpr(node(n, 'notExpr') as CstNode);
      return {
        kind: 'Not',
        operand,
        range: { start: this.pos.at(not.startOffset), end: operand.range.end },
      };
    }
    return this.comparisonExpr(node(n, 'comparisonExpr') as CstNode);
  }

  private comparisonExpr(n: CstNode): A.Expr {
    const left = this.additiveExpr(node(n, 'left') as CstNode);
    const op = token(n, 'CompareOp');
    if (op !== undefined) {
      const right = this.additiveExpr(node(n, 'right') as CstNode);
      return {
        kind: 'Compare',
        op: op.image as A.CompareExpr['op'],
        left,
        right,
        range: this.span(left, right),
      };
    }
    const inTok = token(n, 'In');
    if (inTok === undefined) return left;
    const rparen = token(n, 'RParen') as IToken;
    return {
      kind: 'In',
      operand: left,
      list: nodes(n, 'list').map((e) => this.expression(e)),
      negated: token(n, 'Not') !== undefined,
      range: { start: left.range.start, end: this.pos.at(tokEnd(rparen)) },
    };
  }

  private additiveExpr(n: CstNode): A.Expr {
    return this.leftAssoc(
      n,
      (o) => this.multiplicativeExpr(o),
      (op, left, right) => ({
        kind: 'Arithmetic',
        op: op.image as '+' | '-',
        left,
        right,
        range: this.span(left, right),
      }),
    );
  }

  private multiplicativeExpr(n: CstNode): A.Expr {
    return this.leftAssoc(
      n,
      (o) => this.unaryExpr(o),
      (op, left, right) => ({
        kind: 'Arithmetic',
        op: op.image as '*' | '/' | 'div' | 'mod',
        left,
        right,
        range: this.span(left, right),
      }),
    );
  }

  private unaryExpr(n: CstNode): A.Expr {
    const op = token(n, 'op');
    if (op !== undefined) {
      const operand = this.unaryExpr(node(n, 'unaryExpr') as CstNode);
      return {
        kind: 'Unary',
        op: op.image as '+' | '-',
        operand,
        range: { start: this.pos.at(op.startOffset), end: operand.range.end },
      };
    }
    return this.primary(node(n, 'primary') as CstNode);
  }

  private primary(n: CstNode): A.Expr {
    const t = firstTokenOf(n);
    if (t !== undefined) return this.literal(t);
    const list = node(n, 'listLiteral');
    if (list !== undefined) {
      return {
        kind: 'List',
        elements: nodes(list, 'elements').map((e) => this.expression(e)),
        range: this.range(nodeStart(list), nodeEnd(list)),
      };
    }
    const paren = node(n, 'parenExpr');
    if (paren !== undefined) {
      // No AST node for parentheses: the inner expression's range grows to include them, so a
      // diagnostic on `(a OR b)` underlines what was written.
      const inner = this.expression(node(paren, 'expression') as CstNode);
      return { ...inner, range: this.range(nodeStart(paren), nodeEnd(paren)) };
    }
    const c = node(n, 'caseExpr');
    if (c !== undefined) return this.caseExpr(c);
    const opCall = node(n, 'operatorCall');
    if (opCall !== undefined) {
      const nameTok = firstTokenOf(opCall) as IToken;
      return {
        kind: 'Call',
        name: nameTok.image,
        args: this.callArgs(node(opCall, 'callArgs') as CstNode),
        nameRange: this.tokRange(nameTok),
        range: this.range(nodeStart(opCall), nodeEnd(opCall)),
      };
    }
    return this.pathOrCall(node(n, 'pathOrCall') as CstNode);
  }

  private literal(t: IToken): A.Expr {
    const range = this.tokRange(t);
    switch (t.tokenType) {
      case T.Integer:
        return { kind: 'Integer', raw: t.image, range };
      case T.Float: {
        const value = floatValue(t.image);
        if (value === undefined) {
          this.problem(
            'sql_bad_number',
            `\`${t.image}\` is not a valid number: a float needs digits on both sides of a ` +
              `decimal point (write \`${suggestFloat(t.image)}\`)`,
            t.startOffset,
            tokEnd(t),
          );
        }
        return { kind: 'Float', raw: t.image, value: value ?? 0, range };
      }
      case T.StringLit:
        return { kind: 'String', value: stripQuotes(t.image, "'"), range };
      case T.True:
        return { kind: 'Boolean', value: true, range };
      case T.False:
        return { kind: 'Boolean', value: false, range };
      default: {
        const [from, to] = rangeBounds(t.image);
        return { kind: 'Range', from, to, range };
      }
    }
  }

  private caseExpr(n: CstNode): A.CaseExpr {
    const subject = node(n, 'subject');
    const whens = nodes(n, 'when');
    const thens = nodes(n, 'then');
    const els = node(n, 'else');
    return {
      kind: 'Case',
      ...(subject === undefined ? {} : { subject: this.expression(subject) }),
      branches: whens.map((w, i) => ({
        when: this.expression(w),
        then: this.expression(thens[i] as CstNode),
      })),
      ...(els === undefined ? {} : { else: this.expression(els) }),
      range: this.range(nodeStart(n), nodeEnd(n)),
    };
  }

  private callArgs(n: CstNode): A.Expr[] {
    return nodes(n, 'args').map((a) => this.expression(a));
  }

  private pathOrCall(n: CstNode): A.Expr {
    const rootTok = token(n, 'root') as IToken;
    const quotedRoot = rootTok.tokenType === T.QuotedIdent;
    const root = quotedRoot ? stripQuotes(rootTok.image, '"') : rootTok.image;
    const segNodes = nodes(n, 'pathSegment');
    const args = node(n, 'callArgs');
    if (args !== undefined) {
      const callArgs = this.callArgs(args);
      const range = this.range(nodeStart(n), nodeEnd(n));
      if (segNodes.length === 0) {
        return {
          kind: 'Call',
          name: root,
          args: callArgs,
          nameRange: this.tokRange(rootTok),
          range,
        };
      }
      const only = segNodes[0] as CstNode;
      const keyTok =
        segNodes.length === 1 ? firstTokenOf(node(only, 'pathKey') ?? only) : undefined;
      if (keyTok !== undefined && keyTok.tokenType === T.Identifier && !quotedRoot) {
        return {
          kind: 'Call',
          name: keyTok.image,
          module: root,
          args: callArgs,
          nameRange: this.range(rootTok.startOffset, tokEnd(keyTok)),
          range,
        };
      }
      this.problem(
        'sql_bad_call',
        'only a function name or Module.function can be called, not a path',
        rootTok.startOffset,
        nodeEnd(segNodes[segNodes.length - 1] as CstNode),
      );
      return { kind: 'Call', name: root, args: callArgs, nameRange: this.tokRange(rootTok), range };
    }
    const segments = segNodes.flatMap((s) => this.pathSegment(s));
    const last = segNodes[segNodes.length - 1];
    // §3.1 / EMQX grammar: a sub-list `[m..n]` ends a path (`a.b[1..3].c` is a syntax error).
    const sliceAt = segments.findIndex((g) => g.kind === 'Slice');
    if (sliceAt >= 0 && sliceAt < segments.length - 1) {
      const g = segments[sliceAt] as A.PathSegment;
      this.problem(
        'sql_syntax_error',
        'a range [m..n] must be the last step of a path; nothing can follow it',
        g.range.start.offset,
        nodeEnd(last as CstNode),
      );
    }
    return {
      kind: 'Path',
      root,
      quotedRoot,
      segments,
      range: this.range(rootTok.startOffset, last === undefined ? tokEnd(rootTok) : nodeEnd(last)),
    };
  }

  private pathSegment(n: CstNode): A.PathSegment[] {
    const range = this.range(nodeStart(n), nodeEnd(n));
    const key = node(n, 'pathKey');
    if (key !== undefined) {
      const t = firstTokenOf(key) as IToken;
      const quoted = t.tokenType === T.QuotedIdent || t.tokenType === T.StringLit;
      return this.keyText(t).map((k) => ({ kind: 'Key', key: k, quoted, range }));
    }
    const idx = node(n, 'index');
    if (idx !== undefined) {
      const index = this.expression(idx);
      if (!this.isPathIndex(index)) {
        this.problem(
          'sql_bad_index',
          'a list index must be an integer (`[2]`, `[-1]`) or a path (`[i]`, `[a.b]`)',
          index.range.start.offset,
          index.range.end.offset,
        );
      }
      return [{ kind: 'Index', index, range }];
    }
    const r = token(n, 'RangeTok') as IToken;
    const [from, to] = rangeBounds(r.image);
    return [{ kind: 'Slice', from, to, range }];
  }

  private isPathIndex(e: A.Expr): boolean {
    if (e.kind === 'Path' || e.kind === 'Integer') return true;
    return e.kind === 'Unary' && e.operand.kind === 'Integer';
  }

  /**
   * The key text a `.key` token stands for. The lexer reads `a.1.5` as `a`, `.`, `1.5`: EMQX
   * rejects that as ambiguous (`a.'1.5'` or `a.1.'5'`?), and so do we, naming both spellings.
   */
  private keyText(t: IToken): string[] {
    if (t.tokenType === T.QuotedIdent) return [stripQuotes(t.image, '"')];
    if (t.tokenType === T.StringLit) return [stripQuotes(t.image, "'")];
    if (t.tokenType === T.Float) {
      const [whole, frac] = t.image.split('.');
      const alt = /^\d+\.\d+$/.test(t.image) ? ` or .${whole}.'${frac}'` : '';
      this.problem(
        'sql_syntax_error',
        `\`.${t.image}\` is ambiguous as a key; quote it: .'${t.image}'${alt}`,
        t.startOffset,
        tokEnd(t),
      );
      return [t.image];
    }
    return [t.image];
  }
}

function rangeBounds(image: string): [number, number] {
  const m = /^\[(-?\d+)\.\.(-?\d+)\]$/.exec(image);
  return m === null ? [0, 0] : [Number(m[1]), Number(m[2])];
}

function suggestFloat(raw: string): string {
  const m = /^(\d+)([eE][+-]?\d+)?([fFdD]?)$/.exec(raw);
  if (m !== null) return `${m[1]}.0${m[2] ?? ''}`;
  return raw;
}
