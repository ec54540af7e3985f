/**
 * Soak: a QoS 0 flood while subscribers disconnect mid-flood (abruptly and cleanly).
 *
 * The second scenario is the known Aedes crash: many publishers flood a topic whose only
 * subscriber has stalled, so routing backs up behind mqemitter's concurrency limit; when that
 * subscriber goes away, every queued message completes synchronously and releases the next
 * one from inside the same call — "Maximum call stack size exceeded" (reproduced with bare
 * Aedes 1.2.0 at concurrency 100 and at 1000). Sluice survives it through the drain guard in
 * src/broker/drain-guard.ts (guardSynchronousDrain) plus concurrency >= 1000. Bounded: a fixed message count, loopback
 * only, everything closed in afterAll. A paused subscriber backs the routing queue up first. The test fails on any uncaught exception (vitest
 * reports them), on a broker that stops routing, or on a subscriber that misses the end marker.
 */
import { randomUUID } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger, type BrokerEvent } from '../../src/core/index.js';
import { createBroker } from '../../src/broker/index.js';

const MESSAGES = 30_000;
const PAYLOAD = Buffer.alloc(64, 0x61);

const cleanup: Array<() => unknown> = [];
afterAll(async () => {
  for (const f of cleanup.reverse()) await f();
});

const connect = (url: string, clientId: string): Promise<MqttClient> =>
  mqtt.connectAsync(url, { clientId, reconnectPeriod: 0, connectTimeout: 5000 });

