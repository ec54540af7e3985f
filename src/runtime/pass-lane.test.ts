/**
 * Rules that call jq are evaluated in passes without blocking (async-eval.ts, pass-lane.ts):
 * the jq run is awaited off the event loop, outputs keep the event order, effectful calls run
 * once per message, only the final pass is counted, and the lane is bounded.
 */
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../core/index.js';
import type { SinkRecord } from '../core/index.js';
import { compileRule } from './compile-rule.js';
import { createDefaultServices } from './functions/index.js';
import { createMessageContext, type MessageContext } from './message-context.js';
import { LANE_LIMIT } from './pass-lane.js';
import { createRuleManager } from './rule.js';
import { createEventSource } from './source.js';

/** Services whose jqAsync runs are answered by the test. */
function harness(sql: string) {
  const calls: {
    program: string;
    input: string;
    resolve(o: string[]): void;
    reject(e: Error): void;
  }[] = [];
  let clock = 1_000;
  const services = createDefaultServices({
    now: () => clock++,
    jqAsync: (program, input) =>
      new Promise<string[]>((resolve, reject) => calls.push({ program, input, resolve, reject })),
  });
  const source = createEventSource<MessageContext>({
    createContext: (cols) => createMessageContext(cols),
    logger: silentLogger,
    now: Date.now,
  });
  const routed: SinkRecord[] = [];
  const rules = createRuleManager<MessageContext>({
    source,
    router: (_a, r) => {
      routed.push(r);
      return true;
    },
    logger: silentLogger,
    now: Date.now,
  });
  const compiled = compileRule(sql, { services });
  expect(compiled.passes).toBeDefined();
  rules.add({ id: 'r', from: ['t/#'], compiled, actions: ['out'] });
  const push = (payload: string) =>
    source.push(
      Object.freeze({
        name: 'message.publish',
        matchTopic: 't/1',
        columns: { topic: 't/1', payload, clientid: 'c' },
      }),
      Date.now(),
    );
  return { calls, push, routed, rules, services };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('rules evaluated in passes', () => {
  it('waits for jq off the event loop and keeps the event order', async () => {
    const h = harness(`SELECT jq('.a', payload) AS x, payload.a AS a FROM "t/#"`);
    h.push('{"a":1}');
    h.push('{"a":2}');
    // The first message waits for its jq run; the second waits behind it.
    expect(h.routed).toHaveLength(0);
    expect(h.calls.map((c) => c.input)).toEqual(['{"a":1}']);
    expect(h.rules.metrics('r').matched).toBe(0);
    h.calls[0]!.resolve(['1']);
    await settle();
    expect(h.calls.map((c) => c.input)).toEqual(['{"a":1}', '{"a":2}']);
    h.calls[1]!.resolve(['2']);
    await settle();
    expect(h.routed).toHaveLength(2);
    expect(h.rules.metrics('r')).toMatchObject({ matched: 2, passed: 2, failed: 0 });
    expect(h.routed.map((r) => r.data)).toEqual([
      { x: [1], a: 1 },
      { x: [2], a: 2 },
    ]);
  });

  it('runs effectful calls once per message: kv_store_put and the clock are replayed', async () => {
    const h = harness(
      `SELECT kv_store_put('n', coalesce(kv_store_get('n'), 0) + 1) AS put, kv_store_get('n') AS n, now_timestamp('millisecond') AS t1, jq('.', payload) AS j, now_timestamp('millisecond') AS t2 FROM "t/#"`,
    );
    h.push('{"a":1}');
    h.calls[0]!.resolve(['{"a":1}']);
    await settle();
    expect(h.routed).toHaveLength(1);
    const o = h.routed[0]!.data;
    // Two passes, but the counter was incremented once and t1 read the same clock in both.
    expect(h.services.kvStore.get('n')).toBe(1);
    expect(o['n']).toBe(1);
    expect(typeof o['t1']).toBe('number');
    expect(o['t2']).toBeGreaterThan(o['t1'] as number);
  });

  it('a jq error or timeout fails that message only; the next goes on', async () => {
    const h = harness(`SELECT jq('.a', payload) AS x FROM "t/#"`);
    h.push('1');
    h.push('{"a":3}');
    h.calls[0]!.reject(new Error('jq: timeout after 10 ms'));
    await settle();
    h.calls[1]!.resolve(['3']);
    await settle();
    expect(h.rules.metrics('r')).toMatchObject({ matched: 2, passed: 1, 'failed.exception': 1 });
    expect(h.routed).toHaveLength(1);
  });

  it(`bounds the lane: the message after ${LANE_LIMIT} waiting ones fails as rule_pass_queue_full`, async () => {
    const h = harness(`SELECT jq('.', payload) AS x FROM "t/#"`);
    const failed: string[] = [];
    const sub = h.rules.results$.subscribe((r) => {
      if (r.outcome.kind === 'failed') failed.push(r.outcome.code);
    });
    for (let i = 0; i < LANE_LIMIT + 2; i++) h.push(String(i));
    expect(failed).toEqual(['rule_pass_queue_full']);
    expect(h.rules.metrics('r')['failed.exception']).toBe(1);
    sub.unsubscribe();
  });
});
