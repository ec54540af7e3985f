import { describe, expect, it } from 'vitest';
import { EFloat, SluiceError, silentLogger, validate } from '../../core/index.js';
import type { SinkRecord, ValueMap } from '../../core/index.js';
import { sinkNotConnected } from '../runner/index.js';
import { createRepublishSink, createRepublishSinkType, republishSinkSpec } from './index.js';
import type { RepublishConfig, RepublishMessage } from './index.js';

const deps = { logger: silentLogger, now: () => 0 };

function port(fail?: (m: RepublishMessage) => unknown) {
  const sent: RepublishMessage[] = [];
  const publish = async (m: RepublishMessage): Promise<void> => {
    const e = fail?.(m);
    if (e) throw e;
    sent.push(m);
  };
  return { sent, publish };
}

const ctx: ValueMap = {
  clientid: 'dev-1',
  topic: 'sensors/1',
  qos: 1,
  flags: { retain: true },
  payload: Buffer.from('{"temp":21.5}'),
  pub_props: { 'User-Property': { site: 'north', tags: ['a', 'b'] } },
};
const rec = (data: ValueMap, context: ValueMap | null = ctx, ruleId = 'r1'): SinkRecord =>
  context ? { data, ruleId, ingestTs: 0, context } : { data, ruleId, ingestTs: 0 };

async function one(config: RepublishConfig, r: SinkRecord) {
  const p = port();
  const sink = createRepublishSink(deps, config, p.publish);
  const res = await sink.write([r]);
  return { msg: p.sent[0], res };
}

