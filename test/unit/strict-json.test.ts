import { describe, expect, it } from 'vitest';

import { parseStrictJson } from '../strict-json.js';

describe('parseStrictJson', () => {
  it('parses what JSON.parse parses, to the same value', () => {
    const texts = [
      '{"level":30,"time":1,"component":"broker.listener","msg":"listening","port":1883}',
      '{"a":[1,-2.5e3,true,false,null,{"b":"x\\"y\\u00e9\\n"}],"c":{}}',
      ' [ ] ',
      '"s"',
      '0',
    ];
    for (const t of texts) expect(parseStrictJson(t)).toEqual(JSON.parse(t));
  });

  it('rejects a duplicated key at any depth, also when spelled with an escape', () => {
    expect(() => parseStrictJson('{"component":"sluice","component":"broker"}')).toThrow(
      /duplicate key "component" at offset 22/,
    );
    expect(() => parseStrictJson('{"a":{"b":1,"b":2}}')).toThrow(/duplicate key "b"/);
    expect(() => parseStrictJson('[{"x":1},{"x":1,"x":1}]')).toThrow(/duplicate key "x"/);
    expect(() => parseStrictJson('{"a":1,"\\u0061":2}')).toThrow(/duplicate key "a"/);
  });

  it('keeps a "__proto__" member as data', () => {
    const v = parseStrictJson('{"__proto__":{"polluted":1}}') as Record<string, unknown>;
    expect(Object.keys(v)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('rejects what is not JSON', () => {
    for (const t of ['{"a":1,}', '{a:1}', "{'a':1}", '[1,]', '01', '{"a":1} x', '', 'nul', '"\t"'])
      expect(() => parseStrictJson(t), t).toThrow();
  });
});
