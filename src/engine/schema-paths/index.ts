/**
 * `sluice check` (issue #16 item 5; decision 0013 §8, docs/schema-validation.md "Rule payload
 * paths"): rule paths against the schemas that are certain to describe them.
 *
 * Two sources of certainty:
 * - **`schema_decode('S', …[, 'Msg'])` bound to an alias** (`AS p`): when the call returns, its
 *   value is shaped by S (a JSON Schema, Avro or Protobuf schema of sluice.yaml), so `p.a.b`
 *   read after the alias (later SELECT items, WHERE, DO, INCASE) is judged against S.
 * - **`payload.…` on topics a JSON validation guards**: when every FROM filter of a rule is
 *   covered by the topics of enabled validations that drop or disconnect on failure, with `json`
 *   checks of schemas in sluice.yaml, every message the rule sees is JSON valid against them.
 *   Avro / Protobuf validations leave the payload binary (a rule reads it through
 *   `schema_decode`), so they judge nothing here. No guarantee holds when events come from an
 *   external source (`sources.mode` mqtt / kafka: they skip the ingress), for a FROM filter a
 *   message transformation may touch, or when any transformation rewrites topics.
 *
 * A path is reported (`rule_payload_path_impossible`, caret on the segment) only when the step
 * gives undefined for every value the schema allows (walker.ts); anything not followed is
 * accepted.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { mapDiagnostic } from '../../config/index.js';
import type { ConfigIssue, LoadedConfig } from '../../config/index.js';
import type { CompiledRule } from '../../runtime/index.js';
import { compileAvro, compileJsonSchema, compileProtobuf } from '../../schema-registry/index.js';
import { createDiagnostic } from '../../sql-parser/index.js';
import type { Expr, PathExpr, SelectItem, Statement } from '../../sql-parser/index.js';
import { avroShape } from './avro.js';
import { jsonSchemaDoc, jsonSchemaWalker } from './json-schema.js';
import type { JsonSchemaDoc } from './json-schema.js';
import { protoRoot } from './protobuf.js';
import type { ProtoRoot } from './protobuf.js';
import type { Shape, Step, Walker } from './walker.js';
import { shapeWalker } from './walker.js';

/** Every topic `inner` matches is matched by `outer`. */
export function filterCovers(outer: string, inner: string): boolean {
  const o = outer.split('/');
  const n = inner.split('/');
  for (let i = 0; i < o.length; i++) {
    const a = o[i] as string;
    if (a === '#') return !(n[0]?.startsWith('$') && i === 0);
    const b = n[i];
    if (b === undefined || b === '#') return false;
    if (a === '+') {
      if (i === 0 && b.startsWith('$')) return false;
      continue;
    }
    if (a !== b) return false;
  }
  return o.length === n.length;
}

/** Some topic matches both filters (over-approximated: `$` rules ignored). */
export function filtersOverlap(a: string, b: string): boolean {
  const x = a.split('/');
  const y = b.split('/');
  for (let i = 0; ; i++) {
    const p = x[i];
    const q = y[i];
    if (p === '#' || q === '#') return true;
    if (p === undefined || q === undefined) return p === q;
    if (p !== '+' && q !== '+' && p !== q) return false;
  }
}

type SchemaDef = {
  type: string;
  source?: string;
  file?: string;
  imports?: Record<string, string>;
};

interface Parsed {
  readonly type: 'json' | 'avro' | 'protobuf';
  readonly json?: JsonSchemaDoc;
  readonly avro?: unknown;
  readonly avroShape?: Shape;
  readonly proto?: ProtoRoot;
}

interface Validation {
  name: string;
  enable: boolean;
  topics: string[];
  strategy: string;
  failure_action?: string;
  checks: { type: string; schema?: string }[];
}

interface Transformation {
  enable: boolean;
  topics: string[];
  operations?: { key: string }[];
}

/** One alternative of a guarantee: JSON documents all valid at once, with their names. */
interface Alt {
  readonly docs: readonly JsonSchemaDoc[];
  readonly names: readonly string[];
}

