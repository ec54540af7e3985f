import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { decodeStruct, encodeStruct } from './struct-codec.js';

// The reference: protobufjs' google.protobuf.Struct, loaded through our own proto file.
const root = new protobuf.Root();
root.resolvePath = (origin, target) =>
  target.startsWith('google/') ? target : protobuf.util.path.resolve(origin, target);
root.loadSync(fileURLToPath(new URL('./proto/hstream.proto', import.meta.url)), { keepCase: true });
const Struct = root.lookupType('google.protobuf.Struct');

/** JSON → the Struct/Value message shape protobufjs takes (it has no Struct ↔ JSON wrapper). */
function toValue(v: unknown): Record<string, unknown> {
  if (v === null) return { nullValue: 0 };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'string') return { stringValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(toValue) } };
  return { structValue: toStruct(v as Record<string, unknown>) };
}
function toStruct(obj: Record<string, unknown>) {
  return { fields: Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, toValue(v)])) };
}

/** protobufjs' encoding of a JSON object as google.protobuf.Struct. */
function reference(obj: Record<string, unknown>): Buffer {
  return Buffer.from(Struct.encode(Struct.fromObject(toStruct(obj))).finish());
}

const sample = {
  clientid: 'dev-1',
  temp: 21.5,
  zero: 0,
  negative: -3,
  big: 2 ** 60,
  empty: '',
  unicode: 'héllo ✓ 🌡',
  ok: true,
  no: false,
  nothing: null,
  nested: { a: { b: [1, 'two', null, false, { c: [] }] } },
  list: [],
  emptyObject: {},
};

describe('google.protobuf.Struct codec (HRecord payloads)', () => {
  it('encodes byte for byte what protobufjs encodes', () => {
    expect(encodeStruct(sample).equals(reference(sample))).toBe(true);
    expect(encodeStruct({}).length).toBe(0);
  });

  it('decodes its own and protobufjs output back to the same JSON', () => {
    expect(decodeStruct(encodeStruct(sample))).toEqual(sample);
    expect(decodeStruct(reference(sample))).toEqual(sample);
    const viaRef = Struct.toObject(Struct.decode(encodeStruct(sample))) as Record<string, unknown>;
    expect(Object.keys(viaRef['fields'] as object).sort()).toEqual(Object.keys(sample).sort());
  });

  it('maps non-JSON values: undefined members dropped, Buffer and Date as text, bigint as number', () => {
    const when = new Date('2024-08-15T00:00:00.000Z');
    const out = decodeStruct(
      encodeStruct({ u: undefined, b: Buffer.from('raw ✓'), d: when, n: 12n, l: [undefined] }),
    );
    expect(out).toEqual({ b: 'raw ✓', d: '2024-08-15T00:00:00.000Z', n: 12, l: [null] });
  });

  it('keeps a "__proto__" key as data', () => {
    const obj = JSON.parse('{"__proto__": {"x": 1}, "y": 2}') as Record<string, unknown>;
    const out = decodeStruct(encodeStruct(obj));
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.keys(out)).toEqual(['__proto__', 'y']);
    expect(out['__proto__']).toEqual({ x: 1 });
  });

  it('rejects truncated input', () => {
    const buf = encodeStruct(sample);
    expect(() => decodeStruct(buf.subarray(0, buf.length - 3))).toThrow(/truncated/);
  });
});
