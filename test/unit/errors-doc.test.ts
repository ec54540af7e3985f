import { globSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { loadAllErrorModules, renderErrorsDoc } from '../../scripts/errors-catalog.js';
import { allErrorCodes } from '../../src/core/index.js';

const root = path.resolve(import.meta.dirname, '../..');

describe('docs/errors.md', () => {
  it('lists exactly the codes declared with defineErrors (run `npm run gen:errors-doc` to update)', async () => {
    const expected = await renderErrorsDoc();
    const actual = readFileSync(path.join(root, 'docs/errors.md'), 'utf8');
    expect(actual).toBe(expected);
  });

  it('declares every code that the source passes to SluiceError directly', async () => {
    await loadAllErrorModules();
    const declared = new Set(allErrorCodes().keys());
    const undeclared: string[] = [];
    for (const file of globSync('src/**/*.ts', { cwd: root })) {
      if (file.endsWith('.test.ts')) continue;
      const source = readFileSync(path.join(root, file), 'utf8');
      for (const m of source.matchAll(/new SluiceError\(\s*'([A-Za-z0-9_.]+)'/g)) {
        if (!declared.has(m[1] as string)) undeclared.push(`${file}: ${m[1]}`);
      }
    }
    expect(undeclared).toEqual([]);
  });
});
