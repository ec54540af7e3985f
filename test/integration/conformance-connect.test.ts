/**
 * MQTT conformance, area CONNECT / CONNACK / PINGREQ / DISCONNECT (MQTT 3.1.1 §3.1, §3.2,
 * §3.12, §3.14, and MQTT 5 where noted), with MQTT.js and paho-mqtt 2 over TCP; raw packets only
 * for what a client library will not send. Statement → test map: docs/mqtt-conformance.md.
 * Already covered elsewhere (not repeated): protocol name / level [MQTT-3.1.2-1] [MQTT-3.1.2-2]
 * and UTF-8 in CONNECT fields [MQTT-1.5.3-1/2] (src/broker/protocol-check.test.ts,
 * broker-protocol.test.ts); MQTT 5 CONNACK properties (src/broker/mqtt5.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/broker/index.js';
import {
  connectPacket,
  mqttString,
  rawPacket,
  sleep,
  startConformance,
  uid,
  waitFor,
  type Conformance,
} from '../conformance.js';

let b: Conformance;
beforeAll(async () => {
  b = await startConformance({ max_clientid_len: 30 });
});
afterAll(async () => b?.stop());

/** A CONNECT with hand-set connect flags (clean session etc.) and payload fields. */
const connectBytes = (flags: number, ...payload: string[]) =>
  rawPacket(0x10, mqttString('MQTT'), [4, flags, 0, 0], ...payload.map((p) => mqttString(p)));

describe('CONNECT accepted', () => {
  it('[MQTT-3.1.4-4] [MQTT-3.2.2-1] [MQTT-3.1.3-5] paho and MQTT.js: a 23-character alphanumeric id gets CONNACK 0, session present 0', async () => {
    const id = `P${process.pid}`.padEnd(23, 'x').slice(0, 23);
    const r = await b.paho({ client_id: id, steps: [{ op: 'connect' }, { op: 'disconnect' }] });
    expect(r.connack).toEqual([{ rc: 0, session_present: false }]);
    const js = await b.mqttjs({ clientId: id.replace(/^P/, 'J') });
    expect(js.connected).toBe(true);
    await waitFor(() => b.of('client.connack', id.replace(/^P/, 'J')).length === 1, 'connack');
    expect(b.of('client.connack', id.replace(/^P/, 'J'))[0]).toMatchObject({
      reason_code: 'success',
    });
  });

  it('[MQTT-3.1.3-6] paho: an empty client id with clean session is accepted and given a unique id', async () => {
    const runs = await Promise.all(
      [1, 2].map(() =>
        b.paho({
          client_id: '',
          steps: [{ op: 'connect' }, { op: 'sleep', s: 0.2 }, { op: 'disconnect' }],
        }),
      ),
    );
    for (const r of runs) expect(r.connack).toEqual([{ rc: 0, session_present: false }]);
    await waitFor(() => b.of('client.disconnected').length >= 3, 'both disconnected');
    const assigned = b
      .of('client.connected')
      .map((c) => c['clientid'] as string)
      .filter((id) => !id.startsWith('P') && !id.startsWith('J'));
    expect(assigned).toHaveLength(2);
    expect(assigned[0]).not.toBe('');
    expect(assigned[0]).not.toBe(assigned[1]);
  });
});

describe('CONNECT refused', () => {
  it('[MQTT-3.1.3-8] [MQTT-3.2.2-4] [MQTT-3.2.2-5] an empty client id with clean session 0: CONNACK 2, session present 0, then closed', async () => {
    const r = await b.raw();
    r.bytes(connectBytes(0x00, '')); // mqtt-packet will not generate this CONNECT
    const ack = await r.next('connack');
    expect(ack.returnCode).toBe(2);
    expect(ack.sessionPresent).toBe(false);
    expect(await r.closedWithin()).toBe(true);
  });

  it('[MQTT-3.1.3-9] a client id the server rejects gets CONNACK 2 and is closed (MQTT 3.1: longer than max_clientid_len)', async () => {
    // 3.1.1 and 5 accept any length (as the spec allows); Aedes applies the limit to 3.1 only.
    const r = await b.raw();
    r.send({ ...connectPacket('x'.repeat(31)), protocolId: 'MQIsdp', protocolVersion: 3 } as never);
    expect((await r.next('connack')).returnCode).toBe(2);
    expect(await r.closedWithin()).toBe(true);
    const ok = await b.raw();
    ok.send(connectPacket('y'.repeat(31)));
    expect((await ok.next('connack')).returnCode).toBe(0);
  });

  it('[MQTT-3.1.4-5] [MQTT-3.2.2-5] after a refused CONNECT (CONNACK 5) nothing the client sent is processed', async () => {
    const locked = await startConformance({
      allow_anonymous: false,
      users: [{ username: 'u', password_hash: hashPassword('pw', { N: 1024 }) }],
    });
    try {
      const topic = uid('refused');
      const sub = await locked.mqttjs({ clientId: uid('sub'), username: 'u', password: 'pw' });
      await sub.subscribeAsync(topic, { qos: 1 });
      const got: string[] = [];
      sub.on('message', (t) => got.push(t));
      const r = await locked.raw();
      r.send(connectPacket(uid('anon')), {
        cmd: 'publish',
        topic,
        payload: Buffer.from('x'),
        qos: 1,
        messageId: 1,
        retain: false,
        dup: false,
      } as never);
      const ack = await r.next('connack');
      expect(ack.returnCode).toBe(5);
      expect(ack.sessionPresent).toBe(false);
      expect(await r.closedWithin()).toBe(true);
      await sleep(200);
      expect(got).toEqual([]);
      expect(r.log.map((p) => p.cmd)).toEqual(['connack']);
    } finally {
      await locked.stop();
    }
  });
});

