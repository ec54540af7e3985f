import { describe, expect, it } from 'vitest';

import type { BrokerEvent } from '../../core/index.js';
import { createTraceRegistry } from './registry.js';
import type { TraceRegistryOptions, Tracer } from './registry.js';

/** A registry on a hand-driven clock and timer list. */
function setup(opts: Partial<TraceRegistryOptions> = {}) {
  let t = 1_000_000;
  const timers: { at: number; fn: () => void; live: boolean }[] = [];
  const active: (Tracer | null)[] = [];
  const reg = createTraceRegistry({
    now: () => t,
    schedule: (fn, ms) => {
      const timer = { at: t + ms, fn, live: true };
      timers.push(timer);
      return () => (timer.live = false);
    },
    onActive: (x) => active.push(x),
    ...opts,
  });
  const advance = (ms: number) => {
    t += ms;
    for (const x of timers) {
      if (!x.live || x.at > t) continue;
      x.live = false;
      x.fn();
    }
  };
  const tracer = () => active.at(-1) ?? null;
  return { reg, advance, tracer, active };
}

function publish(clientid: string, topic: string, id = `${clientid}-${topic}`): BrokerEvent {
  return {
    name: 'message.publish',
    matchTopic: topic,
    columns: { id, clientid, topic, payload: '{}', event: 'message.publish' },
  };
}

const steps = (reg: ReturnType<typeof setup>['reg'], id: string) =>
  (reg.steps(id) ?? []).map((s) => JSON.parse(s.json) as Record<string, unknown>);

