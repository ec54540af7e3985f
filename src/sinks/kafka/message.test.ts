import { describe, it, expect } from 'vitest';
import { validate } from '../../core/index.js';
import type { SinkRecord, ValueMap } from '../../core/index.js';
import { kafkaSpec } from './config.js';
import type { KafkaSinkConfig } from './config.js';
import { KEY_CACHE_SIZE, createMessageMapper } from './message.js';

function mapper(input: Record<string, unknown>) {
  const v = validate<KafkaSinkConfig>(kafkaSpec, { bootstrap_hosts: 'h:1', topic: 't', ...input });
  if (!v.ok) throw new Error(JSON.stringify(v.issues));
  return createMessageMapper(v.value);
}
const rec = (data: ValueMap, context?: ValueMap): SinkRecord => ({
  data,
  ruleId: 'r',
  ingestTs: 0,
  ...(context ? { context } : {}),
});

describe('Kafka message mapping', () => {
  it('defaults: key ${clientid} (from the event), value = rule output JSON, timestamp ${timestamp}', () => {
    const m = mapper({})(
      rec({ t: 21.5, ok: true }, { clientid: 'dev-1', timestamp: 1700000000123 }),
    );
    expect(m.topic).toBe('t');
    expect(m.key?.toString()).toBe('dev-1');
    expect(JSON.parse(m.value!.toString())).toEqual({ t: 21.5, ok: true });
    expect(m.timestamp).toBe('1700000000123');
    expect(m.headers).toBeUndefined();
  });

  it('missing key/value render as NULL; a Buffer value is sent raw', () => {
    const m = mapper({ message: { key: '${nope}', value: '${payload}' } })(
      rec({ payload: Buffer.from([0, 1, 255]) }),
    );
    expect(m.key).toBeNull();
    expect([...m.value!]).toEqual([0, 1, 255]);
    const empty = mapper({ message: { key: '', value: '${nope}' } })(rec({}));
    expect(empty.key).toBeNull();
    expect(empty.value).toBeNull();
  });

  it('templated topic and text templates', () => {
    const m = mapper({
      topic: 'site-${payload.site}',
      message: { key: '${a}-${b}', value: 'v=${a}' },
    })(rec({ a: 1, b: 'x', payload: '{"site":"north"}' }));
    expect(m.topic).toBe('site-north');
    expect(m.key?.toString()).toBe('1-x');
    expect(m.value?.toString()).toBe('v=1');
  });

  it('timestamp: integer ms or numeric text, otherwise undefined (= send time)', () => {
    const f = mapper({ message: { timestamp: '${ts}' } });
    expect(f(rec({ ts: '1700000000000' })).timestamp).toBe('1700000000000');
    expect(f(rec({ ts: 12.5 })).timestamp).toBeUndefined();
    expect(f(rec({ ts: 'soon' })).timestamp).toBeUndefined();
    expect(f(rec({})).timestamp).toBeUndefined();
  });

  it('headers: templates, empty names skipped, json encode mode', () => {
    const headers = [
      { key: 'dev', value: '${clientid}' },
      { key: '${missing}', value: 'x' },
      { key: 'n', value: '${n}' },
    ];
    const none = mapper({ headers })(rec({ n: 5 }, { clientid: 'c1' }));
    expect(
      Object.fromEntries(Object.entries(none.headers!).map(([k, v]) => [k, v.toString()])),
    ).toEqual({
      dev: 'c1',
      undefined: 'x',
      n: '5',
    });
    const json = mapper({
      headers: [{ key: 'dev', value: '${clientid}' }],
      header_value_encode_mode: 'json',
    })(rec({}, { clientid: 'c1' }));
    expect(json.headers!['dev']!.toString()).toBe('"c1"');
    expect(json.size).toBeGreaterThan(0);
  });

  const text = (h: Record<string, Buffer | Buffer[]> | undefined) =>
    Object.fromEntries(
      Object.entries(h ?? {}).map(([k, v]) => [
        k,
        Array.isArray(v) ? v.map((x) => x.toString()) : v.toString(),
      ]),
    );
  const v5 = {
    clientid: 'c1',
    pub_props: {
      'User-Property': { site: 'north', tags: ['a', 'b'], n: '1' },
      'Content-Type': 'application/json',
      'Correlation-Data': Buffer.from([0, 1, 255]),
    },
  };

  it('kafka_headers: a map placeholder, list values repeat the header', () => {
    const m = mapper({ kafka_headers: "${pub_props.'User-Property'}" })(rec({}, v5));
    expect(text(m.headers)).toEqual({ site: 'north', tags: ['a', 'b'], n: '1' });
  });

  it('kafka_headers: a list of {key, value} pairs; other values add nothing', () => {
    const f = mapper({ kafka_headers: '${hs}' });
    expect(
      text(
        f(
          rec({
            hs: [{ key: 'a', value: 'x' }, { key: 'a', value: 'y' }, ['b', 2]],
          }),
        ).headers,
      ),
    ).toEqual({ a: ['x', 'y'], b: '2' });
    expect(f(rec({ hs: 'not a map' })).headers).toBeUndefined();
    expect(f(rec({ hs: 5 })).headers).toBeUndefined();
    expect(f(rec({})).headers).toBeUndefined();
  });

  it('kafka_ext_headers: content type and correlation data; missing values left out', () => {
    const f = mapper({
      kafka_headers: "${pub_props.'User-Property'}",
      kafka_ext_headers: [
        {
          kafka_ext_header_key: 'content-type',
          kafka_ext_header_value: "${pub_props.'Content-Type'}",
        },
        {
          kafka_ext_header_key: 'correlation',
          kafka_ext_header_value: "${pub_props.'Correlation-Data'}",
        },
        { kafka_ext_header_key: 'resp', kafka_ext_header_value: "${pub_props.'Response-Topic'}" },
        { kafka_ext_header_key: 'site', kafka_ext_header_value: 'south' },
      ],
    });
    const m = f(rec({}, v5));
    expect(text(m.headers)).toEqual({
      site: ['north', 'south'],
      tags: ['a', 'b'],
      n: '1',
      'content-type': 'application/json',
      correlation: Buffer.from([0, 1, 255]).toString(),
    });
    expect([...(m.headers!['correlation'] as Buffer)]).toEqual([0, 1, 255]);
  });

  it('kafka_header_value_encode_mode json (the EMQX name wins over header_value_encode_mode)', () => {
    const m = mapper({
      kafka_headers: "${pub_props.'User-Property'}",
      header_value_encode_mode: 'none',
      kafka_header_value_encode_mode: 'json',
    })(rec({}, v5));
    expect(text(m.headers)).toEqual({ site: '"north"', tags: '["a","b"]', n: '"1"' });
  });

  it('passes a W3C traceparent/tracestate user property through by default, as plain text', () => {
    const tp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const ctx = {
      pub_props: { 'User-Property': { traceparent: tp, tracestate: 'x=1', other: 'o' } },
    };
    const json = mapper({ header_value_encode_mode: 'json' })(rec({}, ctx));
    expect(text(json.headers)).toEqual({ traceparent: tp, tracestate: 'x=1' });
    // A header setting that already names it wins; empty trace_context_headers turns it off.
    const own = mapper({ headers: [{ key: 'traceparent', value: 'mine' }] })(rec({}, ctx));
    expect(text(own.headers)).toEqual({ traceparent: 'mine', tracestate: 'x=1' });
    expect(mapper({ trace_context_headers: '' })(rec({}, ctx)).headers).toBeUndefined();
    // Nothing to pass: no headers at all.
    expect(mapper({})(rec({}, { pub_props: {} })).headers).toBeUndefined();
  });

  it('size estimate grows with key, value and headers', () => {
    const f = mapper({ message: { key: '${k}', value: '${v}' } });
    const small = f(rec({ k: 'a', v: 'b' })).size;
    const big = f(rec({ k: 'a', v: 'b'.repeat(1000) })).size;
    expect(big - small).toBe(999);
  });

  it('a text value stays a string; its size counts UTF-8 bytes', () => {
    const f = mapper({ message: { key: '', value: '${v}' } });
    const m = f(rec({ v: 'héllo' }));
    expect(m.value).toBe('héllo');
    const ascii = f(rec({ v: 'hello' }));
    expect(m.size - ascii.size).toBe(1); // é is 2 bytes
    // A map value is its JSON text.
    expect(mapper({})(rec({ a: 1, p: Buffer.from('x"y') })).value).toBe('{"a":1,"p":"x\\"y"}');
  });

  it('key bytes are shared by records with the same key, bounded by KEY_CACHE_SIZE', () => {
    const f = mapper({ message: { key: '${k}', value: 'v' } });
    const a = f(rec({ k: 'dev-1' })).key!;
    const b = f(rec({ k: 'dev-1' })).key!;
    expect(a.toString()).toBe('dev-1');
    expect(b).toBe(a);
    expect(f(rec({ k: 'dev-2' })).key!.toString()).toBe('dev-2');
    // Fill the cache past its bound: it starts over, so dev-1 gets fresh (equal) bytes.
    for (let i = 0; i < KEY_CACHE_SIZE; i++) f(rec({ k: `other-${i}` }));
    const c = f(rec({ k: 'dev-1' })).key!;
    expect(c).not.toBe(a);
    expect(c.equals(a)).toBe(true);
    // Non-text keys are not cached (a Buffer is used as is).
    const raw = Buffer.from([1, 2]);
    expect(f(rec({ k: raw })).key).toBe(raw);
  });
});
