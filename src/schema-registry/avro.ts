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

const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** int64 as bigint on the wire side; the value model side is handled by `toValue`. */
const exactLong = avro.types.LongType.__with({
  fromBuffer: (buf: Buffer) => {
    const b = buf.readBigInt64LE(0);
    return b >= MIN_SAFE && b <= MAX_SAFE ? Number(b) : b;
  },
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
  compare: (a: bigint | number, b: bigint | number) => (a === b ? 0 : a < b ? -1 : 1),
});

interface AvroTypeShape {
  readonly typeName: string;
  readonly fields?: readonly { readonly name: string; readonly type: AvroType }[];
  readonly itemsType?: AvroType;
  readonly valuesType?: AvroType;
  readonly types?: readonly AvroType[];
}

type Conv = (v: unknown) => Value;
const identity: Conv = (v) => v as Value;

/**
 * Decoded avsc value → rule value, compiled once per (sub)type: records become plain maps,
 * floats stay floats (`mkFloat`), longs become numbers when safe. Compiled converters are
 * derived data of one codec (a map per `compileAvro` call), nothing module-wide.
 */
function converter(type: AvroType, memo: Map<AvroType, Conv>): Conv {
  const hit = memo.get(type);
  if (hit) return hit;
  const t = type as unknown as AvroTypeShape;
  let conv: Conv;
  switch (t.typeName) {
    case 'record':
    case 'error': {
      // Recursive records: register a forwarder before compiling the fields.
      let fields: [string, Conv][] = [];
      conv = (v) => {
        const rec = v as Record<string, unknown>;
        const out: ValueMap = {};
        for (let i = 0; i < fields.length; i++) {
          const [n, c] = fields[i] as [string, Conv];
          out[n] = c(rec[n]);
        }
        return out;
      };
      memo.set(type, conv);
      fields = (t.fields ?? []).map((f) => [f.name, converter(f.type, memo)]);
      return conv;
    }
    case 'array': {
      const item = converter(t.itemsType as AvroType, memo);
      conv = (v) => {
        const a = v as unknown[];
        const out: Value[] = new Array(a.length);
        for (let i = 0; i < a.length; i++) out[i] = item(a[i]);
        return out;
      };
      break;
    }
    case 'map': {
      const val = converter(t.valuesType as AvroType, memo);
      conv = (v) => {
        const o = v as Record<string, unknown>;
        const out: ValueMap = {};
        for (const k of Object.keys(o)) out[k] = val(o[k]);
        return out;
      };
      break;
    }
    case 'union:unwrapped': {
      const branches = t.types ?? [];
      const nonNull = branches.filter((b) => (b as unknown as AvroTypeShape).typeName !== 'null');
      if (nonNull.length === 1) {
        const only = converter(nonNull[0] as AvroType, memo);
        conv = (v) => (v === null ? null : only(v));
      } else {
        const convs = branches.map((b) => [b, converter(b, memo)] as const);
        conv = (v) => {
          const found = convs.find(([b]) => b.isValid(v));
          return found ? found[1](v) : (v as Value);
        };
      }
      break;
    }
    case 'float':
    case 'double':
      conv = floatValue;
      break;
    case 'abstract:long':
    case 'long':
      conv = intValue;
      break;
    default:
      conv = identity;
  }
  memo.set(type, conv);
  return conv;
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
  const toValue = converter(type, new Map());
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
      return toValue(v);
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
