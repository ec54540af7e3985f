/**
 * Reading and writing values along paths (spec rule-sql §3). These helpers implement EMQX's
 * `nested_get`/`nested_put` over the core value model:
 *
 * - keys on maps only; 1-based list indexes, negative from the end, 0/out of range/non-list →
 *   undefined (§3.1);
 * - navigating through a string (or bytes) JSON-decodes it on the fly; if that fails the result
 *   is undefined (§3.1 — the top-level payload is handled by the caller, where it is an error);
 * - writes never mutate what they write into: containers along the path are copied, so decoded
 *   payloads shared between rules stay intact (§3.2 shaping rules documented on `putIn`).
 */
import { EFloat, decodeJson, isMap, setOwn } from '../../core/index.js';
import type { Value, ValueMap } from '../../core/index.js';
import { fault } from '../errors.js';

const hasOwn = Object.hasOwn;

/** Could this text be JSON whose top level is an object, array or string? */
function mayBeJson(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 13) continue;
    return c === 123 /* { */ || c === 91 /* [ */ || c === 34; /* " */
  }
  return false;
}

/** Lenient on-the-fly decode of a string value met while navigating: undefined if not JSON. */
export function decodeLenient(v: string | Buffer): Value {
  const s = typeof v === 'string' ? v : v.toString('utf8');
  if (!mayBeJson(s)) return undefined;
  try {
    return decodeJson(s);
  } catch {
    return undefined;
  }
}

/** `container.key`: map lookup (own keys only); strings are decoded on the fly. */
export function getKey(c: Value, key: string): Value {
  if (typeof c === 'object' && c !== null) {
    if (Array.isArray(c) || c instanceof EFloat) return undefined;
    if (Buffer.isBuffer(c)) return getKey(decodeLenient(c), key);
    return hasOwn(c, key) ? (c as ValueMap)[key] : undefined;
  }
  if (typeof c === 'string') return getKey(decodeLenient(c), key);
  return undefined;
}

/** `container[i]`: 1-based, negative from the end; non-integer index or non-list → undefined. */
export function getIndex(c: Value, i: Value): Value {
  if (Array.isArray(c)) {
    if (typeof i !== 'number' || !Number.isInteger(i) || i === 0) return undefined;
    return i > 0 ? c[i - 1] : c[c.length + i];
  }
  if (typeof c === 'string' || Buffer.isBuffer(c)) return getIndex(decodeLenient(c), i);
  return undefined;
}

/** `container[m..n]`: inclusive 1-based sub-list; a non-list or bound 0 is an error (§3.1). */
export function getSlice(c: Value, from: number, to: number): Value {
  if (!Array.isArray(c)) return fault('range_get: non_list_data (a [m..n] range needs a list)');
  if (from === 0 || to === 0) return fault('range_get: invalid_index 0 (ranges are 1-based)');
  const len = c.length;
  const b = from > 0 ? from : len + from + 1;
  const e = to > 0 ? to : len + to + 1;
  if (b < 1 || b > len + 1 || e - b + 1 < 0)
    return fault(`range_get: [${from}..${to}] is out of bounds for a list of ${len}`);
  return c.slice(b - 1, e);
}

/** Set a property, even one named `__proto__`, as an own data property. */
export const setProp = setOwn;

/** One step of an output target (§3.2). */
export type PutStep =
  | { readonly k: 'key'; readonly key: string }
  /** A literal alias index: `[n]` replace, `[-n]` from the end, `[0]` prepend, `[-0]` append. */
  | { readonly k: 'index'; readonly index: number; readonly negative: boolean }
  /** An index whose value is computed (implicit keys of `a[var]` paths): `setnth` semantics. */
  | { readonly k: 'dyn'; index: Value };

/**
 * Write `val` at `steps[i..]` below `c` and return the new container (EMQX `nested_put`):
 * - a key step on a map copies the map and sets the key; on anything else (including a string
 *   holding JSON) it yields a fresh one-key map — the string's other keys are lost, but the
 *   value already under that key (found by decoding) is the base for deeper writes;
 * - an index step on a non-list yields the one-element list `[value]`; on a list `[n]`/`[-n]`
 *   replaces (no-op when out of range), `[0]` prepends and `[-0]` appends.
 */
export function putIn(c: Value, steps: readonly PutStep[], i: number, val: Value): Value {
  if (i === steps.length) return val;
  const step = steps[i] as PutStep;
  if (step.k === 'key') {
    const inner = putIn(getKey(c, step.key), steps, i + 1, val);
    if (isMap(c)) {
      const copy: ValueMap = { ...c };
      setProp(copy, step.key, inner);
      return copy;
    }
    const fresh: ValueMap = {};
    setProp(fresh, step.key, inner);
    return fresh;
  }
  let pos: number | 'head' | 'tail' | undefined;
  if (step.k === 'index') {
    pos =
      step.index === 0
        ? step.negative
          ? 'tail'
          : 'head'
        : step.negative
          ? -step.index
          : step.index;
  } else {
    const n = step.index;
    pos = typeof n === 'number' && Number.isInteger(n) ? n : undefined;
  }
  const sub = typeof pos === 'number' ? getIndex(c, pos) : undefined;
  const inner = putIn(sub, steps, i + 1, val);
  if (!Array.isArray(c)) return [inner];
  if (pos === 'head') return [inner, ...c];
  if (pos === 'tail') return [...c, inner];
  if (pos === undefined || pos === 0) return c;
  const at = pos > 0 ? pos - 1 : c.length + pos;
  if (at < 0 || at >= c.length) return c;
  const copy = c.slice();
  copy[at] = inner;
  return copy;
}