describe('republish sink', () => {
  it('uses EMQX defaults: qos/retain/payload/user props of the triggering message', async () => {
    const cfg = validate<RepublishConfig>(republishSinkSpec, { topic: 'out/${clientid}' });
    expect(cfg.ok).toBe(true);
    if (!cfg.ok) return;
    const { msg, res } = await one(cfg.value, rec({ t: 21.5 }));
    expect(res).toBeUndefined();
    expect(msg).toEqual({
      topic: 'out/dev-1',
      payload: ctx['payload'],
      qos: 1,
      retain: true,
      ruleId: 'r1',
      properties: { userProperties: { site: 'north', tags: ['a', 'b'] } },
    });
  });

  it('an empty payload template publishes the whole rule output as JSON', async () => {
    const { msg } = await one(
      { topic: 't', payload: '' },
      rec({ a: 1, f: new EFloat(2), s: 'x' }, null),
    );
    expect(msg?.payload.toString()).toBe('{"a":1,"f":2.0,"s":"x"}');
    expect(msg?.qos).toBe(0); // ${qos} missing → 0
    expect(msg?.retain).toBe(false); // ${flags.retain} missing → false
    expect(msg?.properties).toBeUndefined();
  });

  it('renders text templates, missing values as "undefined"', async () => {
    const { msg } = await one(
      { topic: 'a/${nope}/${clientid}', payload: 'T=${payload.temp};x=${x}' },
      rec({ clientid: 'out-id' }),
    );
    expect(msg?.topic).toBe('a/undefined/out-id');
    expect(msg?.payload.toString()).toBe('T=21.5;x=undefined');
  });

  it('takes qos and retain from templates or constants and rejects invalid values', async () => {
    const p = port();
    const sink = createRepublishSink(deps, { topic: 't', qos: '${q}', retain: '${r}' }, p.publish);
    const res = await sink.write([
      rec({ q: 2, r: false }),
      rec({ q: '1', r: 'true' }),
      rec({ q: 3, r: true }),
      rec({ q: 0, r: 'yes' }),
    ]);
    expect(p.sent.map((m) => [m.qos, m.retain])).toEqual([
      [2, false],
      [1, true],
    ]);
    expect(res).toEqual({
      retry: [],
      rejected: [
        { index: 2, code: 'republish_invalid_qos', message: expect.any(String) },
        { index: 3, code: 'republish_invalid_retain', message: expect.any(String) },
      ],
    });
    const c = await one({ topic: 't', qos: 2, retain: true }, rec({}));
    expect([c.msg?.qos, c.msg?.retain]).toEqual([2, true]);
  });

  it('rejects records whose topic renders empty or with wildcards', async () => {
    const p = port();
    const sink = createRepublishSink(deps, { topic: '${t}' }, p.publish);
    const res = await sink.write([
      rec({ t: 'ok/1' }),
      rec({ t: 'a/+' }),
      rec({ t: '' }),
      rec({ t: '#' }),
    ]);
    expect(p.sent.map((m) => m.topic)).toEqual(['ok/1']);
    expect(res?.rejected?.map((r) => [r.index, r.code])).toEqual([
      [1, 'republish_invalid_topic'],
      [2, 'republish_invalid_topic'],
      [3, 'republish_invalid_topic'],
    ]);
  });

  it('sets MQTT 5 properties from templates, leaving out values that do not fit', async () => {
    const { msg } = await one(
      {
        topic: 't',
        user_properties: '${props}',
        mqtt_properties: {
          'Payload-Format-Indicator': '${pfi}',
          'Message-Expiry-Interval': 60,
          'Content-Type': 'application/${fmt}',
          'Response-Topic': 'reply/${clientid}',
          'Correlation-Data': '${corr}',
        },
      },
      rec({ props: [{ key: 'k', value: 1 }, ['k', 'two']], pfi: 1, fmt: 'json', corr: 'abc' }),
    );
    expect(msg?.properties).toEqual({
      userProperties: { k: ['1', 'two'] },
      payloadFormatIndicator: true,
      messageExpiryInterval: 60,
      contentType: 'application/json',
      responseTopic: 'reply/dev-1',
      correlationData: Buffer.from('abc'),
    });
    const bad = await one(
      {
        topic: 't',
        user_properties: '',
        mqtt_properties: {
          'Payload-Format-Indicator': '7',
          'Message-Expiry-Interval': '${missing}',
          'Content-Type': 'x/${missing}',
          'Response-Topic': 'a/#',
        },
      },
      rec({}),
    );
    expect(bad.msg?.properties).toBeUndefined();
  });

  it('does not republish a message this rule republished (loop guard)', async () => {
    const { msg, res } = await one({ topic: 't' }, rec({}, { ...ctx, republish_by: 'r1' }));
    expect(msg).toBeUndefined();
    expect(res?.rejected?.[0]?.code).toBe('republish_loop_detected');
    const other = await one({ topic: 't' }, rec({}, { ...ctx, republish_by: 'r2' }));
    expect(other.msg?.topic).toBe('t');
  });

  it('maps publish failures: retriable → retry, not connected → throw, other → rejected', async () => {
    const p = port((m) =>
      m.topic === 'retry'
        ? new SluiceError('broker_busy', 'busy', { retriable: true })
        : m.topic === 'bad'
          ? new Error('nope')
          : undefined,
    );
    const sink = createRepublishSink(deps, { topic: '${t}' }, p.publish);
    const res = await sink.write([rec({ t: 'ok' }), rec({ t: 'retry' }), rec({ t: 'bad' })]);
    expect(res).toEqual({
      retry: [1],
      rejected: [{ index: 2, code: 'republish_publish_failed', message: 'nope' }],
    });
    const down = createRepublishSink(deps, { topic: 't' }, async () => {
      throw sinkNotConnected('broker stopped');
    });
    await expect(down.write([rec({})])).rejects.toMatchObject({ code: 'sink_not_connected' });
  });

  it('publishes a batch in order', async () => {
    const p = port();
    const sink = createRepublishSink(deps, { topic: 't', payload: '${i}' }, p.publish);
    await sink.write(Array.from({ length: 20 }, (_, i) => rec({ i })));
    expect(p.sent.map((m) => m.payload.toString())).toEqual(
      Array.from({ length: 20 }, (_, i) => String(i)),
    );
  });

  it('refuses unusable settings with a clear error', () => {
    const p = port();
    expect(() => createRepublishSink(deps, { topic: 't', qos: 5 }, p.publish)).toThrow(/qos/);
    expect(() => createRepublishSink(deps, { topic: 't', qos: 'high' }, p.publish)).toThrow(
      /qos: must be 0, 1 or 2/,
    );
    expect(() => createRepublishSink(deps, { topic: 't', retain: 'yes' }, p.publish)).toThrow(
      /retain/,
    );
    expect(() =>
      createRepublishSink(deps, { topic: 't', user_properties: 'abc' }, p.publish),
    ).toThrow(/user_properties/);
    const v = validate(republishSinkSpec, { topic: 't', mqtt_properties: { Foo: 'x' } }, 's');
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.issues[0]?.path).toBe('s.mqtt_properties.Foo');
    expect(validate(republishSinkSpec, {}).ok).toBe(false);
  });

  it('exposes a SinkType bound to the port', async () => {
    const p = port();
    const type = createRepublishSinkType(p.publish);
    expect(type.type).toBe('republish');
    const sink = type.create(deps, { topic: 'x/${clientid}' }, 'rp1');
    await sink.connect();
    await sink.write([rec({})]);
    await sink.close();
    expect(p.sent[0]?.topic).toBe('x/dev-1');
  });
});

