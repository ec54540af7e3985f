/**
 * Name analysis for the planner (spec rule-sql §4.1.1): which roots a list writes and which
 * roots an expression reads — used to decide which alias writes later items can observe.
 */
import type { Expr } from '../../sql-parser/index.js';
import type { PlanItem } from './types.js';

export function writtenRoots(items: readonly PlanItem[]): ReadonlySet<string> {
  const s = new Set<string>();
  for (const it of items) if (it.kind === 'field') s.add(it.target.root);
  return s;
}

/** Every root name an expression reads; the value is true when it is read whole (no steps). */
export function collectRoots(e: Expr, acc: Map<string, boolean>): void {
  switch (e.kind) {
    case 'Path':
      if (e.segments.length === 0) acc.set(e.root, true);
      else if (!acc.has(e.root)) acc.set(e.root, false);
      for (const s of e.segments) if (s.kind === 'Index') collectRoots(s.index, acc);
      return;
    case 'Call':
      for (const a of e.args) collectRoots(a, acc);
      return;
    case 'Arithmetic':
    case 'Compare':
    case 'Logical':
      collectRoots(e.left, acc);
      collectRoots(e.right, acc);
      return;
    case 'Unary':
    case 'Not':
      collectRoots(e.operand, acc);
      return;
    case 'In':
      collectRoots(e.operand, acc);
      for (const x of e.list) collectRoots(x, acc);
      return;
    case 'List':
      for (const x of e.elements) collectRoots(x, acc);
      return;
    case 'Case':
      if (e.subject) collectRoots(e.subject, acc);
      for (const br of e.branches) {
        collectRoots(br.when, acc);
        collectRoots(br.then, acc);
      }
      if (e.else) collectRoots(e.else, acc);
      return;
    default:
      return;
  }
}
