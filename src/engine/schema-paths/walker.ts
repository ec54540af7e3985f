/**
 * The contract of the schema walkers of `sluice check` (issue #16 item 5): one step of a rule
 * path (`.key` or `[i]`) over what a schema says the value can be. A walker answers `no` only
 * when the step is certain to give undefined for every value the schema allows, following the
 * runtime's navigation (src/runtime/compile/access.ts, rule-sql §3.1): keys on maps only,
 * 1-based indexes on lists only, and a string (or binary) met on the way is JSON-decoded on the
 * fly — so a text value can hold anything and is never judged.
 */

/** One navigation step: a key, or a list index (`at` when the index is an integer literal). */
export type Step =
  | { readonly k: 'key'; readonly key: string }
  | { readonly k: 'index'; readonly at?: number }
  /** `[m..n]`, the last step of a path: a non-list fails the rule (`range_get non_list_data`). */
  | { readonly k: 'slice' };

export type Verdict =
  /** The step yields undefined for every value the schema allows. */
  | { readonly kind: 'no'; readonly why: string }
  /** Possible, and the schema says nothing more below. */
  | { readonly kind: 'unknown' }
  /** Possible; what the value below can be. */
  | { readonly kind: 'next'; readonly next: Walker };

export interface Walker {
  step(s: Step): Verdict;
}

export const UNKNOWN: Verdict = { kind: 'unknown' };

/** What a range on a value of this description does. */
export const sliceWhy = (what: string): string =>
  `it is ${what}, not a list, and a range [m..n] on it fails the rule (range_get: non_list_data; strings are not decoded for a range)`;

export const stepText = (s: Step): string =>
  s.k === 'slice'
    ? 'range'
    : s.k === 'key'
      ? `field ${JSON.stringify(s.key)}`
      : s.at === undefined
        ? 'index'
        : `index [${s.at}]`;

/** `[0]` is undefined on anything (indexes are 1-based; a decoded string is indexed the same). */
export function zeroIndex(s: Step): Verdict | undefined {
  return s.k === 'index' && s.at === 0
    ? { kind: 'no', why: 'list indexes start at 1, so [0] is always undefined' }
    : undefined;
}

/**
 * A decoded Avro / Protobuf value as the rule value model holds it: closed records (every key
 * is a declared field), open maps, lists, text (string or bytes: decoded on navigation, so
 * anything), and scalars that cannot be navigated (numbers, booleans, null, enum symbols).
 */
export type Shape =
  | { readonly t: 'any' }
  | { readonly t: 'scalar'; readonly name: string }
  | { readonly t: 'text'; readonly name: string }
  | {
      readonly t: 'record';
      readonly name: string;
      /** Field → its shape (lazy: recursive types). */
      readonly fields: ReadonlyMap<string, () => Shape>;
      /** Keys beyond `fields` may appear (proto2 extensions, groups): only known fields typed. */
      readonly open?: boolean;
    }
  | { readonly t: 'map'; readonly values: () => Shape }
  | { readonly t: 'array'; readonly items: () => Shape }
  | { readonly t: 'union'; readonly of: readonly (() => Shape)[] };

const MAX_UNION = 64;

function flatten(shapes: readonly Shape[], out: Shape[], depth = 0): boolean {
  for (const s of shapes) {
    if (s.t === 'union') {
      if (
        depth > 16 ||
        !flatten(
          s.of.map((f) => f()),
          out,
          depth + 1,
        )
      )
        return false;
    } else out.push(s);
    if (out.length > MAX_UNION) return false;
  }
  return true;
}

type ShapeResult = { readonly kind: 'no'; readonly why: string } | 'unknown' | readonly Shape[];

function shapeStep(s: Shape, st: Step): ShapeResult {
  if (st.k === 'slice') {
    if (s.t === 'array' || s.t === 'any') return 'unknown';
    return {
      kind: 'no',
      why: sliceWhy(s.t === 'map' ? 'a map' : s.t === 'union' ? 'a union' : s.name),
    };
  }
  switch (s.t) {
    case 'any':
    case 'text':
      return 'unknown';
    case 'scalar':
      return { kind: 'no', why: `it is ${s.name}, which has no ${stepText(st)}` };
    case 'record': {
      if (st.k === 'index') return { kind: 'no', why: `it is ${s.name}, not a list` };
      const f = s.fields.get(st.key);
      if (f) return [f()];
      if (s.open) return 'unknown';
      const names = [...s.fields.keys()];
      return {
        kind: 'no',
        why: names.length
          ? `${s.name} has only the fields ${names.join(', ')}`
          : `${s.name} has no fields`,
      };
    }
    case 'map':
      if (st.k === 'index') return { kind: 'no', why: 'it is a map, not a list' };
      return [s.values()];
    case 'array':
      if (st.k === 'key') return { kind: 'no', why: `it is a list, which has no ${stepText(st)}` };
      return [s.items()];
    case 'union':
      return 'unknown'; // flattened before
  }
}

/** A walker over a union of shapes: possible when any branch allows the step. */
export function shapeWalker(shapes: readonly Shape[]): Walker {
  return {
    step(st) {
      const z = zeroIndex(st);
      if (z) return z;
      const flat: Shape[] = [];
      if (!flatten(shapes, flat)) return UNKNOWN;
      const next: Shape[] = [];
      const whys: string[] = [];
      for (const s of flat) {
        const v = shapeStep(s, st);
        if (v === 'unknown') return UNKNOWN;
        if ('kind' in v) whys.push(v.why);
        else next.push(...v);
      }
      if (next.length > 0) return { kind: 'next', next: shapeWalker(next) };
      if (whys.length === 1) return { kind: 'no', why: whys[0] as string };
      return {
        kind: 'no',
        why: `no branch of the union has it (${[...new Set(whys)].join('; ')})`,
      };
    },
  };
}
