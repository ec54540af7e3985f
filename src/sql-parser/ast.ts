/**
 * The typed rule-SQL AST: readonly, JSON-serialisable, a source range on every node.
 * This file is the contract between the parser (producer) and the runtime/printer (consumers).
 * Section references are to shared/spec/rule-sql.md.
 */

export interface Position {
  /** 0-based offset into the original SQL text (UTF-16 code units). */
  readonly offset: number;
  /** 1-based line. */
  readonly line: number;
  /** 1-based column (UTF-16 code units). */
  readonly column: number;
}

export interface SourceRange {
  readonly start: Position;
  /** Exclusive end. */
  readonly end: Position;
}

interface Node {
  /**
   * Where the node was written. A parenthesised expression has no node of its own: the inner
   * expression's range includes the parentheses.
   */
  readonly range: SourceRange;
}

// ---------------------------------------------------------------------------------------------
// Statements (§2)

export type Statement = SelectStatement | ForeachStatement;

export interface SelectStatement extends Node {
  readonly kind: 'Select';
  readonly fields: readonly SelectItem[];
  readonly from: readonly FromEntry[];
  readonly where?: Expr;
}

export interface ForeachStatement extends Node {
  readonly kind: 'Foreach';
  /** FOREACH items; the last one is the collection (§4.2). */
  readonly fields: readonly SelectItem[];
  readonly do?: readonly SelectItem[];
  readonly incase?: Expr;
  readonly from: readonly FromEntry[];
  readonly where?: Expr;
}

/** One FROM entry: an MQTT topic filter, an `$events/...` topic, or a `$bridges/`/`$sources/` hook. */
export interface FromEntry extends Node {
  readonly kind: 'From';
  /** The topic text with quotes stripped. */
  readonly topic: string;
  readonly quote: 'double' | 'single' | 'none';
}

export type SelectItem = WildcardItem | FieldItem;

/** `*` — every context column (§2). */
export interface WildcardItem extends Node {
  readonly kind: 'Wildcard';
}

/** `expr`, `expr AS target` or `expr target` (implicit alias). */
export interface FieldItem extends Node {
  readonly kind: 'Field';
  readonly expr: Expr;
  readonly alias?: AliasTarget;
  /** True when the alias was written with `AS` (printer fidelity only). */
  readonly explicitAs?: boolean;
}

/** Output target of an alias (§3.2): `name`, `a.b`, `l[2]`, `l[-1]`, `l[0]` (prepend), `l[-0]` (append). */
export interface AliasTarget extends Node {
  readonly kind: 'AliasTarget';
  readonly root: string;
  readonly segments: readonly AliasSegment[];
}

export type AliasSegment =
  | { readonly kind: 'Key'; readonly key: string }
  /** `index` is the absolute value; `negative` distinguishes `[-0]` (append) from `[0]` (prepend). */
  | { readonly kind: 'Index'; readonly index: number; readonly negative: boolean };

// ---------------------------------------------------------------------------------------------
// Expressions (§3, §6)

export type Expr =
  | IntegerLiteral
  | FloatLiteral
  | StringLiteral
  | BooleanLiteral
  | PathExpr
  | CallExpr
  | ArithmeticExpr
  | UnaryExpr
  | CompareExpr
  | LogicalExpr
  | NotExpr
  | InExpr
  | ListExpr
  | RangeExpr
  | CaseExpr;

export interface IntegerLiteral extends Node {
  readonly kind: 'Integer';
  /** Decimal digits as written (may exceed 2^53; the runtime converts). */
  readonly raw: string;
}

export interface FloatLiteral extends Node {
  readonly kind: 'Float';
  readonly raw: string;
  readonly value: number;
}

/** `'…'` — no escape processing (§1). `value` is the text with quotes stripped. */
export interface StringLiteral extends Node {
  readonly kind: 'String';
  readonly value: string;
}

/** Only lower-case `true`/`false` (§1). */
export interface BooleanLiteral extends Node {
  readonly kind: 'Boolean';
  readonly value: boolean;
}

/**
 * A column/alias reference with optional navigation (§3.1): `clientid`, `"topic"`,
 * `payload.a.b`, `a.'x-y'`, `a[1]`, `a[-1]`, `a[var]`, `a[1..-1]`.
 */
export interface PathExpr extends Node {
  readonly kind: 'Path';
  readonly root: string;
  /** True when the root was written as a double-quoted identifier. */
  readonly quotedRoot: boolean;
  readonly segments: readonly PathSegment[];
}

export type PathSegment =
  /** `.name`, `.1`, `.'any text'` */
  | {
      readonly kind: 'Key';
      readonly key: string;
      readonly quoted: boolean;
      readonly range: SourceRange;
    }
  /** `[expr]` — 1-based list index; negative from the end; a path index is resolved per §3.1. */
  | { readonly kind: 'Index'; readonly index: Expr; readonly range: SourceRange }
  /** `[m..n]` — inclusive, 1-based, negative bounds from the end. */
  | {
      readonly kind: 'Slice';
      readonly from: number;
      readonly to: number;
      readonly range: SourceRange;
    };

/** `name(args)` or `Module.name(args)`; also `div(a,b)`/`mod(a,b)` call forms. */
export interface CallExpr extends Node {
  readonly kind: 'Call';
  readonly name: string;
  readonly module?: string;
  readonly args: readonly Expr[];
  /** Range of the function name alone (for diagnostics); `Module.name` for module calls. */
  readonly nameRange: SourceRange;
}

export interface ArithmeticExpr extends Node {
  readonly kind: 'Arithmetic';
  readonly op: '+' | '-' | '*' | '/' | 'div' | 'mod';
  readonly left: Expr;
  readonly right: Expr;
}

export interface UnaryExpr extends Node {
  readonly kind: 'Unary';
  readonly op: '+' | '-';
  readonly operand: Expr;
}

export interface CompareExpr extends Node {
  readonly kind: 'Compare';
  readonly op: '=' | '!=' | '<>' | '<' | '>' | '<=' | '>=' | '=~';
  readonly left: Expr;
  readonly right: Expr;
}

export interface LogicalExpr extends Node {
  readonly kind: 'Logical';
  readonly op: 'and' | 'or';
  readonly left: Expr;
  readonly right: Expr;
}

export interface NotExpr extends Node {
  readonly kind: 'Not';
  readonly operand: Expr;
}

/** `x IN (a, b)` / `x NOT IN (a, b)` — exact membership (§6.3). */
export interface InExpr extends Node {
  readonly kind: 'In';
  readonly operand: Expr;
  readonly list: readonly Expr[];
  readonly negated: boolean;
}

/** `[e1, e2, …]` */
export interface ListExpr extends Node {
  readonly kind: 'List';
  readonly elements: readonly Expr[];
}

/** `[m..n]` as a value: the inclusive integer list. */
export interface RangeExpr extends Node {
  readonly kind: 'Range';
  readonly from: number;
  readonly to: number;
}

/** Searched (`subject` absent) or simple CASE (§2). */
export interface CaseExpr extends Node {
  readonly kind: 'Case';
  readonly subject?: Expr;
  readonly branches: readonly { readonly when: Expr; readonly then: Expr }[];
  readonly else?: Expr;
}
