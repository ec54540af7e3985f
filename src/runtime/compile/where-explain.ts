/**
 * Tracing only (docs/api.md "Traces"): which value decided a WHERE. Built on first use per rule
 * (never on the untraced path) from the plan's condition:
 *
 * - `a AND b`: the conjunct that decided — the first false one, else the last;
 *   `a OR b`: the first true disjunct, else the last; `NOT x`: what decided x;
 * - a comparison or `IN` with a literal side: the value of the other side (`payload.temp` in
 *   `payload.temp > 30`); with no literal side `{left, right}`;
 * - anything else (a function call, a bare column): its value.
 *
 * `expr` is the deciding sub-condition as text (plan/explain.ts `exprText`). The sub-expressions
 * are evaluated again on the same evaluation state; an error while doing so yields `value: null`
 * (the real WHERE result was computed by the rule itself).
 */
import type { Value } from '../../core/index.js';
import { exprText } from '../plan/explain.js';
import type { PlanExpr } from '../plan/types.js';
import { compileCondition, compileExpr } from './expr.js';
import type { EvalState } from './state.js';

export interface WhereDecision {
  readonly value: Value;
  readonly expr: string;
}

export type WhereExplainer = (st: EvalState) => WhereDecision;

function safe(f: (st: EvalState) => Value, st: EvalState): Value {
  try {
    const v = f(st);
    return v === undefined ? null : v;
  } catch {
    return null;
  }
}

/** `exprText` wraps operations in parentheses; drop one pair that encloses the whole text. */
function bare(text: string): string {
  if (!text.startsWith('(') || !text.endsWith(')')) return text;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')' && --depth === 0 && i < text.length - 1) return text;
  }
  return text.slice(1, -1);
}

export function compileWhereExplainer(p: PlanExpr): WhereExplainer {
  const expr = bare(exprText(p));
  switch (p.op) {
    case 'and':
    case 'or': {
      const decidedBy = p.op === 'and' ? false : true;
      const left = compileCondition(p.left);
      const l = compileWhereExplainer(p.left);
      const r = compileWhereExplainer(p.right);
      return (st) => (safe(left, st) === decidedBy ? l(st) : r(st));
    }
    case 'not':
      return compileWhereExplainer(p.operand);
    case 'compare': {
      const l = compileExpr(p.left);
      const r = compileExpr(p.right);
      if (p.right.op === 'const') return (st) => ({ value: safe(l, st), expr });
      if (p.left.op === 'const') return (st) => ({ value: safe(r, st), expr });
      return (st) => ({ value: { left: safe(l, st), right: safe(r, st) }, expr });
    }
    case 'in': {
      const o = compileExpr(p.operand);
      return (st) => ({ value: safe(o, st), expr });
    }
    default: {
      const c = compileExpr(p);
      return (st) => ({ value: safe(c, st), expr });
    }
  }
}
