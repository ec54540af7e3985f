/**
 * Plan expressions → closures (CONVENTIONS.md #3): each node becomes one JS closure, built once
 * per rule; the hot path never walks the AST, never looks a function up by name and reads
 * constant keys directly. Semantics: spec rule-sql §3 (paths), §4.3 (conditions), §5
 * (payload), §6 (operators).
 */
import { decodeJson, exactEquals } from '../../core/index.js';
import type { Value } from '../../core/index.js';
import { BadArg } from '../functions/registry.js';
import type { FunctionImpl } from '../functions/registry.js';
import { EvalFault, fault } from '../errors.js';
import { SluiceError } from '../../core/index.js';
import type { Layer, PlanExpr, PlanStep } from '../plan/types.js';
import { getIndex, getKey, getSlice } from './access.js';
import {
  genCall,
  genCase,
  genColumnRead,
  genKeyPath,
  genKeyStep,
  genPayloadKeyPath,
  plainKey,
} from './codegen.js';
import { ARITH, compare, describe, identity, negate } from '../value-ops.js';
import type { Eval, EvalState } from './state.js';

const hasOwn = Object.hasOwn;

/** Reader of a root name through the given layers, then the trigger columns. */
export function compileName(name: string, layers: readonly Layer[]): Eval {
  const col: Eval = !plainKey(name)
    ? (st) => (hasOwn(st.columns, name) ? st.columns[name] : undefined)
    : genColumnRead(name);
  if (layers.length === 0) return col;
  // The planner adds the `item` layer only for the element's own name, which is always bound.
  if (layers[0] === 'item') return (st) => st.element;
  if (layers.length === 1) {
    const l = layers[0] as 'ov' | 'sel';
    return (st) => {
      const m = st[l];
      return m !== null && hasOwn(m, name) ? m[name] : col(st);
    };
  }
  return (st) => {
    for (const l of layers) {
      if (l === 'item') return st.element;
      const m = st[l];
      if (m !== null && hasOwn(m, name)) return m[name];
    }
    return col(st);
  };
}

/**
 * The payload seen through a `payload.…` path: parsed once per message, errors if invalid (§5).
 * The document may not be exact yet: readers pass what they read through `settle`.
 */
export function decodePayloadValue(st: EvalState, v: Value): Value {
  if (typeof v === 'string' || Buffer.isBuffer(v)) {
    if (v === st.columns.payload) return st.payloadDocument();
    return decodeOther(v);
  }
  return v;
}

/** Like `decodePayloadValue` but exact — for values that escape whole (writes, FOREACH). */
export function decodePayloadExact(st: EvalState, v: Value): Value {
  if (typeof v === 'string' || Buffer.isBuffer(v)) {
    if (v === st.columns.payload) return st.exactPayloadDocument();
    return decodeOther(v);
  }
  return v;
}

function decodeOther(v: string | Buffer): Value {
  try {
    return decodeJson(v);
  } catch (e) {
    return fault(`payload is not valid JSON (${(e as Error).message})`, 'decode_json_failed');
  }
}

/** Could `v`, read from a plainly parsed payload, differ in the exact decode? */
function mayBeInexact(v: Value): boolean {
  return typeof v === 'number' ? Number.isInteger(v) : typeof v === 'object' && v !== null;
}

/** Wrap a payload reader: integers and containers make the payload exact, then read again. */
function settled(read: Eval): Eval {
  return (st) => {
    const v = read(st);
    return mayBeInexact(v) && st.settlePayload() ? read(st) : v;
  };
}

type Step = (v: Value, st: EvalState, doc: Value) => Value;

function compileStep(s: PlanStep): Step {
  switch (s.k) {
    case 'key': {
      const key = s.key;
      if (!plainKey(key)) return (v) => getKey(v, key);
      // Fast path for plain objects (what JSON.parse and our writers produce).
      return genKeyStep(key);
    }
    case 'slice': {
      const { from, to } = s;
      return (v) => getSlice(v, from, to);
    }
    case 'index': {
      const ix = s.index;
      if (ix.op === 'const') {
        const i = ix.value;
        return (v) => getIndex(v, i);
      }
      const idx = compileIndex(ix);
      return (v, st, doc) => getIndex(v, idx(st, doc));
    }
  }
}