describe('trace registry', () => {
  it('hands the source a tracer only while a trace runs', () => {
    const { reg, tracer, active } = setup();
    expect(active).toEqual([]);
    const a = reg.create({ filter: { topic: 'a/#' } });
    const b = reg.create({ filter: { topic: 'b/#' } });
    expect(active).toHaveLength(1);
    expect(tracer()).not.toBeNull();
    reg.remove(a.id);
    expect(active).toHaveLength(1);
    reg.remove(b.id);
    expect(active).toEqual([active[0], null]);
    expect(reg.running).toBe(0);
  });

  it('selects by client id and MQTT topic filter, and by rule id per rule', () => {
    const { reg, tracer } = setup();
    const byTopic = reg.create({ filter: { topic: 'sensors/+/temp' } });
    const byClient = reg.create({ filter: { clientid: 'c1' } });
    const byRule = reg.create({ filter: { rule_id: 'r2', topic: 'sensors/#' } });
    const tr = tracer() as Tracer;
    expect(tr.begin(publish('c2', 'other/x'), 0)).toBeUndefined();
    const m = tr.begin(publish('c2', 'sensors/1/temp'), 2);
    expect(m).toBeDefined();
    expect(m?.rule('r1')).toBeDefined(); // byTopic only
    m?.rule('r2')?.step('select', undefined, { output: { t: 1 } });
    const c1 = tr.begin(publish('c1', 'x/y'), 0);
    expect(c1?.rule('r2')).toBeDefined(); // byClient takes every rule
    expect(steps(reg, byTopic.id).map((s) => [s['step'], s['rule_id']])).toEqual([
      ['received', undefined],
      ['rule_matched', 'r1'],
      ['rule_matched', 'r2'],
      ['select', 'r2'],
    ]);
    expect(steps(reg, byRule.id).map((s) => s['step'])).toEqual([
      'received',
      'rule_matched',
      'select',
    ]);
    // A rule-filtered trace records `received` when its rule matches (1 rule counted for it).
    expect(steps(reg, byRule.id)[0]?.['detail']).toEqual({ rules: 1 });
    expect(steps(reg, byClient.id)).toMatchObject([
      { step: 'received', clientid: 'c1', topic: 'x/y', detail: { rules: 0 } },
      { step: 'rule_matched', rule_id: 'r2' },
    ]);
    expect(reg.get(byTopic.id)?.messages).toBe(1);
    expect(reg.get(byClient.id)?.messages).toBe(1);
  });

  it('numbers steps per trace and encodes rule values (big integers)', () => {
    const { reg, tracer } = setup();
    const t = reg.create({ filter: { topic: '#' } });
    const m = (tracer() as Tracer).begin(publish('c', 'x', 'msg-1'), 1);
    m?.rule('r')?.step('select', undefined, { output: { big: 12345678901234567890n } });
    const raw = reg.steps(t.id) ?? [];
    expect(raw.map((s) => s.seq)).toEqual([1, 2, 3]);
    expect(raw[2]?.json).toContain('"big":12345678901234567890');
    expect(JSON.parse(raw[0]?.json as string)).toEqual({
      trace_id: t.id,
      seq: 1,
      msg_id: 'msg-1',
      ts: 1_000_000,
      step: 'received',
      clientid: 'c',
      topic: 'x',
      detail: { rules: 1 },
    });
  });

  it('stops taking messages at max_messages and stops settleMs later', () => {
    const { reg, tracer, advance } = setup({ settleMs: 500 });
    const t = reg.create({ filter: { topic: '#' }, max_messages: 2 });
    const tr = tracer() as Tracer;
    const first = tr.begin(publish('c', 'x', '1'), 1);
    expect(tr.begin(publish('c', 'x', '2'), 1)).toBeDefined();
    expect(tr.begin(publish('c', 'x', '3'), 1)).toBeUndefined();
    expect(reg.get(t.id)).toMatchObject({ state: 'running', messages: 2 });
    // A message already admitted still records its later steps until the trace stops.
    first?.rule('r')?.step('ack', 'mem', { latency_ms: 3 });
    advance(499);
    expect(reg.get(t.id)?.state).toBe('running');
    advance(1);
    expect(reg.get(t.id)).toMatchObject({ state: 'stopped', stop_reason: 'max_messages' });
    expect(steps(reg, t.id).map((s) => s['step'])).toEqual([
      'received',
      'received',
      'rule_matched',
      'ack',
    ]);
  });

  it('stops at the end of its duration (default 60 s)', () => {
    const { reg, tracer, advance } = setup();
    const t = reg.create({ filter: { clientid: 'c' } });
    expect(Date.parse(t.ends_at) - Date.parse(t.started_at)).toBe(60_000);
    expect(t).toMatchObject({ max_messages: 1000, state: 'running', messages: 0 });
    advance(59_999);
    expect(reg.running).toBe(1);
    advance(1);
    expect(reg.get(t.id)).toMatchObject({ state: 'stopped', stop_reason: 'duration' });
    expect(tracer()).toBeNull();
  });

  it('keeps the last ringSize steps and counts the overwritten ones', () => {
    const { reg, tracer } = setup({ ringSize: 4 });
    const t = reg.create({ filter: { topic: '#' } });
    const tr = tracer() as Tracer;
    for (let i = 0; i < 3; i++) tr.begin(publish('c', 'x', `m${i}`), 1)?.rule('r');
    expect(reg.steps(t.id)?.map((s) => s.seq)).toEqual([3, 4, 5, 6]);
    expect(reg.steps(t.id, 4)?.map((s) => s.seq)).toEqual([5, 6]);
    expect(reg.get(t.id)).toMatchObject({ steps_total: 6, steps_dropped: 2, ring_size: 4 });
  });

  it('caps running traces and forgets the oldest stopped ones past maxKept', () => {
    const { reg } = setup({ maxRunning: 2, maxKept: 3 });
    const a = reg.create({ filter: { topic: 'a' } });
    reg.create({ filter: { topic: 'b' } });
    expect(() => reg.create({ filter: { topic: 'c' } })).toThrow(
      expect.objectContaining({ code: 'trace_limit_reached' }),
    );
    reg.close();
    expect(reg.list().map((x) => x.stop_reason)).toEqual(['shutdown', 'shutdown']);
    reg.create({ filter: { topic: 'c' } });
    reg.create({ filter: { topic: 'd' } });
    expect(reg.list()).toHaveLength(3);
    expect(reg.get(a.id)).toBeUndefined();
  });

  it('replays the ring after a sequence number, then follows, then ends', () => {
    const { reg, tracer } = setup();
    const t = reg.create({ filter: { topic: '#' } });
    const tr = tracer() as Tracer;
    tr.begin(publish('c', 'x', 'a'), 1)?.rule('r');
    const seen: string[] = [];
    const off = reg.subscribe(t.id, 1, {
      step: (s) => seen.push(`${s.seq}`),
      end: (reason) => seen.push(`end:${reason}`),
    });
    expect(seen).toEqual(['2']);
    tr.begin(publish('c', 'x', 'b'), 1);
    expect(seen).toEqual(['2', '3']);
    reg.remove(t.id);
    expect(seen).toEqual(['2', '3', 'end:deleted']);
    off?.();
    expect(reg.subscribe(t.id, 0, { step: () => {}, end: () => {} })).toBeUndefined();
  });

  it('ends a subscription to a stopped trace right after its replay', () => {
    const { reg, tracer, advance } = setup();
    const t = reg.create({ filter: { topic: '#' }, duration_s: 1 });
    (tracer() as Tracer).begin(publish('c', 'x'), 0);
    advance(1000);
    const seen: string[] = [];
    reg.subscribe(t.id, 0, {
      step: (s) => seen.push(`${s.seq}`),
      end: (r) => seen.push(r),
    });
    expect(seen).toEqual(['1', 'duration']);
  });

  it('refuses bad requests with trace_invalid and a clear message', () => {
    const { reg } = setup();
    const cases: [Record<string, unknown>, RegExp][] = [
      [{}, /filter is required/],
      [{ filter: {} }, /at least one of/],
      [{ filter: { topic: 'a/#/b' } }, /not an MQTT topic filter: '#' must be a whole level/],
      [{ filter: { topic: 'a+' } }, /'\+' must occupy a whole level/],
      [{ filter: { clientid: '' } }, /filter.clientid must be a non-empty string/],
      [{ filter: { topic: 'a' }, duration_s: 3601 }, /duration_s must be a number from 1 to 3600/],
      [{ filter: { topic: 'a' }, max_messages: 0 }, /max_messages must be a number from 1/],
      [{ filter: { topic: 'a', username: 'u' } }, /unknown filter field "username"/],
      [{ filter: { topic: 'a' }, limit: 1 }, /unknown field "limit"/],
    ];
    for (const [body, msg] of cases)
      expect(() => reg.create(body), JSON.stringify(body)).toThrow(
        expect.objectContaining({ code: 'trace_invalid', message: expect.stringMatching(msg) }),
      );
    expect(reg.list()).toEqual([]);
  });
});
