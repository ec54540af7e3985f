/**
 * JSON Schema → walker over what a value valid against the schema can be (`sluice check`,
 * issue #16 item 5). The state is a disjunction of alternatives, each a conjunction of schema
 * nodes whose own keywords all hold; applicators are expanded into it: `$ref` (JSON pointers,
 * `$id`/draft-04 `id` bases, `$anchor` and `#name` ids), `allOf` (conjunction), `anyOf` and
 * `oneOf` (disjunction — oneOf's "exactly one" is weakened to "at least one"),
 * `if`/`then`/`else` ([if ∧ then] or [else]). A step is `no` only when every alternative rules
 * it out; anything dropped (`not`, `dependentSchemas`, `unevaluated*`, `$dynamicRef`, refs that
 * do not resolve, formats, patterns of strings) only makes more values possible, never fewer.
 *
 * Kinds follow the runtime: a key needs a map, an index a list; a string can hold any JSON
 * (decoded on the fly), so a schema that allows strings (or has no `type`) is not judged unless
 * `const`/`enum` pin it to texts that are not JSON.
 */
import type { Step, Verdict, Walker } from './walker.js';
import { UNKNOWN, sliceWhy, stepText, zeroIndex } from './walker.js';

type Json = unknown;
type Obj = Record<string, unknown>;
export type Draft = 'draft-04' | 'draft-06' | 'draft-07' | '2019-09' | '2020-12';

/** As src/schema-registry/json-schema.ts `draftOf` (the registry's choice of Ajv engine). */
export function draftOf(schema: Obj): Draft {
  const s = typeof schema['$schema'] === 'string' ? schema['$schema'] : '';
  if (s.includes('draft-04')) return 'draft-04';
  if (s.includes('draft-06')) return 'draft-06';
  if (s.includes('2019-09')) return '2019-09';
  if (s.includes('2020-12')) return '2020-12';
  return 'draft-07';
}

/** A schema node and the base URI its relative references resolve against. */
interface At {
  readonly node: Json;
  readonly base: string;
}
type Alt = readonly At[];

const DEFAULT_BASE = 'https://sluice.invalid/schema.json';
const MAX_ALTS = 64;
const MAX_EXPANSIONS = 500;

/** Keywords whose value is a subschema / an array of them / a map of them (for the id index). */
const ONE = [
  'additionalProperties',
  'additionalItems',
  'items',
  'not',
  'if',
  'then',
  'else',
  'contains',
  'propertyNames',
  'unevaluatedProperties',
  'unevaluatedItems',
  'contentSchema',
];
const MANY = ['allOf', 'anyOf', 'oneOf', 'prefixItems', 'items'];
const MAP = [
  'properties',
  'patternProperties',
  '$defs',
  'definitions',
  'dependentSchemas',
  'dependencies',
];

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const stripHash = (u: string): string => {
  const i = u.indexOf('#');
  return i < 0 ? u : u.slice(0, i);
};

function resolveUri(ref: string, base: string): string | undefined {
  try {
    return new URL(ref, base).href;
  } catch {
    return undefined;
  }
}

type Kind = 'object' | 'array' | 'text' | 'jsontext' | 'number' | 'boolean' | 'null';
const ALL_KINDS: readonly Kind[] = [
  'object',
  'array',
  'jsontext',
  'text',
  'number',
  'boolean',
  'null',
];

/** The runtime's "could this string be navigated" (access.ts decodeLenient). */
function decodesAsJson(s: string): boolean {
  const t = s.trimStart();
  if (!t.startsWith('{') && !t.startsWith('[') && !t.startsWith('"')) return false;
  try {
    JSON.parse(s);
    return true;
  } catch {
    return false;
  }
}

function kindOfValue(v: unknown): Kind {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'string') return decodesAsJson(v) ? 'jsontext' : 'text';
  if (typeof v === 'number') return 'number';
  if (typeof v === 'boolean') return 'boolean';
  return 'object';
}

const TYPE_KINDS: Record<string, readonly Kind[]> = {
  object: ['object'],
  array: ['array'],
  string: ['jsontext', 'text'],
  number: ['number'],
  integer: ['number'],
  boolean: ['boolean'],
  null: ['null'],
};