describe('republish sink: message expiry in the buffer', () => {
  const withExpiry = (mei: number, ingestTs: number): SinkRecord => ({
    data: {},
    ruleId: 'r1',
    ingestTs,
    context: { ...ctx, pub_props: { 'Message-Expiry-Interval': mei } },
  });
  const config: RepublishConfig = {
    topic: 't',
    mqtt_properties: { 'Message-Expiry-Interval': "${pub_props.'Message-Expiry-Interval'}" },
  };

  it('forwards the interval that remains after the wait', async () => {
    const p = port();
    const sink = createRepublishSink(
      { logger: silentLogger, now: () => 12_500 },
      config,
      p.publish,
    );
    expect(await sink.write([withExpiry(60, 10_000)])).toBeUndefined();
    // 2.5 s waited: 60 - 2 whole seconds
    expect(p.sent[0]?.properties?.messageExpiryInterval).toBe(58);
  });

  it('does not publish a record whose triggering message expired; reports it expired', async () => {
    const p = port();
    const sink = createRepublishSink(
      { logger: silentLogger, now: () => 11_000 },
      config,
      p.publish,
    );
    const res = await sink.write([withExpiry(1, 10_000), withExpiry(2, 10_000)]);
    expect(res).toEqual({ retry: [], rejected: [], expired: [0] });
    expect(p.sent.map((m) => m.properties?.messageExpiryInterval)).toEqual([1]);
  });

  it('a trigger expiry applies even when no Message-Expiry-Interval is republished', async () => {
    const p = port();
    const sink = createRepublishSink(
      { logger: silentLogger, now: () => 20_000 },
      { topic: 't' },
      p.publish,
    );
    const res = await sink.write([withExpiry(5, 10_000)]);
    expect(res).toEqual({ retry: [], rejected: [], expired: [0] });
    expect(p.sent).toHaveLength(0);
  });

  it('a configured constant interval counts from the ingest time too', async () => {
    const p = port();
    const cfg: RepublishConfig = { topic: 't', mqtt_properties: { 'Message-Expiry-Interval': 3 } };
    const sink = createRepublishSink({ logger: silentLogger, now: () => 4_000 }, cfg, p.publish);
    const res = await sink.write([rec({}, ctx), { ...rec({}, ctx), ingestTs: 2_000 }]);
    expect(res).toEqual({ retry: [], rejected: [], expired: [0] });
    expect(p.sent.map((m) => m.properties?.messageExpiryInterval)).toEqual([1]);
  });

  it('an interval of 0 is forwarded as is and a trigger without expiry never expires', async () => {
    const p = port();
    const cfg: RepublishConfig = { topic: 't', mqtt_properties: { 'Message-Expiry-Interval': 0 } };
    const sink = createRepublishSink({ logger: silentLogger, now: () => 1e9 }, cfg, p.publish);
    expect(await sink.write([rec({}, ctx), withExpiry(0, 0)])).toBeUndefined();
    expect(p.sent.map((m) => m.properties?.messageExpiryInterval)).toEqual([0, 0]);
  });
});
