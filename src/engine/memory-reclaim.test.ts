import { describe, expect, it } from 'vitest';

import { configSpec } from '../config/index.js';
import { silentLogger } from '../core/index.js';
import type { FieldSpec, Logger } from '../core/index.js';
import {
  ARMED_CHECK_MS,
  MEMORY_RECLAIM_DEFAULTS,
  SETTLE_MS,
  createMemoryReclaim,
  saverModeUsable,
} from './memory-reclaim.js';
import type { GcSeen, MemoryReclaimConfig } from './memory-reclaim.js';
import { configParts } from './sinks.js';

const MB = 1024 * 1024;

/** A controller with an injected clock, RSS, utilisation, flag and GC feed. */
function harness(overrides: Partial<MemoryReclaimConfig> = {}) {
  const cfg: MemoryReclaimConfig = { ...MEMORY_RECLAIM_DEFAULTS, ...overrides };
  const s = {
    t: 0,
    rss: 100 * MB,
    elu: 0,
    saver: false,
    flips: [] as boolean[],
    onGc: undefined as ((g: GcSeen) => void) | undefined,
    logs: [] as Record<string, unknown>[],
  };
  const logger: Logger = {
    ...silentLogger,
    info: (o: unknown) => void s.logs.push(o as Record<string, unknown>),
  } as Logger;
  const r = createMemoryReclaim(
    {
      logger,
      now: () => s.t,
      rss: () => s.rss,
      utilization: () => s.elu,
      setSaverMode: (on) => {
        s.saver = on;
        s.flips.push(on);
      },
      observeGc: (cb) => {
        s.onGc = cb;
        return () => {
          s.onGc = undefined;
        };
      },
    },
    cfg,
  );
  /** Advance the clock by `ms` and check once. */
  const step = (ms = cfg.check_interval) => {
    s.t += ms;
    return r.check();
  };
  return { s, r, step, cfg };
}

/** Baseline RSS at 100 MB, then a burst to 400 MB. */
function afterBurst(h: ReturnType<typeof harness>) {
  h.s.elu = 1; // busy during the burst: no idle stretch yet
  h.step(); // low-water 100 MB
  h.s.rss = 400 * MB;
  h.s.elu = 0;
}