function product(a: readonly Alt[], b: readonly Alt[]): Alt[] {
  const out: Alt[] = [];
  for (const x of a)
    for (const y of b) out.push({ docs: [...x.docs, ...y.docs], names: [...x.names, ...y.names] });
  return out;
}

/** Where in a statement an expression sits: SELECT/FOREACH item i, DO item i, or the end. */
type Pos = readonly [section: 0 | 1 | 2, index: number];
const after = (p: Pos, b: Pos): boolean => p[0] > b[0] || (p[0] === b[0] && p[1] > b[1]);

interface Binding {
  readonly at: Pos;
  /** A later write of the name: paths after it read the output, not the binding. */
  readonly limit?: Pos;
  readonly walker: Walker;
  readonly origin: string;
  /** DO / INCASE only (a FOREACH element). */
  readonly elementOnly?: boolean;
}

interface Found {
  readonly path: PathExpr;
  readonly at: Pos;
  /** Inside INCASE / DO (where a FOREACH element is visible). */
  readonly inElement: boolean;
}

function collectPaths(st: Statement): Found[] {
  const out: Found[] = [];
  const visit = (n: unknown, at: Pos, inElement: boolean): void => {
    if (typeof n !== 'object' || n === null) return;
    if (Array.isArray(n)) {
      for (const x of n) visit(x, at, inElement);
      return;
    }
    const e = n as { kind?: string };
    if (e.kind === 'AliasTarget') return;
    if (e.kind === 'Path') {
      const p = n as PathExpr;
      out.push({ path: p, at, inElement });
      // Inside a payload path an index variable reads the payload document (§3.1): not a
      // context path, not judged.
      if (p.root !== 'payload')
        for (const s of p.segments) if (s.kind === 'Index') visit(s.index, at, inElement);
      return;
    }
    for (const [k, v] of Object.entries(n)) if (k !== 'range') visit(v, at, inElement);
  };
  st.fields.forEach((f, i) => visit(f, [0, i], false));
  if (st.kind === 'Foreach') {
    (st.do ?? []).forEach((f, i) => visit(f, [1, i], true));
    if (st.incase) visit(st.incase, [2, 0], true);
  }
  if (st.where) visit(st.where, [2, 0], false);
  return out;
}

const stepOf = (s: PathExpr['segments'][number]): Step | undefined => {
  if (s.kind === 'Key') return { k: 'key', key: s.key };
  if (s.kind === 'Slice') return { k: 'slice' };
  const ix = s.index;
  if (ix.kind === 'Integer') return { k: 'index', at: Number(ix.raw) };
  if (ix.kind === 'Unary' && ix.operand.kind === 'Integer')
    return { k: 'index', at: (ix.op === '-' ? -1 : 1) * Number(ix.operand.raw) };
  return { k: 'index' };
};

const segText = (s: PathExpr['segments'][number], sql: string): string =>
  s.kind === 'Key'
    ? /^[A-Za-z_][A-Za-z0-9_]*$/.test(s.key)
      ? `.${s.key}`
      : `.'${s.key}'`
    : sql.slice(s.range.start.offset, s.range.end.offset);

/** Walk `p` from `w`: the segment that cannot exist and why, if any. */
function judge(
  w: Walker,
  p: PathExpr,
): { bad: true; index: number; why: string } | { bad: false; walker: Walker | undefined } {
  let cur: Walker = w;
  for (let i = 0; i < p.segments.length; i++) {
    const step = stepOf(p.segments[i] as PathExpr['segments'][number]);
    if (!step) return { bad: false, walker: undefined };
    const v = cur.step(step);
    if (v.kind === 'no') return { bad: true, index: i, why: v.why };
    if (v.kind === 'unknown') return { bad: false, walker: undefined };
    cur = v.next;
  }
  return { bad: false, walker: cur };
}

const isStr = (e: Expr | undefined): e is Extract<Expr, { kind: 'String' }> => e?.kind === 'String';

/**
 * The path issues of the compiled rules. `invalid`: the schemas the registry refused (check.ts
 * has compiled them already); without it each schema is compiled here to know.
 */
