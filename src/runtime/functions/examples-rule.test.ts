/**
 * The docs examples once more, this time through the real rule compiler: each example becomes
 * `SELECT <example> AS r FROM "t/#"` and is evaluated on the example context, so constant
 * folding, specialisation and the compiled call sites are exercised as in production.
 */
import { describe, expect, it } from 'vitest';
import { encodeJson } from '../../core/index.js';
import { compileRule } from '../index.js';
import { builtinFunctions, createDefaultServices } from './index.js';
import { exampleContext } from './example-context.js';

describe('built-in function examples through compileRule', () => {
  // The schema family needs the engine's schema registry (src/schema-registry), which the runtime
  // may not import: test/unit/schema-function-examples.test.ts runs those examples both ways.
  for (const def of builtinFunctions.filter((d) => d.family !== 'schema')) {
    for (const ex of def.examples ?? []) {
      it(`${def.name}: ${ex.sql}`, async () => {
        const ctx = exampleContext(createDefaultServices);
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
  }
});
