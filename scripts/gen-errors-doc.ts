import { writeFileSync } from 'node:fs';
import path from 'node:path';

import { renderErrorsDoc } from './errors-catalog.js';

const out = path.resolve(import.meta.dirname, '..', 'docs', 'errors.md');
writeFileSync(out, await renderErrorsDoc());
console.log(`wrote ${out}`);
