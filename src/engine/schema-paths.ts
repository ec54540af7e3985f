/**
 * `sluice check` (issue #16): rule `payload.x.y` paths against the schema a validation
 * guarantees for the rule's topics (decision 0013, docs/schema-validation.md "sluice check").
 *
 * The EMQX-like link between a topic and a schema is a schema validation: when every FROM
 * filter of a rule is covered by the topics of an enabled `all_pass` validation with a `json`
 * or `avro` check of a schema in sluice.yaml, every message the rule sees decoded with that
 * schema — so a path the schema cannot have is a mistake. "Cannot have": a JSON Schema object
 * with `additionalProperties: false` lacking the property, or a scalar `type` being indexed;
 * an Avro record lacking the field (unions: no branch has it). Open JSON Schema objects,
 * `$ref`, combinators and protobuf are not judged (no diagnostic).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { mapDiagnostic } from '../config/index.js';
import type { ConfigIssue, LoadedConfig } from '../config/index.js';
import type { CompiledRule } from '../runtime/index.js';
import { createDiagnostic } from '../sql-parser/index.js';
import type { Expr, PathExpr, Statement } from '../sql-parser/index.js';

type Json = unknown;
/** 'no': the path cannot exist; 'yes'/'unknown': fine (no diagnostic). */
type Verdict = { ok: true; next: Json | undefined } | { ok: false; why: string };

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

function jsonStep(s: Json, key: string): Verdict {
  if (typeof s !== 'object' || s === null) return { ok: true, next: undefined };
  const o = s as Record<string, unknown>;
  if ('$ref' in o || 'anyOf' in o || 'oneOf' in o || 'allOf' in o)
    return { ok: true, next: undefined };
  const types = Array.isArray(o['type']) ? (o['type'] as unknown[]) : o['type'] ? [o['type']] : [];
  if (types.length > 0 && !types.includes('object') && !types.includes('array'))
    return {
      ok: false,
      why: `the schema says it is ${types.join(' | ')}, which has no field ${JSON.stringify(key)}`,
    };
  const props = o['properties'] as Record<string, unknown> | undefined;
  if (props && Object.hasOwn(props, key)) return { ok: true, next: props[key] };
  const pattern = o['patternProperties'];
  if (o['additionalProperties'] === false && !pattern && !types.includes('array'))
    return {
      ok: false,
      why: `the schema allows only ${
        Object.keys(props ?? {})
          .map((k) => JSON.stringify(k))
          .join(', ') || 'no properties'
      } here`,
    };
  return { ok: true, next: undefined };
}

function avroStep(s: Json, key: string): Verdict {
  if (Array.isArray(s)) {
    const branches = s.map((b) => avroStep(b, key));
    const hit = branches.find((b) => b.ok && b.next !== undefined);
    if (hit) return hit;
    if (branches.some((b) => b.ok)) return { ok: true, next: undefined };
    return { ok: false, why: `no branch of the union has a field ${JSON.stringify(key)}` };
  }
  if (typeof s === 'string')
    return ['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string'].includes(s)
      ? { ok: false, why: `the schema says it is ${s}, which has no field ${JSON.stringify(key)}` }
      : { ok: true, next: undefined }; // a named type: not resolved
  if (typeof s !== 'object' || s === null) return { ok: true, next: undefined };
  const o = s as Record<string, unknown>;
  if (o['type'] === 'record') {
    const f = (o['fields'] as { name: string; type: Json }[] | undefined)?.find(
      (x) => x.name === key,
    );
    if (f) return { ok: true, next: f.type };
    return {
      ok: false,
      why: `record ${String(o['name'])} has the fields ${((o['fields'] as { name: string }[]) ?? []).map((x) => x.name).join(', ')}`,
    };
  }
  if (o['type'] === 'map') return { ok: true, next: o['values'] };
  if (typeof o['type'] === 'string' || Array.isArray(o['type'])) return avroStep(o['type'], key);
  return { ok: true, next: undefined };
}

function payloadPaths(st: Statement): PathExpr[] {
  const out: PathExpr[] = [];
  const seen = new Set<unknown>();
  const visit = (n: unknown): void => {
    if (typeof n !== 'object' || n === null || seen.has(n)) return;
    seen.add(n);
    const e = n as Expr;
    if ((e as { kind?: string }).kind === 'Path' && (e as PathExpr).root === 'payload')
      out.push(e as PathExpr);
    for (const v of Object.values(n)) {
      if (Array.isArray(v)) v.forEach(visit);
      else if (typeof v === 'object') visit(v);
    }
  };
  visit(st);
  return out;
}

export function schemaPathIssues(
  loaded: LoadedConfig,
  compiled: readonly { entry: LoadedConfig['rules'][number]; rule: CompiledRule }[],
): ConfigIssue[] {
  const cfg = loaded.config;
  const schemas = (cfg.schema_registry?.['schemas'] ?? {}) as Record<
    string,
    { type: string; source?: string; file?: string }
  >;
  const parsed = new Map<string, { type: 'json' | 'avro'; doc: Json } | null>();
  const schemaOf = (name: string) => {
    if (parsed.has(name)) return parsed.get(name);
    const def = schemas[name];
    let v: { type: 'json' | 'avro'; doc: Json } | null = null;
    if (def && (def.type === 'json' || def.type === 'avro')) {
      try {
        const text =
          def.source ??
          readFileSync(path.resolve(path.dirname(loaded.file), def.file ?? ''), 'utf8');
        v = { type: def.type, doc: JSON.parse(text) as Json };
      } catch {
        v = null;
      }
    }
    parsed.set(name, v);
    return v;
  };
  const validations = (
    (cfg.schema_validation?.['validations'] ?? []) as {
      name: string;
      enable: boolean;
      topics: string[];
      strategy: string;
      checks: { type: string; schema?: string }[];
    }[]
  ).filter((v) => v.enable && v.strategy === 'all_pass');
  const issues: ConfigIssue[] = [];
  for (const { entry, rule } of compiled) {
    const from = rule.sources;
    if (from.length === 0 || from.some((f) => f.startsWith('$'))) continue;
    const covering = validations.filter((v) =>
      from.every((f) => v.topics.some((t) => filterCovers(t, f))),
    );
    const guaranteed: { name: string; validation: string; type: 'json' | 'avro'; doc: Json }[] = [];
    for (const v of covering)
      for (const c of v.checks)
        if ((c.type === 'json' || c.type === 'avro') && c.schema) {
          const s = schemaOf(c.schema);
          if (s && s.type === c.type) guaranteed.push({ name: c.schema, validation: v.name, ...s });
        }
    if (guaranteed.length === 0) continue;
    for (const p of payloadPaths(rule.statement)) {
      for (const g of guaranteed) {
        let node: Json | undefined = g.doc;
        const walked: string[] = [];
        for (const seg of p.segments) {
          if (seg.kind !== 'Key' || node === undefined) break;
          const r: Verdict = g.type === 'json' ? jsonStep(node, seg.key) : avroStep(node, seg.key);
          if (!r.ok) {
            const d = createDiagnostic(
              rule.sql,
              'rule_payload_path_impossible',
              `payload${walked.map((k) => '.' + k).join('')}.${seg.key} cannot exist: validation ${g.validation} guarantees schema ${g.name} on these topics, and ${r.why}`,
              seg.range,
            );
            issues.push({ ...mapDiagnostic(d, entry.origin), rule: entry.id });
            break;
          }
          walked.push(seg.key);
          node = r.next;
        }
      }
    }
  }
  return issues;
}
