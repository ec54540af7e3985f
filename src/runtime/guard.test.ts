import { describe, expect, it } from 'vitest';
import { silentLogger } from '../core/index.js';
import type { RuleOutcome, SinkRecord } from '../core/index.js';
import { createEventSource } from './source.js';
import { createRuleManager } from './rule.js';
import { CpuMark, MARK_MS, RuleGuard } from './guard.js';
import type { EvalClock } from './guard.js';

/** A "compiled rule" that busy-waits `ms` for payload `slow`, else passes at once. */
function slowRule(clock: EvalClock, seenDeadlines: number[]) {
  return {
    run(ctx: { slow: number }): RuleOutcome {
      seenDeadlines.push(clock.deadline);
      const until = performance.now() + ctx.slow;
      while (performance.now() < until);
      return { kind: 'passed', outputs: [{ ok: true }] };
    },
  };
}

describe('rule guard', () => {
  it('counts strikes within the window and trips once', () => {
    const trips: number[] = [];
    const g = new RuleGuard(
      { budgetMs: 10, suspendAfter: 3, windowMs: 1000 },
      { deadline: Infinity },
      (n) => trips.push(n),
    );
    g.strike(0, 20);
    g.strike(500, 20);
    g.strike(1600, 20); // the first two are outside the window now
    expect(trips).toEqual([]);
    g.strike(1700, 20);
    g.strike(1800, 20);
    expect(trips).toEqual([3]);
  });

  it('fails an over-budget evaluation, discards its outputs, suspends the rule, and resumes on enable', async () => {
    const clock: EvalClock = { deadline: Infinity };
    const deadlines: number[] = [];
    const source = createEventSource<{ slow: number }>({
      createContext: (cols) => ({ slow: cols['slow'] as number }),
      logger: silentLogger,
      now: Date.now,
    });
    const routed: SinkRecord[] = [];
    const suspended: string[] = [];
    const rules = createRuleManager<{ slow: number }>({
      source,
      router: (_a, r) => {
        routed.push(r);
        return true;
      },
      logger: silentLogger,
      now: Date.now,
      guard: { config: { budgetMs: 20, suspendAfter: 2, windowMs: 60_000 }, clock },
      onSuspended: (id) => suspended.push(id),
    });
    rules.add({ id: 'r', from: ['t/#'], compiled: slowRule(clock, deadlines), actions: ['out'] });
    const push = (slow: number) =>
      source.push(
        Object.freeze({ name: 'message.publish', matchTopic: 't/1', columns: { slow } }),
        Date.now(),
      );
    push(0);
    expect(routed).toHaveLength(1);
    expect(deadlines[0]).toBeLessThan(Infinity); // the evaluation ran with a deadline
    expect(clock.deadline).toBe(Infinity); // and it is cleared afterwards
    push(40);
    expect(routed).toHaveLength(1); // over budget: outputs discarded
    expect(rules.metrics('r')['failed.exception']).toBe(1);
    push(40);
    await Promise.resolve();
    expect(suspended).toEqual(['r']);
    const info = rules.get('r')!;
    expect(info.enabled).toBe(false);
    expect(info.suspended?.reason).toMatch(/^rule_suspended: 2 evaluations over the 20 ms budget/);
    push(0);
    expect(rules.metrics('r').matched).toBe(3); // suspended: not evaluated
    rules.enable('r');
    expect(rules.get('r')!.suspended).toBeUndefined();
    push(0);
    expect(routed).toHaveLength(2);
  });
});

describe('rule guard: wall time is not CPU time', () => {
  /** A rule that sleeps `ms` without using the CPU (as a descheduled thread would). */
  const sleeping = {
    run(ctx: { slow: number }): RuleOutcome {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ctx.slow);
      return { kind: 'passed', outputs: [{ ok: true }] };
    },
  };
  /** A rule that uses `ms` of this thread's CPU time (however long that takes on a loaded host). */
  const busy = {
    run(ctx: { slow: number }): RuleOutcome {
      const cpu = () => {
        const u = process.threadCpuUsage();
        return (u.user + u.system) / 1000;
      };
      const until = cpu() + ctx.slow;
      while (cpu() < until);
      return { kind: 'passed', outputs: [{ ok: true }] };
    },
  };

  function setup(compiled: { run(ctx: { slow: number }): RuleOutcome }, clock: EvalClock) {
    const source = createEventSource<{ slow: number }>({
      createContext: (cols) => ({ slow: cols['slow'] as number }),
      logger: silentLogger,
      now: Date.now,
    });
    const routed: SinkRecord[] = [];
    const failed: string[] = [];
    const rules = createRuleManager<{ slow: number }>({
      source,
      router: (_a, r) => {
        routed.push(r);
        return true;
      },
      onFailed: (r) => {
        if (r.outcome.kind === 'failed') failed.push(r.outcome.code);
      },
      logger: silentLogger,
      now: Date.now,
      guard: { config: { budgetMs: 20, suspendAfter: 0, windowMs: 60_000 }, clock },
    });
    rules.add({ id: 'r', from: ['t/#'], compiled, actions: ['out'] });
    const push = (slow: number) =>
      source.push({
        name: 'message.publish',
        columns: { topic: 't/x', slow },
        matchTopic: 't/x',
      } as never);
    return { push, routed, failed };
  }

  it('an evaluation that was over budget by wall time but had no CPU time for it stands', () => {
    const { push, routed, failed } = setup(sleeping, { deadline: Infinity, cpu: new CpuMark() });
    push(60); // 60 ms of wall time, ~0 of CPU: a descheduled thread, not a slow rule
    expect(failed).toEqual([]);
    expect(routed).toHaveLength(1);
  });

  it('a genuinely slow evaluation still fails with the CPU check on', () => {
    const { push, routed, failed } = setup(busy, { deadline: Infinity, cpu: new CpuMark() });
    push(60);
    expect(failed).toEqual(['rule_budget_exceeded']);
    expect(routed).toHaveLength(0);
  });

  it('without a CPU mark, wall time alone decides', () => {
    const { push, failed } = setup(sleeping, { deadline: Infinity });
    push(60);
    expect(failed).toEqual(['rule_budget_exceeded']);
  });

  it('reads the CPU time at most once per MARK_MS of wall time', () => {
    let reads = 0;
    const m = new CpuMark(() => (reads++, 0));
    for (let t = 0; t < 100; t++) m.mark(t * 0.5); // 50 ms of wall time, 100 evaluations
    expect(reads).toBe(Math.ceil(50 / MARK_MS));
  });
});
