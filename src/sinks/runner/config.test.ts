import { describe, expect, it } from 'vitest';
import { describeFields, validate } from '../../core/index.js';
import { RUNNER_DEFAULTS, runnerConfigSpec, runnerConfigSpecWith } from './index.js';
import type { RunnerConfig } from './index.js';

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
        ...RUNNER_DEFAULTS.buffer,
        max_bytes: 64 * 1024 * 1024,
        overflow: 'block',
      });
      expect(ok.value.buffer.mode).toBe('memory');
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
