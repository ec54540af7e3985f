/**
 * Republish `direct_dispatch` (EMQX 5.4+): the republished message reaches the subscribers
 * of its topic but raises no `message.publish` event, so no rule fires on it — and, with
 * nobody subscribed, no `message.dropped` either. Without it, a rule on the target topic sees
 * the republished message. MQTT.js subscriber over TCP on 127.0.0.1.
 */
import mqtt from 'mqtt';
import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';

import { silentLogger } from '../../src/core/index.js';
import { createEngine } from '../../src/engine/index.js';
import type { Engine } from '../../src/engine/index.js';
import type { MemorySink } from '../../src/sinks/memory/index.js';
import { waitFor } from '../conformance.js';

let engine: Engine | undefined;
const clients: MqttClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.endAsync(true);
  await engine?.stop({ drainMs: 100 });
  engine = undefined;
});

async function start(direct: boolean): Promise<number> {
  engine = createEngine(
    {
      broker: { listeners: { tcp: { type: 'tcp', bind: '127.0.0.1', port: 0 } } },
      sinks: {
        repub: {
          type: 'republish',
          topic: 'out/${clientid}',
          qos: 1,
          direct_dispatch: direct,
          linger: 0,
        },
        seen: { type: 'memory', linger: 0 },
        drops: { type: 'memory', linger: 0 },
      },
      rules: [
        { id: 'fwd', sql: 'SELECT * FROM "in/#"', actions: ['repub'] },
        // Fires on the republished message unless it was dispatched directly.
        { id: 'watch', sql: 'SELECT topic FROM "out/#"', actions: ['seen'] },
        {
          id: 'dropped',
          sql: 'SELECT topic, reason FROM "$events/message_dropped" WHERE topic =~ \'out/#\'',
          actions: ['drops'],
        },
      ],
    },
    { logger: silentLogger },
  );
  const [addr] = await engine.start();
  return addr!.port;
}

async function client(port: number, id: string): Promise<MqttClient> {
  const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
    clientId: id,
    reconnectPeriod: 0,
  });
  clients.push(c);
  return c;
}

const sink = (name: string) => engine!.sink(name) as MemorySink;

describe('republish direct_dispatch', () => {
  it.each([true, false])(
    'direct_dispatch %s: the subscriber gets the message; a rule on its topic fires only without it',
    async (direct) => {
      const port = await start(direct);
      const sub = await client(port, `sub-${direct}`);
      const got: string[] = [];
      sub.on('message', (topic) => got.push(topic));
      await sub.subscribeAsync('out/#', { qos: 1 });
      const pub = await client(port, 'dev1');
      await pub.publishAsync('in/t', '{"v":1}', { qos: 1 });
      await waitFor(() => got.length === 1, 'the republished message');
      expect(got).toEqual(['out/dev1']);
      if (!direct) await waitFor(() => sink('seen').records.length === 1, 'the watch rule');
      else await new Promise((r) => setTimeout(r, 300));
      expect(sink('seen').records.map((r) => r.data['topic'])).toEqual(direct ? [] : ['out/dev1']);
      expect(engine!.metrics().rules['watch']!.matched).toBe(direct ? 0 : 1);
    },
  );

  it.each([true, false])(
    'direct_dispatch %s with nobody subscribed: message.dropped fires only without it',
    async (direct) => {
      const port = await start(direct);
      const pub = await client(port, 'dev2');
      await pub.publishAsync('in/t', '{"v":2}', { qos: 1 });
      await waitFor(() => engine!.metrics().sinks['repub']!.success === 1, 'the republish');
      if (!direct) await waitFor(() => sink('drops').records.length === 1, 'message.dropped');
      else await new Promise((r) => setTimeout(r, 300));
      expect(sink('drops').records.map((r) => r.data['reason'])).toEqual(
        direct ? [] : ['no_subscribers'],
      );
    },
  );
});
