import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { EFloat, SluiceError } from '../core/index.js';
import { compileProtobuf } from './protobuf.js';

const read = (f: string): string => readFileSync(f, 'utf8');
const codeOf = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (e) {
    return e instanceof SluiceError ? e.code : `not a SluiceError: ${String(e)}`;
  }
  return undefined;
};

const MAIN = `
syntax = "proto3";
package plant;
import "common/units.proto";
import "google/protobuf/timestamp.proto";

message Reading {
  message Sample {
    double value = 1;
    common.Unit unit = 2;
  }
  enum Quality { GOOD = 0; BAD = 1; }
  string device = 1;
  repeated Sample samples = 2;
  int64 counter = 3;
  uint64 serial = 4;
  Quality quality = 5;
  map<string, int32> labels = 6;
  oneof extra { string note = 7; bytes blob = 8; }
  google.protobuf.Timestamp at = 9;
  optional int32 maybe = 10;
}
`;
const UNITS = 'syntax = "proto3"; package common; message Unit { string name = 1; }';

describe('Protobuf (protobufjs)', () => {
  const codec = compileProtobuf(
    'plant',
    { source: MAIN, baseDir: '/nonexistent', imports: { 'common/units.proto': UNITS } },
    read,
  );

  it('round-trips nested types, an imported type, enums, maps, oneofs and a well-known import', () => {
    const map = {
      device: 'd1',
      samples: [
        { value: 1.5, unit: { name: 'C' } },
        { value: 2.25, unit: { name: 'K' } },
      ],
      counter: -5,
      serial: 18446744073709551615n,
      quality: 'BAD',
      labels: { line: 3 },
      note: 'hi',
      at: { seconds: 1700000000, nanos: 5 },
      maybe: 0,
    };
    const bin = codec.encode(map, ['plant.Reading']);
    expect(codec.decode(bin, ['plant.Reading'])).toEqual(map);
  });

  it('decodes a nested message type by its full name, and proto3 defaults for unset scalars', () => {
    const bin = codec.encode({ value: 3 }, ['plant.Reading.Sample']);
    const out = codec.decode(bin, ['plant.Reading.Sample']) as Record<string, unknown>;
    expect(out['value']).toBeInstanceOf(EFloat);
    // the message-typed field `unit` is unset: absent (messages have presence)
    expect(out).not.toHaveProperty('unit');
    const empty = codec.decode(Buffer.alloc(0), ['plant.Reading']) as Record<string, unknown>;
    expect(empty).toMatchObject({
      device: '',
      samples: [],
      counter: 0,
      quality: 'GOOD',
      labels: {},
    });
    // oneof members and proto3 `optional` have presence: absent when unset
    expect(empty).not.toHaveProperty('note');
    expect(empty).not.toHaveProperty('maybe');
  });

  it('resolves imports as files relative to the importing file', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sluice-proto-'));
    try {
      mkdirSync(path.join(dir, 'common'));
      writeFileSync(path.join(dir, 'common', 'units.proto'), UNITS);
      const fromFiles = compileProtobuf('files', { source: MAIN, baseDir: dir }, read);
      const bin = fromFiles.encode({ unit: { name: 'Pa' } }, ['plant.Reading.Sample']);
      expect(fromFiles.decode(bin, ['plant.Reading.Sample'])).toEqual({
        value: new EFloat(0),
        unit: { name: 'Pa' },
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a missing import or a syntax error → schema_invalid', () => {
    expect(
      codeOf(() => compileProtobuf('x', { source: MAIN, baseDir: '/nonexistent' }, read)),
    ).toBe('schema_invalid');
    expect(
      codeOf(() => compileProtobuf('x', { source: 'message {', baseDir: '/nonexistent' }, read)),
    ).toBe('schema_invalid');
  });

  it('bad data, an unknown message type and a mistyped field fail with the EMQX error terms', () => {
    expect(codeOf(() => codec.decode(Buffer.from([0x0a, 0x05, 0x01]), ['plant.Reading']))).toBe(
      'schema_decode_error',
    );
    expect(codeOf(() => codec.decode(Buffer.alloc(0), ['plant.Nope']))).toBe('schema_decode_error');
    expect(codeOf(() => codec.decode(Buffer.alloc(0), []))).toBe('schema_decode_error');
    expect(codeOf(() => codec.decode({ device: 'already decoded' }, ['plant.Reading']))).toBe(
      'schema_decode_error',
    );
    let msg = '';
    try {
      codec.encode({ device: 5 }, ['plant.Reading']);
    } catch (e) {
      msg = `${(e as SluiceError).code}: ${(e as Error).message}`;
    }
    expect(msg).toMatch(/^schema_encode_error: .*device/);
    expect(codeOf(() => codec.encode({ nosuch: 1 }, ['plant.Reading']))).toBe(
      'schema_encode_error',
    );
  });
});

afterAll(() => undefined);