describe('memory reclaim policy', () => {
  it('arms only once the loop has been idle for idle_time with RSS above the mark', () => {
    const h = harness();
    afterBurst(h);
    // Busy: never arms, however long.
    h.s.elu = 0.3;
    for (let i = 0; i < 20; i++) h.step();
    expect(h.s.saver).toBe(false);
    // Idle: arms after idle_time (3 s at 1 s checks: the third idle check).
    h.s.elu = 0.02;
    h.step();
    h.step();
    expect(h.s.saver).toBe(false);
    h.step();
    expect(h.s.saver).toBe(true);
    expect(h.r.metrics().active).toBe(true);
    expect(h.s.onGc).toBeDefined();
  });

  it('an idle stretch broken by one busy check starts over', () => {
    const h = harness();
    afterBurst(h);
    h.s.elu = 0;
    h.step();
    h.step();
    h.s.elu = 0.2;
    h.step();
    h.s.elu = 0;
    h.step();
    h.step();
    expect(h.s.saver).toBe(false);
    h.step();
    expect(h.s.saver).toBe(true);
  });

  it('does not arm when RSS is not well above its low-water mark', () => {
    // +60 MB over 100 MB: under min_growth (64 MiB).
    const h = harness();
    h.step();
    h.s.rss = 160 * MB;
    for (let i = 0; i < 10; i++) h.step();
    expect(h.s.saver).toBe(false);
    // +100 MB over 300 MB: over min_growth but under growth_ratio 1.5.
    const g = harness();
    g.s.rss = 300 * MB;
    g.step();
    g.s.rss = 400 * MB;
    for (let i = 0; i < 10; i++) g.step();
    expect(g.s.saver).toBe(false);
    expect(g.r.metrics().lowWaterBytes).toBe(300 * MB);
    expect(g.s.flips).toEqual([]);
  });

  it('turns saver mode off at once when load returns (outcome busy)', () => {
    const h = harness();
    afterBurst(h);
    for (let i = 0; i < 3; i++) h.step();
    expect(h.s.saver).toBe(true);
    h.s.elu = 0.3; // under busy_utilization: stays on
    expect(h.step(ARMED_CHECK_MS)).toBeUndefined();
    expect(h.s.saver).toBe(true);
    h.s.elu = 0.9;
    const report = h.step(ARMED_CHECK_MS);
    expect(report?.outcome).toBe('busy');
    expect(h.s.saver).toBe(false);
    expect(h.s.onGc).toBeUndefined();
    expect(h.r.metrics().reclaims.busy).toBe(1);
    expect(h.s.logs).toHaveLength(1);
    expect(h.s.logs[0]).toMatchObject({ code: 'memory_reclaimed', outcome: 'busy' });
  });

  it("the reducing GC's own pauses do not count as load", () => {
    const h = harness();
    afterBurst(h);
    for (let i = 0; i < 3; i++) h.step();
    expect(h.s.saver).toBe(true);
    // A 110 ms pause in a 250 ms check: utilisation 0.6, of which 0.44 is the GC.
    h.s.onGc?.({ major: true, ms: 110 });
    h.s.elu = 0.6;
    expect(h.step(ARMED_CHECK_MS)).toBeUndefined();
    expect(h.s.saver).toBe(true);
    // The same utilisation without a GC is load.
    expect(h.step(ARMED_CHECK_MS)?.outcome).toBe('busy');
  });

  it('is done once a major GC was seen and SETTLE_MS passed; the mark moves to what it reached', () => {
    const h = harness();
    afterBurst(h);
    for (let i = 0; i < 3; i++) h.step();
    expect(h.s.saver).toBe(true);
    h.s.onGc?.({ major: false, ms: 4.5 });
    expect(h.step(ARMED_CHECK_MS)).toBeUndefined(); // a minor GC is not the reducer
    h.s.onGc?.({ major: true, ms: 30 });
    h.s.rss = 200 * MB;
    expect(h.step(ARMED_CHECK_MS)).toBeUndefined(); // not settled: a second GC may follow
    h.s.onGc?.({ major: true, ms: 15 });
    h.s.rss = 130 * MB;
    h.step(SETTLE_MS - 1);
    expect(h.s.saver).toBe(true);
    const report = h.step(1);
    expect(report).toMatchObject({
      outcome: 'done',
      rss_before: 400 * MB,
      rss_after: 130 * MB,
      reclaimed_bytes: 270 * MB,
      gcs: 3,
      major_gcs: 2,
      max_pause_ms: 30,
    });
    expect(h.s.saver).toBe(false);
    expect(h.s.flips).toEqual([true, false]);
    const m = h.r.metrics();
    expect(m).toMatchObject({ reclaimedBytes: 270 * MB, lastPauseMs: 30, active: false });
    expect(m.reclaims.done).toBe(1);
    // The low-water mark is now what V8 got down to (130, not the 100 of the start).
    expect(m.lowWaterBytes).toBe(130 * MB);
    expect(h.s.logs[0]).toMatchObject({ code: 'memory_reclaimed', outcome: 'done' });
  });

  it('a reclaim that gave little back is not repeated: the mark moves up to what it reached', () => {
    const h = harness({ cooldown: 10_000 });
    afterBurst(h);
    for (let i = 0; i < 3; i++) h.step();
    expect(h.s.saver).toBe(true);
    h.s.onGc?.({ major: true, ms: 20 });
    h.s.rss = 390 * MB; // V8 could give back only 10 MB: the rest is live or not V8's
    h.step(SETTLE_MS);
    expect(h.s.saver).toBe(false);
    expect(h.r.metrics().lowWaterBytes).toBe(390 * MB);
    // Idle at that level long past the cooldown: no new reclaim.
    for (let i = 0; i < 60; i++) h.step();
    expect(h.s.flips).toEqual([true, false]);
    // A new burst on top of it (over 1.5 × and +64 MiB) does arm again.
    h.s.rss = 600 * MB;
    for (let i = 0; i < 3; i++) h.step();
    expect(h.s.saver).toBe(true);
  });

  it('gives up after timeout when V8 runs no reducing GC', () => {
    const h = harness({ timeout: 10_000 });
    afterBurst(h);
    for (let i = 0; i < 3; i++) h.step();
    expect(h.s.saver).toBe(true);
    for (let t = ARMED_CHECK_MS; t < 10_000; t += ARMED_CHECK_MS) {
      expect(h.step(ARMED_CHECK_MS)).toBeUndefined();
    }
    expect(h.step(ARMED_CHECK_MS)?.outcome).toBe('timeout');
    expect(h.s.saver).toBe(false);
    expect(h.r.metrics().reclaims.timeout).toBe(1);
  });

  it('a reclaim stopped by load may start again after the next idle stretch (no cooldown)', () => {
    const h = harness({ cooldown: 60_000 });
    afterBurst(h);
    for (let i = 0; i < 3; i++) h.step();
    h.s.elu = 0.9;
    expect(h.step(ARMED_CHECK_MS)?.outcome).toBe('busy');
    // Still busy: stays off.
    for (let i = 0; i < 5; i++) h.step();
    expect(h.s.saver).toBe(false);
    // Idle again for idle_time: on again, long before the cooldown.
    h.s.elu = 0;
    h.step();
    h.step();
    expect(h.s.saver).toBe(false);
    h.step();
    expect(h.s.saver).toBe(true);
  });

  it('waits for the cooldown before the next reclaim', () => {
    const h = harness({ cooldown: 20_000, timeout: 1000 });
    afterBurst(h);
    for (let i = 0; i < 3; i++) h.step();
    for (let i = 0; i < 4; i++) h.step(ARMED_CHECK_MS);
    expect(h.r.metrics().reclaims.timeout).toBe(1);
    h.s.elu = 0;
    // Idle and still 400 MB: not before 20 s after the end.
    for (let t = 1000; t < 20_000; t += 1000) {
      h.step();
      expect(h.s.saver).toBe(false);
    }
    h.step();
    expect(h.s.saver).toBe(true);
  });

  it('stop() turns saver mode off when a reclaim is running', () => {
    const h = harness();
    afterBurst(h);
    for (let i = 0; i < 3; i++) h.step();
    expect(h.s.saver).toBe(true);
    h.r.stop();
    expect(h.s.saver).toBe(false);
    expect(h.r.metrics().reclaims.stopped).toBe(1);
  });

  it('disabled: start() schedules nothing', () => {
    const h = harness({ enabled: false, check_interval: 1 });
    h.r.start();
    h.r.stop();
    expect(h.s.flips).toEqual([]);
  });
});

describe('memory reclaim config', () => {
  it('MEMORY_RECLAIM_DEFAULTS are the spec defaults', () => {
    const spec = configSpec(configParts()) as Extract<FieldSpec, { kind: 'object' }>;
    const section = spec.fields['memory_reclaim'] as Extract<FieldSpec, { kind: 'object' }>;
    const defaults = Object.fromEntries(
      Object.entries(section.fields).map(([k, f]) => [k, f.default]),
    );
    expect(defaults).toEqual({ ...MEMORY_RECLAIM_DEFAULTS });
  });

  it('saverModeUsable: V8 12+ only, and not when the process already runs in saver mode', () => {
    const v = (v8: string) => ({ ...process.versions, v8 });
    expect(saverModeUsable(v('13.6.233.17-node.37'), [])).toBe(true);
    expect(saverModeUsable(v('11.3.244.8-node.33'), [])).toBe(false);
    expect(saverModeUsable(v('13.6.233.17-node.37'), ['--memory-saver-mode'])).toBe(false);
    expect(saverModeUsable(v('13.6.233.17-node.37'), ['--expose-gc'])).toBe(true);
  });
});