const KIND_NAME: Record<Kind, string> = {
  object: 'an object',
  array: 'an array',
  jsontext: 'a string',
  text: 'a string that is not JSON',
  number: 'a number',
  boolean: 'a boolean',
  null: 'null',
};

export interface JsonSchemaDoc {
  readonly root: Json;
  readonly draft: Draft;
  readonly base: string;
  readonly resources: ReadonlyMap<string, Json>;
  readonly anchors: ReadonlyMap<string, Json>;
}

/** Index the `$id` resources and anchors of a schema document. */
export function jsonSchemaDoc(root: Json): JsonSchemaDoc {
  const draft = isObj(root) ? draftOf(root) : 'draft-07';
  const resources = new Map<string, Json>();
  const anchors = new Map<string, Json>();
  const idKey = draft === 'draft-04' ? 'id' : '$id';
  const seen = new Set<unknown>();
  let rootBase = DEFAULT_BASE;
  const visit = (n: Json, base: string, isRoot: boolean): void => {
    if (!isObj(n) || seen.has(n)) return;
    seen.add(n);
    let b = base;
    const id = n[idKey];
    if (typeof id === 'string') {
      if (id.startsWith('#') && draft !== '2019-09' && draft !== '2020-12') {
        anchors.set(`${stripHash(b)}#${id.slice(1)}`, n);
      } else {
        const abs = resolveUri(id, b);
        if (abs) {
          b = stripHash(abs);
          resources.set(b, n);
          const frag = abs.indexOf('#') >= 0 ? abs.slice(abs.indexOf('#') + 1) : '';
          if (frag && !frag.startsWith('/')) anchors.set(`${b}#${frag}`, n);
        }
      }
    }
    if (isRoot) {
      rootBase = b;
      resources.set(b, n);
    }
    if (typeof n['$anchor'] === 'string') anchors.set(`${b}#${n['$anchor']}`, n);
    if (typeof n['$dynamicAnchor'] === 'string') anchors.set(`${b}#${n['$dynamicAnchor']}`, n);
    for (const k of ONE) if (isObj(n[k])) visit(n[k], b, false);
    for (const k of MANY)
      if (Array.isArray(n[k])) for (const x of n[k] as unknown[]) visit(x, b, false);
    for (const k of MAP)
      if (isObj(n[k])) for (const x of Object.values(n[k] as Obj)) visit(x, b, false);
  };
  visit(root, DEFAULT_BASE, true);
  return { root, draft, base: rootBase, resources, anchors };
}

/** Resolved references per document (a rule set resolves the same few refs many times). */
const refCache = new WeakMap<JsonSchemaDoc, Map<string, At | undefined>>();

function resolveRef(doc: JsonSchemaDoc, ref: string, base: string): At | undefined {
  let cache = refCache.get(doc);
  if (!cache) refCache.set(doc, (cache = new Map()));
  const key = `${base}\u0000${ref}`;
  if (cache.has(key)) return cache.get(key);
  const r = resolveRefUncached(doc, ref, base);
  cache.set(key, r);
  return r;
}

function resolveRefUncached(doc: JsonSchemaDoc, ref: string, base: string): At | undefined {
  const abs = resolveUri(ref, base);
  if (!abs) return undefined;
  const key = stripHash(abs);
  const hash = abs.indexOf('#') >= 0 ? abs.slice(abs.indexOf('#') + 1) : '';
  const resource = doc.resources.get(key);
  if (hash === '') return resource === undefined ? undefined : { node: resource, base: key };
  if (!hash.startsWith('/')) {
    const a = doc.anchors.get(`${key}#${decodeURIComponent(hash)}`);
    return a === undefined ? undefined : { node: a, base: key };
  }
  if (resource === undefined) return undefined;
  let n: Json = resource;
  const idKey = doc.draft === 'draft-04' ? 'id' : '$id';
  for (const raw of hash.slice(1).split('/')) {
    const seg = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    // A subschema with its own id on the way would change the base: not followed.
    if (n !== resource && isObj(n) && typeof n[idKey] === 'string') return undefined;
    if (Array.isArray(n)) n = n[Number(seg)];
    else if (isObj(n) && Object.hasOwn(n, seg)) n = n[seg];
    else return undefined;
    if (n === undefined) return undefined;
  }
  return { node: n, base: key };
}

