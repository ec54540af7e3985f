/**
 * SELECT / FOREACH / DO lists → one closure that fills an output map (spec rule-sql §3.2, §4.1,
 * §4.2). Items run left to right; each writes its value (undefined included) into the output
 * under its target, and — when a later item can read it — into the clause's alias overlay
 * (`st.ov`), which shadows the scope below it. `*` copies every column of the clause's scope.
 */
import type { Value, ValueMap } from '../../core/index.js';
import type { Layer, PlanItem, PlanTarget } from '../plan/types.js';
import { putIn, setProp } from './access.js';
import type { PutStep } from './access.js';
import { compileExpr, compileName, decodePayloadValue } from './expr.js';
import type { Eval, EvalState } from './state.js';

/** Fills `out` (owned by the caller) and returns the value of the last field item. */
export type ListRunner = (st: EvalState, out: ValueMap) => Value;

/** The layers below the overlay for a list: SELECT/FOREACH see the columns, DO sees the element scope. */
export interface ListScope {
  readonly below: readonly Layer[];
  /** Copies the whole scope below the overlay into `out` (for `*`). */
  readonly wildcard: (st: EvalState, out: ValueMap) => void;
}

type Writer = (st: EvalState, out: ValueMap, v: Value) => void;

function compileWriter(target: PlanTarget, writesScope: boolean, scope: ListScope): Writer {
  const root = target.root;
  const stepsPlan = target.steps;
  if (stepsPlan.length === 0) {
    if (!writesScope) return (_st, out, v) => setProp(out, root, v);
    return (st, out, v) => {
      setProp(out, root, v);
      setProp(st.ov as ValueMap, root, v);
    };
  }
  const dynamic = stepsPlan.some((s) => s.k === 'dyn');
  const fixed: PutStep[] = stepsPlan.map((s) =>
    s.k === 'dyn' ? { k: 'dyn', index: undefined } : (s as PutStep),
  );
  const dynEvals: (Eval | undefined)[] = stepsPlan.map((s) =>
    s.k === 'dyn' ? compileExpr(s.index) : undefined,
  );
  const resolveSteps = dynamic
    ? (st: EvalState): PutStep[] =>
        fixed.map((s, i) => (s.k === 'dyn' ? { k: 'dyn', index: (dynEvals[i] as Eval)(st) } : s))
    : (): PutStep[] => fixed;
  const isPayload = root === 'payload';
  // Current value of the root in the overlay scope: overlay, then the layers below.
  const scopeRead = compileName(root, ['ov', ...scope.below]);
  return (st, out, v) => {
    const steps = resolveSteps(st);
    // §3.2 payload special case: a selected raw payload is decoded and written into.
    let cur = Object.hasOwn(out, root) ? out[root] : undefined;
    if (isPayload) cur = decodePayloadValue(st, cur);
    setProp(out, root, putIn(cur, steps, 0, v));
    if (writesScope) {
      let sc = scopeRead(st);
      if (isPayload) sc = decodePayloadValue(st, sc);
      setProp(st.ov as ValueMap, root, putIn(sc, steps, 0, v));
    }
  };
}

export function compileList(items: readonly PlanItem[], scope: ListScope): ListRunner {
  const steps: ((st: EvalState, out: ValueMap) => Value)[] = items.map((item) => {
    if (item.kind === 'wildcard') {
      const copy = scope.wildcard;
      return (st, out) => {
        copy(st, out);
        return undefined;
      };
    }
    const value = compileExpr(item.expr);
    const write = compileWriter(item.target, item.writesScope, scope);
    return (st, out) => {
      const v = value(st);
      write(st, out, v);
      return v;
    };
  });
  const n = steps.length;
  if (n === 1) return steps[0] as ListRunner;
  if (n === 2) {
    const [a, b] = steps as [ListRunner, ListRunner];
    return (st, out) => {
      a(st, out);
      return b(st, out);
    };
  }
  return (st, out) => {
    let last: Value;
    for (let i = 0; i < n; i++) last = (steps[i] as ListRunner)(st, out);
    return last;
  };
}
