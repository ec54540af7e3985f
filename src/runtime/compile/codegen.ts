/**
 * Small pieces of generated JavaScript for the hottest shapes (CONVENTIONS.md #3 allows
 * "closures or generated code"). Why: a closure created many times from one source literal
 * shares V8's inline caches between all its instances, so `v[key]` / `out[key] = x` sites become
 * megamorphic once a rule reads several different keys. Generating one tiny function per key
 * (or one per SELECT list) gives each site its own cache and lets V8 build output objects with a
 * fixed shape from a literal, as hand-written code would.
 *
 * Safety: the only rule text spliced into generated code is keys, always as `JSON.stringify`
 * string literals (valid JS string literals), and keys inherited from `Object.prototype` never
 * take these paths. Everything else is passed in as function arguments.
 */
import type { Value, ValueMap } from '../../core/index.js';
import { getKey } from './access.js';
import type { Eval, EvalState } from './state.js';

const lit = (s: string): string => JSON.stringify(s);

/** Keys that may be read/written with a named property access in generated code. */
export function plainKey(key: string): boolean {
  return !(key in Object.prototype) && key !== '__proto__';
}

/** `st.columns[name]` with a dedicated inline cache. */
export function genColumnRead(name: string): Eval {
  return new Function(`return function column(st) { return st.columns[${lit(name)}]; };`)() as Eval;
}

/** One key step: plain-object fast path, otherwise `getKey` (decodes strings on the fly). */
export function genKeyStep(key: string): (v: Value) => Value {
  return new Function(
    'getKey',
    `return function key(v) {
      return typeof v === 'object' && v !== null && v.constructor === Object
        ? v[${lit(key)}]
        : getKey(v, ${lit(key)});
    };`,
  )(getKey) as (v: Value) => Value;
}

/** A path of key steps only, below a root reader (which may decode the payload). */
export function genKeyPath(root: Eval, keys: readonly string[]): Eval {
  let body = 'let v = root(st);\n';
  keys.forEach((k, i) => {
    if (i > 0) body += 'if (v === undefined) return undefined;\n';
    body += `v = typeof v === 'object' && v !== null && v.constructor === Object ? v[${lit(k)}] : getKey(v, ${lit(k)});\n`;
  });
  body += 'return v;';
  return new Function('root', 'getKey', `return function path(st) {\n${body}\n};`)(
    root,
    getKey,
  ) as Eval;
}

/**
 * `payload.k1.k2…` read straight from the message's payload document (the common case: no alias
 * named `payload` in scope). Integers and containers settle the payload's exactness and, if the
 * document was replaced, are read again (see MessageContext).
 */
export function genPayloadKeyPath(keys: readonly string[]): Eval {
  let body = 'for (;;) {\nlet v = st.payloadDocument();\n';
  for (const k of keys) {
    body += 'if (v === undefined) return undefined;\n';
    body += `v = typeof v === 'object' && v !== null && v.constructor === Object ? v[${lit(k)}] : getKey(v, ${lit(k)});\n`;
  }
  body +=
    "if ((typeof v === 'number' ? Number.isInteger(v) : typeof v === 'object' && v !== null) && st.settlePayload()) continue;\n";
  body += 'return v;\n}';
  return new Function('getKey', `return function payloadPath(st) {\n${body}\n};`)(getKey) as Eval;
}

/**
 * A whole SELECT/DO list whose items all write distinct plain top-level keys (no `*`, no nested
 * targets): evaluates the items left to right, writes the alias overlay where a later item reads
 * it, leaves the last value in `st.last` and returns the output built from one object literal.
 */
export function genFlatList(
  keys: readonly string[],
  values: readonly Eval[],
  writesScope: readonly boolean[],
): (st: EvalState) => ValueMap {
  let body = '';
  keys.forEach((k, i) => {
    body += `const a${i} = values[${i}](st);\n`;
    if (writesScope[i]) body += `st.ov[${lit(k)}] = a${i};\n`;
  });
  body += `st.last = a${keys.length - 1};\n`;
  body += `return { ${keys.map((k, i) => `${lit(k)}: a${i}`).join(', ')} };`;
  return new Function('values', `return function list(st) {\n${body}\n};`)(values) as (
    st: EvalState,
  ) => ValueMap;
}

/**
 * A CASE as straight-line code. Searched (`exact` undefined): the first `when` returning `true`
 * wins. Simple: the subject is evaluated once and compared with `exact` (term equality).
 */
export function genCase(
  whens: readonly Eval[],
  thens: readonly Eval[],
  otherwise: Eval,
  subject?: Eval,
  exact?: (a: Value, b: Value) => boolean,
): Eval {
  let body = subject ? 'const s = subject(st);\n' : '';
  whens.forEach((_, i) => {
    body += subject
      ? `if (exact(s, w[${i}](st))) return t[${i}](st);\n`
      : `if (w[${i}](st) === true) return t[${i}](st);\n`;
  });
  body += 'return otherwise(st);';
  return new Function(
    'w',
    't',
    'otherwise',
    'subject',
    'exact',
    `return function caseExpr(st) {\n${body}\n};`,
  )(whens, thens, otherwise, subject, exact) as Eval;
}

/**
 * A function call site: evaluates the arguments left to right into a fresh array and calls the
 * implementation; `fail` turns whatever it throws into the call site's evaluation failure.
 * Generated per call site so each has its own inline caches (calls to different functions from
 * one shared closure would be megamorphic and never inlined).
 */
export function genCall(
  impl: (args: Value[], st: EvalState) => Value,
  args: readonly Eval[],
  fail: (args: Value[], e: unknown) => never,
): Eval {
  const list = args.map((_, i) => `a[${i}](st)`).join(', ');
  return new Function(
    'impl',
    'a',
    'fail',
    `return function call(st) {
      const args = [${list}];
      try {
        return impl(args, st);
      } catch (e) {
        return fail(args, e);
      }
    };`,
  )(impl, args, fail) as Eval;
}