export function schemaPathIssues(
  loaded: LoadedConfig,
  compiled: readonly { entry: LoadedConfig['rules'][number]; rule: CompiledRule }[],
  invalid?: ReadonlySet<string>,
): ConfigIssue[] {
  const cfg = loaded.config;
  const dir = path.dirname(path.resolve(loaded.file));
  const schemas = (cfg.schema_registry?.['schemas'] ?? {}) as Record<string, SchemaDef>;
  const parsed = new Map<string, Parsed | null>();
  const schemaOf = (name: string): Parsed | null => {
    const hit = parsed.get(name);
    if (hit !== undefined) return hit;
    const def = Object.hasOwn(schemas, name) ? schemas[name] : undefined;
    let v: Parsed | null = null;
    try {
      if (def) {
        const file = def.file !== undefined ? path.resolve(dir, def.file) : undefined;
        const text = def.source ?? readFileSync(file ?? '', 'utf8');
        const read = (f: string): string => readFileSync(f, 'utf8');
        const src = {
          source: text,
          baseDir: file ? path.dirname(file) : dir,
          imports: def.imports,
        };
        // Only schemas the registry compiles (the others are reported as schema_invalid).
        const compiles = invalid === undefined;
        if (invalid?.has(name)) v = null;
        else if (def.type === 'json') {
          if (compiles) compileJsonSchema(name, text);
          v = { type: 'json', json: jsonSchemaDoc(JSON.parse(text)) };
        } else if (def.type === 'avro') {
          if (compiles) compileAvro(name, text);
          v = { type: 'avro', avro: JSON.parse(text), avroShape: avroShape(JSON.parse(text)) };
        } else if (def.type === 'protobuf') {
          if (compiles) compileProtobuf(name, src, read);
          const root = protoRoot({ ...src, readFile: read });
          v = root ? { type: 'protobuf', proto: root } : null;
        }
      }
    } catch {
      v = null;
    }
    parsed.set(name, v);
    return v;
  };

  /** The walker of `schema_decode(name, …, msgType)` results, if certain. */
  const decodeWalker = (name: string, msgType: string | undefined): Walker | undefined => {
    const s = schemaOf(name);
    if (!s) return undefined;
    if (s.type === 'json') return jsonSchemaWalker([[s.json as JsonSchemaDoc]]);
    if (s.type === 'avro') return shapeWalker([s.avroShape ?? avroShape(s.avro)]);
    if (msgType === undefined) return undefined;
    const shape = (s.proto as ProtoRoot).messageShape(msgType);
    return shape ? shapeWalker([shape]) : undefined;
  };

  // Direct payload guarantees (JSON validations at ingress).
  const sourcesMode = (cfg.sources as { mode?: string } | undefined)?.mode ?? 'embedded';
  // Transformations of sluice.yaml and those created over the API (its store file, read as
  // the engine reads it at start): either may change a payload after the validations.
  const apiTransformations = ((): Transformation[] | undefined => {
    const store = path.resolve(
      dir,
      (cfg.message_transformation?.['api_store'] as string | undefined) ??
        'data/message_transformations.json',
    );
    let text: string;
    try {
      text = readFileSync(store, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      return code === 'ENOENT' || code === 'ENOTDIR' ? [] : undefined;
    }
    try {
      const list = (JSON.parse(text) as { transformations?: unknown }).transformations;
      return Array.isArray(list) ? (list as Transformation[]) : undefined;
    } catch {
      return undefined;
    }
  })();
  const transformations = [
    ...((cfg.message_transformation?.['transformations'] ?? []) as Transformation[]),
    ...(apiTransformations ?? []),
  ].filter((t) => t.enable !== false);
  const rewritesTopics = transformations.some(
    (t) =>
      !Array.isArray(t.operations ?? []) || (t.operations ?? []).some((o) => o?.key === 'topic'),
  );
  const validations = ((cfg.schema_validation?.['validations'] ?? []) as Validation[]).filter(
    (v) => v.enable !== false && (v.failure_action === 'drop' || v.failure_action === 'disconnect'),
  );
  const noConstraint: Alt[] = [{ docs: [], names: [] }];
  const constraintOf = (v: Validation): Alt[] => {
    const json = v.checks.map((c) => {
      if (c.type !== 'json' || !c.schema) return undefined;
      const s = schemaOf(c.schema);
      return s?.type === 'json' ? { doc: s.json as JsonSchemaDoc, name: c.schema } : undefined;
    });
    const label = (schema: string) => `validation ${v.name} guarantees schema ${schema}`;
    if (v.strategy === 'any_pass') {
      if (json.length === 0 || json.some((j) => !j)) return noConstraint;
      return json.map((j) => ({ docs: [j!.doc], names: [label(j!.name)] }));
    }
    const all = json.filter((j) => j !== undefined);
    return [{ docs: all.map((j) => j.doc), names: all.map((j) => label(j.name)) }];
  };
  const payloadGuarantee = (
    from: readonly string[],
  ): { walker: Walker; origin: string } | undefined => {
    // An unreadable transformation store: what runs is unknown.
    if (sourcesMode !== 'embedded' || rewritesTopics || !apiTransformations) return undefined;
    const alts: Alt[] = [];
    for (const f of from) {
      if (
        transformations.some(
          (t) => !Array.isArray(t.topics) || t.topics.some((x) => filtersOverlap(String(x), f)),
        )
      )
        return undefined;
      let dnf: Alt[] = noConstraint;
      for (const v of validations)
        if (v.topics.some((t) => filterCovers(t, f))) {
          dnf = product(dnf, constraintOf(v));
          if (dnf.length > 64) return undefined;
        }
      if (dnf.some((a) => a.docs.length === 0)) return undefined;
      alts.push(...dnf);
    }
    if (alts.length === 0) return undefined;
    const names = [...new Set(alts.flatMap((a) => a.names))];
    return {
      walker: jsonSchemaWalker(alts.map((a) => a.docs)),
      origin: `${names.join(' and ')} on these topics`,
    };
  };

  const issues: ConfigIssue[] = [];
  for (const { entry, rule } of compiled) {
    const st = rule.statement;
    const from = rule.sources;
    const items: { item: SelectItem; at: Pos }[] = [
      ...st.fields.map((item, i) => ({ item, at: [0, i] as Pos })),
      ...(st.kind === 'Foreach' ? (st.do ?? []) : []).map((item, i) => ({
        item,
        at: [1, i] as Pos,
      })),
    ];
    // Where each SELECT / FOREACH / DO item writes a root (not counting `SELECT a.b`, which
    // writes back what it read): a later read of that root sees the output, not what was bound.
    const writeAt = new Map<string, Pos[]>();
    for (const { item, at } of items) {
      if (item.kind !== 'Field') continue;
      const e = item.expr;
      let root: string | undefined;
      let identity = false;
      if (item.alias) root = item.alias.root;
      else if (e.kind === 'Path') {
        root = e.root;
        identity = e.segments.every((s) => s.kind === 'Key');
      } else if (e.kind === 'String') root = e.value;
      if (root === undefined || identity) continue;
      const list = writeAt.get(root) ?? [];
      list.push(at);
      writeAt.set(root, list);
    }
    /** The first write of `root` after `pos`: reads up to it (its own item included) see the binding. */
    const limitAfter = (root: string, pos: Pos): Pos | undefined =>
      writeAt.get(root)?.find((w) => after(w, pos));
    let elementName: string | undefined;
    let payloadLimit = limitAfter('payload', [0, -1]);
    if (st.kind === 'Foreach') {
      const last = st.fields[st.fields.length - 1];
      elementName =
        last?.kind === 'Field' && last.alias
          ? last.alias.segments.length === 0
            ? last.alias.root
            : undefined
          : 'item';
      // DO / INCASE see the element under that name.
      if (elementName === 'payload') {
        const end: Pos = [0, st.fields.length - 1];
        if (!payloadLimit || after(payloadLimit, end)) payloadLimit = end;
      }
    }
    const payload =
      from.length > 0 && !from.some((f) => f.startsWith('$')) ? payloadGuarantee(from) : undefined;
    const bindings = new Map<string, Binding[]>();
    const bind = (name: string, b: Binding): void => {
      bindings.set(name, [...(bindings.get(name) ?? []), b]);
    };
    const walkOf = (p: PathExpr, at: Pos, inElement: boolean) => {
      if (p.root === 'payload')
        return payload && (!payloadLimit || !after(at, payloadLimit))
          ? { walker: payload.walker, origin: payload.origin }
          : undefined;
      return bindings
        .get(p.root)
        ?.find((b) =>
          b.elementOnly ? inElement : after(at, b.at) && !(b.limit && after(at, b.limit)),
        );
    };
    for (const { item, at } of items) {
      if (item.kind !== 'Field' || !item.alias || item.alias.segments.length > 0) continue;
      const name = item.alias.root;
      if (name === 'payload' || name === elementName) continue;
      const e = item.expr;
      let w: { walker: Walker; origin: string } | undefined;
      if (e.kind === 'Call' && e.name.toLowerCase() === 'schema_decode' && !e.module) {
        const [s, , m] = e.args;
        if (isStr(s) && (e.args.length === 2 || isStr(m))) {
          const walker = decodeWalker(s.value, isStr(m) ? m.value : undefined);
          const def = schemaOf(s.value);
          if (walker && def)
            w = {
              walker,
              origin: `${name} is schema_decode of the ${def.type === 'json' ? 'JSON' : def.type === 'avro' ? 'Avro' : 'Protobuf'} schema ${s.value}${isStr(m) ? ` (message ${m.value})` : ''}`,
            };
        }
      } else if (
        payload &&
        (!payloadLimit || !after(at, payloadLimit)) &&
        ((e.kind === 'Path' && e.root === 'payload' && e.segments.length === 0) ||
          (e.kind === 'Call' &&
            e.name.toLowerCase() === 'json_decode' &&
            !e.module &&
            e.args.length === 1 &&
            e.args[0]?.kind === 'Path' &&
            e.args[0].root === 'payload' &&
            e.args[0].segments.length === 0))
      )
        w = { walker: payload.walker, origin: `${name} is the payload: ${payload.origin}` };
      const limit = limitAfter(name, at);
      if (w) bind(name, { at, ...w, ...(limit ? { limit } : {}) });
    }
    // FOREACH over a judged path: the element is an item of that list.
    const last = st.kind === 'Foreach' ? st.fields[st.fields.length - 1] : undefined;
    const collectionWrites = last?.kind === 'Field' && last.alias ? 1 : 0;
    if (elementName && (writeAt.get(elementName)?.length ?? 0) === collectionWrites) {
      if (st.kind === 'Foreach' && last?.kind === 'Field') {
        const at: Pos = [0, st.fields.length - 1];
        const e = last.expr;
        let coll: { walker: Walker; origin: string } | undefined;
        if (e.kind === 'Path') {
          const w = walkOf(e, at, false);
          if (w) {
            const r = judge(w.walker, e);
            if (!r.bad && r.walker) coll = { walker: r.walker, origin: w.origin };
          }
        }
        if (coll) {
          const v = coll.walker.step({ k: 'index' });
          if (v.kind === 'next')
            bind(elementName, {
              at,
              walker: v.next,
              origin: `${elementName} is an element of ${printPath(e as PathExpr, rule.sql)} (${coll.origin})`,
              elementOnly: true,
            });
        }
      }
    }
    for (const f of collectPaths(st)) {
      const w = walkOf(f.path, f.at, f.inElement);
      if (!w) continue;
      const r = judge(w.walker, f.path);
      if (!r.bad) continue;
      const p = f.path;
      const seg = p.segments[r.index] as PathExpr['segments'][number];
      const text = `${p.root}${p.segments
        .slice(0, r.index + 1)
        .map((s) => segText(s, rule.sql))
        .join('')}`;
      const d = createDiagnostic(
        rule.sql,
        'rule_payload_path_impossible',
        `${text} cannot exist: ${w.origin}, and ${r.why}`,
        seg.range,
      );
      issues.push({ ...mapDiagnostic(d, entry.origin), rule: entry.id });
    }
  }
  return issues;
}

const printPath = (p: PathExpr, sql: string): string =>
  sql.slice(p.range.start.offset, p.range.end.offset);
