/** The sink pages in docs/sinks list every field of the runner and of each small sink. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { describeFields } from '../../src/core/index.js';
import type { FieldSpec } from '../../src/core/index.js';
import { consoleSinkSpec } from '../../src/sinks/console/index.js';
import { memorySinkSpec } from '../../src/sinks/memory/index.js';
import { republishSinkSpec } from '../../src/sinks/republish/index.js';
import { runnerConfigSpec } from '../../src/sinks/runner/index.js';

const doc = (name: string): string =>
  readFileSync(new URL(`../../docs/sinks/${name}`, import.meta.url), 'utf8');

/** Every leaf field of `spec` has a row in the page's table, showing its default. */
function expectDocumented(spec: FieldSpec, page: string): void {
  const lines = page.split('\n');
  for (const row of describeFields(spec)) {
    if (row.type === 'object') continue;
    const line = lines.find((l) => l.startsWith(`| \`${row.path}\` |`));
    expect(line, `${row.path} documented`).toBeDefined();
    if (row.default !== '—' && row.default !== 'required') {
      const text = row.default.replace(/^"|"$/g, '');
      expect(line, `${row.path} default`).toContain(text);
    }
  }
}

describe('sink docs match the specs', () => {
  it('docs/sinks/README.md lists every runner and memory field', () => {
    expectDocumented(runnerConfigSpec, doc('README.md'));
    expectDocumented(memorySinkSpec, doc('README.md'));
  });
  it('docs/sinks/republish.md lists every republish field', () => {
    const page = doc('republish.md');
    for (const row of describeFields(republishSinkSpec))
      if (!row.path.startsWith('mqtt_properties.')) expect(page).toContain(`| \`${row.path}\` |`);
  });
  it('docs/sinks/console.md lists every console field', () => {
    expectDocumented(consoleSinkSpec, doc('console.md'));
  });
});
