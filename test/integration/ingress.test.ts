/**
 * Ingress schema validation and message transformation (decision 0013) in a real engine with
 * MQTT.js clients (3.1.1 and 5): drop / disconnect / ignore, the `$events/..._failed` rules
 * and their columns, per-entry metrics, transformation rewrites, and a reload.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import mqtt from 'mqtt';
import type { IPublishPacket, MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createApiServer } from '../../src/api/index.js';
import type { ApiServer } from '../../src/api/index.js';
import { silentLogger } from '../../src/core/index.js';
import { createEngine } from '../../src/engine/index.js';
import type { Engine } from '../../src/engine/index.js';
import type { MemorySink } from '../../src/sinks/memory/index.js';

const READING = '{"type":"object","required":["temp"],"properties":{"temp":{"type":"number"}}}';

const CONFIG = {
  broker: { listeners: { tcp: { type: 'tcp', bind: '127.0.0.1', port: 0 } } },
  sinks: { out: { type: 'memory', linger: 0 } },
  schema_registry: { schemas: { reading: { type: 'json', source: READING } } },
  schema_validation: {
    validations: [
      {
        name: 'drop_v',
        topics: ['v/drop/#'],
        failure_action: 'drop',
        checks: [{ type: 'json', schema: 'reading' }],
      },
      {
        name: 'disc_v',
        topics: ['v/disc/#'],
        failure_action: 'disconnect',
        checks: [{ type: 'sql', sql: 'SELECT payload.temp AS t WHERE t > 0' }],
      },
      {
        name: 'ign_v',
        topics: ['v/ign/#'],
        failure_action: 'ignore',
        strategy: 'any_pass',
        checks: [
          { type: 'sql', sql: 'SELECT * WHERE payload.temp > 100' },
          { type: 'sql', sql: "SELECT * WHERE payload.kind = 'ok'" },
        ],
      },
    ],
  },
  message_transformation: {
    transformations: [
      {
        name: 'enrich',
        topics: ['x/#'],
        failure_action: 'drop',
        payload_decoder: { type: 'json' },
        payload_encoder: { type: 'json' },
        operations: [
          { key: 'payload.who', value: 'upper(clientid)' },
          { key: 'topic', value: "concat(['y/', topic])" },
          { key: 'user_property.src', value: "'sluice'" },
        ],
      },
      {
        name: 'bad',
        topics: ['bad/#'],
        failure_action: 'drop',
        payload_decoder: { type: 'json' },
        payload_encoder: { type: 'json' },
        operations: [{ key: 'payload.a', value: 'payload.x' }],
      },
    ],
  },
  rules: [
    { id: 'vf', sql: 'SELECT * FROM "$events/schema_validation_failed"', actions: ['out'] },
    { id: 'tf', sql: 'SELECT * FROM "$events/message_transformation/failed"', actions: ['out'] },
  ],
};

async function waitFor(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('ingress validation and transformation', () => {
  let engine: Engine;
  let port: number;
  const clients: MqttClient[] = [];
  const out = () => engine.sink('out') as MemorySink;
  const events = (rule: string) =>
    out()
      .records.filter((r) => r.ruleId === rule)
      .map((r) => r.data as Record<string, unknown>);

  const connect = async (id: string, protocolVersion: 4 | 5): Promise<MqttClient> => {
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
      clientId: id,
      reconnectPeriod: 0,
      protocolVersion,
    });
    clients.push(c);
    return c;
  };
  const subscriber = async (filter: string) => {
    const c = await connect(`sub-${clients.length}`, 5);
    const got: IPublishPacket[] = [];
    c.on('message', (_t, _p, packet) => got.push(packet));
    await c.subscribeAsync(filter, { qos: 1 });
    return got;
  };
  const metricsOf = (name: string) =>
    engine.ingress.metrics().validations.find((v) => v.name === name);

  beforeAll(async () => {
    engine = createEngine(structuredClone(CONFIG), { logger: silentLogger });
    const [addr] = await engine.start();
    port = addr!.port;
  });
  afterAll(async () => {
    for (const c of clients) c.end(true);
    await engine?.stop({ drainMs: 500 });
  });

  for (const v of [4, 5] as const) {
    it(`drop (MQTT ${v === 4 ? '3.1.1' : '5'}): an invalid message reaches no subscriber, the publisher gets its PUBACK, the event fires with EMQX columns`, async () => {
      const got = await subscriber(`v/drop/${v}/#`);
      const before = metricsOf('drop_v')!;
      const base = { ...before };
      const pub = await connect(`pub-drop-${v}`, v);
      await pub.publishAsync(`v/drop/${v}/a`, '{"temp":"hot"}', { qos: 1 });
      await pub.publishAsync(`v/drop/${v}/a`, '{"temp":21.5}', { qos: 1 });
      await waitFor(() => got.length >= 1, 'the valid message');
      await sleep(50);
      expect(got.map((p) => p.payload.toString())).toEqual(['{"temp":21.5}']);
      expect(pub.connected).toBe(true);
      const m = metricsOf('drop_v')!;
      expect([
        m.matched - base.matched,
        m.succeeded - base.succeeded,
        m.failed - base.failed,
      ]).toEqual([2, 1, 1]);
      await waitFor(
        () => events('vf').some((e) => e['clientid'] === `pub-drop-${v}`),
        'failed event',
      );
      const ev = events('vf').find((e) => e['clientid'] === `pub-drop-${v}`)!;
      expect(Object.keys(ev).sort()).toEqual(
        [
          'validation',
          'id',
          'clientid',
          'username',
          'payload',
          'peerhost',
          'peername',
          'topic',
          'qos',
          'flags',
          'pub_props',
          'publish_received_at',
          'event',
          'timestamp',
          'node',
        ].sort(),
      );
      expect(ev).toMatchObject({
        validation: 'drop_v',
        topic: `v/drop/${v}/a`,
        qos: 1,
        event: 'schema.validation_failed',
      });
      expect(String(ev['payload'])).toBe('{"temp":"hot"}');
    });
  }

  it('disconnect (MQTT 5): DISCONNECT 0x83 and the message is not routed', async () => {
    const got = await subscriber('v/disc/#');
    const pub = await connect('pub-disc-5', 5);
    const disconnect = new Promise<number | undefined>((resolve) =>
      pub.on('disconnect', (p) => resolve(p.reasonCode)),
    );
    pub.publish('v/disc/1', '{"temp":-3}', { qos: 1 });
    expect(await disconnect).toBe(0x83);
    await waitFor(() => !pub.connected, 'connection closed');
    await sleep(50);
    expect(got).toEqual([]);
    expect(metricsOf('disc_v')).toMatchObject({ matched: 1, failed: 1, succeeded: 0 });
  });

  it('disconnect (MQTT 3.1.1): the connection is closed', async () => {
    const got = await subscriber('v/disc/#');
    const pub = await connect('pub-disc-4', 4);
    const closed = new Promise<void>((resolve) => pub.on('close', () => resolve()));
    pub.publish('v/disc/2', '{"temp":0}', { qos: 0 });
    await closed;
    await sleep(50);
    expect(got).toEqual([]);
    expect(events('vf').some((e) => e['clientid'] === 'pub-disc-4')).toBe(true);
  });

  it('ignore: the failure is counted and raised, and the message still goes on (any_pass)', async () => {
    const got = await subscriber('v/ign/#');
    const pub = await connect('pub-ign', 4);
    await pub.publishAsync('v/ign/1', '{"temp":5,"kind":"no"}', { qos: 1 });
    await pub.publishAsync('v/ign/1', '{"temp":5,"kind":"ok"}', { qos: 1 });
    await waitFor(() => got.length >= 2, 'both messages');
    expect(metricsOf('ign_v')).toMatchObject({ matched: 2, succeeded: 1, failed: 1 });
    await waitFor(() => events('vf').some((e) => e['clientid'] === 'pub-ign'), 'ignore event');
    expect(events('vf').filter((e) => e['clientid'] === 'pub-ign')).toHaveLength(1);
  });

  it('transformation: payload, topic and a user property are rewritten before routing', async () => {
    const got = await subscriber('y/#');
    const pub = await connect('dev1', 5);
    await pub.publishAsync('x/1', '{"a":1}', { qos: 1 });
    await waitFor(() => got.length >= 1, 'transformed message');
    expect(got[0]!.topic).toBe('y/x/1');
    expect(JSON.parse(got[0]!.payload.toString())).toEqual({ a: 1, who: 'DEV1' });
    expect(got[0]!.properties?.userProperties).toEqual({ src: 'sluice' });
    const t = engine.ingress.metrics().transformations.find((x) => x.name === 'enrich');
    expect(t).toMatchObject({ matched: 1, succeeded: 1, failed: 0 });
  });

  it('transformation failure (drop): not routed, $events/message_transformation/failed fires', async () => {
    const got = await subscriber('bad/#');
    const pub = await connect('pub-bad', 5);
    await pub.publishAsync('bad/1', 'not json', { qos: 1 });
    await waitFor(() => events('tf').length >= 1, 'transformation failed event');
    expect(events('tf')[0]).toMatchObject({
      transformation: 'bad',
      clientid: 'pub-bad',
      topic: 'bad/1',
      event: 'message.transformation_failed',
    });
    expect(String(events('tf')[0]!['payload'])).toBe('not json');
    await sleep(50);
    expect(got).toEqual([]);
    expect(engine.metrics().broker.messages_ingress_dropped).toBeGreaterThanOrEqual(1);
  });
});

describe('ingress over the API, /metrics and a config reload', () => {
  let dir: string;
  let engine: Engine;
  let api: ApiServer;
  let base: string;
  let port: number;
  const clients: MqttClient[] = [];
  // YAML is a superset of JSON: the config file is written as JSON.
  const write = (failure_action: string, sql = 'SELECT * WHERE payload.ok = true') =>
    writeFileSync(
      path.join(dir, 'sluice.yaml'),
      JSON.stringify({
        broker: { listeners: { tcp: { type: 'tcp', bind: '127.0.0.1', port: 0 } } },
        rule_files: [],
        schema_validation: {
          validations: [
            { name: 'ok_v', topics: ['r/#'], failure_action, checks: [{ type: 'sql', sql }] },
          ],
        },
      }),
    );

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sluice-ingress-it-'));
    write('drop');
    engine = createEngine(path.join(dir, 'sluice.yaml'), {
      logger: silentLogger,
      env: {},
      watch: false,
    });
    const [addr] = await engine.start();
    port = addr!.port;
    api = createApiServer({ engine, logger: silentLogger }, { bind: '127.0.0.1', port: 0 });
    base = (await api.start()).url;
  });
  afterAll(async () => {
    for (const c of clients) c.end(true);
    await api?.stop();
    await engine?.stop({ drainMs: 500 });
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists validations, serves and resets their metrics, exports them on /metrics, and applies a reload', async () => {
    const sub = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
    const pub = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
    clients.push(sub, pub);
    const got: string[] = [];
    sub.on('message', (_t, p) => got.push(p.toString()));
    await sub.subscribeAsync('r/#', { qos: 1 });

    await pub.publishAsync('r/1', '{"ok":false}', { qos: 1 });
    await pub.publishAsync('r/1', '{"ok":true}', { qos: 1 });
    await waitFor(() => got.length >= 1, 'the valid message');
    await sleep(50);
    expect(got).toEqual(['{"ok":true}']);

    const list = await (await fetch(`${base}/api/v5/schema_validations`)).json();
    expect(list).toMatchObject([{ name: 'ok_v', failure_action: 'drop', topics: ['r/#'] }]);
    const m = await fetch(`${base}/api/v5/schema_validations/validation/ok_v/metrics`);
    expect(m.status).toBe(200);
    expect(((await m.json()) as { metrics: unknown }).metrics).toEqual({
      matched: 2,
      succeeded: 1,
      failed: 1,
    });
    expect((await fetch(`${base}/api/v5/schema_validations/validation/nope/metrics`)).status).toBe(
      404,
    );
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toContain('sluice_schema_validation_failed_total{validation="ok_v"} 1');
    expect(text).toContain('sluice_schema_validation_matched_total{validation="ok_v"} 2');
    expect(text).toContain('sluice_ingress_dropped_total 1');

    // Reload: failure_action ignore applies to the next message; the counters are kept.
    write('ignore');
    const report = engine.reload();
    expect(report.ok).toBe(true);
    expect(report.issues).toEqual([]);
    await pub.publishAsync('r/2', '{"ok":false}', { qos: 1 });
    await waitFor(() => got.length >= 2, 'the ignored failure delivered');
    expect(got[1]).toBe('{"ok":false}');
    expect(engine.ingress.metrics().validations[0]).toMatchObject({ matched: 3, failed: 2 });

    // A broken entry is reported and keeps the running list.
    write('drop', 'SELECT * WHERE (');
    const bad = engine.reload();
    expect(bad.issues.map((i) => [i.code, i.path])).toEqual([
      ['ingress_config_invalid', 'schema_validation.validations[0].checks[0].sql'],
    ]);
    await pub.publishAsync('r/3', '{"ok":false}', { qos: 1 });
    await waitFor(() => got.length >= 3, 'still ignore after the broken reload');

    const reset = await fetch(`${base}/api/v5/schema_validations/validation/ok_v/metrics/reset`, {
      method: 'POST',
    });
    expect(reset.status).toBe(204);
    expect(engine.ingress.metrics().validations[0]).toMatchObject({ matched: 0, failed: 0 });
  });
});

describe('ingress drop on an ack_after listener', () => {
  it('a dropped QoS 1 message still gets its held PUBACK at once (not at ack_timeout)', async () => {
    const engine = createEngine(
      {
        broker: {
          listeners: {
            tcp: {
              type: 'tcp',
              bind: '127.0.0.1',
              port: 0,
              ack_after: 'buffered',
              ack_timeout: '20s',
            },
          },
        },
        sinks: { out: { type: 'memory', linger: 0 } },
        rules: [{ id: 'r', sql: 'SELECT payload FROM "h/#"', actions: ['out'] }],
        schema_validation: {
          validations: [
            {
              name: 'h',
              topics: ['h/#'],
              failure_action: 'drop',
              checks: [{ type: 'sql', sql: 'SELECT * WHERE payload.ok = true' }],
            },
          ],
        },
      },
      { logger: silentLogger },
    );
    const [addr] = await engine.start();
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${addr!.port}`, { reconnectPeriod: 0 });
    try {
      const t0 = Date.now();
      await c.publishAsync('h/1', '{"ok":false}', { qos: 1 });
      await c.publishAsync('h/1', '{"ok":true}', { qos: 1 });
      expect(Date.now() - t0).toBeLessThan(5000);
      const out = engine.sink('out') as MemorySink;
      await waitFor(() => out.records.length >= 1, 'the valid record');
      expect(out.records.map((r) => String((r.data as { payload: unknown }).payload))).toEqual([
        '{"ok":true}',
      ]);
    } finally {
      c.end(true);
      await engine.stop({ drainMs: 500 });
    }
  });
});

describe('ingress and republish', () => {
  it.each([false, true])(
    'direct_dispatch %s: a republished message is validated unless dispatched directly (EMQX skips the hooks then)',
    async (direct) => {
      const engine = createEngine(
        {
          broker: { listeners: { tcp: { type: 'tcp', bind: '127.0.0.1', port: 0 } } },
          sinks: {
            repub: {
              type: 'republish',
              topic: 'out/x',
              qos: 1,
              direct_dispatch: direct,
              linger: 0,
            },
          },
          rules: [{ id: 'fwd', sql: 'SELECT * FROM "in/#"', actions: ['repub'] }],
          schema_validation: {
            validations: [
              {
                name: 'out',
                topics: ['out/#'],
                failure_action: 'drop',
                checks: [{ type: 'sql', sql: 'SELECT * WHERE false' }],
              },
            ],
          },
        },
        { logger: silentLogger },
      );
      const [addr] = await engine.start();
      const sub = await mqtt.connectAsync(`mqtt://127.0.0.1:${addr!.port}`, { reconnectPeriod: 0 });
      const pub = await mqtt.connectAsync(`mqtt://127.0.0.1:${addr!.port}`, { reconnectPeriod: 0 });
      try {
        const got: string[] = [];
        sub.on('message', (t) => got.push(t));
        await sub.subscribeAsync('out/#', { qos: 1 });
        await pub.publishAsync('in/1', '{}', { qos: 1 });
        const m = () => engine.ingress.metrics().validations[0]!;
        if (direct) {
          await waitFor(() => got.length >= 1, 'the direct copy');
          expect(m().matched).toBe(0);
        } else {
          await waitFor(() => m().failed >= 1, 'the validation failure');
          await sleep(100);
          expect(got).toEqual([]);
        }
      } finally {
        sub.end(true);
        pub.end(true);
        await engine.stop({ drainMs: 300 });
      }
    },
  );
});
