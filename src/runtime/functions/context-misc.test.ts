import { afterAll, describe, expect, it } from 'vitest';
import { EFloat } from '../../core/index.js';
import type { Value } from '../../core/index.js';
import { createDefaultServices, createJqRunner } from './index.js';
import type { Clause } from './index.js';
import { badArg, call, makeCtx } from './test-helpers.js';

const columns: Record<string, Value> = {
  id: 'ID1',
  clientid: 'c1',
  username: 'u1',
  peerhost: '10.0.0.1',
  qos: 2,
  topic: 'a/b/c',
  flags: { retain: true, dup: false },
  payload: '{"x":{"y":[1,2]},"s":"{\\"deep\\":true}"}',
};

describe('context functions (§8.1)', () => {
  const sel = makeCtx({ columns });
  it('read columns in SELECT and DO', () => {
    for (const clause of ['select', 'do'] as Clause[]) {
      const c = makeCtx({ columns, clause });
      expect(call('msgid', [], c)).toBe('ID1');
      expect(call('clientid', [], c)).toBe('c1');
      expect(call('username', [], c)).toBe('u1');
      expect(call('peerhost', [], c)).toBe('10.0.0.1');
      expect(call('clientip', [], c)).toBe('10.0.0.1');
      expect(call('qos', [], c)).toBe(2);
      expect(call('topic', [], c)).toBe('a/b/c');
      expect(call('flags', [], c)).toEqual({ retain: true, dup: false });
      expect(call('flag', ['retain'], c)).toBe(true);
    }
  });
  it('return undefined (flags: {}) in WHERE, FOREACH and INCASE', () => {
    for (const clause of ['where', 'foreach', 'incase'] as Clause[]) {
      const c = makeCtx({ columns, clause });
      for (const f of [
        'msgid',
        'clientid',
        'username',
        'peerhost',
        'clientip',
        'qos',
        'topic',
        'payload',
      ])
        expect(call(f, [], c), `${f} in ${clause}`).toBe(undefined);
      expect(call('topic', [1], c)).toBe(undefined);
      expect(call('flag', ['retain'], c)).toBe(undefined);
      expect(call('payload', ['x'], c)).toBe(undefined);
      expect(call('flags', [], c)).toEqual({});
    }
  });
  it('topic(N) is 1-based and fails out of range', () => {
    expect(call('topic', [1], sel)).toBe('a');
    expect(call('topic', [3], sel)).toBe('c');
    expect(() => call('topic', [0], sel)).toThrow(/out of range/);
    badArg('topic', [0]); // N is checked even when there is no topic
    badArg('topic', ['1']);
    expect(() => call('topic', [4], sel)).toThrow(/out of range/);
  });
  it('payload(Path) decodes the payload and nested JSON text', () => {
    expect(call('payload', ['x.y'], sel)).toEqual([1, 2]);
    expect(call('payload', ['s.deep'], sel)).toBe(true);
    expect(call('payload', ['missing.key'], sel)).toBe(undefined);
    expect(call('payload', ['x'], makeCtx({ columns: { payload: 'not json' } }))).toBe(undefined);
    expect(
      call('payload', ['x'], makeCtx({ columns: { payload: Buffer.from('{"x":2.0}') } })),
    ).toEqual(new EFloat(2));
    expect(call('payload', ['x'], makeCtx({ columns: { payload: { x: 1 } } }))).toBe(1);
  });
  it('contains_topic / contains_topic_match', () => {
    const filters = [{ topic: 't/#', qos: 1 }, { topic: 'a/b', qos: 0 }, 'junk'] as Value;
    expect(call('contains_topic', [filters, 'a/b'])).toBe(true);
    expect(call('contains_topic', [filters, 't/x'])).toBe(false);
    expect(call('contains_topic', [filters, 'a/b', 0])).toBe(true);
    expect(call('contains_topic', [filters, 'a/b', 1])).toBe(false);
    expect(call('contains_topic_match', [filters, 't/x/y'])).toBe(true);
    expect(call('contains_topic_match', [filters, 't/x/y', 1])).toBe(true);
    expect(call('contains_topic_match', [[{ topic: '+/#' }], '$SYS/x'])).toBe(false);
    expect(call('contains_topic_match', [[{ topic: 'a/+' }], 'a/b/c'])).toBe(false);
    badArg('contains_topic', ['t/#', 't']);
  });
  it('null() is undefined', () => {
    expect(call('null', [])).toBe(undefined);
  });
});

describe('random and uuids', () => {
  it('random is a float in [0,1)', () => {
    for (let i = 0; i < 100; i++) {
      const r = call('random', []);
      const n = r instanceof EFloat ? r.value : (r as number);
      expect(n).toBeGreaterThanOrEqual(0);
      expect(n).toBeLessThan(1);
    }
  });
  it('uuids are v4 and distinct', () => {
    const a = call('uuid_v4', []) as string;
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(call('uuid_v4', [])).not.toBe(a);
    expect(call('uuid_v4_no_hyphen', [])).toMatch(/^[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}$/);
  });
});

