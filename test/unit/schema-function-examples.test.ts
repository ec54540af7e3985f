/**
 * The docs examples of the schema functions (family `schema`, docs/functions.md), run with the
 * real schema registry (src/schema-registry) holding the example schemas of
 * test/schema-examples.ts and a Confluent stand-in registry `demo`: once through `impl` and
 * `specialize` (as examples.test.ts does for the other families) and once through compileRule.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { encodeJson } from '../../src/core/index.js';
import { compileRule } from '../../src/runtime/index.js';
import {
  builtinFunctions,
  createBuiltinRegistry,
  createDefaultServices,
} from '../../src/runtime/functions/index.js';
import type { CallContext, FunctionServices } from '../../src/runtime/functions/index.js';
import { evalExample, parseExample } from '../../src/runtime/functions/example-eval.js';
import { exampleContext } from '../../src/runtime/functions/example-context.js';
import { createSchemaRegistry } from '../../src/schema-registry/index.js';
import type { SchemaRegistry, SchemaRegistryConfig } from '../../src/schema-registry/index.js';
import { startConfluentStandin } from '../confluent-standin.js';
import type { ConfluentStandin } from '../confluent-standin.js';
import { EXAMPLE_REGISTRY_SCHEMAS, EXAMPLE_SCHEMAS } from '../schema-examples.js';

const defs = builtinFunctions.filter((d) => d.family === 'schema');
let standin: ConfluentStandin;
let registry: SchemaRegistry;

beforeAll(async () => {
  standin = await startConfluentStandin(EXAMPLE_REGISTRY_SCHEMAS);
  registry = createSchemaRegistry();
  const issues = registry.configure(
    {
      schemas: EXAMPLE_SCHEMAS,
      external: {
        demo: {
          type: 'confluent',
          url: standin.url,
          request_timeout: 10_000,
          cache_size: 10,
          subject_cache_ttl: 60_000,
        },
      },
      api_store: 'never-written.json',
    } as unknown as SchemaRegistryConfig,
    '/nonexistent',
  );
  expect(issues).toEqual([]);
});

afterAll(async () => {
  await registry.close();
  await standin.stop();
});

const withSchemas = (o?: Partial<FunctionServices>): FunctionServices =>
  createDefaultServices({ ...o, schemas: registry });

describe('schema function examples', () => {
  it('the schema family exists and every function has examples', () => {
    expect(defs.map((d) => d.name).sort()).toEqual(
      [
        'avro_decode',
        'avro_encode',
        'schema_check',
        'schema_decode',
        'schema_decode_tagged',
        'schema_encode',
        'sparkplug_decode',
        'sparkplug_encode',
        'spb_decode',
        'spb_encode',
      ].sort(),
    );
    for (const d of defs) expect(d.examples?.length ?? 0, d.name).toBeGreaterThan(0);
  });

  const fnRegistry = createBuiltinRegistry();
  for (const def of defs)
    for (const ex of def.examples ?? []) {
      for (const mode of ['impl', 'specialize'] as const)
        it(`${def.name}: ${ex.sql} → ${ex.result} (${mode})`, async () => {
          const ctx: CallContext = exampleContext(withSchemas);
          try {
            expect(encodeJson(evalExample(parseExample(ex.sql), fnRegistry, ctx, mode))).toBe(
              ex.result,
            );
          } finally {
            await ctx.services.close?.();
          }
        });
      it(`${def.name}: ${ex.sql} (compileRule)`, async () => {
        const ctx = exampleContext(withSchemas);
        try {
          const rule = compileRule(`SELECT ${ex.sql} AS r FROM "t/#"`, { services: ctx.services });
          const outputs = rule.evaluate(ctx.columns);
          expect(outputs).toHaveLength(1);
          expect(encodeJson(outputs[0]?.['r'])).toBe(ex.result);
        } finally {
          await ctx.services.close?.();
        }
      });
    }
});