describe('CONNECT malformed: closed without CONNACK', () => {
  it('[MQTT-3.1.0-1] a first packet that is not CONNECT (PINGREQ, PUBLISH) closes the connection unanswered', async () => {
    const topic = uid('early');
    const sub = await b.mqttjs({ clientId: uid('sub') });
    await sub.subscribeAsync(topic);
    const got: string[] = [];
    sub.on('message', (t) => got.push(t));
    for (const first of [
      { cmd: 'pingreq' },
      { cmd: 'publish', topic, payload: Buffer.from('x'), qos: 0, retain: false, dup: false },
    ]) {
      const r = await b.raw();
      r.send(first as never);
      expect(await r.closedWithin()).toBe(true);
      expect(r.log).toEqual([]);
    }
    await sleep(100);
    expect(got).toEqual([]);
  });

  it('[MQTT-3.1.0-2] a second CONNECT is a protocol violation: the connection is closed (3.1.1 and MQTT 5)', async () => {
    for (const version of [4, 5] as const) {
      const id = uid(`twice-v${version}`);
      const r = await b.rawConnected(id, { protocolVersion: version });
      r.send(connectPacket(id, version));
      expect(await r.closedWithin()).toBe(true);
      expect(r.log.filter((p) => p.cmd === 'connack')).toHaveLength(1);
      await waitFor(() => b.of('client.disconnected', id).length === 1, 'disconnected');
    }
  });

  it('[MQTT-3.1.2-3] [MQTT-3.1.4-1] the reserved connect flag set: closed, no CONNACK', async () => {
    const r = await b.raw();
    r.bytes(connectBytes(0x03, uid('reserved')));
    expect(await r.closedWithin()).toBe(true);
    expect(r.log).toEqual([]);
  });

  it('[MQTT-3.1.2-22] password flag without the user name flag: closed, no CONNACK', async () => {
    const r = await b.raw();
    r.bytes(connectBytes(0x42, uid('pw'), 'secret'));
    expect(await r.closedWithin()).toBe(true);
    expect(r.log).toEqual([]);
  });

  it('[MQTT-3.1.2-13] [MQTT-3.1.2-15] will flag 0 with will QoS or will retain set: closed, no CONNACK', async () => {
    for (const flags of [0x0a, 0x22]) {
      const r = await b.raw();
      r.bytes(connectBytes(flags, uid('nowill')));
      expect(await r.closedWithin(), `flags 0x${flags.toString(16)}`).toBe(true);
      expect(r.log).toEqual([]);
    }
  });

  it('[MQTT-3.1.2-14] will QoS 3: closed, no CONNACK', async () => {
    const r = await b.raw();
    r.bytes(connectBytes(0x1e, uid('q3'), 'will/t', 'bye'));
    expect(await r.closedWithin()).toBe(true);
    expect(r.log).toEqual([]);
  });
});

describe('CONNACK first, then the session', () => {
  it('[MQTT-3.2.0-1] with SUBSCRIBE and PINGREQ pipelined after CONNECT, the first packet back is CONNACK', async () => {
    const r = await b.raw();
    r.send(
      connectPacket(uid('pipe')),
      { cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'p/#', qos: 0 }] } as never,
      { cmd: 'pingreq' },
    );
    await r.next('pingresp');
    await r.next('suback');
    expect(r.log[0]!.cmd).toBe('connack');
    expect(r.log.map((p) => p.cmd).sort()).toEqual(['connack', 'pingresp', 'suback']);
  });

  it('[MQTT-3.1.4-2] paho takes over an MQTT.js connection with the same client id: the old one is closed', async () => {
    const id = uid('takeover');
    const js = await b.mqttjs({ clientId: id, clean: true });
    const closed = new Promise<void>((resolve) => js.once('close', () => resolve()));
    const r = await b.paho({ client_id: id, steps: [{ op: 'connect' }, { op: 'disconnect' }] });
    expect(r.connack[0]!.rc).toBe(0);
    await closed;
    expect(b.of('client.disconnected', id).map((c) => c['reason'])).toContain('discarded');
  });
});

