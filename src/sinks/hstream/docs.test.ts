/** docs/sinks/hstreamdb.md stays in sync with the sink's field spec and error codes. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { describeFields } from '../../core/index.js';
import { HStreamErrors, hstreamSinkSpec } from './index.js';

const doc = readFileSync(
  fileURLToPath(new URL('../../../docs/sinks/hstreamdb.md', import.meta.url)),
  'utf8',
);

describe('docs/sinks/hstreamdb.md', () => {
  it('documents every field of the sink in its configuration table', () => {
    const rows = doc.split('\n').filter((l) => l.startsWith('| `'));
    const missing = describeFields(hstreamSinkSpec)
      .filter((r) => r.type !== 'object' && !r.path.startsWith('host_mapping.'))
      .map((r) => r.path)
      .filter((p) => !rows.some((l) => l.includes(`\`${p}\``)));
    expect(missing).toEqual([]);
  });

  it('lists every error code of the sink', () => {
    const missing = Object.keys(HStreamErrors).filter((c) => !doc.includes(`\`${c}\``));
    expect(missing).toEqual([]);
  });

  it('warns about zstd next to the compression field', () => {
    const row = doc.split('\n').find((l) => l.startsWith('| `compression` |'));
    expect(row).toMatch(/Warning.*Java client \(0\.17\.0\) cannot read zstd/);
  });
});
