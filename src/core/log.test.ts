import { describe, expect, it } from 'vitest';
import { createProcessLogger, joinComponent } from './log.js';

/** A JSON parser that rejects an object with a repeated key (what strict consumers do). */
function strictParse(line: string): Record<string, unknown> {
  const keys = [...line.matchAll(/"((?:[^"\\]|\\.)*)":/g)].map((m) => m[1]);
  // Top-level keys only matter here: the logger writes flat objects plus nested values.
  const top = JSON.parse(line) as Record<string, unknown>;
  const count = new Map<string, number>();
  for (const k of keys) count.set(k as string, (count.get(k as string) ?? 0) + 1);
  for (const k of Object.keys(top))
    if ((count.get(k) ?? 0) > 1 && typeof top[k] !== 'object')
      throw new Error(`duplicate key ${k} in ${line}`);
  return top;
}

function capture(isTTY = false) {
  const lines: string[] = [];
  return {
    lines,
    stream: { isTTY, write: (s: string) => void lines.push(...s.trimEnd().split('\n')) },
  };
}

describe('process logger', () => {
  it('joins component paths', () => {
    expect(joinComponent(undefined, 'broker')).toBe('broker');
    expect(joinComponent('broker', 'broker')).toBe('broker');
    expect(joinComponent('broker', 'listener')).toBe('broker.listener');
    expect(joinComponent('sink', 'sink.kafka')).toBe('sink.kafka');
  });

  it('JSON lines carry every key once, the component as one dotted path', () => {
    const c = capture();
    const root = createProcessLogger({
      level: 'info',
      format: 'json',
      stream: c.stream,
      now: () => 5,
    });
    const sink = root
      .child({ component: 'sink', sink: 'k' })
      .child({ component: 'sink.kafka', sink: 'k', type: 'kafka' });
    sink.warn({ sink: 'k', code: 'kafka_x' }, 'broker refused');
    root
      .child({ component: 'broker' })
      .child({ component: 'broker' })
      .child({ component: 'listener' })
      .info({ name: 'tcp' }, 'listening');
    const parsed = c.lines.map(strictParse);
    expect(parsed[0]).toMatchObject({
      level: 40,
      time: 5,
      component: 'sink.kafka',
      sink: 'k',
      type: 'kafka',
      code: 'kafka_x',
      msg: 'broker refused',
    });
    expect(parsed[1]).toMatchObject({
      level: 30,
      component: 'broker.listener',
      name: 'tcp',
      msg: 'listening',
    });
    expect(c.lines[0]!.match(/"sink":/g)).toHaveLength(1);
  });

  it('text lines: time, level, component, message, key=value; colour only on a TTY', () => {
    const c = capture(false);
    const root = createProcessLogger({
      level: 'info',
      format: 'text',
      stream: c.stream,
      now: () => 0,
    });
    root
      .child({ component: 'broker' })
      .info({ listener: 'tcp_default', port: 1883, note: 'two words' }, 'listening');
    expect(c.lines).toEqual([
      '1970-01-01T00:00:00.000Z INFO  broker: listening listener=tcp_default port=1883 note="two words"',
    ]);
    const t = capture(true);
    createProcessLogger({ level: 'info', stream: t.stream, now: () => 0 }).error({}, 'boom');
    expect(t.lines[0]).toContain('\x1b[31mERROR\x1b[0m');
    const j = capture(false);
    createProcessLogger({ level: 'info', stream: j.stream }).info({}, 'auto is JSON off a TTY');
    expect(() => JSON.parse(j.lines[0]!)).not.toThrow();
  });

  it('per-component levels by prefix, changeable at run time', () => {
    const c = capture();
    const root = createProcessLogger({
      level: 'warn',
      format: 'json',
      levels: { broker: 'debug' },
      stream: c.stream,
    });
    const listener = root.child({ component: 'broker' }).child({ component: 'listener' });
    const rules = root.child({ component: 'rules' });
    listener.debug({}, 'a');
    rules.info({}, 'b');
    rules.warn({}, 'c');
    expect(c.lines.map((l) => JSON.parse(l).msg)).toEqual(['a', 'c']);
    root.setLevel('rules', 'debug');
    root.setLevel('broker', 'error');
    rules.debug({}, 'd');
    listener.warn({}, 'e');
    expect(c.lines.map((l) => JSON.parse(l).msg)).toEqual(['a', 'c', 'd']);
    expect(root.levels()).toEqual({ '': 'warn', broker: 'error', rules: 'debug' });
  });

  it('rate-limits repeated warnings and reports how many were suppressed', () => {
    const c = capture();
    let t = 0;
    const log = createProcessLogger({
      level: 'info',
      format: 'json',
      stream: c.stream,
      now: () => t,
    });
    const sink = log.child({ component: 'sink' });
    for (let i = 0; i < 5; i++) sink.warn({ code: 'sink_x' }, 'write failed');
    sink.warn({ code: 'sink_y' }, 'write failed'); // another code: its own line
    sink.info({}, 'info lines are never limited');
    sink.info({}, 'info lines are never limited');
    t = 10_000;
    sink.warn({ code: 'sink_x' }, 'write failed');
    const got = c.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(got.map((g) => [g['msg'], g['code'], g['suppressed']])).toEqual([
      ['write failed', 'sink_x', undefined],
      ['write failed', 'sink_y', undefined],
      ['info lines are never limited', undefined, undefined],
      ['info lines are never limited', undefined, undefined],
      ['write failed', 'sink_x', 4],
    ]);
  });
});
