/**
 * Writes docs/functions.md from the built-in function registry
 * (`npm run gen:functions-doc`). src/runtime/functions/docs.test.ts fails when the file is stale.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { builtinFunctions } from '../src/runtime/functions/index.js';
import { renderFunctionsDoc } from '../src/runtime/functions/docs.js';

const target = fileURLToPath(new URL('../docs/functions.md', import.meta.url));
writeFileSync(target, renderFunctionsDoc(builtinFunctions));
console.log(`wrote ${target} (${builtinFunctions.length} functions)`);
