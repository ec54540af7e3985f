/**
 * The logical plan of one rule: the AST after semantic analysis (spec rule-sql §2–§4). Built
 * once per rule by `buildPlan`; `compile/` turns it into closures and `explainPlan` renders it.
 *
 * Compared with the AST the plan has: functions resolved to their definitions (specialised and
 * constant-folded where arguments are literals), literals converted to runtime values, every
 * name resolved to the scope layers it can come from, payload paths marked, output targets
 * (explicit or implicit) computed, and FROM entries classified.
 */
import type { EventName, Value } from '../../core/index.js';
import type { SourceRange, Statement } from '../../sql-parser/index.js';
import type { FunctionDef, FunctionImpl } from '../functions/registry.js';

/**
 * Where a name may be found, checked in this order before the trigger columns:
 * - `ov`: the current clause's alias overlay (SELECT/FOREACH/DO: earlier aliases; WHERE: the
 *   output built by SELECT/FOREACH, which wins over the columns — §4.1.3);
 * - `item`: the FOREACH element under its name (INCASE/DO);
 * - `sel`: the FOREACH output (INCASE/DO).
 */
export type Layer = 'ov' | 'item' | 'sel';

export type PlanExpr =
  | { readonly op: 'const'; readonly value: Value }
  /** A bare name: a column, alias or FOREACH element. */
  | { readonly op: 'name'; readonly name: string; readonly layers: readonly Layer[] }
  /** `root.step…`; `payload` marks a path whose root is `payload` (decoded, errors — §5). */
  | {
      readonly op: 'path';
      readonly root: string;
      readonly layers: readonly Layer[];
      readonly payload: boolean;
      readonly steps: readonly PlanStep[];
    }
  /** Inside a payload path's index: a path resolved in the decoded payload document (§3.1). */
  | { readonly op: 'docpath'; readonly root: string; readonly steps: readonly PlanStep[] }
  | {
      readonly op: 'call';
      readonly name: string;
      readonly def: FunctionDef;
      readonly impl: FunctionImpl;
      readonly specialized: boolean;
      readonly args: readonly PlanExpr[];
    }
  | {
      readonly op: 'arith';
      readonly operator: '+' | '-' | '*' | '/' | 'div' | 'mod';
      readonly left: PlanExpr;
      readonly right: PlanExpr;
    }
  | { readonly op: 'unary'; readonly operator: '+' | '-'; readonly operand: PlanExpr }
  | {
      readonly op: 'compare';
      readonly operator: '=' | '!=' | '<>' | '<' | '>' | '<=' | '>=' | '=~';
      readonly left: PlanExpr;
      readonly right: PlanExpr;
    }
  | { readonly op: 'and' | 'or'; readonly left: PlanExpr; readonly right: PlanExpr }
  | { readonly op: 'not'; readonly operand: PlanExpr }
  | {
      readonly op: 'in';
      readonly operand: PlanExpr;
      readonly list: readonly PlanExpr[];
      readonly negated: boolean;
    }
  | { readonly op: 'list'; readonly elements: readonly PlanExpr[] }
  | {
      readonly op: 'case';
      readonly subject?: PlanExpr;
      readonly branches: readonly { readonly when: PlanExpr; readonly then: PlanExpr }[];
      readonly else?: PlanExpr;
    };

export type PlanStep =
  | { readonly k: 'key'; readonly key: string }
  | { readonly k: 'index'; readonly index: PlanExpr }
  | { readonly k: 'slice'; readonly from: number; readonly to: number };

/** Output target of one item (§3.2). */
export type TargetStep =
  | { readonly k: 'key'; readonly key: string }
  | { readonly k: 'index'; readonly index: number; readonly negative: boolean }
  | { readonly k: 'dyn'; readonly index: PlanExpr };

export interface PlanTarget {
  readonly root: string;
  readonly steps: readonly TargetStep[];
  /** True when the key was derived from the expression (no alias). */
  readonly implicit: boolean;
}

export type PlanItem =
  | { readonly kind: 'wildcard' }
  | {
      readonly kind: 'field';
      readonly expr: PlanExpr;
      readonly target: PlanTarget;
      /** Whether later items can read what this item writes (the alias overlay, §4.1.1). */
      readonly writesScope: boolean;
      readonly range: SourceRange;
    };

export interface PlanSource {
  readonly topic: string;
  readonly type: 'mqtt' | 'event' | 'bridge' | 'source';
  /** For a concrete event topic, the event it names. */
  readonly event?: EventName;
}

export interface RulePlan {
  readonly kind: 'select' | 'foreach';
  readonly sql: string;
  readonly statement: Statement;
  readonly sources: readonly PlanSource[];
  /** SELECT list, or the FOREACH list whose last field is the collection. */
  readonly fields: readonly PlanItem[];
  readonly where?: PlanExpr;
  /** FOREACH only: the name the current element is bound to (alias or `item`). */
  readonly elementName?: string;
  readonly incase?: PlanExpr;
  readonly do?: readonly PlanItem[];
}