/**
 * Expand applicators: alternatives whose nodes carry only their own keywords. `undefined`: too
 * big to judge (treated as "anything").
 */
const expandCache = new WeakMap<JsonSchemaDoc, Map<string, WeakMap<object, At[][] | null>>>();

/** `expandUncached`, memoised for the common one-node alternative. */
function expand(doc: JsonSchemaDoc, alt: Alt): At[][] | undefined {
  const one = alt.length === 1 ? (alt[0] as At) : undefined;
  if (!one || !isObj(one.node)) return expandUncached(doc, alt);
  let byBase = expandCache.get(doc);
  if (!byBase) expandCache.set(doc, (byBase = new Map()));
  let byNode = byBase.get(one.base);
  if (!byNode) byBase.set(one.base, (byNode = new WeakMap()));
  const hit = byNode.get(one.node);
  if (hit !== undefined) return hit ?? undefined;
  const r = expandUncached(doc, alt);
  byNode.set(one.node, r ?? null);
  return r;
}

function expandUncached(doc: JsonSchemaDoc, alt: Alt): At[][] | undefined {
  const late = doc.draft === '2019-09' || doc.draft === '2020-12';
  const idKey = doc.draft === 'draft-04' ? 'id' : '$id';
  let budget = MAX_EXPANSIONS;
  // Each pending alternative: nodes still to expand + nodes done.
  const out: At[][] = [];
  // `seen`: nodes already in this alternative — a conjunction holding a node twice is the
  // same conjunction, which also ends reference cycles.
  const work: { todo: At[]; done: At[]; seen: Set<unknown> }[] = [
    { todo: [...alt], done: [], seen: new Set() },
  ];
  while (work.length > 0) {
    const w = work.pop() as { todo: At[]; done: At[]; seen: Set<unknown> };
    let dead = false;
    while (w.todo.length > 0 && !dead) {
      if (--budget < 0) return undefined;
      const at = w.todo.pop() as At;
      const n = at.node;
      if (n === true || (isObj(n) && Object.keys(n).length === 0)) continue;
      if (n === false) {
        dead = true;
        break;
      }
      if (!isObj(n) || w.seen.has(n)) continue;
      w.seen.add(n);
      let base = at.base;
      const id = n[idKey];
      if (typeof id === 'string' && !(id.startsWith('#') && !late)) {
        const abs = resolveUri(id, base);
        if (abs) base = stripHash(abs);
      }
      if (typeof n['$ref'] === 'string') {
        const target = resolveRef(doc, n['$ref'], base);
        if (target) w.todo.push(target);
        // Up to draft-07 the keywords beside $ref are ignored.
        if (!late) continue;
      }
      w.done.push({ node: n, base });
      if (Array.isArray(n['allOf']))
        for (const x of n['allOf'] as unknown[]) w.todo.push({ node: x, base });
      const ors: Json[][] = [];
      for (const k of ['anyOf', 'oneOf'])
        if (Array.isArray(n[k]) && (n[k] as unknown[]).length > 0) ors.push(n[k] as Json[]);
      if (
        doc.draft !== 'draft-04' &&
        doc.draft !== 'draft-06' &&
        'if' in n &&
        ('then' in n || 'else' in n)
      ) {
        // [if ∧ then] or [else] (¬if is dropped: a weaker, still sound, second alternative).
        ors.push([{ allOf: [n['if'], n['then'] ?? true] }, n['else'] ?? true]);
      }
      if (ors.length > 0) {
        const [first, ...rest] = ors as [Json[], ...Json[][]];
        // Split on the first disjunction; the others stay pending on every branch.
        const pendingRest = rest.map((r) => ({ node: { anyOf: r }, base }));
        if (work.length + first.length > MAX_ALTS) return undefined;
        for (const b of first.slice(1))
          work.push({
            todo: [...w.todo, ...pendingRest, { node: b, base }],
            done: [...w.done],
            seen: new Set(w.seen),
          });
        w.todo.push(...pendingRest, { node: first[0], base });
      }
    }
    if (!dead) out.push(w.done);
    if (out.length > MAX_ALTS) return undefined;
  }
  return out;
}

