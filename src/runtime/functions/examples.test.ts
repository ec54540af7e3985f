/**
 * Every declared example of every built-in runs through the implementation (both the plain
 * `impl` and the call-site `specialize` path) and must print exactly its documented result.
 */
import { describe, expect, it } from 'vitest';
import { encodeJson } from '../../core/index.js';
import { builtinFunctions, createBuiltinRegistry, createDefaultServices } from './index.js';
import type { CallContext } from './index.js';
import { evalExample, parseExample } from './example-eval.js';
import { exampleContext } from './example-context.js';

const registry = createBuiltinRegistry();

describe('built-in function examples', () => {
  it('every function declares at least one example, a signature and a description', () => {
    for (const def of builtinFunctions) {
      expect(def.examples?.length ?? 0, def.name).toBeGreaterThan(0);
      expect(def.signature.length, def.name).toBeGreaterThan(0);
      expect(def.description.length, def.name).toBeGreaterThan(0);
      expect(def.arity.min, def.name).toBeLessThanOrEqual(def.arity.max);
    }
  });

  // The schema family needs the engine's schema registry (src/schema-registry), which the runtime
  // may not import: test/unit/schema-function-examples.test.ts runs those examples both ways.
  for (const def of builtinFunctions.filter((d) => d.family !== 'schema')) {
    for (const ex of def.examples ?? []) {
      for (const mode of ['impl', 'specialize'] as const) {
        it(`${def.name}: ${ex.sql} → ${ex.result} (${mode})`, async () => {
          const ctx: CallContext = exampleContext(createDefaultServices);
          try {
            const out = evalExample(parseExample(ex.sql), registry, ctx, mode);
            expect(encodeJson(out)).toBe(ex.result);
          } finally {
            await ctx.services.close?.();
          }
        });
      }
    }
  }
});
