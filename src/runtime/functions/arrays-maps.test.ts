import { describe, expect, it } from 'vitest';
import { EFloat } from '../../core/index.js';
import { badArg, both, call } from './test-helpers.js';

describe('array functions', () => {
  it('nth is 1-based; out of range or non-integer index fails', () => {
    expect(call('nth', [1, ['a', 'b']])).toBe('a');
    badArg('nth', [0, ['a']], 'out of range');
    badArg('nth', [3, ['a', 'b']], 'out of range');
    badArg('nth', [-1, ['a']]);
    badArg('nth', ['1', ['a']]);
    badArg('nth', [1, 'ab']);
  });
  it('length, first, last', () => {
    expect(call('length', [[]])).toBe(0);
    badArg('length', ['abc']);
    badArg('length', [undefined]);
    expect(call('first', [[undefined, 1]])).toBe(undefined);
    badArg('first', [[]], 'empty');
    badArg('last', [[]], 'empty');
  });
  it('sublist forms', () => {
    expect(call('sublist', [0, [1, 2]])).toEqual([]);
    expect(call('sublist', [5, [1, 2]])).toEqual([1, 2]);
    expect(call('sublist', [1, 1, [1, 2]])).toEqual([1]);
    expect(call('sublist', [3, 1, [1, 2]])).toEqual([]);
    expect(call('sublist', [9, 1, [1, 2]])).toEqual([]);
    badArg('sublist', [0, 1, [1]], 'start');
    badArg('sublist', [-1, [1]], 'negative');
  });
  it('contains uses exact deep equality', () => {
    expect(call('contains', [{ a: [1] }, [{ a: [1] }]])).toBe(true);
    expect(call('contains', [1, [new EFloat(1)]])).toBe(false);
    expect(call('contains', ['1', [1]])).toBe(false);
    expect(call('contains', [undefined, [null]])).toBe(false);
    expect(call('contains', ['a', [Buffer.from('a')]])).toBe(true);
  });
});

describe('map functions', () => {
  it('map_get follows dot paths and decodes JSON text on the way', () => {
    const m = { a: { b: '{"c":[1]}' }, 'x.y': 5 };
    expect(both('map_get', ['a.b.c', m])).toEqual([1]);
    expect(both('map_get', ['a.missing', m, 'd'])).toBe('d');
    expect(both('map_get', ['x.y', m])).toBe(undefined);
    expect(both('map_get', ['a', '{"a":null}', 'd'])).toBe(null);
    // not a map: no value at the path (EMQX nested_get), never an error
    expect(both('map_get', ['a', 'not json', 'd'])).toBe('d');
    expect(both('map_get', ['a', undefined])).toBe(undefined);
    expect(both('map_get', ['a', [1], 0])).toBe(0);
    expect(both('map_get', ['a.b', { a: 5 }, 'd'])).toBe('d');
  });
  it('map_put creates intermediate maps and never mutates its input', () => {
    const m = { a: { keep: 1 }, s: 'text' };
    expect(both('map_put', ['a.b.c', 1, m])).toEqual({ a: { keep: 1, b: { c: 1 } }, s: 'text' });
    expect(both('map_put', ['s.x', 2, m])).toEqual({ a: { keep: 1 }, s: { x: 2 } });
    expect(m).toEqual({ a: { keep: 1 }, s: 'text' });
    expect(call('map_put', ['k', undefined, { a: 1 }])).toEqual({ a: 1 });
    expect(call('map_put', ['k', null, { a: 1 }])).toEqual({ a: 1, k: null });
    expect(call('map_put', ['k', 1, '{"a":1}'])).toEqual({ a: 1, k: 1 });
    expect(call('map_put', ['k', 1, undefined])).toEqual({ k: 1 });
    expect(call('map_put', ['k', 1, 'not json'])).toEqual({ k: 1 });
  });
  it('mget/mput treat the key literally', () => {
    expect(call('mget', ['a.b', { 'a.b': 1, a: { b: 2 } }])).toBe(1);
    expect(call('mget', ['z', {}, 0])).toBe(0);
    expect(call('mput', ['a.b', 1, { a: 1 }])).toEqual({ a: 1, 'a.b': 1 });
    expect(call('mget', [1, { '1': 'one' }])).toBe('one');
  });
  it('keys, values, entries, size (text decoded)', () => {
    const t = '{"b":1,"a":[2]}';
    expect(call('map_keys', [t])).toEqual(['b', 'a']);
    expect(call('map_values', [t])).toEqual([1, [2]]);
    expect(call('map_to_entries', [{}])).toEqual([]);
    expect(call('map_size', [t])).toBe(2);
    badArg('map_keys', ['[1,2]']);
    badArg('map_size', [null]);
    expect(call('map_size', [[]])).toBe(0); // Erlang maps:from_list([])
  });
  it('map_new returns a fresh map each call', () => {
    const a = call('map_new', []);
    expect(a).toEqual({});
    expect(call('map_new', [])).not.toBe(a);
  });
});
