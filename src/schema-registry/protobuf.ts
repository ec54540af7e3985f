/**
 * Protobuf schemas with protobufjs (reflection + generated per-type codecs; figures in
 * bench/RESULTS.md). proto2 and proto3, nested types, `import` (resolved from the schema's
 * `imports` map, then as files relative to the importing file or the config directory;
 * `google/protobuf/*.proto` well-known types are built in). EMQX convention
 * (emqx_schema_registry_serde, gpb): `schema_decode(Name, Bin, MessageType)` and
 * `schema_encode(Name, Map, MessageType)`; field names as written in the .proto
 * (`keepCase`), proto3 scalars without presence decode to their default, unset fields with
 * presence are absent, enums decode to their name, 64-bit integers are exact.
 */
import path from 'node:path';

import protobuf from 'protobufjs';

import { EFloat } from '../core/index.js';
import type { Value, ValueMap } from '../core/index.js';
import type { Codec, ReadFile } from './codec.js';
import { bytesOf } from './codec.js';
import { SchemaErrors } from './errors.js';
import { floatValue, intValue } from './values.js';

/** protobufjs' Long class (the `long` package), when installed. */
const LongCtor = protobuf.util.Long as unknown as
  { fromString(s: string, unsigned: boolean): unknown } | undefined;
const LONGS = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);

/**
 * protobufjs reads a Node Buffer with its BufferReader, which clamps a length-delimited field
 * that runs past the end (truncated data decodes silently); its plain Uint8Array reader checks
 * the bounds. Decode through a view (no copy).
 */
export function strictView(buf: Buffer): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
}

type Conv = (v: unknown) => Value;

/** The converter of one field's (element) value, chosen once per field. */
function scalarConv(f: protobuf.Field): Conv {
  const rt = f.resolvedType;
  if (rt instanceof protobuf.Type) return (v) => messageToValue(rt, v);
  if (rt instanceof protobuf.Enum) {
    const byId = rt.valuesById;
    return (v) => (typeof v === 'number' ? (byId[v] ?? v) : (v as Value));
  }
  if (LONGS.has(f.type)) return (v) => (typeof v === 'number' ? v : intValue(v));
  if (f.type === 'double' || f.type === 'float') return floatValue;
  if (f.type === 'bytes') return (v) => (Buffer.isBuffer(v) ? v : Buffer.from(v as Uint8Array));
  return (v) => v as Value;
}

type FieldConv = (msg: Record<string, unknown>, out: ValueMap) => void;

/** One field of a message instance → the map, compiled once per field. */
function fieldConv(f: protobuf.Field): FieldConv {
  const name = f.name;
  const conv = scalarConv(f);
  const own = Object.prototype.hasOwnProperty;
  if (f.map)
    return (msg, out) => {
      const o: ValueMap = {};
      const v = own.call(msg, name) ? msg[name] : undefined;
      if (v) for (const k of Object.keys(v)) o[k] = conv((v as Record<string, unknown>)[k]);
      out[name] = o;
    };
  if (f.repeated)
    return (msg, out) => {
      const v = own.call(msg, name) ? msg[name] : undefined;
      if (!Array.isArray(v) || v.length === 0) {
        out[name] = [];
        return;
      }
      const a: Value[] = new Array(v.length);
      for (let i = 0; i < v.length; i++) a[i] = conv(v[i]);
      out[name] = a;
    };
  // proto3 implicit presence: an unset scalar reads as its default (messages never do).
  const rt = f.resolvedType;
  const implicit = !f.hasPresence && !(rt instanceof protobuf.Type);
  const dflt: Value | undefined = implicit
    ? rt instanceof protobuf.Enum
      ? conv(rt.values[Object.keys(rt.values)[0]!] ?? 0)
      : conv(f.typeDefault)
    : undefined;
  return (msg, out) => {
    if (own.call(msg, name)) {
      const v = msg[name];
      if (v !== undefined && v !== null) {
        out[name] = conv(v);
        return;
      }
    }
    if (implicit) out[name] = Buffer.isBuffer(dflt) ? Buffer.from(dflt) : dflt;
  };
}

/**
 * Compiled converters per message type, built on first use: derived data keyed by the (immutable)
 * type object of one registry, so nothing is shared between registries (CONVENTIONS.md #8).
 */
const converters = new WeakMap<protobuf.Type, readonly FieldConv[]>();

/** A decoded message instance → map (walks the type, so defaults and presence are exact). */
export function messageToValue(type: protobuf.Type, m: unknown): ValueMap {
  let convs = converters.get(type);
  if (!convs) {
    convs = type.fieldsArray.map(fieldConv);
    converters.set(type, convs);
  }
  const msg = m as Record<string, unknown>;
  const out: ValueMap = {};
  for (let i = 0; i < convs.length; i++) (convs[i] as FieldConv)(msg, out);
  return out;
}

function fieldFromValue(f: protobuf.Field, v: Value): unknown {
  if (v instanceof EFloat) return v.value;
  if (f.resolvedType instanceof protobuf.Type) return messageFromValue(f.resolvedType, v);
  if (f.resolvedType instanceof protobuf.Enum && typeof v === 'string')
    return f.resolvedType.values[v] ?? v;
  if (typeof v === 'bigint')
    return LongCtor
      ? LongCtor.fromString(String(v), f.type === 'uint64' || f.type === 'fixed64')
      : Number(v);
  if (f.type === 'bytes' && typeof v === 'string') return Buffer.from(v, 'utf8');
  if (f.type === 'string' && Buffer.isBuffer(v)) return v.toString('utf8');
  return v;
}