/** An index expression; `docpath` indexes read the decoded payload document (§3.1). */
function compileIndex(p: PlanExpr): (st: EvalState, doc: Value) => Value {
  if (p.op === 'docpath') {
    const root = p.root;
    const steps = p.steps.map(compileStep);
    return (st, doc) => {
      let v = getKey(doc, root);
      for (const step of steps) {
        if (v === undefined) return undefined;
        v = step(v, st, doc);
      }
      return v;
    };
  }
  const e = compileExpr(p);
  return (st) => e(st);
}

function compilePath(p: Extract<PlanExpr, { op: 'path' }>): Eval {
  const root = compileName(p.root, p.layers);
  if (p.steps.every((s) => s.k === 'key' && plainKey(s.key))) {
    const keys = p.steps.map((s) => (s as { key: string }).key);
    if (!p.payload) return genKeyPath(root, keys);
    // Root `payload` read from the columns: decodePayloadValue(columns.payload) is exactly the
    // message's payload document (MessageContext returns non-text payloads as they are).
    if (p.layers.length === 0) return genPayloadKeyPath(keys);
    return settled(genKeyPath((st) => decodePayloadValue(st, root(st)), keys));
  }
  const steps = p.steps.map(compileStep);
  const n = steps.length;
  if (p.payload) {
    const slices = p.steps.map(isSlice);
    // An index read from the payload document must see exact numbers (`2.0` is no index).
    const exactFirst = p.steps.some((s) => s.k === 'index' && s.index.op === 'docpath');
    const read: Eval = (st) => {
      const top = root(st);
      const doc = exactFirst ? decodePayloadExact(st, top) : decodePayloadValue(st, top);
      let v = doc;
      for (let i = 0; i < n; i++) {
        if (v === undefined && !slices[i]) return undefined;
        v = (steps[i] as Step)(v, st, doc);
      }
      return v;
    };
    return exactFirst ? read : settled(read);
  }
  const slices = p.steps.map(isSlice);
  return (st) => {
    const top = root(st);
    let v = top;
    for (let i = 0; i < n; i++) {
      if (v === undefined && !slices[i]) return undefined;
      v = (steps[i] as Step)(v, st, top);
    }
    return v;
  };
}

function isSlice(s: PlanStep | undefined): boolean {
  return s !== undefined && s.k === 'slice';
}

/** Turn whatever an implementation threw into the evaluation failure for this call site. */
function callFailure(name: string, args: readonly Value[], e: unknown): never {
  if (e instanceof EvalFault) throw e;
  const shown = args.map(describe).join(', ');
  if (e instanceof BadArg)
    return fault(`${name}(${shown}): ${e.reason}`, 'bad_sql_function_argument', e);
  if (e instanceof SluiceError) return fault(`${name}(${shown}): ${e.message}`, e.code, e);
  const msg = e instanceof Error ? e.message : String(e);
  return fault(`${name}(${shown}): ${msg}`, 'bad_sql_function_argument', e);
}

function compileCall(name: string, impl: FunctionImpl, argPlans: readonly PlanExpr[]): Eval {
  return genCall(impl, argPlans.map(compileExpr), (vals, e) => callFailure(name, vals, e));
}

/** Compile an expression used as a value. */
export function compileExpr(p: PlanExpr): Eval {
  switch (p.op) {
    case 'const': {
      const v = p.value;
      return () => v;
    }
    case 'name':
      return compileName(p.name, p.layers);
    case 'path':
      return compilePath(p);
    case 'docpath':
      // Only reachable inside an index (handled by compileIndex); read from the payload.
      return compilePath({
        op: 'path',
        root: 'payload',
        layers: [],
        payload: true,
        steps: [{ k: 'key', key: p.root }, ...p.steps],
      });
    case 'call':
      return compileCall(p.name, p.impl, p.args);
    case 'arith': {
      const l = compileExpr(p.left);
      const r = compileExpr(p.right);
      const f = ARITH[p.operator];
      return (st) => f(l(st), r(st));
    }
    case 'unary': {
      const e = compileExpr(p.operand);
      return p.operator === '-' ? (st) => negate(e(st)) : (st) => identity(e(st));
    }
    case 'compare':
      return compileCompare(p);
    case 'list': {
      const els = p.elements.map(compileExpr);
      return (st) => els.map((e) => e(st));
    }
    case 'case':
      return compileCase(p);
    case 'and':
    case 'or':
    case 'not':
    case 'in':
      // EMQX cannot evaluate these as values (§4.3 defect); we evaluate them as boolean logic.
      return compileCondition(p);
  }
}

