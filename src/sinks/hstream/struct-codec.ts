/**
 * Hand-written codec of `google.protobuf.Struct` — the payload of a JSON-flagged HStreamDB record,
 * an "HRecord" (hstream-protocol.md §4: "JSON/HRecord: the protobuf binary encoding of
 * google.protobuf.Struct — not JSON text"; Java `HRecord.toByteString()`, Go `structpb`, Python
 * `Struct.SerializeToString()` all write this). Checked byte for byte against protobufjs in
 * struct-codec.test.ts.
 *
 *   Struct    { map<string, Value> fields = 1; }
 *   Value     { oneof kind { NullValue null_value = 1; double number_value = 2;
 *               string string_value = 3; bool bool_value = 4; Struct struct_value = 5;
 *               ListValue list_value = 6; } }
 *   ListValue { repeated Value values = 1; }
 *
 * JS → Value: null/undefined → null (an undefined object member is left out, as JSON.stringify
 * does), boolean, number (double), bigint → number, string, Buffer/Uint8Array → UTF-8 text,
 * Date → ISO text, arrays → list, other objects → struct (own enumerable keys), anything else →
 * its String() text. Oneof members are always written, even 0 / "" / false (proto3 oneof presence).
 */
import { ProtobufDecodeError, readBytes, readVarint, skip } from './record-codec.js';
import type { Cursor } from './record-codec.js';

function varint(n: number, out: number[]): void {
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
}

function lenField(tag: number, body: Buffer): Buffer {
  const head: number[] = [tag];
  varint(body.length, head);
  return Buffer.concat([Buffer.from(head), body]);
}

function encodeValue(v: unknown): Buffer {
  if (v === null || v === undefined) return Buffer.from([0x08, 0x00]);
  switch (typeof v) {
    case 'boolean':
      return Buffer.from([0x20, v ? 1 : 0]);
    case 'number':
    case 'bigint': {
      const b = Buffer.allocUnsafe(9);
      b[0] = 0x11; // number_value = 2, fixed64
      b.writeDoubleLE(Number(v), 1);
      return b;
    }
    case 'string':
      return lenField(0x1a, Buffer.from(v, 'utf8'));
    case 'object': {
      if (v instanceof Uint8Array) return lenField(0x1a, Buffer.from(v));
      if (v instanceof Date) return lenField(0x1a, Buffer.from(v.toISOString(), 'utf8'));
      if (Array.isArray(v)) return lenField(0x32, encodeList(v));
      return lenField(0x2a, encodeStruct(v as Record<string, unknown>));
    }
    default:
      return lenField(0x1a, Buffer.from(String(v), 'utf8'));
  }
}

function encodeList(items: readonly unknown[]): Buffer {
  return Buffer.concat(items.map((x) => lenField(0x0a, encodeValue(x))));
}

/** Serialize a JS object as `google.protobuf.Struct` (see the file header for the mapping). */
export function encodeStruct(obj: Record<string, unknown>): Buffer {
  const parts: Buffer[] = [];
  for (const key of Object.keys(obj)) {
    const v = obj[key];
    if (v === undefined) continue;
    const entry = Buffer.concat([
      lenField(0x0a, Buffer.from(key, 'utf8')),
      lenField(0x12, encodeValue(v)),
    ]);
    parts.push(lenField(0x0a, entry));
  }
  return Buffer.concat(parts);
}

function decodeValue(buf: Buffer): unknown {
  const c: Cursor = { buf, pos: 0 };
  let out: unknown = null;
  while (c.pos < buf.length) {
    const tag = readVarint(c);
    switch (tag) {
      case 0x08:
        readVarint(c);
        out = null;
        break;
      case 0x11:
        if (c.pos + 8 > buf.length) throw new ProtobufDecodeError('truncated double');
        out = buf.readDoubleLE(c.pos);
        c.pos += 8;
        break;
      case 0x1a:
        out = readBytes(c).toString('utf8');
        break;
      case 0x20:
        out = readVarint(c) !== 0;
        break;
      case 0x2a:
        out = decodeStruct(readBytes(c));
        break;
      case 0x32: {
        const l: Cursor = { buf: readBytes(c), pos: 0 };
        const items: unknown[] = [];
        while (l.pos < l.buf.length) {
          const t = readVarint(l);
          if (t === 0x0a) items.push(decodeValue(readBytes(l)));
          else skip(l, t & 7);
        }
        out = items;
        break;
      }
      default:
        skip(c, tag & 7);
    }
  }
  return out;
}

/** Parse a `google.protobuf.Struct` into a plain object; throws ProtobufDecodeError if malformed. */
export function decodeStruct(buf: Buffer): Record<string, unknown> {
  const c: Cursor = { buf, pos: 0 };
  const out: Record<string, unknown> = {};
  while (c.pos < buf.length) {
    const tag = readVarint(c);
    if (tag !== 0x0a) {
      skip(c, tag & 7);
      continue;
    }
    const e: Cursor = { buf: readBytes(c), pos: 0 };
    let key = '';
    let value: unknown = null;
    while (e.pos < e.buf.length) {
      const t = readVarint(e);
      if (t === 0x0a) key = readBytes(e).toString('utf8');
      else if (t === 0x12) value = decodeValue(readBytes(e));
      else skip(e, t & 7);
    }
    Object.defineProperty(out, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}