describe('keepalive and PINGREQ', () => {
  it('[MQTT-3.12.4-1] PINGREQ gets PINGRESP (raw); MQTT.js with keepalive 1 stays connected by pinging', async () => {
    const r = await b.rawConnected(uid('ping'));
    r.send({ cmd: 'pingreq' });
    await r.next('pingresp');
    const id = uid('js-ka');
    const js = await b.mqttjs({ clientId: id, keepalive: 1 });
    await sleep(2500);
    expect(js.connected).toBe(true);
    expect(b.of('client.disconnected', id)).toEqual([]);
  });

  it('[MQTT-3.1.2-24] keepalive 1 and silence: the server closes the connection after 1.5 × keepalive, not before 1 s', async () => {
    const r = await b.raw();
    const id = uid('silent');
    r.send({ ...connectPacket(id), keepalive: 1 } as never);
    await r.next('connack');
    const t0 = Date.now();
    await r.closed;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
    await waitFor(() => b.of('client.disconnected', id).length === 1, 'disconnected');
    expect(b.of('client.disconnected', id)[0]!['reason']).toBe('keepalive_timeout');
  });
});

describe('fixed-header flags', () => {
  it('[MQTT-2.2.2-1] [MQTT-2.2.2-2] [MQTT-3.14.1-1] PINGREQ or DISCONNECT with reserved flag bits set closes the connection', async () => {
    for (const first of [0xc1, 0xe1]) {
      const r = await b.rawConnected(uid('flags'));
      r.bytes([first, 0]);
      expect(await r.closedWithin(), `0x${first.toString(16)}`).toBe(true);
      expect(r.log.map((p) => p.cmd)).toEqual(['connack']);
    }
  });
});

describe('transient errors', () => {
  it('[MQTT-4.8.0-2] an authorizer failing (backend down) while a SUBSCRIBE or PUBLISH is processed closes that connection, and only that one; the packet is not acted on (MQTT.js 3.1.1 and v5, paho)', async () => {
    const down = (r: { action: string; topic: string }) =>
      (r.action === 'subscribe' && r.topic.startsWith('flaky-sub/')) ||
      (r.action === 'publish' && r.topic.startsWith('flaky/'));
    const f = await startConformance(
      {},
      {},
      {
        authorizers: [
          {
            name: 'backend',
            authorize: (r) =>
              down(r)
                ? Promise.reject(new Error('backend unreachable'))
                : Promise.resolve('ignore'),
          },
        ],
      },
    );
    try {
      const bystander = await f.mqttjs({ clientId: uid('bystander') });
      const seen: string[] = [];
      bystander.on('message', (t, p) => seen.push(`${t}=${p.toString()}`));
      await bystander.subscribeAsync('flaky/#', { qos: 1 });
      // SUBSCRIBE (MQTT.js 3.1.1): closed, no SUBACK.
      const subId = uid('sub311');
      const sub = await f.mqttjs({ clientId: subId });
      const subClosed = new Promise<void>((r) => sub.once('close', () => r()));
      const subacks: unknown[] = [];
      sub.on('packetreceive', (p) => p.cmd === 'suback' && subacks.push(p));
      sub.subscribe('flaky-sub/a', { qos: 1 }, () => {});
      await subClosed;
      expect(subacks).toEqual([]);
      // PUBLISH (paho 3.1.1, QoS 0): closed by the server, not delivered.
      const r = await f.paho({
        client_id: uid('paho'),
        steps: [
          { op: 'connect' },
          { op: 'publish', topic: 'flaky/paho', payload: 'x', qos: 0 },
          { op: 'sleep', s: 0.5 },
        ],
      });
      expect(r.closed_by_server).toBe(true);
      // PUBLISH (MQTT.js v5, QoS 1): DISCONNECT 0x80, then closed; no PUBACK.
      const v5Id = uid('pub5');
      const v5 = await f.mqttjs({ clientId: v5Id, protocolVersion: 5 });
      const disconnect = new Promise<number | undefined>((res) =>
        v5.once('disconnect', (p) => res(p.reasonCode)),
      );
      const v5Closed = new Promise<void>((res) => v5.once('close', () => res()));
      const pubacks: unknown[] = [];
      v5.on('packetreceive', (p) => p.cmd === 'puback' && pubacks.push(p));
      v5.publish('flaky/v5', 'y', { qos: 1 }, () => {});
      expect(await disconnect).toBe(0x80);
      await v5Closed;
      expect(pubacks).toEqual([]);
      for (const id of [subId, v5Id]) {
        await waitFor(() => f.of('client.disconnected', id).length === 1, `${id} closed`);
        expect(f.of('client.disconnected', id)[0]!['reason']).toBe('authz_backend_failed');
      }
      // The others are untouched: the bystander is connected and still receives.
      const pub = await f.mqttjs({ clientId: uid('ok') });
      await pub.publishAsync('ok/x', 'fine', { qos: 1 }); // not under flaky/: authorized
      await bystander.subscribeAsync('ok/x', { qos: 1 });
      await pub.publishAsync('ok/x', 'fine', { qos: 1 });
      await waitFor(() => seen.length === 1, 'bystander copy');
      expect(seen).toEqual(['ok/x=fine']);
      expect(bystander.connected).toBe(true);
    } finally {
      await f.stop();
    }
  });
});