/** A rule map → the plain object `Type.fromObject` takes (values converted per field type). */
export function messageFromValue(type: protobuf.Type, v: Value): unknown {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || Buffer.isBuffer(v)) return v;
  if (v instanceof EFloat) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    const f = type.fields[k];
    if (!f) {
      out[k] = x;
      continue;
    }
    if (f.map && x && typeof x === 'object' && !Array.isArray(x) && !Buffer.isBuffer(x)) {
      const o: Record<string, unknown> = {};
      for (const [mk, mx] of Object.entries(x as ValueMap)) o[mk] = fieldFromValue(f, mx);
      out[k] = o;
    } else if (f.repeated && Array.isArray(x)) out[k] = x.map((e) => fieldFromValue(f, e));
    else out[k] = fieldFromValue(f, x);
  }
  return out;
}

/** Strict check before `fromObject` (which coerces silently): unknown and mistyped fields. */
function checkShape(type: protobuf.Type, v: unknown, at: string): string | undefined {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || Buffer.isBuffer(v))
    return `${at || '(root)'}: expected a map for message ${type.name}`;
  for (const k of Object.keys(v)) {
    if (!type.fields[k]) return `${at}${k}: no such field in message ${type.name}`;
  }
  const err = type.verify(v as Record<string, unknown>);
  return err ? `${at}${err}` : undefined;
}

export interface ProtoSource {
  readonly source: string;
  /** Directory of the file the source came from (or the config directory). */
  readonly baseDir: string;
  readonly imports?: Readonly<Record<string, string>>;
}

/** Parse `src` and every file it imports into one root. */
function load(name: string, src: ProtoSource, readFile: ReadFile): protobuf.Root {
  const root = new protobuf.Root();
  const seen = new Set<string>();
  const visit = (text: string, file: string, dir: string): void => {
    const parsed = protobuf.parse(text, root, { keepCase: true });
    for (const imp of [...(parsed.imports ?? []), ...(parsed.weakImports ?? [])]) {
      if (seen.has(imp)) continue;
      seen.add(imp);
      if (imp.startsWith('google/protobuf/')) {
        const common = protobuf.common.get(imp);
        if (!common) throw new Error(`${file}: unknown well-known import ${JSON.stringify(imp)}`);
        root.addJSON(common.nested ?? {});
        continue;
      }
      const inline = src.imports?.[imp];
      if (inline !== undefined) {
        visit(inline, imp, dir);
        continue;
      }
      const candidate = path.resolve(dir, imp);
      let body: string;
      try {
        body = readFile(candidate);
      } catch (e) {
        throw new Error(
          `${file}: import ${JSON.stringify(imp)} not found in the schema's imports nor at ${candidate} (${(e as Error).message})`,
          { cause: e },
        );
      }
      visit(body, imp, path.dirname(candidate));
    }
  };
  visit(src.source, `${name}.proto`, src.baseDir);
  root.resolveAll();
  return root;
}

export function compileProtobuf(name: string, src: ProtoSource, readFile: ReadFile): Codec {
  let root: protobuf.Root;
  try {
    root = load(name, src, readFile);
  } catch (e) {
    throw SchemaErrors.schema_invalid(
      `schema ${JSON.stringify(name)}: invalid protobuf schema: ${(e as Error).message}`,
      { cause: e, context: { schema: name } },
    );
  }
  const types = new Map<string, protobuf.Type | null>();
  const lookup = (
    msgType: Value,
    fail: (code: 'schema_decode_error' | 'schema_encode_error', why: string) => never,
    code: 'schema_decode_error' | 'schema_encode_error',
  ): protobuf.Type => {
    if (typeof msgType !== 'string' && !Buffer.isBuffer(msgType))
      return fail(code, 'a protobuf schema needs the message type as the third argument');
    const key = msgType.toString();
    let t = types.get(key);
    if (t === undefined) {
      const found = root.lookup(key.replace(/^\./, ''));
      t = found instanceof protobuf.Type ? found : null;
      if (types.size < 10_000) types.set(key, t);
    }
    return t ?? fail(code, `no message type ${JSON.stringify(key)} in the schema`);
  };
  const fail = (code: 'schema_decode_error' | 'schema_encode_error', why: string): never => {
    throw SchemaErrors[code](`{${code}, ${JSON.stringify(name)}}: ${why}`, {
      context: { schema: name },
    });
  };
  return {
    type: 'protobuf',
    decode(data, args) {
      const type = lookup(args[0], fail, 'schema_decode_error');
      if (
        data !== null &&
        typeof data === 'object' &&
        !Buffer.isBuffer(data) &&
        !Array.isArray(data)
      )
        return fail(
          'schema_decode_error',
          'attempted to schema decode an already decoded message (check the rule)',
        );
      const buf = bytesOf(data, 'Data', (r) => fail('schema_decode_error', r));
      let m: protobuf.Message;
      try {
        m = type.decode(strictView(buf));
      } catch (e) {
        return fail(
          'schema_decode_error',
          `the data could not be decoded as ${type.fullName.slice(1)}: ${(e as Error).message}`,
        );
      }
      return messageToValue(type, m);
    },
    encode(data, args) {
      const type = lookup(args[0], fail, 'schema_encode_error');
      const obj = messageFromValue(type, data);
      const bad = checkShape(type, obj, '');
      if (bad) return fail('schema_encode_error', bad);
      return Buffer.from(type.encode(type.fromObject(obj as Record<string, unknown>)).finish());
    },
  };
}

/** Compile a bundled .proto text (Sparkplug B) without imports. */
export function compileProtoText(name: string, source: string): protobuf.Root {
  return load(name, { source, baseDir: '.' }, () => {
    throw new Error('no imports');
  });
}
