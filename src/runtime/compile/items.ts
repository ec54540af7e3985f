/**
 * SELECT / FOREACH / DO lists → one closure that fills an output map (spec rule-sql §3.2, §4.1,
 * §4.2). Items run left to right; each writes its value (undefined included) into the output
 * under its target, and — when a later item can read it — into the clause's alias overlay
 * (`st.ov`), which shadows the scope below it. `*` copies every column of the clause's scope.
 */
import type { Value, ValueMap } from '../../core/index.js';
import type { Layer, PlanItem, PlanTarget } from '../plan/types.js';
import { putIn, setProp } from './access.js';
import { genFlatList, plainKey } from './codegen.js';
import type { PutStep } from './access.js';
import { compileExpr, compileName, decodePayloadExact } from './expr.js';
import type { Eval, EvalState } from './state.js';

/** Builds and returns a fresh output map; leaves the last field item's value in `st.last`. */
export type ListRunner = (st: EvalState) => ValueMap;

/** The layers below the overlay for a list: SELECT/FOREACH see the columns, DO sees the element scope. */
export interface ListScope {
  /** Layers below the overlay; `item` applies only to the element's name. */
  readonly below: readonly Layer[];
  readonly elementName?: string;
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
  const scopeRead = compileName(root, [
    'ov',
    ...scope.below.filter((l) => l !== 'item' || root === scope.elementName),
  ]);
  return (st, out, v) => {
    const steps = resolveSteps(st);
    // §3.2 payload special case: a selected raw payload is decoded and written into.
    let cur = Object.hasOwn(out, root) ? out[root] : undefined;
    if (isPayload) cur = decodePayloadExact(st, cur);
    setProp(out, root, putIn(cur, steps, 0, v));
    if (writesScope) {
      let sc = scopeRead(st);
      if (isPayload) sc = decodePayloadExact(st, sc);
      setProp(st.ov as ValueMap, root, putIn(sc, steps, 0, v));
    }
  };
}

export function compileList(items: readonly PlanItem[], scope: ListScope): ListRunner {
  const flat = compileFlatList(items);
  if (flat !== undefined) return flat;
  const steps: ((st: EvalState, out: ValueMap) => void)[] = items.map((item) => {
    if (item.kind === 'wildcard') {
      const copy = scope.wildcard;
      return (st, out) => {
        copy(st, out);
        st.last = undefined; // `*` as the FOREACH collection iterates nothing
      };
    }
    const value = compileExpr(item.expr);
    const write = compileWriter(item.target, item.writesScope, scope);
    return (st, out) => {
      const v = value(st);
      write(st, out, v);
      st.last = v;
    };
  });
  const n = steps.length;
  return (st) => {
    const out: ValueMap = {};
    for (let i = 0; i < n; i++) (steps[i] as (st: EvalState, out: ValueMap) => void)(st, out);
    return out;
  };
}

/**
 * Fast path: every item is a field writing a distinct plain top-level key. The output is built
 * by generated code from one object literal (fixed shape) instead of key-by-key writes.
 */
function compileFlatList(items: readonly PlanItem[]): ListRunner | undefined {
  const keys: string[] = [];
  const values: Eval[] = [];
  const writes: boolean[] = [];
  for (const item of items) {
    if (item.kind !== 'field' || item.target.steps.length > 0) return undefined;
    const key = item.target.root;
    if (!plainKey(key) || keys.includes(key)) return undefined;
    keys.push(key);
    values.push(compileExpr(item.expr));
    writes.push(item.writesScope);
  }
  if (keys.length === 0) return undefined;
  return genFlatList(keys, values, writes);
}
