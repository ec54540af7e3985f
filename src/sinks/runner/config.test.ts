import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { describeFields, validate } from '../../core/index.js';
import type { FieldSpec } from '../../core/index.js';
import { consoleSinkSpec } from '../console/index.js';
import { memorySinkSpec } from '../memory/index.js';
import { republishSinkSpec } from '../republish/index.js';
import { RUNNER_DEFAULTS, runnerConfigSpec, runnerConfigSpecWith } from './index.js';
import type { RunnerConfig } from './index.js';

const doc = (name: string): string =>
  readFileSync(new URL(`../../../docs/sinks/${name}`, import.meta.url), 'utf8');

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

describe('runner config spec', () => {
  it('applies the defaults', () => {
    expect(validate<RunnerConfig>(runnerConfigSpec, {})).toEqual({
      ok: true,
      value: RUNNER_DEFAULTS,
    });
  });

  it('parses durations and sizes and rejects unknown fields with their path', () => {
    const ok = validate<RunnerConfig>(runnerConfigSpec, {
      linger: '20ms',
      batch_bytes: '1MB',
      buffer: { max_bytes: '64MB', overflow: 'block' },
      retry: { max_backoff: '1m' },
      request_ttl: '0',
    });
    expect(ok.ok).toBe(true);
    if (ok.ok) {
      expect(ok.value.linger).toBe(20);
      expect(ok.value.batch_bytes).toBe(1024 * 1024);
      expect(ok.value.buffer).toEqual({
        max_records: 100_000,
        max_bytes: 64 * 1024 * 1024,
        overflow: 'block',
        low_watermark: 0.5,
        headroom: 10_000,
      });
      expect(ok.value.retry.max_backoff).toBe(60_000);
      expect(ok.value.request_ttl).toBe(0);
    }
    const bad = validate(
      runnerConfigSpec,
      { batch_size: 0, buffer: { overflow: 'spill', size: 1 } },
      'sinks.k',
    );
    expect(bad.ok).toBe(false);
    if (!bad.ok)
      expect(bad.issues.map((i) => i.path).sort()).toEqual([
        'sinks.k.batch_size',
        'sinks.k.buffer.overflow',
        'sinks.k.buffer.size',
      ]);
  });

  it('lets a sink type ship other defaults', () => {
    const spec = runnerConfigSpecWith({ batch_size: 100, linger: 500, retry: { max_attempts: 5 } });
    const v = validate<RunnerConfig>(spec, {});
    expect(v.ok && v.value.linger).toBe(500);
    expect(v.ok && v.value.retry).toEqual({ ...RUNNER_DEFAULTS.retry, max_attempts: 5 });
  });

  it('every field has a description', () => {
    for (const row of describeFields(runnerConfigSpec)) expect(row.description).not.toBe('');
  });
});

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
