/**
 * Dot-path reads and writes on values (EMQX `emqx_rule_maps:nested_get/nested_put` as used by
 * `map_get`, `map_put`, `payload(Path)`, `flag(Name)`). A step into a string that holds JSON
 * object text decodes it on the fly (spec §11 subtlety 7); anything else yields undefined.
 */
import { decodeJson, isMap } from '../../core/index.js';
import type { Value, ValueMap } from '../../core/index.js';

/** Split a dot path once (`'a.b'` → `['a', 'b']`). */
export function splitPath(path: string): string[] {
  return path.split('.');
}

function asMap(v: Value): ValueMap | undefined {
  if (isMap(v)) return v;
  if (typeof v === 'string' || Buffer.isBuffer(v)) {
    try {
      const d = decodeJson(v);
      return isMap(d) ? d : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Follow `keys` through nested maps; undefined when any step is missing. */
export function getPath(root: Value, keys: readonly string[]): Value {
  let cur: Value = root;
  for (const k of keys) {
    const m = asMap(cur);
    if (m === undefined || !Object.hasOwn(m, k)) return undefined;
    cur = m[k];
  }
  return cur;
}

/**
 * Return a copy of `root` with `val` written at `keys`, creating intermediate maps (a non-map
 * intermediate is replaced by a new map). `root` itself is never mutated.
 */
export function putPath(root: Value, keys: readonly string[], val: Value): ValueMap {
  const base = asMap(root) ?? {};
  const [head, ...rest] = keys;
  if (head === undefined) return base === root ? base : { ...base };
  const out: ValueMap = { ...base };
  out[head] = rest.length === 0 ? val : putPath(base[head], rest, val);
  return out;
}
