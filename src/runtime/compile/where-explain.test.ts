import { describe, expect, it } from 'vitest';

import { compileRule } from '../compile-rule.js';
import type { WhereTrace } from './rule.js';

function decide(where: string, payload: unknown, select = '*'): WhereTrace | undefined {
  const rule = compileRule(`SELECT ${select} FROM "t/#" WHERE ${where}`);
  let seen: WhereTrace | undefined;
  const outcome = rule.runTraced({ topic: 't/1', payload: JSON.stringify(payload) }, (w) => {
    seen = w;
  });
  // The traced run has the untraced run's outcome.
  expect(outcome.kind).toBe(rule.run({ topic: 't/1', payload: JSON.stringify(payload) }).kind);
  return seen;
}

describe('the value that decided WHERE (tracing)', () => {
  it('names the non-literal side of a comparison', () => {
    expect(decide('payload.temp > 30', { temp: 12 })).toEqual({
      result: false,
      value: 12,
      expr: 'payload.temp > 30',
    });
    expect(decide('30 < payload.temp', { temp: 40 })).toMatchObject({ result: true, value: 40 });
    expect(decide('payload.a = payload.b', { a: 1, b: 2 })).toMatchObject({
      result: false,
      value: { left: 1, right: 2 },
    });
  });

  it('follows AND to its first false conjunct and OR to its first true disjunct', () => {
    const and = 'payload.a > 1 AND payload.b > 1';
    expect(decide(and, { a: 5, b: 0 })).toEqual({ result: false, value: 0, expr: 'payload.b > 1' });
    expect(decide(and, { a: 0, b: 9 })).toEqual({ result: false, value: 0, expr: 'payload.a > 1' });
    expect(decide(and, { a: 2, b: 3 })).toMatchObject({ result: true, expr: 'payload.b > 1' });
    const or = 'payload.a > 1 OR payload.b > 1';
    expect(decide(or, { a: 5, b: 0 })).toMatchObject({
      result: true,
      value: 5,
      expr: 'payload.a > 1',
    });
    expect(decide(or, { a: 0, b: 0 })).toMatchObject({
      result: false,
      value: 0,
      expr: 'payload.b > 1',
    });
  });

  it('reports IN by its operand, NOT by its inner condition, a call by its value', () => {
    expect(decide("payload.k IN ('a', 'b')", { k: 'z' })).toMatchObject({
      result: false,
      value: 'z',
    });
    expect(decide('NOT payload.on', { on: true })).toMatchObject({ result: false, value: true });
    expect(decide('is_null(payload.x)', { x: 1 })).toMatchObject({ result: false, value: false });
  });

  it('sees SELECT aliases as WHERE does', () => {
    expect(decide('t > 30', { temp: 31 }, 'payload.temp AS t')).toEqual({
      result: true,
      value: 31,
      expr: 't > 30',
    });
  });

  it('is not called when WHERE fails or is absent', () => {
    let called = false;
    const failed = compileRule('SELECT * FROM "t/#" WHERE payload.temp > 30').runTraced(
      { topic: 't/1', payload: 'not json' },
      () => (called = true),
    );
    expect(failed.kind).toBe('failed');
    expect(called).toBe(false);
    compileRule('SELECT * FROM "t/#"').runTraced({ topic: 't/1' }, () => (called = true));
    expect(called).toBe(false);
  });
});
