/**
 * No false positives, by sampling (issue #16 item 5): values the real decoders accept — JSON
 * documents that Ajv validates (mutants of realistic samples), random Avro values of the schema
 * (avsc's own generator, decoded by the registry) — and every path that is defined in them
 * (keys, 1-based and negative indexes, strings decoded on the way as the runtime does): the
 * walkers must never answer "cannot exist" along such a path.
 */
import { describe, expect, it } from 'vitest';

import { EFloat, decodeJson } from '../core/index.js';
import type { Value } from '../core/index.js';
import { compileAvro, compileJsonSchema, compileProtobuf } from '../schema-registry/index.js';
import { avroShape } from './schema-paths/avro.js';
import { jsonSchemaDoc, jsonSchemaWalker } from './schema-paths/json-schema.js';
import { protoRoot } from './schema-paths/protobuf.js';
import type { Shape, Step, Walker } from './schema-paths/walker.js';
import { shapeWalker } from './schema-paths/walker.js';

/** Deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** access.ts decodeLenient: a string met on a path is JSON-decoded when it can be. */
function lenient(v: string | Buffer): Value {
  const s = typeof v === 'string' ? v : v.toString('utf8');
  const c = s.trimStart()[0];
  if (c !== '{' && c !== '[' && c !== '"') return undefined;
  try {
    return decodeJson(s);
  } catch {
    return undefined;
  }
}

/** Every path (≤ depth steps) whose value is defined in `v`. */
function definedPaths(v: Value, depth: number, prefix: Step[] = [], out: Step[][] = []): Step[][] {
  if (depth === 0 || v === undefined) return out;
  if (typeof v === 'string' || Buffer.isBuffer(v)) {
    const d = lenient(v);
    if (d !== undefined && typeof d !== 'string') definedPaths(d, depth, prefix, out);
    return out;
  }
  if (Array.isArray(v)) {
    v.forEach((x, i) => {
      for (const at of [i + 1, i - v.length]) {
        const p = [...prefix, { k: 'index', at } as Step];
        out.push(p);
        definedPaths(x, depth - 1, p, out);
      }
    });
    if (v.length > 0) out.push([...prefix, { k: 'index' }], [...prefix, { k: 'slice' }]);
    return out;
  }
  if (typeof v === 'object' && v !== null && !(v instanceof EFloat)) {
    for (const [k, x] of Object.entries(v)) {
      if (x === undefined) continue;
      const p = [...prefix, { k: 'key', key: k } as Step];
      out.push(p);
      definedPaths(x, depth - 1, p, out);
    }
  }
  return out;
}

/** The first step along `p` the walker rules out, if any. */
function refuted(w: Walker, p: readonly Step[]): string | undefined {
  let cur = w;
  for (const s of p) {
    const v = cur.step(s);
    if (v.kind === 'no') return v.why;
    if (v.kind === 'unknown') return undefined;
    cur = v.next;
  }
  return undefined;
}

const show = (p: readonly Step[]): string =>
  p
    .map((s) => (s.k === 'key' ? `.${s.key}` : s.k === 'slice' ? '[m..n]' : `[${s.at ?? 'i'}]`))
    .join('');

// ---------------------------------------------------------------------------------------------

const KEYS = [
  'id',
  'model',
  't',
  'v',
  'unit',
  'lat',
  'x-a',
  'kind',
  'a',
  'b',
  'c',
  'name',
  'k',
  'zz',
];

function randomJson(r: () => number, depth: number): unknown {
  const pick = Math.floor(r() * (depth > 0 ? 9 : 6));
  switch (pick) {
    case 0:
      return null;
    case 1:
      return r() < 0.5;
    case 2:
      return Math.floor(r() * 10);
    case 3:
      return r() * 10;
    case 4:
      return ['C', 'F', 'ok', 'a', 'b'][Math.floor(r() * 5)];
    case 5:
      return JSON.stringify({ [KEYS[Math.floor(r() * KEYS.length)] as string]: 1 });
    case 6:
    case 7: {
      const o: Record<string, unknown> = {};
      const n = Math.floor(r() * 3);
      for (let i = 0; i < n; i++)
        o[KEYS[Math.floor(r() * KEYS.length)] as string] = randomJson(r, depth - 1);
      return o;
    }
    default:
      return Array.from({ length: Math.floor(r() * 3) }, () => randomJson(r, depth - 1));
  }
}

