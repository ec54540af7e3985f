import { describe, expect, it } from 'vitest';
import { EFloat } from '../../core/index.js';
import { badArg, call } from './test-helpers.js';

describe('str / str_utf8 / str_utf16_le', () => {
  it('formats every kind of value', () => {
    expect(call('str', [undefined])).toBe('undefined');
    expect(call('str', [null])).toBe('null');
    expect(call('str', [true])).toBe('true');
    expect(call('str', [10])).toBe('10');
    expect(call('str', [2n ** 70n])).toBe('1180591620717411303424');
    expect(call('str', [new EFloat(2)])).toBe('2.0');
    expect(call('str', [0.1])).toBe('0.1');
    expect(call('str', [1 / 3])).toBe('0.3333333333');
    expect(call('str', [[1, 'é', { a: null }]])).toBe('[1,"é",{"a":null}]');
    expect(call('str', [Buffer.from('hé')])).toBe('hé');
    expect(call('str_utf8', [1.5])).toBe('1.5');
  });
  it('str_utf16_le encodes the text form as UTF-16LE', () => {
    expect(call('str_utf16_le', ['é'])).toEqual(Buffer.from([0xe9, 0x00]));
    expect(call('str_utf16_le', [12])).toEqual(Buffer.from('12', 'utf16le'));
  });
});

describe('int / float / bool', () => {
  it('int floors floats and parses numeric text', () => {
    expect(call('int', [-1.5])).toBe(-2);
    expect(call('int', [1.9])).toBe(1);
    expect(call('int', [new EFloat(3)])).toBe(3);
    expect(call('int', ['1.0'])).toBe(1);
    expect(call('int', ['-12'])).toBe(-12);
    expect(call('int', ['123456789012345678901234'])).toBe(123456789012345678901234n);
    expect(call('int', [false])).toBe(0);
  });
  it('int rejects non-numeric input', () => {
    for (const v of ['x', '', ' 1', '0x10', '1e3', undefined, null, [1], {}]) badArg('int', [v]);
  });
  it('float converts and rounds to decimals', () => {
    expect(call('float', [2])).toEqual(new EFloat(2));
    expect(call('float', ['-1.5'])).toBe(-1.5);
    expect(call('float', ['7'])).toEqual(new EFloat(7));
    expect(call('float', [1.005, 2])).toEqual(new EFloat(1)); // 1.005 is 1.00499999… in binary
    expect(call('float', [2.675, 2])).toBe(2.67);
    expect(call('float', [1.25, 1])).toBe(1.3);
    expect(call('float', [10, 3])).toEqual(new EFloat(10));
    badArg('float', [1.5, 0], '> 0');
    badArg('float', ['abc']);
    badArg('float', [undefined]);
  });
  it('float2str uses the exact decimal expansion, compacted', () => {
    expect(call('float2str', [20.2, 15])).toBe('20.199999999999999');
    expect(call('float2str', [0.1, 3])).toBe('0.1');
    expect(call('float2str', [2, 2])).toBe('2.0');
    expect(call('float2str', [1.5, 0])).toBe('2');
    badArg('float2str', ['1.5', 2]);
    badArg('float2str', [1.5, -1]);
  });
  it('bool accepts exactly the documented values', () => {
    expect(call('bool', [1])).toBe(true);
    expect(call('bool', [new EFloat(1)])).toBe(true);
    expect(call('bool', ['false'])).toBe(false);
    expect(call('bool', [0])).toBe(false);
    for (const v of ['yes', 2, 'TRUE', undefined, null]) badArg('bool', [v]);
  });
});

describe('map / hex', () => {
  it('map decodes JSON objects only', () => {
    expect(call('map', ['{"a":{"b":2.0}}'])).toEqual({ a: { b: new EFloat(2) } });
    expect(call('map', [{ x: 1 }])).toEqual({ x: 1 });
    badArg('map', ['[1]'], 'not a JSON object');
    badArg('map', ['{bad']);
    badArg('map', [undefined]);
  });
  it('bin2hexstr / hexstr2bin round-trip, with prefixes', () => {
    expect(call('bin2hexstr', [Buffer.from([0, 255, 16])])).toBe('00FF10');
    expect(call('bin2hexstr', [''])).toBe('');
    expect(call('hexstr2bin', ['abC'])).toEqual(Buffer.from([0x0a, 0xbc]));
    expect(call('hexstr2bin', ['0xff', '0x'])).toEqual(Buffer.from([0xff]));
    badArg('hexstr2bin', ['ff', '0x'], 'binary_prefix_unmatch');
    badArg('hexstr2bin', ['zz'], 'not a hex string');
    badArg('bin2hexstr', [12]);
    expect(call('sqlserver_bin2hexstr', [Buffer.from([1, 2])])).toBe('0x0102');
  });
});
