/**
 * Avro schema → the shape of what `schema_decode` returns (src/schema-registry/avro.ts: erlavro
 * conventions — records as maps holding every field, unions as the bare branch value, enums as
 * their symbol, bytes/fixed as binaries, logical types as their underlying type).
 *
 * Named types (record, error, enum, fixed) are referenced by name or full name and resolved as
 * avsc does (`maybeQualify`: a name without a dot takes the enclosing namespace, primitives never
 * do; no fallback to the null namespace). A reference that does not resolve is not judged.
 * Recursion is safe: fields are resolved lazily.
 */
import type { Shape } from './walker.js';

const NUMERIC = new Set(['null', 'boolean', 'int', 'long', 'float', 'double']);
const TEXT = new Set(['string', 'bytes']);
const ANY: Shape = { t: 'any' };

type Json = unknown;

const qualify = (name: string, ns: string | undefined): string => {
  if (NUMERIC.has(name) || TEXT.has(name)) return name;
  if (name.includes('.')) return name.replace(/^\./, '');
  return ns ? `${ns}.${name}` : name;
};

const nsOf = (full: string): string | undefined => {
  const i = full.lastIndexOf('.');
  return i < 0 ? undefined : full.slice(0, i);
};

/** The shape of values of the Avro schema `doc` (already compiled by the registry). */
export function avroShape(doc: Json): Shape {
  const named = new Map<string, Shape>();
  const build = (s: Json, ns: string | undefined): Shape => {
    if (typeof s === 'string') {
      if (NUMERIC.has(s)) return { t: 'scalar', name: `Avro ${s}` };
      if (TEXT.has(s)) return { t: 'text', name: s };
      const full = qualify(s, ns);
      return { t: 'union', of: [() => named.get(full) ?? ANY] };
    }
    if (Array.isArray(s)) {
      const branches = s.map((b) => build(b, ns));
      return { t: 'union', of: branches.map((b) => () => b) };
    }
    if (typeof s !== 'object' || s === null) return ANY;
    const o = s as Record<string, unknown>;
    const type = o['type'];
    const define = (shape: Shape): { full?: string; ns: string | undefined } => {
      const name = typeof o['name'] === 'string' ? o['name'] : undefined;
      if (!name) return { ns };
      const space = typeof o['namespace'] === 'string' ? o['namespace'] || undefined : ns;
      const full = qualify(name, space);
      named.set(full, shape);
      return { full, ns: nsOf(full) };
    };
    switch (type) {
      case 'record':
      case 'error': {
        const fields = new Map<string, () => Shape>();
        const name = typeof o['name'] === 'string' ? o['name'] : 'record';
        const rec: Shape = { t: 'record', name: `record ${name}`, fields };
        const { ns: inner } = define(rec);
        // Field types are built now (they define nested named types in order), read lazily.
        for (const f of (o['fields'] as { name?: unknown; type?: Json }[] | undefined) ?? []) {
          if (typeof f?.name !== 'string') continue;
          const shape = build(f.type, inner);
          fields.set(f.name, () => shape);
        }
        return rec;
      }
      case 'enum': {
        const shape: Shape = { t: 'scalar', name: `enum ${String(o['name'])} (a symbol)` };
        define(shape);
        return shape;
      }
      case 'fixed': {
        const shape: Shape = { t: 'text', name: 'fixed' };
        define(shape);
        return shape;
      }
      case 'array': {
        const items = build(o['items'], ns);
        return { t: 'array', items: () => items };
      }
      case 'map': {
        const values = build(o['values'], ns);
        return { t: 'map', values: () => values };
      }
      default:
        // {"type": "long", "logicalType": …}, {"type": "Name"}, {"type": [union]}
        if (typeof type === 'string' || Array.isArray(type) || (typeof type === 'object' && type))
          return build(type, ns);
        return ANY;
    }
  };
  return build(doc, undefined);
}
