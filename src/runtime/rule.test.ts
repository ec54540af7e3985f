import { describe, expect, it } from 'vitest';

import type { BrokerEvent, RuleOutcome, SinkRecord, ValueMap } from '../core/index.js';
import { silentLogger } from '../core/index.js';
import { createRuleManager } from './rule.js';
import { createEventSource } from './source.js';

/** Test double for the compiler's lazy context: counts payload decodes. */
function harness(now = () => 1_000) {
  let decodes = 0;
  const createContext = (columns: BrokerEvent['columns']) => {
    let decoded: ValueMap | undefined;
    return {
      columns,
      payload(): ValueMap {
        if (!decoded) {
          decodes++;
          decoded = JSON.parse(String(columns['payload'])) as ValueMap;
        }
        return decoded;
      },
    };
  };
  type Ctx = ReturnType<typeof createContext>;
  const source = createEventSource<Ctx>({ createContext, logger: silentLogger, now });
  const routed: { action: string; record: SinkRecord }[] = [];
  const rules = createRuleManager<Ctx>({
    source,
    router: (action, record) => {
      routed.push({ action, record });
      return action !== 'missing';
    },
    logger: silentLogger,
    now,
  });
  /** A rule passing `{v: payload.v}` when v > min. */
  const gt = (min: number) => ({
    run(ctx: Ctx): RuleOutcome {
      const v = ctx.payload()['v'];
      if (typeof v !== 'number') return { kind: 'failed', code: 'x', reason: 'no v' };
      return v > min ? { kind: 'passed', outputs: [{ v }] } : { kind: 'filtered' };
    },
  });
  const publish = (topic: string, payload: unknown) =>
    source.push({
      name: 'message.publish',
      matchTopic: topic,
      columns: { topic, payload: JSON.stringify(payload) },
    });
  return { source, rules, routed, gt, publish, decodes: () => decodes };
}

