import { describe, expect, it } from 'vitest';

import { silentLogger, type Logger } from '../core/index.js';
import { DEFAULT_GUARD, RuleGuard } from './guard.js';
import { createLagWatch } from './lag-watch.js';

function recorder(): { logger: Logger; warns: { obj: Record<string, unknown>; msg: string }[] } {
  const warns: { obj: Record<string, unknown>; msg: string }[] = [];
  const logger: Logger = {
    ...silentLogger,
    warn: (obj, msg) => warns.push({ obj: obj as Record<string, unknown>, msg: msg ?? '' }),
    child: () => logger,
  };
  return { logger, warns };
}

const guard = () => new RuleGuard(DEFAULT_GUARD, { deadline: Infinity }, () => {});

/** Pretend a rule spent `ms` over `n` evaluations. */
const spend = (g: RuleGuard, ms: number, n = 1) => {
  g.spentMs += ms;
  g.evaluations += n;
};

describe('lag watch', () => {
  it('names the rule that took the most time in the lagging interval', () => {
    const guards = new Map([
      ['fast', guard()],
      ['slow', guard()],
    ]);
    const { logger, warns } = recorder();
    const w = createLagWatch({ guards, logger, now: () => 0 }, { thresholdMs: 200 });
    // An earlier interval: `fast` was busy, no lag.
    spend(guards.get('fast')!, 900, 10_000);
    expect(w.check(5, 0)).toBeUndefined();
    // The lagging interval: `slow` held the loop; fast's earlier time must not count.
    spend(guards.get('fast')!, 20, 100);
    spend(guards.get('slow')!, 480, 1);
    const r = w.check(470, 1000);
    expect(r?.culprit).toEqual({ rule: 'slow', ms: 480, evaluations: 1 });
    expect(r?.top.map((t) => t.rule)).toEqual(['slow', 'fast']);
    expect(warns).toHaveLength(1);
    expect(warns[0]!.obj).toMatchObject({ code: 'event_loop_lag', rule: 'slow', lag_ms: 470 });
    expect(warns[0]!.msg).toMatch(/culprit: rule slow/);
  });

  it('says there is no culprit when no rule took a notable share of the lag', () => {
    const guards = new Map([['idle', guard()]]);
    const { logger, warns } = recorder();
    const w = createLagWatch({ guards, logger, now: () => 0 }, { thresholdMs: 100 });
    spend(guards.get('idle')!, 3, 30);
    const r = w.check(800, 0);
    expect(r?.culprit).toBeNull();
    expect(warns[0]!.obj['rule']).toBeUndefined();
    expect(warns[0]!.msg).toMatch(/no rule took a notable share/);
  });

  it('warns at most once per quiet period and counts what it held back', () => {
    const guards = new Map([['r', guard()]]);
    const { logger, warns } = recorder();
    const w = createLagWatch(
      { guards, logger, now: () => 0 },
      { thresholdMs: 100, quietMs: 10_000 },
    );
    for (let t = 0; t < 10_000; t += 1000) {
      spend(guards.get('r')!, 300);
      w.check(300, t);
    }
    expect(warns).toHaveLength(1);
    spend(guards.get('r')!, 300);
    expect(w.check(300, 10_000)?.suppressed).toBe(9);
    expect(warns).toHaveLength(2);
  });

  it('below the threshold, or with the watch off (0), nothing is logged', () => {
    const guards = new Map([['r', guard()]]);
    const { logger, warns } = recorder();
    spend(guards.get('r')!, 500);
    expect(
      createLagWatch({ guards, logger, now: () => 0 }, { thresholdMs: 600 }).check(550, 0),
    ).toBeUndefined();
    expect(
      createLagWatch({ guards, logger, now: () => 0 }, { thresholdMs: 0 }).check(5000, 0),
    ).toBeUndefined();
    expect(warns).toEqual([]);
  });

  it('start() samples the real event loop: a 400 ms busy loop is reported on the next tick', async () => {
    const guards = new Map([['busy', guard()]]);
    const { logger, warns } = recorder();
    const w = createLagWatch(
      { guards, logger, now: Date.now },
      { thresholdMs: 150, intervalMs: 100 },
    );
    w.start();
    try {
      await new Promise((r) => setTimeout(r, 150));
      const t0 = performance.now();
      while (performance.now() - t0 < 400); // what a CPU-bound evaluation does
      spend(guards.get('busy')!, performance.now() - t0);
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      w.stop();
    }
    expect(warns.length).toBeGreaterThanOrEqual(1);
    expect(warns[0]!.obj).toMatchObject({ code: 'event_loop_lag', rule: 'busy' });
    expect(warns[0]!.obj['lag_ms'] as number).toBeGreaterThan(150);
  });
});
