/**
 * spb_decode / sparkplug_encode as rule SQL with the real registry, on a payload made by
 * Eclipse Tahu's sparkplug-payload: the compiled call sites and the failure of bad bytes.
 */
import Long from 'long';
import sparkplug from 'sparkplug-payload';
import { describe, expect, it } from 'vitest';

import { compileRule, createDefaultServices } from '../../src/runtime/index.js';
import { createSchemaRegistry } from '../../src/schema-registry/index.js';

const tahu = sparkplug.get('spBv1.0');
if (!tahu) throw new Error('sparkplug-payload has no spBv1.0');
const registry = createSchemaRegistry();
const fromTahu = Buffer.from(
  tahu.encodePayload({
    timestamp: Long.fromString('1765000000123', true),
    seq: 7,
    metrics: [{ name: 'temp', alias: 3, type: 'Double', value: 21.5 }],
  } as never),
);

describe('Sparkplug B functions in rule SQL', () => {
  it('runs as rule SQL: spb_decode(payload) and sparkplug_encode; bad bytes fail the message', () => {
    const services = createDefaultServices({ schemas: registry });
    const rule = compileRule(
      'SELECT spb_decode(payload) AS p, base64_encode(sparkplug_encode(sparkplug_decode(payload))) AS again FROM "spBv1.0/#"',
      { services },
    );
    const [out] = rule.evaluate({ payload: fromTahu, topic: 'spBv1.0/g/DDATA/n/d' });
    expect((out?.['p'] as { seq: number }).seq).toBe(7);
    expect(Buffer.from(out?.['again'] as string, 'base64').equals(fromTahu)).toBe(true);
    expect(() => rule.evaluate({ payload: Buffer.from([0x12, 0x7f]), topic: 'spBv1.0/x' })).toThrow(
      /schema_decode_error/,
    );
  });

  it('spb_decode in a rule names aliased DDATA metrics after the DBIRTH went through it', () => {
    const services = createDefaultServices({ schemas: createSchemaRegistry() });
    const rule = compileRule(
      'FOREACH map_get(\'metrics\', spb_decode(payload)) AS m DO m.name AS name, m.alias AS alias FROM "spBv1.0/#"',
      { services },
    );
    const birth = Buffer.from(
      tahu.encodePayload({
        metrics: [{ name: 'temp', alias: 5, type: 'Double', value: 1 }],
      } as never),
    );
    const data = Buffer.from(
      tahu.encodePayload({ metrics: [{ alias: 5, type: 'Double', value: 2 }] } as never),
    );
    expect(rule.evaluate({ payload: data, topic: 'spBv1.0/g/DDATA/e/d' })).toEqual([
      { name: undefined, alias: 5 },
    ]);
    rule.evaluate({ payload: birth, topic: 'spBv1.0/g/DBIRTH/e/d' });
    expect(rule.evaluate({ payload: data, topic: 'spBv1.0/g/DDATA/e/d' })).toEqual([
      { name: 'temp', alias: 5 },
    ]);
  });
});
