import { describe, expect, it } from 'vitest';
import { EFloat, isFloat } from '../../core/index.js';
import { badArg, call } from './test-helpers.js';

describe('arithmetic operators', () => {
  it('+ adds numbers, int+int stays int, anything with a float is a float', () => {
    expect(call('+', [1, 2])).toBe(3);
    expect(call('+', [1.5, 0.5])).toEqual(new EFloat(2));
    expect(call('+', [new EFloat(1), 1])).toEqual(new EFloat(2));
  });
  it('+ is exact beyond 2^53 (bigint)', () => {
    expect(call('+', [Number.MAX_SAFE_INTEGER, 2])).toBe(9007199254740993n);
    expect(call('*', [2 ** 40, 2 ** 40])).toBe(2n ** 80n);
    expect(call('-', [2n ** 60n, 2n ** 60n])).toBe(0);
  });
  it('+ concatenates when either side is a string, converting the other like str', () => {
    expect(call('+', ['1', 1])).toBe('11');
    expect(call('+', [undefined, 'a'])).toBe('undefineda');
    expect(call('+', ['x', 0.1])).toBe('x0.1');
    expect(call('+', ['x', new EFloat(2)])).toBe('x2.0');
    expect(call('+', ['x', { a: 1 }])).toBe('x{"a":1}');
    expect(call('+', [Buffer.from('b'), true])).toBe('btrue');
  });
  it('+ - * reject non-numbers', () => {
    badArg('+', [1, undefined]);
    badArg('+', [null, true]);
    badArg('-', ['5', 1]);
    badArg('*', [2, undefined]);
  });
  it('/ always returns a float and rejects zero', () => {
    expect(call('/', [6, 3])).toEqual(new EFloat(2));
    expect(call('/', [1, 3])).toBeCloseTo(1 / 3);
    badArg('/', [1, 0], 'division by zero');
    badArg('/', [1, 0.0]);
  });
  it('div truncates toward zero; mod takes the dividend sign', () => {
    expect(call('div', [7, 2])).toBe(3);
    expect(call('div', [-7, 2])).toBe(-3);
    expect(call('div', [7, -2])).toBe(-3);
    expect(call('mod', [-7, 3])).toBe(-1);
    expect(call('mod', [7, -2])).toBe(1);
    expect(call('div', [2n ** 70n, 2])).toBe(2n ** 69n);
  });
  it('div/mod are integer-only and reject zero', () => {
    badArg('div', [7.5, 2]);
    badArg('mod', [7, new EFloat(2)]);
    badArg('div', [1, 0], 'division by zero');
    badArg('mod', [1, 0]);
  });
  it('eq is numeric-aware but does not coerce strings', () => {
    expect(call('eq', [1, new EFloat(1)])).toBe(true);
    expect(call('eq', ['1', 1])).toBe(false);
    expect(call('eq', [undefined, null])).toBe(false);
    expect(call('eq', [{ a: [1] }, { a: [1] }])).toBe(true);
  });
});

describe('math functions', () => {
  it('abs accepts integers only', () => {
    expect(call('abs', [-5])).toBe(5);
    expect(call('abs', [-(2n ** 70n)])).toBe(2n ** 70n);
    badArg('abs', [-1.2], 'integer');
    badArg('abs', ['1']);
  });
  it('round halves away from zero; ceil/floor return integers', () => {
    expect(call('round', [2.5])).toBe(3);
    expect(call('round', [-2.5])).toBe(-3);
    expect(call('round', [-2.4])).toBe(-2);
    expect(call('round', [new EFloat(3)])).toBe(3);
    expect(call('ceil', [-1.5])).toBe(-1);
    expect(call('floor', [-1.5])).toBe(-2);
    expect(call('floor', [7])).toBe(7);
    expect(call('round', [new EFloat(1e20)])).toBe(100000000000000000000n);
  });
  it('unary functions return floats, boxed when integral', () => {
    expect(call('sqrt', [4])).toEqual(new EFloat(2));
    expect(isFloat(call('sin', [1]))).toBe(true);
    expect(call('log2', [8])).toEqual(new EFloat(3));
    expect(call('power', [2, 0.5])).toBeCloseTo(Math.SQRT2);
  });
  it('domain errors fail instead of returning NaN/Infinity', () => {
    badArg('sqrt', [-1], 'finite');
    badArg('log', [0]);
    badArg('log10', [-10]);
    badArg('acos', [2]);
    badArg('atanh', [1]);
    badArg('exp', [1000]);
    badArg('power', [10, 400]);
  });
  it('fmod keeps the dividend sign and rejects zero', () => {
    expect(call('fmod', [-7.5, 2])).toBe(-1.5);
    expect(call('fmod', [6, 3])).toEqual(new EFloat(0));
    badArg('fmod', [1, 0]);
  });
  it('rejects undefined/null/strings', () => {
    for (const f of ['sqrt', 'ceil', 'floor', 'round', 'exp'])
      for (const v of [undefined, null, '4']) badArg(f, [v]);
  });
});
