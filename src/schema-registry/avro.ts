/**
 * Avro schemas with avsc (the fastest JavaScript Avro library: it generates a reader and writer
 * per schema; figures in bench/RESULTS.md). EMQX semantics (emqx_schema_registry_serde,
 * erlavro with `map_type: map, record_type: map`): records and maps decode to maps, unions to
 * the bare branch value (no `{"type": value}` wrapper), enums to their symbol, bytes/fixed to
 * binaries. Longs are exact: numbers up to 2^53, `bigint` beyond (avsc's default long would
 * refuse them).
 */
import avro from 'avsc';
import type { Type as AvroType } from 'avsc';

import { EFloat } from '../core/index.js';
import type { Value, ValueMap } from '../core/index.js';
import type { Codec } from './codec.js';
import { bytesOf } from './codec.js';
import { SchemaErrors } from './errors.js';
import { floatValue, intValue } from './values.js';

/** int64 as bigint on the wire side; the value model side is handled by `toValue`. */
const exactLong = avro.types.LongType.__with({
  fromBuffer: (buf: Buffer) => buf.readBigInt64LE(0),
  toBuffer: (n: bigint | number) => {
    const buf = Buffer.alloc(8);
    buf.writeBigInt64LE(BigInt(n), 0);
    return buf;
  },
  fromJSON: (v: unknown) => BigInt(v as number),
  toJSON: (n: bigint) => Number(n),
  isValid: (n: unknown) =>
    (typeof n === 'bigint' && BigInt.asIntN(64, n) === n) ||
    (typeof n === 'number' && Number.isSafeInteger(n)),
  compare: (a: bigint, b: bigint) => (a === b ? 0 : a < b ? -1 : 1),
});

interface AvroTypeShape {
  readonly typeName: string;
  readonly fields?: readonly { readonly name: string; readonly type: AvroType }[];
  readonly itemsType?: AvroType;
  readonly valuesType?: AvroType;
  readonly types?: readonly AvroType[];
}

/** Decoded avsc value → rule value, walking the schema (floats stay floats). */
function toValue(type: AvroType, v: unknown): Value {
  const t = type as unknown as AvroTypeShape;
  switch (t.typeName) {
    case 'record':
    case 'error': {
      const out: ValueMap = {};
      const rec = v as Record<string, unknown>;
      for (const f of t.fields ?? []) out[f.name] = toValue(f.type, rec[f.name]);
      return out;
    }
    case 'array':
      return (v as unknown[]).map((x) => toValue(t.itemsType as AvroType, x));
    case 'map': {
      const out: ValueMap = {};
      for (const [k, x] of Object.entries(v as Record<string, unknown>))
        out[k] = toValue(t.valuesType as AvroType, x);
      return out;
    }
    case 'union:unwrapped': {
      const branch = (t.types ?? []).find((b) => b.isValid(v));
      return branch ? toValue(branch, v) : (v as Value);
    }
    case 'float':
    case 'double':
      return floatValue(v);
    case 'abstract:long':
    case 'long':
    case 'int':
      return intValue(v);
    default:
      return v as Value;
  }
}

/** Rule value → what avsc writes: unbox floats, text for bytes/fixed as UTF-8. */
function fromValue(type: AvroType, v: Value): unknown {
  const t = type as unknown as AvroTypeShape;
  if (v instanceof EFloat) return v.value;
  switch (t.typeName) {
    case 'record':
    case 'error': {
      if (v === null || typeof v !== 'object' || Array.isArray(v) || Buffer.isBuffer(v)) return v;
      const out: Record<string, unknown> = {};
      for (const f of t.fields ?? []) out[f.name] = fromValue(f.type, (v as ValueMap)[f.name]);
      return out;
    }
    case 'array':
      return Array.isArray(v) ? v.map((x) => fromValue(t.itemsType as AvroType, x)) : v;
    case 'map': {
      if (v === null || typeof v !== 'object' || Array.isArray(v) || Buffer.isBuffer(v)) return v;
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = fromValue(t.valuesType as AvroType, x);
      return out;
    }
    case 'union:unwrapped': {
      for (const b of t.types ?? []) {
        const c = fromValue(b, v);
        if (b.isValid(c)) return c;
      }
      return v;
    }
    case 'bytes':
    case 'fixed':
      return typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
    case 'float':
    case 'double':
      return typeof v === 'bigint' ? Number(v) : v;
    default:
      return v;
  }
}

/** Compile an Avro schema (JSON text). Throws `schema_invalid` naming the problem. */
export function compileAvro(name: string, source: string): Codec & { readonly avroType: AvroType } {
  let type: AvroType;
  try {
    const schema = JSON.parse(source) as unknown;
    type = avro.Type.forSchema(schema as avro.Schema, {
      wrapUnions: false,
      registry: { long: exactLong },
    });
  } catch (e) {
    throw SchemaErrors.schema_invalid(
      `schema ${JSON.stringify(name)}: invalid Avro schema: ${(e as Error).message}`,
      { cause: e, context: { schema: name } },
    );
  }
  const decodeFail = (reason: string): never => {
    throw SchemaErrors.schema_decode_error(
      `{schema_decode_error, ${JSON.stringify(name)}}: ${reason}`,
      { context: { schema: name } },
    );
  };
  return {
    type: 'avro',
    avroType: type,
    decode(data) {
      const buf = bytesOf(data, 'Data', decodeFail);
      let v: unknown;
      try {
        v = type.fromBuffer(buf);
      } catch (e) {
        return decodeFail(`not Avro data for this schema: ${(e as Error).message}`);
      }
      return toValue(type, v);
    },
    encode(data) {
      const v = fromValue(type, data);
      const bad: string[] = [];
      if (
        !type.isValid(v, {
          errorHook: (path: string[]) => bad.push(path.join('.') || '(root)'),
        })
      )
        throw SchemaErrors.schema_encode_error(
          `{schema_encode_error, ${JSON.stringify(name)}}: the map does not fit the Avro schema at ${bad.join(', ')}`,
          { context: { schema: name, paths: bad } },
        );
      return type.toBuffer(v);
    },
  };
}
