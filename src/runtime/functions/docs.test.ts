/** docs/functions.md must be exactly what the generator produces from the registry. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { builtinFunctions } from './index.js';
import { renderFunctionsDoc } from './docs.js';

describe('docs/functions.md', () => {
  it('is up to date with the registry (run `npm run gen:functions-doc`)', () => {
    const path = fileURLToPath(new URL('../../../docs/functions.md', import.meta.url));
    expect(readFileSync(path, 'utf8')).toBe(renderFunctionsDoc(builtinFunctions));
  });

  it('has one entry per function', () => {
    const text = renderFunctionsDoc(builtinFunctions);
    for (const d of builtinFunctions) expect(text).toContain(`### \`${d.name}\``);
  });
});