describe('broker soak: QoS 0 flood with subscribers leaving mid-flood', () => {
  it('keeps routing and stays up', { timeout: 60_000 }, async () => {
    const broker = createBroker(
      { logger: silentLogger },
      { listeners: { tcp: { type: 'tcp', bind: '127.0.0.1', port: 0 } } },
    );
    let events = 0;
    let disconnected = 0;
    broker.onEvent((e: BrokerEvent) => {
      events++;
      if (e.name === 'client.disconnected') disconnected++;
    });
    const [addr] = await broker.start();
    cleanup.push(() => broker.stop());
    const url = `mqtt://127.0.0.1:${addr!.port}`;
    const run = randomUUID().slice(0, 8);
    const topic = `flood/${run}/data`;

    const subs: MqttClient[] = [];
    const received = new Map<MqttClient, number>();
    for (let i = 0; i < 5; i++) {
      const s = await connect(url, `soak-sub-${run}-${i}`);
      cleanup.push(() => s.end(true));
      await s.subscribeAsync(`flood/${run}/#`, { qos: 0 });
      received.set(s, 0);
      s.on('message', () => received.set(s, received.get(s)! + 1));
      subs.push(s);
    }
    const [abrupt, polite, slow, stay1, stay2] = subs as [
      MqttClient,
      MqttClient,
      MqttClient,
      MqttClient,
      MqttClient,
    ];
    // A subscriber that stops reading: its deliveries wait for 'drain' and hold delivery slots,
    // so routing backs up in the mqemitter queue — the state in which a subscriber leaving
    // used to unwind the whole queue recursively.
    slow.stream.pause();
    const pub = await connect(url, `soak-pub-${run}`);
    cleanup.push(() => pub.end(true));

    // Flood in slices so the publisher's socket drains; cut subscribers off a third of the way in.
    const slice = 1000;
    for (let sent = 0; sent < MESSAGES; sent += slice) {
      for (let i = 0; i < slice; i++) pub.publish(topic, PAYLOAD, { qos: 0 });
      if (sent === Math.floor(MESSAGES / 3 / slice) * slice) {
        abrupt.stream.destroy(); // socket dropped while deliveries are queued for it
        polite.end(); // clean DISCONNECT mid-flood
      }
      if (sent === Math.floor(MESSAGES / 2 / slice) * slice) {
        slow.stream.destroy(); // the stalled subscriber leaves with deliveries pending
      }
      await new Promise((r) => setImmediate(r));
    }
    // The end marker travels behind the flood on the same connection (in-order per publisher).
    const done = Promise.all(
      [stay1, stay2].map(
        (s) => new Promise<void>((r) => s.on('message', (t) => t.endsWith('/end') && r())),
      ),
    );
    pub.publish(`flood/${run}/end`, 'end', { qos: 0 });
    await done;

    expect(received.get(stay1)).toBe(MESSAGES + 1);
    expect(received.get(stay2)).toBe(MESSAGES + 1);
    expect(received.get(abrupt)!).toBeLessThan(MESSAGES);
    expect(received.get(slow)!).toBeLessThan(MESSAGES);
    expect(disconnected).toBeGreaterThanOrEqual(3);

    // Still alive: a fresh client can connect and round-trip a QoS 1 message.
    const probe = await connect(url, `soak-probe-${run}`);
    cleanup.push(() => probe.end(true));
    await probe.subscribeAsync(`probe/${run}`, { qos: 1 });
    const got = new Promise<string>((r) => probe.once('message', (_t, p) => r(p.toString())));
    await probe.publishAsync(`probe/${run}`, 'alive', { qos: 1 });
    expect(await got).toBe('alive');

    const m = broker.metrics();
    expect(m.messages_in).toBeGreaterThanOrEqual(MESSAGES + 2);
    expect(m.messages_out).toBeGreaterThanOrEqual(2 * (MESSAGES + 1));
    expect(events).toBeGreaterThan(MESSAGES); // one message.publish per message at least
  });

  it(
    'survives the last subscriber leaving while routing is backed up',
    { timeout: 60_000 },
    async () => {
      const broker = createBroker(
        { logger: silentLogger },
        { listeners: { tcp: { type: 'tcp', bind: '127.0.0.1', port: 0 } } },
      );
      let dropped = 0;
      broker.onEvent((e) => void (e.name === 'message.dropped' && dropped++), {
        names: ['message.dropped'],
      });
      const [addr] = await broker.start();
      cleanup.push(() => broker.stop());
      const url = `mqtt://127.0.0.1:${addr!.port}`;
      const run = randomUUID().slice(0, 8);
      const topic = `jam/${run}`;

      const stalled = await connect(url, `jam-sub-${run}`);
      cleanup.push(() => stalled.end(true));
      await stalled.subscribeAsync(topic, { qos: 0 });
      stalled.stream.pause(); // stops reading: deliveries wait for 'drain' and hold delivery slots
      const pubs: MqttClient[] = [];
      for (let i = 0; i < 48; i++) {
        const p = await connect(url, `jam-pub-${run}-${i}`);
        cleanup.push(() => p.end(true));
        pubs.push(p);
      }
      const big = Buffer.alloc(1024, 0x62);
      let cut = false;
      // Bounded: at most 48 × 15 × 200 = 144,000 messages; usually the cut comes much earlier.
      for (let round = 0; round < 15; round++) {
        for (const p of pubs) for (let i = 0; i < 200; i++) p.publish(topic, big, { qos: 0 });
        await new Promise((r) => setTimeout(r, 2));
        const m = broker.metrics();
        if (!cut && m.messages_in - m.messages_out > 2000) {
          stalled.stream.destroy(); // the only subscriber leaves with thousands of messages queued
          cut = true;
        }
        if (cut && round > 8) break;
      }
      expect(cut).toBe(true);
      // Routing drains: everything left over is reported as dropped (no subscribers).
      const deadline = Date.now() + 20_000;
      while (dropped === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(dropped).toBeGreaterThan(0);

      const probe = await connect(url, `jam-probe-${run}`);
      cleanup.push(() => probe.end(true));
      await probe.subscribeAsync(`probe/${run}`, { qos: 1 });
      const got = new Promise<string>((r) => probe.once('message', (_t, p) => r(p.toString())));
      await probe.publishAsync(`probe/${run}`, 'alive', { qos: 1 });
      expect(await got).toBe('alive');
    },
  );
});
