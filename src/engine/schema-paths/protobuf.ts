/**
 * Protobuf schema → the shape of what `schema_decode(Name, Bin, 'Msg')` returns
 * (src/schema-registry/protobuf.ts: protobufjs with `keepCase`, so field names as written in the
 * .proto; every declared field of a message, oneof members included, maps as maps, repeated
 * fields as lists, enums as their name — or number —, bytes as binaries; unknown wire fields are
 * dropped, so a message is closed).
 *
 * The engine may not import protobufjs (module rule), so this file reads the .proto text itself:
 * packages, imports (the schema's `imports` map, then files, as the registry resolves them),
 * nested messages and enums, `oneof`, `map<K, V>`, labels, options; the well-known types the
 * registry builds in (`google/protobuf/{any,duration,timestamp,empty,struct,wrappers,field_mask}`)
 * with protobufjs' field names (Struct's `Value` has camelCase members: `numberValue`, …). Type
 * names resolve as protobufjs' `Namespace.lookup` does (full name first, then this scope and
 * its children, then the parents). A message with `extensions`, a target of `extend` or
 * holding a proto2 `group` is open (other keys may appear). Anything the reader does not follow
 * makes the whole schema "not judged".
 */
import path from 'node:path';

import type { Shape } from './walker.js';

interface Field {
  readonly name: string;
  readonly type: string;
  readonly repeated: boolean;
  readonly mapValue?: string;
}

interface Ns {
  readonly kind: 'ns' | 'message' | 'enum' | 'service';
  readonly name: string;
  readonly parent: Ns | undefined;
  readonly fullName: string;
  readonly nested: Map<string, Ns>;
  readonly fields: Map<string, Field>;
  readonly oneofs: Set<string>;
  open: boolean;
}

const SCALARS = new Set([
  'double',
  'float',
  'int32',
  'int64',
  'uint32',
  'uint64',
  'sint32',
  'sint64',
  'fixed32',
  'fixed64',
  'sfixed32',
  'sfixed64',
  'bool',
]);

/** The bodies protobufjs adds for `google/protobuf/*.proto` (its src/common.js), as .proto. */
const WELL_KNOWN: Record<string, string> = {
  'google/protobuf/any.proto':
    'package google.protobuf; message Any { string type_url = 1; bytes value = 2; }',
  'google/protobuf/duration.proto':
    'package google.protobuf; message Duration { int64 seconds = 1; int32 nanos = 2; }',
  'google/protobuf/timestamp.proto':
    'package google.protobuf; message Timestamp { int64 seconds = 1; int32 nanos = 2; }',
  'google/protobuf/empty.proto': 'package google.protobuf; message Empty { }',
  'google/protobuf/struct.proto': `package google.protobuf;
    message Struct { map<string, Value> fields = 1; }
    message Value { oneof kind { NullValue nullValue = 1; double numberValue = 2; string stringValue = 3;
      bool boolValue = 4; Struct structValue = 5; ListValue listValue = 6; } }
    enum NullValue { NULL_VALUE = 0; }
    message ListValue { repeated Value values = 1; }`,
  'google/protobuf/wrappers.proto': `package google.protobuf;
    message DoubleValue { double value = 1; } message FloatValue { float value = 1; }
    message Int64Value { int64 value = 1; } message UInt64Value { uint64 value = 1; }
    message Int32Value { int32 value = 1; } message UInt32Value { uint32 value = 1; }
    message BoolValue { bool value = 1; } message StringValue { string value = 1; }
    message BytesValue { bytes value = 1; }`,
  'google/protobuf/field_mask.proto':
    'package google.protobuf; message FieldMask { repeated string paths = 1; }',
};

class Unsupported extends Error {}