describe('rule manager', () => {
  it('routes outputs to actions and counts EMQX metrics exactly', () => {
    const h = harness();
    h.rules.add({ id: 'r1', from: ['t/#'], compiled: h.gt(10), actions: ['a', 'missing'] });
    h.publish('t/1', { v: 11 });
    h.publish('t/1', { v: 5 });
    h.publish('t/1', { x: 1 });
    h.publish('other', { v: 50 });
    const m = h.rules.metrics('r1');
    expect(m).toMatchObject({
      matched: 3,
      passed: 1,
      failed: 2,
      'failed.exception': 1,
      'failed.no_result': 1,
      'actions.total': 2,
      'actions.success': 1,
      'actions.failed': 1,
    });
    expect(h.routed.map((r) => [r.action, r.record.data, r.record.ruleId])).toEqual([
      ['a', { v: 11 }, 'r1'],
      ['missing', { v: 11 }, 'r1'],
    ]);
  });

  it('decodes the payload once per message across rules', () => {
    const h = harness();
    for (let i = 0; i < 5; i++)
      h.rules.add({ id: `r${i}`, from: ['s/+'], compiled: h.gt(i), actions: [] });
    h.publish('s/a', { v: 3 });
    expect(h.decodes()).toBe(1);
    h.publish('nomatch', { v: 3 });
    expect(h.decodes()).toBe(1);
    expect(Object.values(h.rules.allMetrics()).map((m) => m.passed)).toEqual([1, 1, 1, 0, 0]);
  });

  it('sees rules added after a topic was looked up (match cache invalidation)', () => {
    const h = harness();
    h.publish('late/t', { v: 1 });
    h.rules.add({ id: 'late', from: ['late/+'], compiled: h.gt(0), actions: ['x'] });
    h.publish('late/t', { v: 2 });
    h.rules.disable('late');
    h.publish('late/t', { v: 3 });
    expect(h.routed.map((r) => r.record.data)).toEqual([{ v: 2 }]);
  });

  it('triggers a rule once even when two of its filters match', () => {
    const h = harness();
    h.rules.add({ id: 'r', from: ['a/#', 'a/b'], compiled: h.gt(0), actions: ['x'] });
    h.publish('a/b', { v: 1 });
    expect(h.rules.metrics('r').matched).toBe(1);
    expect(h.routed).toHaveLength(1);
  });

  it('turns a throwing rule into failed.exception without ending the stream', () => {
    const h = harness();
    h.rules.add({
      id: 'bad',
      from: ['t'],
      compiled: {
        run: () => {
          throw new Error('boom');
        },
      },
      actions: [],
    });
    h.rules.add({ id: 'good', from: ['t'], compiled: h.gt(0), actions: [] });
    const failures: string[] = [];
    h.rules.results$.subscribe((r) => {
      if (r.outcome.kind === 'failed') failures.push(r.outcome.code);
    });
    h.publish('t', { v: 1 });
    h.publish('t', { v: 1 });
    expect(failures).toEqual(['rule_internal_error', 'rule_internal_error']);
    expect(h.rules.metrics('good').passed).toBe(2);
    expect(h.rules.metrics('bad')['failed.exception']).toBe(2);
  });

  it('updates atomically, re-indexes FROM, enables/disables and removes', () => {
    const h = harness();
    h.rules.add({ id: 'r', from: ['a'], compiled: h.gt(0), actions: ['x'] });
    h.rules.add({ id: 'other', from: ['a', 'b'], compiled: h.gt(0), actions: ['y'] });
    h.publish('a', { v: 1 });
    h.rules.update({ id: 'r', from: ['b'], compiled: h.gt(100), actions: ['z'] });
    h.publish('a', { v: 1 });
    h.publish('b', { v: 101 });
    h.rules.disable('r');
    h.publish('b', { v: 101 });
    h.rules.enable('r');
    h.publish('b', { v: 102 });
    h.rules.remove('r');
    h.publish('b', { v: 103 });
    expect(h.routed.filter((r) => r.record.ruleId === 'r').map((r) => r.action)).toEqual([
      'x',
      'z',
      'z',
    ]);
    expect(h.rules.metrics('other').passed).toBe(6);
    expect(h.rules.has('r')).toBe(false);
    expect(() => h.rules.metrics('r')).toThrow(/does not exist/);
    expect(() => h.rules.add({ id: 'other', from: [], compiled: h.gt(0), actions: [] })).toThrow(
      /exists/,
    );
    expect(h.source.size).toBe(2);
  });

  it('reports matched rates over one-second buckets', () => {
    let t = 0;
    const h = harness(() => t);
    h.rules.add({ id: 'r', from: ['a'], compiled: h.gt(0), actions: [] });
    for (let s = 0; s < 10; s++) {
      t = s * 1000 + 10;
      for (let i = 0; i < 20; i++) h.publish('a', { v: 1 });
    }
    t = 10_000 + 5;
    const rate = h.rules.metrics('r').rate;
    expect(rate.current).toBe(20);
    expect(rate.max).toBe(20);
    expect(rate.last5m).toBe(20);
    t = 20_000;
    expect(h.rules.metrics('r').rate).toMatchObject({ current: 0, max: 20, last5m: 10 });
  });
});

describe('onFailed', () => {
  it('receives exactly the failed results, synchronously', () => {
    const source = createEventSource<{ v: unknown }>({
      createContext: (columns) => ({ v: columns['v'] }),
      logger: silentLogger,
      now: () => 0,
    });
    const failed: string[] = [];
    const rules = createRuleManager<{ v: unknown }>({
      source,
      router: () => true,
      logger: silentLogger,
      now: () => 0,
      onFailed: (r) => failed.push(`${r.ruleId}:${r.outcome.kind}`),
    });
    rules.add({
      id: 'r1',
      from: ['t'],
      actions: ['a'],
      compiled: {
        run: (ctx): RuleOutcome =>
          typeof ctx.v === 'number'
            ? { kind: 'passed', outputs: [{ v: ctx.v }] }
            : { kind: 'failed', code: 'x', reason: 'no v' },
      },
    });
    for (const v of [1, 'bad', 2, undefined])
      source.push({ name: 'message.publish', matchTopic: 't', columns: { v } });
    expect(failed).toEqual(['r1:failed', 'r1:failed']);
    rules.close();
  });
});