/** A random change somewhere in a copy of `doc`. */
function mutate(doc: unknown, r: () => number): unknown {
  const copy = JSON.parse(JSON.stringify(doc)) as unknown;
  const nodes: { parent: Record<string, unknown> | unknown[]; key: string | number }[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v))
      v.forEach((x, i) => {
        nodes.push({ parent: v, key: i });
        walk(x);
      });
    else if (typeof v === 'object' && v !== null)
      for (const [k, x] of Object.entries(v)) {
        nodes.push({ parent: v as Record<string, unknown>, key: k });
        walk(x);
      }
  };
  walk(copy);
  const steps = 1 + Math.floor(r() * 3);
  for (let s = 0; s < steps; s++) {
    const n = nodes[Math.floor(r() * nodes.length)];
    const op = r();
    if (!n) break;
    const target = (n.parent as Record<string | number, unknown>)[n.key];
    if (op < 0.4) (n.parent as Record<string | number, unknown>)[n.key] = randomJson(r, 2);
    else if (op < 0.7 && typeof target === 'object' && target !== null && !Array.isArray(target))
      (target as Record<string, unknown>)[KEYS[Math.floor(r() * KEYS.length)] as string] =
        randomJson(r, 2);
    else if (op < 0.85 && Array.isArray(target)) target.push(randomJson(r, 2));
    else if (!Array.isArray(n.parent))
      delete (n.parent as Record<string, unknown>)[n.key as string];
  }
  return copy;
}

const jsonSchemas: { name: string; schema: object; samples: unknown[] }[] = [
  {
    name: 'refs-and-combinators (2020-12)',
    schema: {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      $id: 'https://example.com/t.json',
      type: 'object',
      additionalProperties: false,
      properties: {
        device: { $ref: '#/$defs/device' },
        readings: { type: 'array', items: { $ref: '#/$defs/reading' }, maxItems: 3 },
        either: { oneOf: [{ $ref: '#/$defs/device' }, { $ref: '#/$defs/reading' }] },
        any: { anyOf: [{ type: 'string' }, { $ref: '#/$defs/device' }] },
        both: { allOf: [{ $ref: '#/$defs/device' }, { type: 'object' }] },
        cond: {
          type: 'object',
          if: { properties: { kind: { const: 'a' } } },
          then: { properties: { kind: {}, a: { type: 'number' } }, additionalProperties: false },
          else: { properties: { kind: {}, b: { type: 'object' } }, additionalProperties: false },
        },
        meta: {
          type: 'object',
          patternProperties: { '^x-': {} },
          additionalProperties: { type: 'integer' },
        },
        pair: {
          type: 'array',
          prefixItems: [{ type: 'number' }, { $ref: 'geo.json' }],
          items: false,
        },
        geo: { $ref: 'geo.json' },
        tree: { $ref: '#/$defs/node' },
        unit: { $ref: '#unit' },
        maybe: {
          type: ['object', 'null'],
          properties: { k: { type: 'number' } },
          additionalProperties: false,
        },
      },
      $defs: {
        device: {
          type: 'object',
          additionalProperties: false,
          properties: { id: { type: 'string' }, model: {} },
        },
        reading: {
          type: 'object',
          additionalProperties: false,
          properties: { t: { type: 'number' }, v: {}, unit: { $ref: '#unit' } },
        },
        u: { $anchor: 'unit', enum: ['C', 'F', '{"c":1}'] },
        geo: {
          $id: 'geo.json',
          type: 'object',
          additionalProperties: false,
          properties: { lat: { $ref: '#/$defs/deg' } },
          $defs: { deg: { type: 'number' } },
        },
        node: {
          type: 'object',
          additionalProperties: false,
          properties: {
            name: { type: 'string' },
            c: { type: 'array', items: { $ref: '#/$defs/node' } },
          },
        },
      },
    },
    samples: [
      {
        device: { id: 'd', model: { x: 1 } },
        readings: [
          { t: 1, v: [1, { a: 2 }], unit: 'C' },
          { t: 2, unit: '{"c":1}' },
        ],
        either: { t: 1 },
        any: '{"a":{"b":1}}',
        both: { id: 'b' },
        cond: { kind: 'a', a: 1 },
        meta: { 'x-a': { q: 1 }, k: 2 },
        pair: [1, { lat: 2 }],
        geo: { lat: 1 },
        tree: { name: 'r', c: [{ name: 'c', c: [{ name: 'g' }] }] },
        unit: 'F',
        maybe: null,
      },
      { device: { id: 'e' }, cond: { kind: 'z', b: { c: { d: 1 } } }, maybe: { k: 1 } },
    ],
  },
  {
    name: 'draft-07 tuples and definitions',
    schema: {
      $schema: 'http://json-schema.org/draft-07/schema#',
      definitions: {
        s: {
          type: 'object',
          additionalProperties: false,
          properties: { name: { type: 'string' } },
        },
      },
      type: 'object',
      properties: {
        site: { $ref: '#/definitions/s' },
        xs: {
          type: 'array',
          items: [{ type: 'string' }, { $ref: '#/definitions/s' }],
          additionalItems: false,
        },
        k: { const: { a: { b: 1 } } },
      },
    },
    samples: [
      {
        site: { name: 'n' },
        xs: ['{"a":1}', { name: 'q' }],
        k: { a: { b: 1 } },
        other: { z: [1] },
      },
    ],
  },
  {
    name: 'draft-04 ids',
    schema: {
      $schema: 'http://json-schema.org/draft-04/schema#',
      id: 'http://example.com/root.json',
      type: 'object',
      additionalProperties: false,
      properties: {
        a: { $ref: '#/definitions/a' },
        b: { $ref: 'other.json#/properties/x' },
        k: { const: 5 },
      },
      definitions: {
        a: {
          type: 'object',
          additionalProperties: false,
          properties: { n: { type: 'number' }, m: { type: 'array' } },
        },
        other: {
          id: 'other.json',
          type: 'object',
          properties: { x: { type: ['boolean', 'object'] } },
        },
      },
    },
    samples: [{ a: { n: 1, m: [{ q: 1 }] }, b: { y: 1 }, k: { z: 1 } }],
  },
];

