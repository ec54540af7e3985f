/**
 * The republish sink sets MQTT 5 PUBLISH properties from templates (issue #13 item 3), end to
 * end through the engine and the embedded broker: v5 subscribers (MQTT.js and paho-mqtt 2)
 * receive user properties, content type, payload format, response topic, correlation data and
 * the remaining message expiry; a 3.1.1 subscriber gets the same message without them.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/index.js';
import { createEngine, type Engine } from '../../src/engine/index.js';
import { pahoPython } from '../python-venv.js';
import { waitFor } from '../conformance.js';

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

const YAML = `
broker:
  listeners:
    tcp: { type: tcp, bind: 127.0.0.1, port: 0 }
sinks:
  out:
    type: republish
    topic: 'out/\${clientid}'
    qos: 1
    mqtt_properties:
      Payload-Format-Indicator: 1
      Content-Type: "\${pub_props.'Content-Type'}"
      Message-Expiry-Interval: "\${pub_props.'Message-Expiry-Interval'}"
      Response-Topic: 'reply/\${clientid}'
      Correlation-Data: "\${pub_props.'Correlation-Data'}"
  pairs:
    type: republish
    topic: 'pairs-out/\${clientid}'
    qos: 1
    user_properties: "\${pub_props.'User-Property-Pairs'}"
    mqtt_properties:
      Payload-Format-Indicator: 1
      Content-Type: "\${pub_props.'Content-Type'}"
      Message-Expiry-Interval: "\${pub_props.'Message-Expiry-Interval'}"
      Response-Topic: 'reply/\${clientid}'
      Correlation-Data: "\${pub_props.'Correlation-Data'}"
rules:
  - id: fwd
    sql: SELECT * FROM "in/#"
    actions: [out]
  - id: fwd_pairs
    sql: SELECT * FROM "pairs/#"
    actions: [pairs]
`;

interface Got {
  topic: string;
  payload: string;
  properties: Record<string, unknown> | undefined;
}

describe('republish with MQTT 5 properties', () => {
  let dir: string;
  let engine: Engine;
  let port: number;
  const clients: MqttClient[] = [];
  const connect = async (opts: IClientOptions): Promise<MqttClient> => {
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
      reconnectPeriod: 0,
      connectTimeout: 5000,
      ...opts,
    });
    clients.push(c);
    return c;
  };
  const collect = (c: MqttClient): Got[] => {
    const got: Got[] = [];
    c.on('message', (topic, payload, packet) =>
      got.push({
        topic,
        payload: payload.toString(),
        properties: packet.properties as Record<string, unknown> | undefined,
      }),
    );
    return got;
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sluice-republish5-'));
    writeFileSync(path.join(dir, 'sluice.yaml'), YAML);
    engine = createEngine(path.join(dir, 'sluice.yaml'), { logger: silentLogger, env: {} });
    expect(engine.startupIssues).toEqual([]);
    const addrs = await engine.start();
    port = addrs.find((a) => a.type === 'tcp')!.port;
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
    await engine?.stop({ drainMs: 1000 });
    rmSync(dir, { recursive: true, force: true });
  });

  it('MQTT.js v5 gets the properties, MQTT.js 3.1.1 the bare message; from v5 and 3.1.1 publishers', async () => {
    const v5 = await connect({ clientId: 'sub-v5', protocolVersion: 5 });
    const v4 = await connect({ clientId: 'sub-v4', protocolVersion: 4 });
    const got5 = collect(v5);
    const got4 = collect(v4);
    await v5.subscribeAsync('out/#', { qos: 1 });
    await v4.subscribeAsync('out/#', { qos: 1 });

    const pub5 = await connect({ clientId: 'dev5', protocolVersion: 5 });
    await pub5.publishAsync('in/a', '{"t":1}', {
      qos: 1,
      properties: {
        userProperties: { site: 'north', traceparent: TRACEPARENT },
        contentType: 'application/json',
        correlationData: Buffer.from([0, 0xff, 7]),
        messageExpiryInterval: 60,
      },
    });
    const pub4 = await connect({ clientId: 'dev4', protocolVersion: 4 });
    await pub4.publishAsync('in/b', 'plain', { qos: 1 });
    await waitFor(() => got5.length === 2 && got4.length === 2, 'republished to both');

    const a5 = got5.find((g) => g.topic === 'out/dev5')!;
    expect(a5.payload).toBe('{"t":1}');
    const p = a5.properties!;
    expect(p['userProperties']).toEqual({ site: 'north', traceparent: TRACEPARENT });
    expect(p['contentType']).toBe('application/json');
    expect(p['payloadFormatIndicator']).toBe(true);
    expect(p['responseTopic']).toBe('reply/dev5');
    expect([...(p['correlationData'] as Buffer)]).toEqual([0, 0xff, 7]);
    expect(p['messageExpiryInterval']).toBeGreaterThanOrEqual(58);
    expect(p['messageExpiryInterval']).toBeLessThanOrEqual(60);

    // The 3.1.1 publisher's message: no user properties, no content type / correlation / expiry
    // to copy; the constant properties are still set.
    const b5 = got5.find((g) => g.topic === 'out/dev4')!;
    expect(b5.payload).toBe('plain');
    expect(b5.properties).toEqual({ payloadFormatIndicator: true, responseTopic: 'reply/dev4' });

    // A 3.1.1 subscriber: the same messages, no properties on the wire.
    expect(got4.map((g) => [g.topic, g.payload, g.properties])).toEqual(
      expect.arrayContaining([
        ['out/dev5', '{"t":1}', undefined],
        ['out/dev4', 'plain', undefined],
      ]),
    );
    expect(engine.metrics().sinks['out']).toMatchObject({ success: 2, failed: 0, dropped: 0 });
  });

  it('paho-mqtt 2 (MQTTv5) receives the properties, repeated user properties kept via User-Property-Pairs; paho 3.1.1 none', async () => {
    const runPaho = (version: 4 | 5, filter: string, count = 1) => {
      const child = spawn(pahoPython(), [
        path.join(import.meta.dirname, 'fixtures/paho-republish.py'),
        String(port),
        filter,
        String(count),
        String(version),
      ]);
      let out = '';
      let err = '';
      child.stderr.on('data', (b: Buffer) => (err += b.toString()));
      const ready = new Promise<void>((resolve) =>
        child.stdout.on('data', (b: Buffer) => {
          out += b.toString();
          if (out.includes('"ready"')) resolve();
        }),
      );
      const done = new Promise<{
        messages: { topic: string; payload: string; props: Record<string, unknown> }[];
      }>((resolve, reject) =>
        child.on('close', (code) => {
          const line = out.trim().split('\n').pop() ?? '';
          if (code === 0 && line.includes('messages')) resolve(JSON.parse(line));
          else reject(new Error(`paho exited ${code}: ${err}`));
        }),
      );
      return { ready, done, child };
    };
    const p5 = runPaho(5, '+/paho-dev', 2);
    const p4 = runPaho(4, 'pairs-out/paho-dev');
    try {
      await Promise.all([p5.ready, p4.ready]);
      const pub = await connect({ clientId: 'paho-dev', protocolVersion: 5 });
      const properties = {
        userProperties: { k: ['v1', 'v2'] },
        contentType: 'text/plain',
        correlationData: Buffer.from('c-1'),
        messageExpiryInterval: 30,
      };
      await pub.publishAsync('in/p', 'hi', { qos: 1, properties });
      await pub.publishAsync('pairs/p', 'hi', { qos: 1, properties });
      const [r5, r4] = await Promise.all([p5.done, p4.done]);
      expect(r5.messages).toHaveLength(2);
      // The default `${pub_props.'User-Property'}` is a map: a repeated key keeps its last value
      // (as in EMQX).
      const byMap = r5.messages.find((x) => x.topic === 'out/paho-dev')!;
      expect(byMap.props['user']).toEqual([['k', 'v2']]);
      const m = r5.messages.find((x) => x.topic === 'pairs-out/paho-dev')!;
      expect(m.payload).toBe('hi');
      expect(m.props).toMatchObject({
        user: [
          ['k', 'v1'],
          ['k', 'v2'],
        ],
        content_type: 'text/plain',
        response_topic: 'reply/paho-dev',
        correlation_hex: Buffer.from('c-1').toString('hex'),
        payload_format: 1,
      });
      expect(m.props['expiry']).toBeGreaterThanOrEqual(28);
      expect(m.props['expiry']).toBeLessThanOrEqual(30);
      expect(r4.messages).toEqual([{ topic: 'pairs-out/paho-dev', payload: 'hi', props: {} }]);
    } finally {
      p5.child.kill('SIGKILL');
      p4.child.kill('SIGKILL');
    }
  });
});
