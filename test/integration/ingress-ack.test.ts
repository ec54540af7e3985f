/**
 * The acknowledgement of a message ingress validation / transformation did not route
 * (src/broker/ingress-ack.ts): MQTT 5 publishers get PUBACK / PUBREC 0x10 No matching
 * subscribers (EMQX emqx_channel:puback_reason_code/3 for `allow_publish => false`), in arrival
 * order with the acks of routed messages; `disconnect` sends no ack before DISCONNECT 0x83; a
 * 3.1.1 publisher gets its plain PUBACK. Also with `ack_after: buffered` (ack-after.ts).
 */
import mqtt from 'mqtt';
import type { MqttClient, Packet } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { silentLogger } from '../../src/core/index.js';
import { createEngine } from '../../src/engine/index.js';
import type { Engine } from '../../src/engine/index.js';

const config = (ackAfter: 'receipt' | 'buffered') => ({
  broker: {
    listeners: { tcp: { type: 'tcp', bind: '127.0.0.1', port: 0, ack_after: ackAfter } },
  },
  sinks: { out: { type: 'memory', linger: 0 } },
  schema_validation: {
    validations: [
      {
        name: 'temp',
        topics: ['v/#'],
        failure_action: 'drop',
        checks: [{ type: 'sql', sql: 'SELECT * WHERE payload.temp > 0' }],
      },
      {
        name: 'kick',
        topics: ['k/#'],
        failure_action: 'disconnect',
        checks: [{ type: 'sql', sql: 'SELECT * WHERE payload.temp > 0' }],
      },
    ],
  },
  message_transformation: {
    transformations: [
      {
        name: 'needs_json',
        topics: ['t/#'],
        failure_action: 'drop',
        payload_decoder: { type: 'json' },
        payload_encoder: { type: 'json' },
        operations: [{ key: 'payload.seen', value: 'true' }],
      },
    ],
  },
  rules: [{ id: 'all', sql: 'SELECT * FROM "v/#"', actions: ['out'] }],
});

type Ack = { cmd: string; messageId: number; reasonCode: number | undefined };

for (const mode of ['receipt', 'buffered'] as const) {
  describe(`acknowledgement of a dropped message (ack_after ${mode})`, () => {
    let engine: Engine;
    let port: number;
    const clients: MqttClient[] = [];

    const connect = async (id: string, protocolVersion: 4 | 5) => {
      const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
        clientId: `${mode}-${id}`,
        reconnectPeriod: 0,
        protocolVersion,
      });
      clients.push(c);
      const acks: Ack[] = [];
      c.on('packetreceive', (p: Packet) => {
        if (p.cmd === 'puback' || p.cmd === 'pubrec')
          acks.push({
            cmd: p.cmd,
            messageId: (p as { messageId: number }).messageId,
            reasonCode: (p as { reasonCode?: number }).reasonCode,
          });
      });
      return { c, acks };
    };

    beforeAll(async () => {
      engine = createEngine(config(mode), { logger: silentLogger });
      expect(engine.startupIssues).toEqual([]);
      const [addr] = await engine.start();
      port = addr!.port;
    });
    afterAll(async () => {
      for (const c of clients) c.end(true);
      await engine?.stop({ drainMs: 500 });
    });

    it('MQTT 5 QoS 1: 0x10 for the dropped message, success for the others, in order', async () => {
      const { c, acks } = await connect('v5q1', 5);
      await Promise.all(
        ['{"temp":1}', '{"temp":-1}', '{"temp":2}', '{"temp":-2}', '{"temp":3}'].map((m) =>
          c.publishAsync('v/a', m, { qos: 1 }),
        ),
      );
      expect(acks.map((a) => a.reasonCode ?? 0)).toEqual([0, 0x10, 0, 0x10, 0]);
      const ids = acks.map((a) => a.messageId);
      expect(ids).toEqual([...ids].sort((x, y) => x - y));
      expect(c.connected).toBe(true);
      expect(engine.metrics().broker.messages_ingress_dropped).toBe(2);
    });

    it('MQTT 5 QoS 2: PUBREC 0x10 and the exchange completes (PUBREL / PUBCOMP)', async () => {
      const { c, acks } = await connect('v5q2', 5);
      // publishAsync resolves at PUBCOMP: the client sent PUBREL after a 0x10 PUBREC.
      await c.publishAsync('v/b', '{"temp":-5}', { qos: 2 });
      expect(acks).toEqual([{ cmd: 'pubrec', messageId: expect.any(Number), reasonCode: 0x10 }]);
      await c.publishAsync('v/b', '{"temp":5}', { qos: 2 });
      expect(acks[1]?.reasonCode ?? 0).toBe(0);
    });

    it('MQTT 5: a failed transformation (drop) answers 0x10 too', async () => {
      const { c, acks } = await connect('v5tr', 5);
      await c.publishAsync('t/a', 'not json', { qos: 1 });
      await c.publishAsync('t/a', '{"a":1}', { qos: 1 });
      expect(acks.map((a) => a.reasonCode ?? 0)).toEqual([0x10, 0]);
    });

    it('MQTT 5 disconnect: no PUBACK, DISCONNECT 0x83', async () => {
      const { c, acks } = await connect('v5kick', 5);
      const disconnect = new Promise<number | undefined>((resolve) =>
        c.on('disconnect', (p) => resolve(p.reasonCode)),
      );
      c.publish('k/a', '{"temp":-1}', { qos: 1 });
      expect(await disconnect).toBe(0x83);
      await new Promise((r) => setTimeout(r, 50));
      expect(acks).toEqual([]);
    });

    it('MQTT 3.1.1: a plain PUBACK (no reason code on the wire)', async () => {
      const { c, acks } = await connect('v4', 4);
      await c.publishAsync('v/c', '{"temp":-1}', { qos: 1 });
      await c.publishAsync('v/c', '{"temp":1}', { qos: 1 });
      expect(acks.map((a) => a.reasonCode)).toEqual([undefined, undefined]);
      expect(c.connected).toBe(true);
    });
  });
}
