import { describe, expect, it } from 'vitest';
import { compileTemplate, lookupPath, renderBytes, renderText } from './template.js';
import { EFloat } from './values.js';
import type { ValueMap } from './values.js';

const data: ValueMap = {
  clientid: 'c1',
  qos: 1,
  n: 2.5,
  f: new EFloat(2),
  big: 12345678901234567890n,
  ok: true,
  nil: null,
  obj: { a: 1, b: [1, 'x'] },
  list: [1, 2],
  payload: Buffer.from('{"temp":21.5,"nested":{"k":"v"},"arr":[3]}'),
  text_payload: '{"x":7}',
  pub_props: { 'User-Property': { foo: 'bar' } },
  'weird key': 'w',
};

describe('compileTemplate', () => {
  it('returns the raw value for a template that is exactly one placeholder', () => {
    expect(compileTemplate('${qos}')(data)).toBe(1);
    expect(compileTemplate('${obj}')(data)).toEqual({ a: 1, b: [1, 'x'] });
    expect(compileTemplate('${payload}')(data)).toBe(data['payload']);
    expect(compileTemplate('${nil}')(data)).toBeNull();
    expect(compileTemplate('${missing}')(data)).toBeUndefined();
    expect(compileTemplate('${payload.temp}')(data)).toBe(21.5);
    expect(compileTemplate('${text_payload.x}')(data)).toBe(7);
  });

  it('treats ${.} and ${} as the whole output and ignores a leading dot', () => {
    expect(compileTemplate('${.}')(data)).toBe(data);
    expect(compileTemplate('${}')(data)).toBe(data);
    expect(compileTemplate('${.clientid}')(data)).toBe('c1');
    expect(compileTemplate('${.obj.a}')(data)).toBe(1);
  });

  it('renders mixed text with EMQX value-to-text rules', () => {
    const t = compileTemplate(
      'c=${clientid} q=${qos} n=${n} f=${f} big=${big} ok=${ok} nil=${nil} obj=${obj} list=${list} m=${missing}',
    );
    expect(t(data)).toBe(
      'c=c1 q=1 n=2.5 f=2.0 big=12345678901234567890 ok=true nil=null obj={"a":1,"b":[1,"x"]} list=[1,2] m=undefined',
    );
    expect(compileTemplate('t/${payload}')(data)).toBe(
      't/{"temp":21.5,"nested":{"k":"v"},"arr":[3]}',
    );
    expect(compileTemplate('${payload.nested.k}-${payload.arr}')(data)).toBe('v-[3]');
  });

  it('floats render with at most 10 decimals', () => {
    expect(compileTemplate('x${v}')({ v: 1 / 3 })).toBe('x0.3333333333');
  });

  it('lets the caller choose the text of a missing value', () => {
    const t = compileTemplate('a${missing}b', { undefinedText: '' });
    expect(t(data)).toBe('ab');
    expect(renderText(compileTemplate('${missing}', { undefinedText: '' }), data)).toBe('');
    expect(renderText(compileTemplate('${missing}'), data)).toBe('undefined');
  });

  it('supports quoted segments for keys with other characters', () => {
    expect(compileTemplate("${pub_props.'User-Property'.foo}")(data)).toBe('bar');
    expect(compileTemplate("${pub_props.'User-Property'}")(data)).toEqual({ foo: 'bar' });
    expect(compileTemplate("${'weird key'}!")(data)).toBe('w!');
  });

  it('leaves text that is not a placeholder literal, never throws', () => {
    expect(compileTemplate('${a b}')(data)).toBe('${a b}');
    expect(compileTemplate('${unterminated')(data)).toBe('${unterminated');
    expect(compileTemplate("${'open}")(data)).toBe("${'open}");
    expect(compileTemplate('$clientid {x} $')(data)).toBe('$clientid {x} $');
    expect(compileTemplate('${a-b}/${clientid}')(data)).toBe('${a-b}/c1');
    expect(compileTemplate('')(data)).toBe('');
  });

  it('renders ${$} as a literal dollar (EMQX escape)', () => {
    expect(compileTemplate('${$}{clientid}=${clientid}')(data)).toBe('${clientid}=c1');
  });

  it('looks up the rule output first, then the event context', () => {
    const ctx: ValueMap = { clientid: 'from-ctx', topic: 't/1', payload: '{"z":9}' };
    const t = compileTemplate('${clientid}|${topic}|${payload.z}');
    expect(t({ clientid: 'out' }, ctx)).toBe('out|t/1|9');
    // a present-but-null output value wins over the context
    expect(compileTemplate('${clientid}')({ clientid: null }, ctx)).toBeNull();
    // ${.} never falls back to the context
    expect(compileTemplate('${.}')({}, ctx)).toEqual({});
  });

  it('does not read inherited properties', () => {
    expect(compileTemplate('${constructor}')({})).toBeUndefined();
    expect(compileTemplate('${obj.toString}')(data)).toBeUndefined();
  });

  it('reports its shape', () => {
    const c = compileTemplate('abc');
    expect(c.isConst).toBe(true);
    expect(c.isSingleVar).toBe(false);
    const s = compileTemplate('${a.b}');
    expect(s.isSingleVar).toBe(true);
    expect(s.paths).toEqual([['a', 'b']]);
    expect(compileTemplate('x${a}${b}').paths).toEqual([['a'], ['b']]);
  });
});

describe('renderText / renderBytes', () => {
  it('converts raw values of single placeholders to text', () => {
    expect(renderText(compileTemplate('${qos}'), data)).toBe('1');
    expect(renderText(compileTemplate('${obj}'), data)).toBe('{"a":1,"b":[1,"x"]}');
    expect(renderText(compileTemplate('${payload}'), data)).toBe(
      '{"temp":21.5,"nested":{"k":"v"},"arr":[3]}',
    );
  });

  it('passes Buffers through as bytes untouched', () => {
    const bin = Buffer.from([0xff, 0x00, 0xfe]);
    const out = renderBytes(compileTemplate('${payload}'), { payload: bin });
    expect(out).toBe(bin);
    expect(renderBytes(compileTemplate('${.}'), { a: 1 }).toString()).toBe('{"a":1}');
    expect(renderBytes(compileTemplate('é${a}'), { a: 1 }).toString('utf8')).toBe('é1');
  });
});

describe('lookupPath', () => {
  it('does not decode non-JSON strings and stops at scalars', () => {
    expect(lookupPath({ a: 'plain' }, ['a', 'b'])).toBeUndefined();
    expect(lookupPath({ a: 5 }, ['a', 'b'])).toBeUndefined();
    expect(lookupPath({ a: '{bad json' }, ['a', 'b'])).toBeUndefined();
    expect(lookupPath({ a: '[1]' }, ['a', '0'])).toBeUndefined();
  });
});

describe('payload decoding', () => {
  it('decodes a Buffer payload once per record when several fields are read', () => {
    const t = compileTemplate('${payload.a}/${payload.b}/${payload.a}');
    const payload = Buffer.from('{"a":1,"b":"x"}');
    expect(t({ payload })).toBe('1/x/1');
    expect(t({ payload })).toBe('1/x/1');
    // another record (another Buffer) is decoded afresh
    expect(t({ payload: Buffer.from('{"a":2,"b":"y"}') })).toBe('2/y/2');
  });
});
