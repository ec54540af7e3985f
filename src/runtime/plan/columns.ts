/**
 * Which trigger columns a plan reads: the roots of every name and path that can resolve to a
 * column (aliases shadow nothing here; over-approximating is safe — a rule that reads an alias
 * named like a column is only treated as reading the column too).
 */
import type { PlanExpr, PlanItem, PlanStep, RulePlan } from './types.js';

export function columnsRead(plan: RulePlan): ReadonlySet<string> {
  const out = new Set<string>();
  const step = (s: PlanStep): void => {
    if (s.k === 'index') expr(s.index);
  };
  const expr = (e: PlanExpr | undefined): void => {
    if (!e) return;
    switch (e.op) {
      case 'const':
      case 'docpath':
        return;
      case 'name':
        out.add(e.name);
        return;
      case 'path':
        out.add(e.root);
        e.steps.forEach(step);
        return;
      case 'call':
        e.args.forEach(expr);
        return;
      case 'arith':
      case 'compare':
      case 'and':
      case 'or':
        expr(e.left);
        expr(e.right);
        return;
      case 'unary':
      case 'not':
        expr(e.operand);
        return;
      case 'in':
        expr(e.operand);
        e.list.forEach(expr);
        return;
      case 'list':
        e.elements.forEach(expr);
        return;
      case 'case':
        expr(e.subject);
        for (const b of e.branches) {
          expr(b.when);
          expr(b.then);
        }
        expr(e.else);
        return;
    }
  };
  const item = (i: PlanItem): void => {
    if (i.kind === 'field') {
      expr(i.expr);
      for (const s of i.target.steps) if (s.k === 'dyn') expr(s.index);
    }
  };
  plan.fields.forEach(item);
  expr(plan.where);
  expr(plan.incase);
  plan.do?.forEach(item);
  return out;
}