const typesOf = (n: Obj, draft: Draft): Set<Kind> => {
  let ks = new Set<Kind>(ALL_KINDS);
  const t = n['type'];
  if (typeof t === 'string' || Array.isArray(t)) {
    const list = (Array.isArray(t) ? t : [t]).flatMap((x) => TYPE_KINDS[String(x)] ?? []);
    ks = new Set(list);
    // Ajv's OpenAPI `nullable: true` adds null to the types.
    if (n['nullable'] === true) ks.add('null');
  }
  const values: unknown[] | undefined =
    draft !== 'draft-04' && 'const' in n
      ? [n['const']]
      : Array.isArray(n['enum'])
        ? (n['enum'] as unknown[])
        : undefined;
  if (values) {
    const vk = new Set(values.map(kindOfValue));
    ks = new Set([...ks].filter((k) => vk.has(k)));
  }
  return ks;
};

/** The values a node pins with `const` / `enum`, if it does. */
function pinned(n: Obj, draft: Draft): unknown[] | undefined {
  if (draft !== 'draft-04' && 'const' in n) return [n['const']];
  return Array.isArray(n['enum']) ? (n['enum'] as unknown[]) : undefined;
}

type Local = { readonly kind: 'no'; readonly why: string } | 'free' | At[];

function keyChild(n: Obj, key: string, base: string, draft: Draft): Local {
  const out: At[] = [];
  const vals = pinned(n, draft);
  if (vals) {
    const objs = vals.filter((v) => isObj(v));
    const with_ = objs.filter((v) => Object.hasOwn(v, key));
    if (objs.length > 0 && with_.length === 0)
      return { kind: 'no', why: `no value the schema allows (enum/const) has it` };
    out.push({ node: { enum: with_.map((v) => v[key]) }, base });
  }
  if (n['maxProperties'] === 0)
    return { kind: 'no', why: 'the schema allows only an empty object here' };
  const props = isObj(n['properties']) ? n['properties'] : undefined;
  let matched = false;
  if (props && Object.hasOwn(props, key)) {
    out.push({ node: props[key], base });
    matched = true;
  }
  const pats = isObj(n['patternProperties']) ? n['patternProperties'] : undefined;
  for (const [p, s] of Object.entries(pats ?? {})) {
    let hit: boolean;
    try {
      hit = new RegExp(p, 'u').test(key);
    } catch {
      hit = true; // not judged
    }
    if (hit) {
      out.push({ node: s, base });
      matched = true;
    }
  }
  if (!matched) {
    const add = n['additionalProperties'];
    if (add === false) {
      const names = Object.keys(props ?? {}).map((k) => JSON.stringify(k));
      const patterns = Object.keys(pats ?? {}).map((p) => `/${p}/`);
      const allowed = [...names, ...patterns];
      return {
        kind: 'no',
        why: allowed.length
          ? `the schema allows only ${allowed.join(', ')} here`
          : 'the schema allows no properties here',
      };
    }
    if (add !== undefined && add !== true) out.push({ node: add, base });
  }
  return out.length ? out : 'free';
}

function indexChild(n: Obj, at: number | undefined, base: string, draft: Draft): Local {
  const vals = pinned(n, draft);
  const out: At[] = [];
  if (vals) {
    const arrs = vals.filter((v): v is unknown[] => Array.isArray(v));
    if (at !== undefined && at > 0) {
      const with_ = arrs.filter((a) => a.length >= at);
      if (arrs.length > 0 && with_.length === 0)
        return { kind: 'no', why: 'no list the schema allows (enum/const) is that long' };
      out.push({ node: { enum: with_.map((a) => a[at - 1]) }, base });
    }
  }
  const max = n['maxItems'];
  if (typeof max === 'number' && (max === 0 || (at !== undefined && at > max)))
    return { kind: 'no', why: `the schema allows at most ${max} items here` };
  const items = n['items'];
  const tuple = draft === '2020-12' ? n['prefixItems'] : Array.isArray(items) ? items : undefined;
  const rest = draft === '2020-12' ? items : Array.isArray(items) ? n['additionalItems'] : items;
  const prefix = Array.isArray(tuple) ? (tuple as unknown[]) : [];
  if (at !== undefined && at > 0) {
    if (at <= prefix.length) out.push({ node: prefix[at - 1], base });
    else if (rest === false)
      return { kind: 'no', why: `the schema allows at most ${prefix.length} items here` };
    else if (rest !== undefined && rest !== true) out.push({ node: rest, base });
  } else if (prefix.length === 0) {
    if (rest === false) return { kind: 'no', why: 'the schema allows only an empty list here' };
    if (rest !== undefined && rest !== true) out.push({ node: rest, base });
  }
  return out.length ? out : 'free';
}

