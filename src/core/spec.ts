/**
 * One spec per component (CONVENTIONS.md #6). A component (sink, listener, the config file
 * itself) declares its fields once with this builder; the same declaration yields
 *  - the runtime validator (`validate`): defaults applied, unknown keys rejected, every error
 *    names the field path;
 *  - the JSON Schema for editors (`toJsonSchema`);
 *  - the rows of its docs page (`describeFields`).
 */
import { closestMatch } from './suggest.js';

export interface FieldDoc {
  description: string;
  example?: unknown;
}

interface Base<T> extends FieldDoc {
  optional?: boolean;
  default?: T;
}

export type FieldSpec =
  | (Base<string> & {
      kind: 'string';
      enum?: readonly string[];
      pattern?: string;
      secret?: boolean;
    })
  | (Base<number> & { kind: 'integer' | 'number'; min?: number; max?: number })
  | (Base<boolean> & { kind: 'boolean' })
  | (Base<number> & { kind: 'duration' }) // "5s", "200ms", "1m" or a number of ms
  | (Base<number> & { kind: 'bytes' }) // "1MB", "512KB" or a number of bytes
  | (Base<unknown[]> & { kind: 'array'; items: FieldSpec; minItems?: number })
  | (Base<Record<string, unknown>> & {
      kind: 'object';
      fields: Record<string, FieldSpec>;
      open?: false;
    })
  | (Base<Record<string, unknown>> & { kind: 'map'; values: FieldSpec }) // free keys, typed values
  | (Base<unknown> & { kind: 'any' });

type Opts<T> = Partial<Base<T>> & FieldDoc;

export const field = {
  string: (
    o: Opts<string> & { enum?: readonly string[]; pattern?: string; secret?: boolean },
  ): FieldSpec => ({ kind: 'string', ...o }),
  integer: (o: Opts<number> & { min?: number; max?: number }): FieldSpec => ({
    kind: 'integer',
    ...o,
  }),
  number: (o: Opts<number> & { min?: number; max?: number }): FieldSpec => ({
    kind: 'number',
    ...o,
  }),
  boolean: (o: Opts<boolean>): FieldSpec => ({ kind: 'boolean', ...o }),
  duration: (o: Opts<number>): FieldSpec => ({ kind: 'duration', ...o }),
  bytes: (o: Opts<number>): FieldSpec => ({ kind: 'bytes', ...o }),
  array: (items: FieldSpec, o: Opts<unknown[]> & { minItems?: number }): FieldSpec => ({
    kind: 'array',
    items,
    ...o,
  }),
  object: (fields: Record<string, FieldSpec>, o: Opts<Record<string, unknown>>): FieldSpec => ({
    kind: 'object',
    fields,
    ...o,
  }),
  map: (values: FieldSpec, o: Opts<Record<string, unknown>>): FieldSpec => ({
    kind: 'map',
    values,
    ...o,
  }),
  any: (o: Opts<unknown>): FieldSpec => ({ kind: 'any', ...o }),
};

export interface ValidationIssue {
  /** Dotted path from the component root, e.g. `sinks.kafka1.batch.max_bytes`. */
  path: string;
  reason: string;
  /** The problem is the key itself (an unknown field): point at the key, not its value. */
  onKey?: boolean;
}

export type Validated<T> = { ok: true; value: T } | { ok: false; issues: ValidationIssue[] };

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/;
const BYTES = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|kib|mib|gib)?$/i;
const BYTE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1024,
  mb: 1024 ** 2,
  gb: 1024 ** 3,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};
const TIME_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