describe('sluice check walkers never refute a path a decoded value has', () => {
  for (const { name, schema, samples } of jsonSchemas)
    it(`JSON Schema: ${name} — Ajv-valid mutants of the samples`, () => {
      const codec = compileJsonSchema('fuzz', JSON.stringify(schema));
      const walker = jsonSchemaWalker([[jsonSchemaDoc(schema)]]);
      const r = rng(7);
      let valid = 0;
      let paths = 0;
      const docs: unknown[] = [...samples];
      for (let i = 0; i < 3000; i++) docs.push(mutate(docs[Math.floor(r() * docs.length)], r));
      for (const d of docs) {
        let v: Value;
        try {
          v = codec.decode(Buffer.from(JSON.stringify(d)), []);
        } catch {
          continue;
        }
        valid++;
        for (const p of definedPaths(v, 6)) {
          paths++;
          const why = refuted(walker, p);
          expect(why, `${show(p)} is defined in ${JSON.stringify(d)}`).toBeUndefined();
        }
      }
      // the sampling reaches far enough to mean something
      expect(valid).toBeGreaterThan(200);
      expect(paths).toBeGreaterThan(1000);
    });

  it('Avro: random values of the schema (avsc), decoded by the registry', () => {
    const schema = {
      type: 'record',
      name: 'T',
      namespace: 'a.b',
      fields: [
        {
          name: 'd',
          type: {
            type: 'record',
            name: 'D',
            fields: [
              { name: 'id', type: 'string' },
              { name: 'k', type: { type: 'enum', name: 'K', symbols: ['X', 'Y'] } },
            ],
          },
        },
        { name: 'p', type: ['null', 'D'] },
        { name: 'm', type: { type: 'map', values: ['long', 'D'] } },
        {
          name: 'g',
          type: {
            type: 'record',
            name: 'G',
            namespace: 'c',
            fields: [
              { name: 'lat', type: 'double' },
              { name: 'self', type: ['null', 'c.G'] },
            ],
          },
        },
        { name: 'g2', type: 'c.G' },
        {
          name: 'rs',
          type: {
            type: 'array',
            items: {
              type: 'record',
              name: 'R',
              fields: [
                { name: 'v', type: ['null', 'double', 'string', 'bytes'] },
                { name: 'f', type: { type: 'fixed', name: 'F', size: 2 } },
              ],
            },
          },
        },
        { name: 'next', type: ['null', 'T'] },
      ],
    };
    const codec = compileAvro('fuzz', JSON.stringify(schema));
    const walker = shapeWalker([avroShape(schema)]);
    let paths = 0;
    const r = rng(11);
    let texts = 0;
    for (let i = 0; i < 300; i++) {
      const raw = codec.avroType.random() as unknown;
      // Strings that hold JSON (navigable): replace string sites where the schema allows it.
      const sites: [Record<string | number, unknown>, string | number][] = [];
      const walk = (v: unknown): void => {
        if (typeof v !== 'object' || v === null || Buffer.isBuffer(v)) return;
        for (const [k, x] of Object.entries(v)) {
          if (typeof x === 'string') sites.push([v as Record<string, unknown>, k]);
          else walk(x);
        }
      };
      walk(raw);
      for (const [o, k] of sites) {
        if (r() < 0.5) continue;
        const old = o[k];
        o[k] = JSON.stringify({ a: [1, { b: 2 }] });
        if (codec.avroType.isValid(raw)) texts++;
        else o[k] = old;
      }
      const v = codec.decode(codec.avroType.toBuffer(raw), []);
      for (const p of definedPaths(v, 7)) {
        paths++;
        expect(refuted(walker, p), `${show(p)} is defined in a decoded value`).toBeUndefined();
      }
    }
    expect(paths).toBeGreaterThan(2000);
    expect(texts).toBeGreaterThan(50);
  });

  it('Protobuf: messages built from every declared field, encoded and decoded by the registry', () => {
    const geo =
      'syntax = "proto3"; package acme.common; message Geo { double lat = 1; double lon = 2; }';
    const main = `syntax = "proto3";
      package acme.iot.v1;
      import "google/protobuf/timestamp.proto";
      import "google/protobuf/struct.proto";
      import "google/protobuf/any.proto";
      import "google/protobuf/wrappers.proto";
      import "google/protobuf/duration.proto";
      import "google/protobuf/field_mask.proto";
      import "google/protobuf/empty.proto";
      import "common/geo.proto";
      message Telemetry {
        string device_id = 1;
        google.protobuf.Timestamp ts = 2;
        repeated Reading readings = 3;
        map<string, string> labels = 4;
        map<int32, Reading> by_id = 5;
        acme.common.Geo geo = 6;
        oneof source { Gateway gateway = 7; string direct = 8; }
        google.protobuf.Struct extra = 9;
        google.protobuf.Any details = 10;
        google.protobuf.DoubleValue battery = 11;
        Status status = 12;
        Telemetry previous = 13;
        bytes raw = 14;
        optional int32 rssi = 15;
        google.protobuf.Duration age = 16;
        google.protobuf.FieldMask mask = 17;
        google.protobuf.Empty nothing = 18;
        repeated google.protobuf.StringValue notes = 19;
        message Reading { string sensor = 1; double value = 2; Unit unit = 3; repeated bytes blobs = 4; }
        enum Unit { UNIT_UNSPECIFIED = 0; CELSIUS = 1; }
      }
      message Gateway { string id = 1; Telemetry.Reading last = 2; sint64 seq = 3; fixed32 f = 4; }
      enum Status { STATUS_UNSPECIFIED = 0; OK = 1; }`;
    const src = { source: main, baseDir: '.', imports: { 'common/geo.proto': geo } };
    const noFiles = (): string => {
      throw new Error('no files');
    };
    const codec = compileProtobuf('fuzz', src, noFiles);
    const model = protoRoot({ ...src, readFile: noFiles });
    expect(model).toBeDefined();
    const shape = model!.messageShape('acme.iot.v1.Telemetry')!;
    const walker = shapeWalker([shape]);
    const r = rng(5);
    const gen = (s: Shape, depth: number): unknown => {
      switch (s.t) {
        case 'record': {
          const o: Record<string, unknown> = {};
          let oneof = false;
          for (const [k, f] of s.fields) {
            if (depth <= 0 || r() < 0.3) continue;
            if (k === 'gateway' || k === 'direct') {
              if (oneof) continue;
              oneof = true;
            }
            if (
              k === 'structValue' ||
              k === 'listValue' ||
              k === 'nullValue' ||
              k === 'numberValue' ||
              k === 'stringValue' ||
              k === 'boolValue'
            ) {
              if (oneof) continue;
              oneof = true;
            }
            const v = gen(f(), depth - 1);
            if (v !== undefined) o[k] = v;
          }
          return o;
        }
        case 'map':
          return Object.fromEntries(
            [1, 2].filter(() => r() < 0.7).map((i) => [String(i), gen(s.values(), depth - 1)]),
          );
        case 'array':
          return [1, 2].filter(() => r() < 0.7).map(() => gen(s.items(), depth - 1));
        case 'text':
          return s.name === 'bytes'
            ? Buffer.from(r() < 0.5 ? '{"q":[1,{"z":2}]}' : 'raw')
            : r() < 0.5
              ? '{"a":[1,{"b":2}]}'
              : 'plain';
        case 'scalar':
          if (s.name.startsWith('enum')) return r() < 0.5 ? 0 : 1;
          if (s.name.endsWith('bool')) return r() < 0.5;
          if (s.name.endsWith('double') || s.name.endsWith('float')) return 1.5;
          return 3;
        default:
          return undefined;
      }
    };
    let encoded = 0;
    let paths = 0;
    for (let i = 0; i < 300; i++) {
      const value = gen(shape, 5) as Value;
      let bin: Buffer;
      try {
        bin = codec.encode(value, ['acme.iot.v1.Telemetry']) as Buffer;
      } catch {
        continue;
      }
      encoded++;
      const v = codec.decode(bin, ['acme.iot.v1.Telemetry']);
      for (const p of definedPaths(v, 8)) {
        paths++;
        expect(refuted(walker, p), `${show(p)} is defined in a decoded message`).toBeUndefined();
      }
    }
    expect(encoded).toBeGreaterThan(100);
    expect(paths).toBeGreaterThan(5000);
  });
});
