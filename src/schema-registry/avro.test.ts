import { describe, expect, it } from 'vitest';

import { EFloat, SluiceError } from '../core/index.js';
import { compileAvro } from './avro.js';

const codeOf = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (e) {
    return e instanceof SluiceError ? e.code : `not a SluiceError: ${String(e)}`;
  }
  return undefined;
};

const reading = compileAvro(
  'reading',
  JSON.stringify({
    type: 'record',
    name: 'Reading',
    namespace: 'demo',
    fields: [
      { name: 'device', type: 'string' },
      { name: 'temp', type: 'double' },
      { name: 'count', type: 'long' },
      { name: 'unit', type: ['null', 'string'], default: null },
      {
        name: 'where',
        type: [
          'null',
          {
            type: 'record',
            name: 'Location',
            fields: [
              { name: 'lat', type: 'float' },
              { name: 'tags', type: { type: 'array', items: 'string' } },
            ],
          },
        ],
      },
      { name: 'state', type: { type: 'enum', name: 'State', symbols: ['OK', 'FAULT'] } },
      { name: 'extra', type: { type: 'map', values: 'int' } },
      { name: 'raw', type: 'bytes' },
    ],
  }),
);

describe('Avro (avsc)', () => {
  it('round-trips a record with nested records, unions, enums, maps and bytes', () => {
    const map = {
      device: 'd1',
      temp: 21.5,
      count: 7,
      unit: 'C',
      where: { lat: 0.5, tags: ['roof', 'north'] },
      state: 'FAULT',
      extra: { a: 1, b: 2 },
      raw: Buffer.from([0, 255]),
    };
    const bin = reading.encode(map, []) as Buffer;
    expect(Buffer.isBuffer(bin)).toBe(true);
    expect(reading.decode(bin, [])).toEqual(map);
  });

  it('decodes a union to the bare branch value (null branch, record branch)', () => {
    const base = {
      device: 'd',
      temp: 1.5,
      count: 1,
      state: 'OK',
      extra: {},
      raw: Buffer.alloc(0),
    };
    const none = reading.decode(reading.encode({ ...base, unit: null, where: null }, []), []);
    expect(none).toMatchObject({ unit: null, where: null });
    const some = reading.decode(
      reading.encode({ ...base, unit: null, where: { lat: 1.5, tags: [] } }, []),
      [],
    );
    expect(some).toMatchObject({ where: { lat: 1.5, tags: [] } });
  });

  it('keeps an integral double a float and a long beyond 2^53 exact', () => {
    const bin = reading.encode(
      {
        device: 'd',
        temp: 25,
        count: 9007199254740993n,
        unit: null,
        where: null,
        state: 'OK',
        extra: {},
        raw: '',
      },
      [],
    );
    const out = reading.decode(bin, []) as Record<string, unknown>;
    expect(out['temp']).toBeInstanceOf(EFloat);
    expect((out['temp'] as EFloat).value).toBe(25);
    expect(out['count']).toBe(9007199254740993n);
  });

  it('bad bytes → schema_decode_error; a map that does not fit → schema_encode_error naming the field', () => {
    expect(codeOf(() => reading.decode(Buffer.from([1, 2, 3]), []))).toBe('schema_decode_error');
    let msg = '';
    try {
      reading.encode({ device: 'd', temp: 'hot' }, []);
    } catch (e) {
      msg = (e as SluiceError).code + ' ' + (e as Error).message;
    }
    expect(msg).toMatch(/^schema_encode_error /);
    expect(msg).toContain('temp');
  });

  it('an invalid schema → schema_invalid', () => {
    expect(codeOf(() => compileAvro('x', '{"type":"record","name":"R"}'))).toBe('schema_invalid');
    expect(codeOf(() => compileAvro('x', 'not json'))).toBe('schema_invalid');
  });
});
