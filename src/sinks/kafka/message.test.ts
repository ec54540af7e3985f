import { describe, it, expect } from 'vitest';
import { validate } from '../../core/index.js';
import type { SinkRecord, ValueMap } from '../../core/index.js';
import { kafkaSpec } from './config.js';
import type { KafkaSinkConfig } from './config.js';
import { createMessageMapper } from './message.js';

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

  it('size estimate grows with key, value and headers', () => {
    const f = mapper({ message: { key: '${k}', value: '${v}' } });
    const small = f(rec({ k: 'a', v: 'b' })).size;
    const big = f(rec({ k: 'a', v: 'b'.repeat(1000) })).size;
    expect(big - small).toBe(999);
  });
});
