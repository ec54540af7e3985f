/**
 * MQTT conformance, area WebSocket transport (MQTT 3.1.1 §6, MQTT 5 §6: the same four
 * statements, [MQTT-6.0.0-1..4]). The `ws` package (npm) sends hand-made frames to the broker's
 * ws listener, so frame boundaries and frame types are the test's to choose; MQTT.js over ws is
 * the well-behaved client. Statement → test map: docs/mqtt-conformance.md.
 */
import mqtt from 'mqtt';
import { generate, parser, type Packet } from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  connectPacket,
  sleep,
  startConformance,
  uid,
  waitFor,
  type Conformance,
} from '../conformance.js';

let b: Conformance;
let wsUrl: string;
beforeAll(async () => {
  b = await startConformance({
    listeners: { ws: { type: 'ws', bind: '127.0.0.1', port: 0, path: '/mqtt' } },
  });
  wsUrl = `ws://127.0.0.1:${b.addresses.find((a) => a.name === 'ws')!.port}/mqtt`;
});
afterAll(async () => b?.stop());

/** A raw WebSocket client: sends frames as told, parses whatever binary frames come back. */
class FrameClient {
  readonly packets: Packet[] = [];
  readonly textFrames: string[] = [];
  closeCode: number | undefined;
  readonly closed: Promise<void>;

  private constructor(readonly ws: WebSocket) {
    const p = parser({ protocolVersion: 4 });
    p.on('packet', (packet: Packet) => this.packets.push(packet));
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) p.parse(data);
      else this.textFrames.push(data.toString());
    });
    this.closed = new Promise((resolve) =>
      ws.once('close', (code) => {
        this.closeCode = code;
        resolve();
      }),
    );
  }

  static async open(protocols: string[] = ['mqtt']): Promise<FrameClient> {
    const ws = new WebSocket(wsUrl, protocols);
    ws.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new FrameClient(ws);
  }

  binary(bytes: Buffer): void {
    this.ws.send(bytes, { binary: true });
  }

  cmds(): string[] {
    return this.packets.map((p) => p.cmd);
  }

  async closedWithin(ms = 3000): Promise<boolean> {
    return Promise.race([this.closed.then(() => true), sleep(ms).then(() => false)]);
  }
}

const bytes = (...packets: Packet[]): Buffer =>
  Buffer.concat(packets.map((p) => generate(p, { protocolVersion: 4 })));