function join(path: string, key: string | number): string {
  return typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${key}` : key;
}

function check(spec: FieldSpec, input: unknown, path: string, issues: ValidationIssue[]): unknown {
  if (input === undefined || input === null) {
    if (spec.default !== undefined) return structuredClone(spec.default);
    // An absent object fills its defaults; an optional one (schema_registry.external.*.auth)
    // stays absent rather than reporting its required fields.
    if (spec.kind === 'object' && !spec.optional) return check(spec, {}, path, issues);
    if (!spec.optional) issues.push({ path, reason: 'is required' });
    return undefined;
  }
  switch (spec.kind) {
    case 'string':
      if (typeof input !== 'string')
        return bad(issues, path, `must be a string, got ${typeName(input)}`);
      if (spec.enum && !spec.enum.includes(input))
        return bad(
          issues,
          path,
          `must be one of ${spec.enum.map((e) => JSON.stringify(e)).join(', ')}, got ${JSON.stringify(input)}`,
        );
      if (spec.pattern && !new RegExp(spec.pattern).test(input))
        return bad(issues, path, `must match /${spec.pattern}/`);
      return input;
    case 'integer':
    case 'number':
      if (typeof input !== 'number' || Number.isNaN(input))
        return bad(issues, path, `must be a number, got ${typeName(input)}`);
      if (spec.kind === 'integer' && !Number.isInteger(input))
        return bad(issues, path, 'must be an integer');
      if (spec.min !== undefined && input < spec.min)
        return bad(issues, path, `must be >= ${spec.min}`);
      if (spec.max !== undefined && input > spec.max)
        return bad(issues, path, `must be <= ${spec.max}`);
      return input;
    case 'boolean':
      if (typeof input !== 'boolean')
        return bad(issues, path, `must be true or false, got ${typeName(input)}`);
      return input;
    case 'duration': {
      if (typeof input === 'number' && input >= 0) return input;
      const m = typeof input === 'string' ? DURATION.exec(input.trim()) : null;
      if (!m)
        return bad(
          issues,
          path,
          `must be a duration like "500ms", "5s", "1m" or a number of ms, got ${JSON.stringify(input)}`,
        );
      return Math.round(Number(m[1]) * (TIME_UNITS[m[2] ?? 'ms'] ?? 1));
    }
    case 'bytes': {
      if (typeof input === 'number' && input >= 0) return input;
      const m = typeof input === 'string' ? BYTES.exec(input.trim()) : null;
      if (!m)
        return bad(
          issues,
          path,
          `must be a size like "512KB", "1MB" or a number of bytes, got ${JSON.stringify(input)}`,
        );
      return Math.round(Number(m[1]) * (BYTE_UNITS[(m[2] ?? 'b').toLowerCase()] ?? 1));
    }
    case 'array': {
      if (!Array.isArray(input)) return bad(issues, path, `must be a list, got ${typeName(input)}`);
      if (spec.minItems !== undefined && input.length < spec.minItems)
        return bad(issues, path, `must have at least ${spec.minItems} item(s)`);
      return input.map((v, i) => check(spec.items, v, join(path, i), issues));
    }
    case 'object': {
      if (typeof input !== 'object' || Array.isArray(input))
        return bad(issues, path, `must be a mapping, got ${typeName(input)}`);
      const out: Record<string, unknown> = {};
      const obj = input as Record<string, unknown>;
      for (const key of Object.keys(obj)) {
        if (!(key in spec.fields)) {
          const known = Object.keys(spec.fields);
          const hint = closestMatch(key, known);
          issues.push({
            path: join(path, key),
            reason: hint
              ? `unknown field ${JSON.stringify(key)}; did you mean ${JSON.stringify(hint)}? (known: ${known.join(', ')})`
              : `unknown field ${JSON.stringify(key)} (known: ${known.join(', ')})`,
            onKey: true,
          });
        }
      }
      for (const [key, fs] of Object.entries(spec.fields)) {
        const v = check(fs, obj[key], join(path, key), issues);
        if (v !== undefined) out[key] = v;
      }
      return out;
    }
    case 'map': {
      if (typeof input !== 'object' || Array.isArray(input))
        return bad(issues, path, `must be a mapping, got ${typeName(input)}`);
      const out: Record<string, unknown> = {};
      for (const [key, v] of Object.entries(input as Record<string, unknown>)) {
        out[key] = check(spec.values, v, join(path, key), issues);
      }
      return out;
    }
    case 'any':
      return input;
  }
}

function bad(issues: ValidationIssue[], path: string, reason: string): undefined {
  issues.push({ path, reason });
  return undefined;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

/** Validate `input` against `spec`, applying defaults. Paths are prefixed with `basePath`. */
export function validate<T>(spec: FieldSpec, input: unknown, basePath = ''): Validated<T> {
  const issues: ValidationIssue[] = [];
  const value = check(spec, input, basePath, issues);
  return issues.length === 0 ? { ok: true, value: value as T } : { ok: false, issues };
}

/** JSON Schema (draft 2020-12) for editor completion. */
export function toJsonSchema(spec: FieldSpec): Record<string, unknown> {
  const doc: Record<string, unknown> = { description: spec.description };
  if (spec.default !== undefined) doc['default'] = spec.default;
  if (spec.example !== undefined) doc['examples'] = [spec.example];
  switch (spec.kind) {
    case 'string':
      return {
        ...doc,
        type: 'string',
        ...(spec.enum ? { enum: spec.enum } : {}),
        ...(spec.pattern ? { pattern: spec.pattern } : {}),
      };
    case 'integer':
    case 'number':
      return {
        ...doc,
        type: spec.kind,
        ...(spec.min !== undefined ? { minimum: spec.min } : {}),
        ...(spec.max !== undefined ? { maximum: spec.max } : {}),
      };
    case 'boolean':
      return { ...doc, type: 'boolean' };
    case 'duration':
      return {
        ...doc,
        anyOf: [
          { type: 'number', minimum: 0 },
          { type: 'string', pattern: DURATION.source },
        ],
      };
    case 'bytes':
      return {
        ...doc,
        anyOf: [
          { type: 'number', minimum: 0 },
          { type: 'string', pattern: BYTES.source },
        ],
      };
    case 'array':
      return { ...doc, type: 'array', items: toJsonSchema(spec.items) };
    case 'object': {
      const properties: Record<string, unknown> = {};
      const required: string[] = [];
      for (const [k, f] of Object.entries(spec.fields)) {
        properties[k] = toJsonSchema(f);
        if (!f.optional && f.default === undefined && f.kind !== 'object') required.push(k);
      }
      return {
        ...doc,
        type: 'object',
        properties,
        additionalProperties: false,
        ...(required.length ? { required } : {}),
      };
    }
    case 'map':
      return { ...doc, type: 'object', additionalProperties: toJsonSchema(spec.values) };
    case 'any':
      return doc;
  }
}

export interface FieldRow {
  path: string;
  type: string;
  default: string;
  description: string;
  example: string;
}

/** Flatten a spec into documentation rows (for docs pages generated from specs). */
export function describeFields(spec: FieldSpec, path = ''): FieldRow[] {
  const rows: FieldRow[] = [];
  const type =
    spec.kind === 'string' && spec.enum
      ? spec.enum.map((e) => `\`${e}\``).join(' \\| ')
      : spec.kind === 'array'
        ? `list of ${spec.items.kind}`
        : spec.kind;
  if (path) {
    rows.push({
      path,
      type,
      default:
        spec.default === undefined
          ? spec.optional
            ? '—'
            : spec.kind === 'object'
              ? ''
              : 'required'
          : JSON.stringify(spec.default),
      description: spec.description,
      example: spec.example === undefined ? '' : JSON.stringify(spec.example),
    });
  }
  if (spec.kind === 'object') {
    for (const [k, f] of Object.entries(spec.fields))
      rows.push(...describeFields(f, path ? `${path}.${k}` : k));
  }
  if (spec.kind === 'array' && spec.items.kind === 'object')
    rows.push(...describeFields(spec.items, `${path}[]`));
  if (spec.kind === 'map') rows.push(...describeFields(spec.values, `${path}.<name>`));
  return rows;
}