function tokenize(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '/' && text[i + 1] === '/') {
      while (i < n && text[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      if (end < 0) throw new Unsupported('unterminated comment');
      i = end + 2;
      continue;
    }
    if (c === '"' || c === "'") {
      let j = i + 1;
      let s = '';
      while (j < n && text[j] !== c) {
        if (text[j] === '\\') j++;
        s += text[j] ?? '';
        j++;
      }
      if (j >= n) throw new Unsupported('unterminated string');
      out.push(c + s);
      i = j + 1;
      continue;
    }
    if ('{}=;:[],()<>'.includes(c)) {
      out.push(c);
      i++;
      continue;
    }
    let j = i;
    while (j < n && !/[\s{}=;:[\],'"()<>/]/.test(text[j] as string)) j++;
    if (j === i) throw new Unsupported(`unexpected ${JSON.stringify(c)}`);
    out.push(text.slice(i, j));
    i = j;
  }
  return out;
}

const isString = (t: string | undefined): boolean =>
  t !== undefined && (t[0] === '"' || t[0] === "'");

function newNs(kind: Ns['kind'], name: string, parent: Ns | undefined): Ns {
  const fullName = parent && parent.fullName ? `${parent.fullName}.${name}` : name;
  return {
    kind,
    name,
    parent,
    fullName,
    nested: new Map(),
    fields: new Map(),
    oneofs: new Set(),
    open: false,
  };
}

export interface ProtoSchema {
  readonly source: string;
  readonly baseDir: string;
  readonly imports?: Readonly<Record<string, string>>;
  readonly readFile: (file: string) => string;
}

/** Parsed files of one schema, as the registry loads them into one protobufjs root. */
export class ProtoRoot {
  readonly root: Ns = newNs('ns', '', undefined);
  private readonly extendsTo: { scope: Ns; target: string }[] = [];

  constructor(schema: ProtoSchema) {
    const seen = new Set<string>();
    const visit = (text: string, dir: string): void => {
      const imports = this.parse(text);
      for (const imp of imports) {
        if (seen.has(imp)) continue;
        seen.add(imp);
        if (imp.startsWith('google/protobuf/')) {
          const wk = WELL_KNOWN[imp];
          if (wk === undefined) throw new Unsupported(`well-known import ${imp}`);
          this.parse(wk);
          continue;
        }
        const inline = schema.imports?.[imp];
        if (inline !== undefined) {
          visit(inline, dir);
          continue;
        }
        const file = path.resolve(dir, imp);
        visit(schema.readFile(file), path.dirname(file));
      }
    };
    visit(schema.source, schema.baseDir);
    for (const e of this.extendsTo) {
      const t = this.lookup(e.scope, e.target, true);
      if (t) t.open = true;
      else throw new Unsupported(`extend ${e.target}`);
    }
  }

  /** Parse one file into the root; returns its imports. */
  private parse(text: string): string[] {
    const toks = tokenize(text);
    let p = 0;
    const imports: string[] = [];
    const peek = (): string | undefined => toks[p];
    const next = (): string => {
      const t = toks[p++];
      if (t === undefined) throw new Unsupported('unexpected end');
      return t;
    };
    const skip = (t: string): void => {
      if (next() !== t) throw new Unsupported(`expected ${t}`);
    };
    /** Skip to the `;` ending a statement, over balanced brackets. */
    const skipStatement = (): void => {
      let depth = 0;
      while (true) {
        const t = next();
        if (t === '{' || t === '[' || t === '(') depth++;
        else if (t === '}' || t === ']' || t === ')') depth--;
        else if (t === ';' && depth === 0) return;
        if (depth < 0) throw new Unsupported('unbalanced');
      }
    };
    const skipBlock = (): void => {
      skip('{');
      let depth = 1;
      while (depth > 0) {
        const t = next();
        if (t === '{') depth++;
        else if (t === '}') depth--;
      }
    };
    const typeName = (): string => {
      let t = next();
      while (t.endsWith('.') || (peek() ?? '').startsWith('.')) t += next();
      return t;
    };
    const fieldTail = (): void => {
      // `= N [options] ;` or a block
      skip('=');
      next();
      if (peek() === '[') {
        let depth = 0;
        do {
          const t = next();
          if (t === '[') depth++;
          else if (t === ']') depth--;
        } while (depth > 0);
      }
      if (peek() === '{') {
        skipBlock();
        if (peek() === ';') next();
      } else skip(';');
    };
    const define = (scope: Ns, kind: Ns['kind'], name: string): Ns => {
      const existing = scope.nested.get(name);
      if (existing) {
        if (kind === 'ns' && existing.kind === 'ns') return existing;
        throw new Unsupported(`duplicate ${name}`);
      }
      const ns = newNs(kind, name, scope);
      scope.nested.set(name, ns);
      return ns;
    };
    const field = (msg: Ns, label: string | undefined): void => {
      const t = typeName();
      if (t === 'group') {
        // proto2 group: a field named after the group plus a nested type; not followed.
        msg.open = true;
        next();
        fieldTail();
        return;
      }
      const name = next();
      if (t === 'map' || t.startsWith('map<')) throw new Unsupported('map syntax');
      msg.fields.set(name, { name, type: t, repeated: label === 'repeated' });
      fieldTail();
    };
    const mapField = (msg: Ns): void => {
      skip('<');
      typeName();
      skip(',');
      const v = typeName();
      skip('>');
      const name = next();
      msg.fields.set(name, { name, type: v, repeated: false, mapValue: v });
      fieldTail();
    };
    const message = (scope: Ns): void => {
      const msg = define(scope, 'message', next());
      skip('{');
      while (peek() !== '}') body(msg);
      next();
      if (peek() === ';') next();
    };
    const enumDef = (scope: Ns): void => {
      define(scope, 'enum', next());
      skipBlock();
      if (peek() === ';') next();
    };
    const extend = (scope: Ns): void => {
      const target = typeName();
      this.extendsTo.push({ scope, target });
      skipBlock();
      if (peek() === ';') next();
    };
    const body = (msg: Ns): void => {
      const t = next();
      switch (t) {
        case ';':
          return;
        case 'message':
          return message(msg);
        case 'enum':
          return enumDef(msg);
        case 'extend':
          return extend(msg);
        case 'option':
        case 'reserved':
          return skipStatement();
        case 'extensions':
          msg.open = true;
          return skipStatement();
        case 'oneof': {
          msg.oneofs.add(next());
          skip('{');
          while (peek() !== '}') {
            const u = peek();
            if (u === 'option') {
              next();
              skipStatement();
            } else if (u === ';') next();
            else field(msg, undefined);
          }
          next();
          return;
        }
        case 'map':
          if (peek() === '<') return mapField(msg);
          p--;
          return field(msg, undefined);
        case 'optional':
        case 'required':
        case 'repeated':
          if (peek() === 'map' && toks[p + 1] === '<') throw new Unsupported('labelled map');
          return field(msg, t);
        default:
          p--;
          return field(msg, undefined);
      }
    };
    let pkg: Ns = this.root;
    while (p < toks.length) {
      const t = next();
      switch (t) {
        case ';':
          break;
        case 'syntax':
        case 'edition':
        case 'option':
          skipStatement();
          break;
        case 'package': {
          const name = next();
          skip(';');
          pkg = this.root;
          for (const part of name.split('.')) pkg = define(pkg, 'ns', part);
          break;
        }
        case 'import': {
          let f = next();
          if (f === 'public' || f === 'weak') f = next();
          if (!isString(f)) throw new Unsupported('import');
          imports.push(f.slice(1));
          skip(';');
          break;
        }
        case 'message':
          message(pkg);
          break;
        case 'enum':
          enumDef(pkg);
          break;
        case 'service':
          define(pkg, 'service', next());
          skipBlock();
          if (peek() === ';') next();
          break;
        case 'extend':
          extend(pkg);
          break;
        default:
          throw new Unsupported(`top-level ${t}`);
      }
    }
    return imports;
  }

  /** protobufjs `ReflectionObject.get` (Type: fields, then oneofs, then nested). */
  private get(ns: Ns, name: string): Ns | Field | undefined {
    if (ns.kind === 'message') {
      const f = ns.fields.get(name);
      if (f) return f;
      if (ns.oneofs.has(name)) return { name, type: '', repeated: false };
    }
    return ns.nested.get(name);
  }

  /** protobufjs `Namespace._lookupImpl`. */
  private lookupImpl(ns: Ns, parts: readonly string[]): Ns | Field | undefined {
    const found = this.get(ns, parts[0] as string);
    if (found) {
      if (parts.length === 1) return found;
      if ('kind' in found && found.kind !== 'enum') return this.lookupImpl(found, parts.slice(1));
      return undefined;
    }
    for (const child of ns.nested.values()) {
      if (child.kind === 'enum') continue;
      const r = this.lookupImpl(child, parts);
      if (r) return r;
    }
    return undefined;
  }

  private byFullName(name: string): Ns | undefined {
    let ns: Ns | undefined = this.root;
    for (const part of name.split('.')) {
      ns = ns?.nested.get(part);
      if (!ns) return undefined;
    }
    return ns;
  }

  /**
   * protobufjs `lookup` from `scope`: a type (or enum) by a reference as written. `typesOnly`:
   * `lookupTypeOrEnum` (field types); otherwise `Root.lookup` as `schema_decode` uses it.
   */
  lookup(scope: Ns, ref: string, typesOnly: boolean): Ns | undefined {
    const ok = (x: Ns | Field | undefined): x is Ns =>
      x !== undefined && 'kind' in x && (x.kind === 'message' || (typesOnly && x.kind === 'enum'));
    if (ref.startsWith('.')) return this.lookup(this.root, ref.slice(1), typesOnly);
    const parts = ref.split('.');
    const fq = this.byFullName(ref);
    if (fq && (fq.kind === 'message' || fq.kind === 'enum') && (typesOnly || fq.kind === 'message'))
      return fq;
    const here = this.lookupImpl(scope, parts);
    if (ok(here)) return here;
    if (!typesOnly && here !== undefined) return undefined;
    for (let s = scope.parent; s; s = s.parent) {
      const up = this.lookupImpl(s, parts);
      if (ok(up)) return up;
    }
    return undefined;
  }

  private readonly shapes = new Map<Ns, Shape>();

  /** The decoded shape of message `msg`. */
  shape(msg: Ns): Shape {
    const hit = this.shapes.get(msg);
    if (hit) return hit;
    const fields = new Map<string, () => Shape>();
    const s: Shape = { t: 'record', name: `message ${msg.fullName}`, fields, open: msg.open };
    this.shapes.set(msg, s);
    for (const f of msg.fields.values()) {
      const elem = (): Shape => this.elemShape(msg, f.type);
      if (f.mapValue !== undefined) fields.set(f.name, () => ({ t: 'map', values: elem }));
      else if (f.repeated) fields.set(f.name, () => ({ t: 'array', items: elem }));
      else fields.set(f.name, elem);
    }
    return s;
  }

  private elemShape(scope: Ns, type: string): Shape {
    if (SCALARS.has(type)) return { t: 'scalar', name: `protobuf ${type}` };
    if (type === 'string' || type === 'bytes') return { t: 'text', name: type };
    const t = this.lookup(scope, type, true);
    if (!t) return { t: 'any' };
    if (t.kind === 'enum') return { t: 'scalar', name: `enum ${t.fullName} (a name or number)` };
    return this.shape(t);
  }

  /** The message type `schema_decode` finds for its third argument, if any. */
  messageShape(msgType: string): Shape | undefined {
    const t = this.lookup(this.root, msgType.replace(/^\./, ''), false);
    return t ? this.shape(t) : undefined;
  }
}

/** A reader of the schema, or undefined when it uses what this reader does not follow. */
export function protoRoot(schema: ProtoSchema): ProtoRoot | undefined {
  try {
    return new ProtoRoot(schema);
  } catch {
    return undefined;
  }
}