describe('WebSocket transport', () => {
  it('[MQTT-6.0.0-2] packets split across binary frames (a CONNECT in three frames, a PUBLISH cut in two) and several packets in one frame are all read', async () => {
    const c = await FrameClient.open();
    const topic = uid('ws/split');
    const connect = bytes(connectPacket(uid('split')));
    // CONNECT: fixed header alone, then one byte, then the rest.
    c.binary(connect.subarray(0, 2));
    c.binary(connect.subarray(2, 3));
    c.binary(connect.subarray(3));
    await waitFor(() => c.cmds().includes('connack'), 'CONNACK');
    // One frame: SUBSCRIBE + PINGREQ + the first 5 bytes of a PUBLISH; the next frame: the rest
    // of that PUBLISH and a second whole PUBLISH.
    const sub = bytes({
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: [{ topic, qos: 1 }],
    } as Packet);
    const pub = (payload: string, messageId: number) =>
      bytes({
        cmd: 'publish',
        topic,
        payload: Buffer.from(payload),
        qos: 1,
        messageId,
        retain: false,
        dup: false,
      } as Packet);
    const first = pub('first', 10);
    c.binary(Buffer.concat([sub, bytes({ cmd: 'pingreq' }), first.subarray(0, 5)]));
    c.binary(Buffer.concat([first.subarray(5), pub('second', 11)]));
    await waitFor(
      () => c.packets.filter((p) => p.cmd === 'publish').length === 2,
      'both PUBLISHes back',
    );
    expect(c.cmds()[0]).toBe('connack');
    expect(c.cmds()).toContain('suback');
    expect(c.cmds()).toContain('pingresp');
    const acks = c.packets.filter((p) => p.cmd === 'puback').map((p) => p.messageId);
    expect(acks.sort()).toEqual([10, 11]);
    const got = c.packets.filter((p) => p.cmd === 'publish');
    expect(got.map((p) => (p as { payload: Buffer }).payload.toString())).toEqual([
      'first',
      'second',
    ]);
    expect(c.textFrames).toEqual([]);
    c.ws.close();
  });

  it('[MQTT-6.0.0-1] a text frame (holding a valid PUBLISH) closes the connection; the PUBLISH is not acted on, the refusal is counted', async () => {
    const topic = uid('ws/text');
    const sub = await b.mqttjs({ clientId: uid('sub') });
    await sub.subscribeAsync(topic, { qos: 1 });
    const got: string[] = [];
    sub.on('message', (_t, p) => got.push(p.toString()));
    const before = b.broker.metrics().protocol_ws_text_frame;
    const id = uid('text');
    const c = await FrameClient.open();
    c.binary(bytes(connectPacket(id)));
    await waitFor(() => c.cmds().includes('connack'), 'CONNACK');
    await waitFor(() => b.of('client.connected', id).length === 1, 'connected');
    // A QoS 1 PUBLISH whose bytes are all ASCII: valid UTF-8, so ws accepts it as a text frame.
    const pub = bytes({
      cmd: 'publish',
      topic,
      payload: Buffer.from('in-a-text-frame'),
      qos: 1,
      messageId: 5,
      retain: false,
      dup: false,
    } as Packet);
    expect([...pub].every((x) => x < 0x80)).toBe(true);
    c.ws.send(pub.toString('latin1'), { binary: false });
    expect(await c.closedWithin()).toBe(true);
    expect(c.closeCode).toBe(1003);
    expect(c.cmds()).toEqual(['connack']); // no PUBACK
    await waitFor(() => b.of('client.disconnected', id).length === 1, 'disconnected');
    expect(b.of('client.disconnected', id)[0]!['reason']).toBe('protocol_error');
    expect(b.broker.metrics().protocol_ws_text_frame).toBe(before + 1);
    // The same PUBLISH in a binary frame from another client is delivered: the subscriber works.
    const ok = await FrameClient.open();
    ok.binary(Buffer.concat([bytes(connectPacket(uid('bin'))), pub]));
    await waitFor(() => got.length === 1, 'binary copy delivered');
    expect(got).toEqual(['in-a-text-frame']);
    expect(b.of('message.publish').filter((m) => m['topic'] === topic)).toHaveLength(1);
    ok.ws.close();
  });

  it('[MQTT-6.0.0-1] a CONNECT in a text frame gets no CONNACK: closed', async () => {
    const c = await FrameClient.open();
    const connect = bytes(connectPacket(uid('textconnect')));
    expect([...connect].every((x) => x < 0x80)).toBe(true);
    c.ws.send(connect.toString('latin1'), { binary: false });
    expect(await c.closedWithin()).toBe(true);
    expect(c.packets).toEqual([]);
  });

  it('[MQTT-6.0.0-4] the server selects the `mqtt` subprotocol, also when the client offers another first; MQTT.js over ws connects', async () => {
    for (const offered of [['mqtt'], ['mqttv3.1', 'mqtt']]) {
      const c = await FrameClient.open(offered);
      expect(c.ws.protocol, offered.join(',')).toBe('mqtt');
      c.ws.close();
    }
    const viaWs = await mqtt.connectAsync(wsUrl, {
      clientId: uid('js-ws'),
      reconnectPeriod: 0,
      protocolVersion: 4,
    });
    expect(viaWs.connected).toBe(true);
    await viaWs.endAsync();
  });
});
