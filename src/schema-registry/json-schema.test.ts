/**
 * One test per JSON Schema draft, each using a keyword whose meaning is specific to that
 * draft, so a validator of the wrong draft would answer differently.
 */
import { describe, expect, it } from 'vitest';

import { SluiceError } from '../core/index.js';
import { compileJsonSchema } from './json-schema.js';

const codec = (schema: object) => compileJsonSchema('s', JSON.stringify(schema));
const ok = (c: ReturnType<typeof codec>, doc: unknown): boolean => {
  try {
    c.decode(JSON.stringify(doc), []);
    return true;
  } catch (e) {
    if (e instanceof SluiceError && e.code === 'schema_decode_error') return false;
    throw e;
  }
};

describe('JSON Schema drafts', () => {
  it('draft-04: boolean exclusiveMaximum modifies maximum', () => {
    const c = codec({
      $schema: 'http://json-schema.org/draft-04/schema#',
      type: 'number',
      maximum: 10,
      exclusiveMaximum: true,
    });
    expect(c.draft).toBe('draft-04');
    expect(ok(c, 9.5)).toBe(true);
    expect(ok(c, 10)).toBe(false);
    // the draft-06 numeric form is not a draft-04 schema
    expect(() =>
      codec({ $schema: 'http://json-schema.org/draft-04/schema#', exclusiveMaximum: 10 }),
    ).toThrow(/schema_invalid|invalid JSON schema/);
  });

  it('draft-06: numeric exclusiveMinimum, const and propertyNames', () => {
    const c = codec({
      $schema: 'http://json-schema.org/draft-06/schema#',
      type: 'object',
      properties: { v: { exclusiveMinimum: 0 }, kind: { const: 'temp' } },
      propertyNames: { pattern: '^[a-z]+$' },
    });
    expect(c.draft).toBe('draft-06');
    expect(ok(c, { v: 0.1, kind: 'temp' })).toBe(true);
    expect(ok(c, { v: 0, kind: 'temp' })).toBe(false);
    expect(ok(c, { v: 1, kind: 'hum' })).toBe(false);
    expect(ok(c, { Bad: 1 })).toBe(false);
  });

  it('draft-07: if / then / else', () => {
    const c = codec({
      $schema: 'http://json-schema.org/draft-07/schema#',
      type: 'object',
      if: { properties: { unit: { const: 'C' } } },
      then: { properties: { temp: { maximum: 100 } } },
      else: { properties: { temp: { maximum: 212 } } },
    });
    expect(c.draft).toBe('draft-07');
    expect(ok(c, { unit: 'C', temp: 99 })).toBe(true);
    expect(ok(c, { unit: 'C', temp: 150 })).toBe(false);
    expect(ok(c, { unit: 'F', temp: 150 })).toBe(true);
  });

  it('2019-09: dependentRequired and unevaluatedProperties', () => {
    const c = codec({
      $schema: 'https://json-schema.org/draft/2019-09/schema',
      type: 'object',
      properties: { lat: { type: 'number' }, lon: { type: 'number' } },
      dependentRequired: { lat: ['lon'] },
      unevaluatedProperties: false,
    });
    expect(c.draft).toBe('2019-09');
    expect(ok(c, { lat: 1, lon: 2 })).toBe(true);
    expect(ok(c, { lat: 1 })).toBe(false);
    expect(ok(c, { lat: 1, lon: 2, alt: 3 })).toBe(false);
  });

  it('2020-12: prefixItems (tuple validation) with items for the rest', () => {
    const c = codec({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'array',
      prefixItems: [{ type: 'string' }, { type: 'number' }],
      items: { type: 'boolean' },
    });
    expect(c.draft).toBe('2020-12');
    expect(ok(c, ['t', 1, true, false])).toBe(true);
    expect(ok(c, [1, 't'])).toBe(false);
    expect(ok(c, ['t', 1, 'not a boolean'])).toBe(false);
  });

  it('decode returns the map, encode returns JSON text; both validate; formats are checked', () => {
    const c = codec({
      type: 'object',
      required: ['temp'],
      properties: { temp: { type: 'number' }, at: { type: 'string', format: 'date-time' } },
    });
    expect(c.decode('{"temp":2.0}', [])).toMatchObject({ temp: { value: 2 } });
    expect(c.encode({ temp: 1.5 }, [])).toBe('{"temp":1.5}');
    expect(() => c.encode({ temp: 'x' }, [])).toThrow(/schema_encode_error.*temp/);
    expect(ok(c, { temp: 1, at: '2026-12-07T00:00:00Z' })).toBe(true);
    expect(ok(c, { temp: 1, at: 'yesterday' })).toBe(false);
    expect(() => c.decode('{not json', [])).toThrow(/schema_decode_error.*not JSON/);
  });
});