function stepAlt(doc: JsonSchemaDoc, alt: At[], st: Step): Local {
  let kinds = new Set<Kind>(ALL_KINDS);
  for (const a of alt) {
    const ks = typesOf(a.node as Obj, doc.draft);
    kinds = new Set([...kinds].filter((k) => ks.has(k)));
  }
  if (kinds.size === 0) return { kind: 'no', why: 'no value satisfies the schema here' };
  if (st.k === 'slice')
    return kinds.has('array')
      ? 'free'
      : { kind: 'no', why: sliceWhy([...kinds].map((k) => KIND_NAME[k]).join(' or ')) };
  if (kinds.has('jsontext')) return 'free';
  const need: Kind = st.k === 'key' ? 'object' : 'array';
  if (!kinds.has(need)) {
    const names = [...kinds].map((k) => KIND_NAME[k]);
    return {
      kind: 'no',
      why: `the schema says it is ${names.join(' or ')}, which has no ${stepText(st)}`,
    };
  }
  const out: At[] = [];
  for (const a of alt) {
    const r =
      st.k === 'key'
        ? keyChild(a.node as Obj, st.key, a.base, doc.draft)
        : indexChild(a.node as Obj, st.at, a.base, doc.draft);
    if (r === 'free') continue;
    if ('kind' in r) return r;
    out.push(...r);
  }
  return out;
}

function walker(doc: JsonSchemaDoc, alts: readonly Alt[]): Walker {
  return {
    step(st: Step): Verdict {
      const z = zeroIndex(st);
      if (z) return z;
      const next: Alt[] = [];
      let why = '';
      for (const alt of alts) {
        const expanded = expand(doc, alt);
        if (!expanded) return UNKNOWN;
        for (const e of expanded) {
          const r = stepAlt(doc, e, st);
          if (r === 'free') return UNKNOWN;
          if ('kind' in r) why ||= r.why;
          else {
            // A child that no value satisfies (`false`, …) rules this branch out too.
            const sub = expand(doc, r);
            if (!sub) return UNKNOWN;
            if (sub.length === 0) why ||= `the schema forbids it here`;
            else next.push(r);
          }
          if (next.length > MAX_ALTS) return UNKNOWN;
        }
      }
      if (next.length > 0) return { kind: 'next', next: walker(doc, next) };
      return { kind: 'no', why: why || 'no value satisfies the schema here' };
    },
  };
}

/** The walker of values valid against every schema of one alternative, for any alternative. */
export function jsonSchemaWalker(alternatives: readonly (readonly JsonSchemaDoc[])[]): Walker {
  // Alternatives of several documents: one walker per document set is enough because a step is
  // judged per alternative; documents are kept apart by their own index.
  const walkers = alternatives.map((docs) =>
    docs.map((d) => walker(d, [[{ node: d.root, base: d.base }]])),
  );
  return combine(walkers);
}

/** Disjunction of conjunctions of walkers. */
function combine(alts: readonly (readonly Walker[])[]): Walker {
  return {
    step(st) {
      const next: Walker[][] = [];
      let why = '';
      for (const conj of alts) {
        const parts: Walker[] = [];
        let no = '';
        let free = false;
        for (const w of conj) {
          const v = w.step(st);
          if (v.kind === 'no') {
            no = v.why;
            break;
          }
          if (v.kind === 'unknown') free = true;
          else parts.push(v.next);
        }
        if (no) {
          why ||= no;
          continue;
        }
        if (free && parts.length === 0) return UNKNOWN;
        next.push(parts);
      }
      if (next.length > 0) return { kind: 'next', next: combine(next) };
      return { kind: 'no', why };
    },
  };
}