describe('getenv', () => {
  it('reads only EMQXVAR_-prefixed variables, caches them, and returns "" when unset', () => {
    const key = `SLUICE_TEST_${process.pid}_${Math.random().toString(36).slice(2)}`;
    process.env[`EMQXVAR_${key}`] = 'v1';
    process.env[key] = 'plain';
    try {
      const c = makeCtx();
      expect(call('getenv', [key], c)).toBe('v1');
      process.env[`EMQXVAR_${key}`] = 'v2';
      expect(call('getenv', [key], c)).toBe('v1'); // cached per engine
      expect(call('getenv', [key], makeCtx())).toBe('v2'); // a new engine reads again
      expect(call('getenv', [`${key}_UNSET`], c)).toBe('');
      expect(createDefaultServices().getenv(key)).toBe(undefined); // not prefixed → never read
      badArg('getenv', [undefined]);
    } finally {
      delete process.env[`EMQXVAR_${key}`];
      delete process.env[key];
    }
  });
});

describe('kv_store (node-global)', () => {
  it('put/get/del across calls that share services', () => {
    const c = makeCtx();
    expect(call('kv_store_get', ['k'], c)).toBe(undefined);
    expect(call('kv_store_get', ['k', 'dflt'], c)).toBe('dflt');
    expect(call('kv_store_put', ['k', { v: 1 }], c)).toBe(true);
    expect(call('kv_store_get', ['k', 'dflt'], c)).toEqual({ v: 1 });
    expect(call('kv_store_put', [1, 'int key'], c)).toBe(true);
    expect(call('kv_store_get', ['1'], c)).toBe(undefined); // 1 and '1' are different keys
    expect(call('kv_store_get', [1], c)).toBe('int key');
    expect(call('kv_store_del', ['k'], c)).toBe(true);
    expect(call('kv_store_get', ['k'], c)).toBe(undefined);
    expect(call('kv_store_get', ['k'], makeCtx())).toBe(undefined); // another engine
  });
});

describe('proc_dict (per client)', () => {
  it('keeps state per client id and returns previous values', () => {
    const services = createDefaultServices();
    const c1 = { clause: 'select' as const, columns: { clientid: 'c1' }, services };
    const c2 = { clause: 'select' as const, columns: { clientid: 'c2' }, services };
    expect(call('proc_dict_put', ['n', 1], c1)).toBe(undefined);
    expect(call('proc_dict_put', ['n', 2], c1)).toBe(1);
    expect(call('proc_dict_get', ['n'], c1)).toBe(2);
    expect(call('proc_dict_get', ['n'], c2)).toBe(undefined);
    expect(call('proc_dict_del', ['n'], c1)).toBe(2);
    expect(call('proc_dict_get', ['n'], c1)).toBe(undefined);
  });
  it('fails clearly when the runtime offers no per-client state', () => {
    const services = { ...createDefaultServices(), procDict: undefined };
    expect(() => call('proc_dict_get', ['n'], { clause: 'select', columns: {}, services })).toThrow(
      /not available/,
    );
  });
});

describe('jq', () => {
  const runner = createJqRunner();
  afterAll(() => runner.close());
  const c = makeCtx({ services: { jq: (p, i, t) => runner.run(p, i, t) } });

  it('returns every output as a list, decoding numbers like the value model', () => {
    expect(call('jq', ['.[] | .a', '[{"a":1},{"a":2.0},{"a":"x"}]'], c)).toEqual([
      1,
      new EFloat(2),
      'x',
    ]);
    expect(call('jq', ['.', { big: 12345678901234567890n }], c)).toEqual([
      { big: 12345678901234567890n },
    ]);
  });
  it('treats a string as JSON text and other values as terms', () => {
    expect(call('jq', ['type', '"s"'], c)).toEqual(['string']);
    expect(call('jq', ['type', [1]], c)).toEqual(['array']);
    expect(call('jq', ['.', undefined], c)).toEqual([null]);
  });
  it('errors, invalid input and timeouts are BadArg', () => {
    expect(() => call('jq', ['error("boom")', '1'], c)).toThrow(/boom/);
    expect(() => call('jq', ['.a |||', '1'], c)).toThrow(/syntax error/);
    expect(() => call('jq', ['.', '{bad'], c)).toThrow(/jq/);
    expect(() => call('jq', ['[range(0; 1e12)] | length', 'null', 200], c)).toThrow(/timeout/);
    // the runner recovers after a timeout
    expect(call('jq', ['. + 1', '1'], c)).toEqual([2]);
    expect(() => call('jq', ['.', '1', 0], c)).toThrow(/positive/);
  });
  it('default services start the jq worker lazily and close it', async () => {
    const services = createDefaultServices();
    const d = { clause: 'select' as const, columns: {}, services };
    expect(call('jq', ['.', '[1]'], d)).toEqual([[1]]);
    await services.close?.();
    expect(call('jq', ['length', '[1,2]'], d)).toEqual([2]); // starts again after close
    await services.close?.();
  });
  it('fails clearly without a jq runtime', () => {
    const services = { ...createDefaultServices(), jq: undefined };
    expect(() => call('jq', ['.', '1'], { clause: 'select', columns: {}, services })).toThrow(
      /no jq runtime/,
    );
  });
});
