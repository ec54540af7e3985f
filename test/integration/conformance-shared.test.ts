/**
 * MQTT conformance, area shared subscriptions (MQTT 5 §4.8.2; 3.1.1 has none, Sluice serves
 * `$share/<group>/<filter>` to 3.1.1 clients too, as EMQX does), with paho-mqtt 2 (3.1.1) and
 * MQTT.js (v5) members of one group. Statement → test map: docs/mqtt-conformance.md. The
 * strategies, redelivery when a member leaves and the rule events are in broker-shared.test.ts
 * (which also has a two-member paho group); v5 members with raw packets: src/broker/mqtt5.test.ts.
 */
import type { Packet } from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep, startConformance, uid, waitFor, type Conformance } from '../conformance.js';

let b: Conformance;
beforeAll(async () => {
  b = await startConformance();
});
afterAll(async () => b?.stop());

describe('shared subscriptions', () => {
  it('[MQTT-4.8.2-1] [MQTT-4.8.2-2] a share name that is empty or holds + / #, or no filter after it, is refused (SUBACK ≥ 0x80 or closed); a valid one is granted (raw MQTT 5: MQTT.js will not send them)', async () => {
    const t = uid('share');
    const outcome = async (topic: string): Promise<string> => {
      const r = await b.rawConnected(uid('raw5'), { protocolVersion: 5 });
      r.send({ cmd: 'subscribe', messageId: 2, subscriptions: [{ topic, qos: 1 }] } as Packet);
      const got = await Promise.race([
        r.next('suback').then((a) => {
          const g = a.granted[0] as number | { qos: number };
          return (typeof g === 'number' ? g : g.qos) >= 0x80 ? 'refused' : 'granted';
        }),
        r.closed.then(() => 'refused'),
      ]);
      return got;
    };
    for (const bad of [`$share//${t}`, `$share/g`, `$share/g+/${t}`, `$share/g#/${t}`])
      expect(await outcome(bad), bad).toBe('refused');
    expect(await outcome(`$share/g/${t}`)).toBe('granted');
  });

  it('[MQTT-4.8.2-3] paho (3.1.1, QoS 0) and MQTT.js (v5, QoS 1) in one group: each message reaches one member, at that member’s granted QoS', async () => {
    const t = uid('group');
    const filter = `$share/mixed/${t}`;
    const js = await b.mqttjs({ clientId: uid('js5'), protocolVersion: 5 });
    await js.subscribeAsync(filter, { qos: 1 });
    const jsGot: { payload: string; qos: number }[] = [];
    js.on('message', (_t, p, packet) => jsGot.push({ payload: p.toString(), qos: packet.qos }));
    const r = await b.paho(
      {
        client_id: uid('paho'),
        steps: [
          { op: 'connect' },
          { op: 'subscribe', filters: [[filter, 0]] },
          { op: 'signal', name: 'joined' },
          { op: 'await' },
          { op: 'sleep', s: 0.4 },
          { op: 'disconnect' },
        ],
      },
      {
        onSignal: async () => {
          const pub = await b.mqttjs({ clientId: uid('pub') });
          for (let i = 0; i < 20; i++) await pub.publishAsync(t, String(i), { qos: 1 });
        },
      },
    );
    await waitFor(() => jsGot.length + r.messages.length >= 20, 'all 20');
    const all = [...jsGot.map((m) => m.payload), ...r.messages.map((m) => m.payload)];
    expect(all.map(Number).sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(jsGot.length).toBeGreaterThan(0);
    expect(r.messages.length).toBeGreaterThan(0);
    expect(new Set(jsGot.map((m) => m.qos))).toEqual(new Set([1]));
    expect(new Set(r.messages.map((m) => m.qos))).toEqual(new Set([0]));
  });

  for (const qos of [1, 2] as const) {
    it(`[MQTT-4.8.2-6] [MQTT-4.4.0-2] a member answering a QoS ${qos} copy with ${qos === 1 ? 'PUBACK' : 'PUBREC'} 0x80: the message is discarded, not sent to the other member, not even when the member then leaves (raw MQTT 5 members)`, async () => {
      const t = uid(`nack${qos}`);
      const filter = `$share/nack/${t}`;
      const members = [
        await b.rawConnected(uid('m5'), { protocolVersion: 5 }),
        await b.rawConnected(uid('m5'), { protocolVersion: 5 }),
      ];
      for (const m of members) {
        m.send({
          cmd: 'subscribe',
          messageId: 1,
          subscriptions: [{ topic: filter, qos }],
        } as Packet);
        await m.next('suback');
      }
      const redispatched = b.broker.metrics().shared_redispatched;
      const pub = await b.mqttjs({ clientId: uid('pub'), protocolVersion: 5 });
      await pub.publishAsync(t, 'refused', { qos });
      await waitFor(() => members.some((m) => m.publishes().length > 0), 'one member has it');
      const [got, other] =
        members[0]!.publishes().length > 0 ? members : [members[1]!, members[0]!];
      const copy = got!.publishes()[0]!;
      got!.send({
        cmd: qos === 1 ? 'puback' : 'pubrec',
        messageId: copy.messageId!,
        reasonCode: 0x80,
      } as Packet);
      await sleep(300);
      // [MQTT-4.3.3-4] (v5): a PUBREC ≥ 0x80 ends the QoS 2 flow, no PUBREL follows.
      expect(got!.log.filter((p) => p.cmd === 'pubrel')).toEqual([]);
      got!.socket.destroy();
      await sleep(400);
      expect(other!.publishes()).toEqual([]);
      expect(b.broker.metrics().shared_redispatched).toBe(redispatched);
      expect(got!.publishes()).toHaveLength(1); // not re-sent either [MQTT-4.4.0-2]
    });
  }

  it('[MQTT-3.8.3-4] (MQTT 5) No Local on a shared subscription is a protocol error: the connection is closed', async () => {
    const r = await b.rawConnected(uid('nl'), { protocolVersion: 5 });
    r.send({
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: [{ topic: `$share/g/${uid('nl')}`, qos: 1, nl: true }],
    } as Packet);
    expect(await r.closedWithin()).toBe(true);
    expect(r.log.filter((p) => p.cmd === 'suback')).toEqual([]);
  });
});