function compileCompare(p: Extract<PlanExpr, { op: 'compare' }>): Eval {
  const op = p.operator;
  const l = compileExpr(p.left);
  if (p.right.op === 'const' && typeof p.right.value === 'number' && op !== '=~') {
    const k = p.right.value;
    // Numeric literal on the right (`payload.temp > 30`): skip the generic dispatch for numbers.
    switch (op) {
      case '>':
        return (st) => {
          const v = l(st);
          return typeof v === 'number' ? v > k : compare(op, v, k);
        };
      case '<':
        return (st) => {
          const v = l(st);
          return typeof v === 'number' ? v < k : compare(op, v, k);
        };
      case '>=':
        return (st) => {
          const v = l(st);
          return typeof v === 'number' ? v >= k : compare(op, v, k);
        };
      case '<=':
        return (st) => {
          const v = l(st);
          return typeof v === 'number' ? v <= k : compare(op, v, k);
        };
      case '=':
        return (st) => {
          const v = l(st);
          return typeof v === 'number' ? v === k : compare(op, v, k);
        };
      default:
        return (st) => {
          const v = l(st);
          return typeof v === 'number' ? v !== k : compare(op, v, k);
        };
    }
  }
  const r = compileExpr(p.right);
  return (st) => compare(op, l(st), r(st));
}

function compileCase(p: Extract<PlanExpr, { op: 'case' }>): Eval {
  // Simple CASE compares with exact term equality, subject evaluated once (§2); searched CASE
  // takes the first WHEN whose condition is true (non-boolean results do not match).
  const whens = p.branches.map((b) => (p.subject ? compileExpr(b.when) : compileCondition(b.when)));
  const thens = p.branches.map((b) => compileExpr(b.then));
  const otherwise: Eval = p.else ? compileExpr(p.else) : () => undefined;
  return p.subject
    ? genCase(whens, thens, otherwise, compileExpr(p.subject), exactEquals)
    : genCase(whens, thens, otherwise);
}

function notACondition(what: string): Eval {
  return () => fault(`${what} cannot be used as a condition (use a comparison, e.g. x = true)`);
}

function describePlan(p: PlanExpr): string {
  switch (p.op) {
    case 'name':
      return `the bare name ${p.name}`;
    case 'path':
      return `the path ${p.root}${p.steps.map((s) => (s.k === 'key' ? '.' + s.key : '[…]')).join('')}`;
    case 'const':
      return `the constant ${describe(p.value)}`;
    case 'arith':
    case 'unary':
      return 'an arithmetic expression';
    case 'list':
      return 'a list';
    case 'case':
      return 'a CASE expression';
    default:
      return 'this expression';
  }
}

/**
 * Compile an expression used as a condition (WHERE, INCASE, WHEN — §4.3). Returns the raw result:
 * booleans, except that a function call's result is passed through unchecked (the clause decides
 * whether a non-boolean is an error). AND/OR short-circuit; NOT yields false for non-booleans;
 * `NOT (a AND b)`, `NOT x IN (…)` and `x NOT IN (…)` are ordinary boolean logic.
 */
export function compileCondition(p: PlanExpr): Eval {
  switch (p.op) {
    case 'and': {
      const l = compileCondition(p.left);
      const r = compileCondition(p.right);
      return (st) => {
        const a = l(st);
        if (a === false) return false;
        if (a !== true) return fault(`AND needs boolean operands, got ${describe(a)}`);
        return r(st);
      };
    }
    case 'or': {
      const l = compileCondition(p.left);
      const r = compileCondition(p.right);
      return (st) => {
        const a = l(st);
        if (a === true) return true;
        if (a !== false) return fault(`OR needs boolean operands, got ${describe(a)}`);
        return r(st);
      };
    }
    case 'not': {
      const o = p.operand;
      const inner =
        o.op === 'and' || o.op === 'or' || o.op === 'in' || o.op === 'not'
          ? compileCondition(o)
          : compileExpr(o);
      return (st) => {
        const v = inner(st);
        return v === true ? false : v === false;
      };
    }
    case 'in': {
      const x = compileExpr(p.operand);
      const list = p.list.map(compileExpr);
      const negated = p.negated;
      return (st) => {
        const v = x(st);
        let found = false;
        for (const e of list) {
          if (exactEquals(v, e(st))) {
            found = true;
            break;
          }
        }
        return found !== negated;
      };
    }
    case 'compare':
      return compileCompare(p);
    case 'call':
      return compileExpr(p);
    case 'const':
      if (typeof p.value === 'boolean') {
        const v = p.value;
        return () => v;
      }
      return notACondition(describePlan(p));
    default:
      return notACondition(describePlan(p));
  }
}
