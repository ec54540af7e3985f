import { describe, expect, it } from 'vitest';
import { EFloat } from '../../core/index.js';
import { call } from './test-helpers.js';

describe('null predicates distinguish undefined from JSON null', () => {
  it('is_null / is_not_null: undefined only', () => {
    expect(call('is_null', [undefined])).toBe(true);
    expect(call('is_null', [null])).toBe(false);
    expect(call('is_not_null', [null])).toBe(true);
    expect(call('is_not_null', [undefined])).toBe(false);
  });
  it('is_null_var / is_not_null_var: undefined or null', () => {
    expect(call('is_null_var', [null])).toBe(true);
    expect(call('is_null_var', [undefined])).toBe(true);
    expect(call('is_null_var', [''])).toBe(false);
    expect(call('is_not_null_var', [0])).toBe(true);
    expect(call('is_not_null_var', [null])).toBe(false);
  });
});

describe('type predicates', () => {
  const cases: [string, unknown, boolean][] = [
    ['is_str', 'a', true],
    ['is_str', Buffer.from('a'), true],
    ['is_str', 1, false],
    ['is_bool', true, true],
    ['is_bool', 'true', false],
    ['is_int', 1, true],
    ['is_int', 2n ** 70n, true],
    ['is_int', new EFloat(1), false],
    ['is_int', 1.5, false],
    ['is_float', new EFloat(1), true],
    ['is_float', 1.5, true],
    ['is_float', 1, false],
    ['is_num', new EFloat(1), true],
    ['is_num', '1', false],
    ['is_map', { a: 1 }, true],
    ['is_map', [], false],
    ['is_map', '{}', false],
    ['is_map', null, false],
    ['is_array', [], true],
    ['is_array', '[]', false],
  ];
  for (const [f, v, r] of cases)
    it(`${f}(${String(v)}) is ${r}`, () => expect(call(f, [v as never])).toBe(r));
  it('never fail on undefined', () => {
    for (const f of ['is_str', 'is_bool', 'is_int', 'is_float', 'is_num', 'is_map', 'is_array'])
      expect(call(f, [undefined])).toBe(false);
  });
});

describe('is_empty', () => {
  it('is true for empty list, string, map and JSON text of an empty map', () => {
    expect(call('is_empty', [[]])).toBe(true);
    expect(call('is_empty', [''])).toBe(true);
    expect(call('is_empty', [{}])).toBe(true);
    expect(call('is_empty', ['{}'])).toBe(true);
    expect(call('is_empty', [' { } '])).toBe(true);
    expect(call('is_empty', [Buffer.alloc(0)])).toBe(true);
  });
  it('is false otherwise', () => {
    for (const v of [[0], 'a', '[]', '{"a":1}', { a: 1 }, 0, undefined, null])
      expect(call('is_empty', [v as never])).toBe(false);
  });
});

describe('coalesce / coalesce_ne', () => {
  it('coalesce skips undefined only; JSON null is a value', () => {
    expect(call('coalesce', [undefined, 'b'])).toBe('b');
    expect(call('coalesce', [null, 'b'])).toBe(null);
    expect(call('coalesce', [[undefined, undefined, 3]])).toBe(3);
    expect(call('coalesce', [[undefined]])).toBe(undefined);
    expect(call('coalesce', [[]])).toBe(undefined);
  });
  it('coalesce_ne also skips empty strings', () => {
    expect(call('coalesce_ne', ['', 'b'])).toBe('b');
    expect(call('coalesce_ne', [undefined, ''])).toBe(undefined);
    expect(call('coalesce_ne', [['', undefined, null]])).toBe(null);
    expect(call('coalesce_ne', [[Buffer.alloc(0), 'x']])).toBe('x');
  });
});
