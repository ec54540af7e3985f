/**
 * The fast path of fast-parser.ts (decision 0015): which packets it decodes itself, that they
 * equal mqtt-packet's, which it leaves to mqtt-packet, and that the broker's parser guards wrap
 * only methods it honours. The random differential test is fast-parser.property.test.ts.
 */
import { PassThrough } from 'node:stream';
import { generate, parser as mqttParser, type Packet } from 'mqtt-packet';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../core/index.js';
import type { ClientRecord } from './client-records.js';
import type { BrokerConfig } from './config.js';
import { LISTENER_LIMIT_DEFAULTS } from './config.js';
import { createFastParser, FAST_PATH_HONOURS, limitFastPath } from './fast-parser.js';
import { createLimits } from './limits.js';
import { createProtocolCheck } from './protocol-check.js';
import type { BrokerMetrics } from './types.js';
import { harness, publishPacket, stopAll } from '../../test/broker-harness.js';

afterEach(() => {
  vi.restoreAllMocks();
  return stopAll();
});

type P = NodeJS.EventEmitter & { parse(b: Buffer): number };
const proto = Object.getPrototypeOf(mqttParser()) as Record<string, (...a: unknown[]) => unknown>;

/** Everything a parser emits for `chunks`, and how many packets mqtt-packet decoded. */
function run(make: () => object, chunks: Buffer[]) {
  const p = make() as P;
  const out: unknown[] = [];
  p.on('packet', (x: object) => out.push(x));
  p.on('error', (e: Error) => out.push(`error: ${e.message}`));
  // mqtt-packet's `_newPacket` runs once per packet it decoded (the slow path).
  const slow = vi.spyOn(proto, '_newPacket');
  const returns = chunks.map((c) => p.parse(c));
  const slowCalls = slow.mock.calls.length;
  slow.mockRestore();
  return { out, returns, slowCalls };
}

/** Same packets (deep, with key order and prototypes) from both parsers; the slow-path count. */
function same(chunks: Buffer[]): number {
  const ref = run(() => mqttParser(), chunks);
  const ours = run(createFastParser, chunks);
  expect(ours.out).toStrictEqual(ref.out);
  for (let i = 0; i < ours.out.length; i++) {
    const [a, b] = [ours.out[i], ref.out[i]];
    if (typeof a === 'object' && a !== null) {
      expect(Object.keys(a)).toEqual(Object.keys(b as object));
      expect(Object.getPrototypeOf(a)).toBe(Object.getPrototypeOf(b));
    }
  }
  expect(ours.returns).toEqual(ref.returns);
  return ours.slowCalls;
}

const connect = (v: 4 | 5) =>
  generate(
    {
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: v,
      clean: true,
      clientId: 'c',
      keepalive: 0,
    } as Packet,
    { protocolVersion: v },
  );
const gen = (p: object, v: 4 | 5) => generate(p as Packet, { protocolVersion: v });
const pub = (topic: string, qos: 0 | 1 | 2, messageId: number, extra: object = {}) => ({
  cmd: 'publish',
  topic,
  payload: Buffer.from('{"temp":21.5}'),
  qos,
  messageId,
  dup: false,
  retain: false,
  ...extra,
});

describe('the fast path decodes the hot packets as mqtt-packet does', () => {
  it.each([4, 5] as const)('MQTT %i: PUBLISH QoS 0/1/2 (DUP, RETAIN) and the four acks', (v) => {
    const hot = Buffer.concat([
      gen(pub('bench/r1/x', 0, 0), v),
      gen(pub('dev/ü/温度', 1, 7, { dup: true }), v),
      gen(pub('a', 2, 65_535, { retain: true }), v),
      gen(pub('', 0, 0, { payload: Buffer.alloc(0) }), v),
      gen({ cmd: 'puback', messageId: 7 }, v),
      gen({ cmd: 'pubrec', messageId: 8 }, v),
      gen({ cmd: 'pubrel', messageId: 8 }, v),
      gen({ cmd: 'pubcomp', messageId: 8 }, v),
    ]);
    // Only the CONNECT goes through mqtt-packet's payload parse...
    expect(same([connect(v), hot])).toBe(1);
    // ...unless the hot packets share its read: the rest of a read after a packet we do not
    // decode goes to mqtt-packet in one call (see fast-parser.ts).
    expect(same([Buffer.concat([connect(v), hot])])).toBe(9);
  });

  it('MQTT 5: every PUBLISH property, acks with reason codes and properties', () => {
    const props = {
      payloadFormatIndicator: true,
      messageExpiryInterval: 4_000_000_000,
      contentType: 'application/json',
      responseTopic: 'reply/ü',
      correlationData: Buffer.from([0, 1, 2, 255]),
      subscriptionIdentifier: 268_435_455,
      topicAlias: 3,
      userProperties: { a: '1', b: ['2', '3'], '': 'empty name' },
    };
    const chunks = [
      connect(5),
      Buffer.concat([
        gen(pub('t', 1, 9, { properties: props }), 5),
        gen({ cmd: 'puback', messageId: 9, reasonCode: 0x10 }, 5),
        gen(
          { cmd: 'pubrec', messageId: 9, reasonCode: 0x87, properties: { reasonString: 'no' } },
          5,
        ),
        gen(
          {
            cmd: 'pubrel',
            messageId: 9,
            reasonCode: 0x92,
            properties: { userProperties: { k: 'v' } },
          },
          5,
        ),
        gen({ cmd: 'pubcomp', messageId: 9, reasonCode: 0 }, 5),
      ]),
    ];
    expect(same(chunks)).toBe(1);
  });

  it("MQTT 5: repeated properties follow mqtt-packet's rules (arrays; a falsy first value is replaced)", () => {
    // Hand-made: mqtt-packet's generator never repeats these. PUBLISH QoS 0 topic "t".
    const props = Buffer.from([
      0x01, 0x00, 0x01, 0x00, // payloadFormatIndicator false twice: the second replaces it
      0x23, 0x00, 0x05, 0x23, 0x00, 0x06, // topicAlias 5 then 6 → [5, 6]
      0x0b, 0x01, 0x0b, 0x02, 0x0b, 0x03, // subscriptionIdentifier 1, 2, 3 → [1, 2, 3]
      0x26, 0x00, 0x01, 0x6b, 0x00, 0x00, // user property k = ''
      0x26, 0x00, 0x01, 0x6b, 0x00, 0x01, 0x78, // k = 'x' replaces the falsy ''
      0x26, 0x00, 0x01, 0x6b, 0x00, 0x01, 0x79, // k = 'y' → ['x', 'y']
    ]); // prettier-ignore
    const body = Buffer.concat([Buffer.from([0, 1, 0x74, props.length]), props, Buffer.from('p')]);
    const packet = Buffer.concat([Buffer.from([0x30, body.length]), body]);
    expect(same([connect(5), packet])).toBe(1);
    const ours = run(createFastParser, [connect(5), packet]).out[1] as { properties?: object };
    expect(ours.properties).toEqual({
      payloadFormatIndicator: false,
      topicAlias: [5, 6],
      subscriptionIdentifier: [1, 2, 3],
      userProperties: { k: ['x', 'y'] },
    });
  });

  it('a packet split across reads (in its length, in its body) is joined, not re-parsed', () => {
    const a = gen(pub('x'.repeat(200), 1, 5), 5); // Remaining Length takes 2 bytes
    const b = gen(pub('t', 0, 0), 5);
    const wire = Buffer.concat([a, b, a]);
    for (const cut of [1, 2, 3, 50, a.length - 1, a.length + 1]) {
      expect(same([connect(5), wire.subarray(0, cut), wire.subarray(cut)])).toBe(1);
    }
    // Three reads inside one packet: the middle read leaves it pending in mqtt-packet.
    expect(same([connect(4), a.subarray(0, 10), a.subarray(10, 20), a.subarray(20)])).toBe(1);
  });
});

describe('everything else is left to mqtt-packet, with the same result', () => {
  it.each([
    ['a topic with U+0000', pub('a\u0000b', 0, 0)],
    ['PUBLISH packet id 0', pub('t', 1, 0)],
    ['a SUBSCRIBE', { cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 't', qos: 1 }] }],
    ['a PINGREQ', { cmd: 'pingreq' }],
  ])('%s, and the hot packets after it in the same read', (_name, packet) => {
    const wire = Buffer.concat([gen(packet, 5), gen(pub('t', 1, 2), 5), gen(pub('t', 0, 0), 5)]);
    // CONNECT + the odd packet + the two after it in the same chunk go to mqtt-packet...
    const slow = same([connect(5), wire]);
    expect(slow).toBeGreaterThanOrEqual(2);
    // ...and the next read is fast again.
    expect(same([connect(5), wire, gen(pub('t', 0, 0), 5)])).toBe(slow);
  });

  it('malformed bytes: unknown property, bad reason code, 5-byte length, wrong flags', () => {
    const cases = [
      Buffer.from([0x30, 0x05, 0x00, 0x01, 0x74, 0x01, 0x7f]), // property id 0x7f
      Buffer.from([0x40, 0x04, 0x00, 0x01, 0x05, 0x00]), // PUBACK reason 0x05
      Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]), // Remaining Length of 5 bytes
      Buffer.from([0x60, 0x02, 0x00, 0x01]), // PUBREL without its 0x02 flags
    ];
    for (const c of cases) {
      const ref = run(() => mqttParser(), [connect(5), c]);
      expect(ref.out.some((x) => typeof x === 'string' && x.startsWith('error'))).toBe(true);
      same([connect(5), c]);
    }
  });

  it('ill-formed UTF-8 (mqtt-packet decodes it to U+FFFD; protocol-check refuses it)', () => {
    const bad = Buffer.from([0x30, 0x05, 0x00, 0x02, 0xc3, 0x28, 0x00]);
    expect(same([connect(5), bad])).toBe(2); // CONNECT and this one: both mqtt-packet's
  });

  it('packets over the listener limit are left to the limits guard', () => {
    const big = gen(pub('t', 0, 0, { payload: Buffer.alloc(300) }), 4);
    const small = gen(pub('t', 0, 0), 4);
    const p = createFastParser();
    limitFastPath(p, 100);
    const slow = vi.spyOn(proto, '_newPacket');
    const seen: string[] = [];
    (p as unknown as P).on('packet', (x: Packet) => seen.push(`${x.cmd}:${x.length}`));
    (p as unknown as P).parse(Buffer.concat([small, big]));
    expect(seen).toEqual([`publish:${small.length - 2}`, `publish:${big.length - 3}`]);
    expect(slow).toHaveBeenCalledTimes(1); // the big one, through mqtt-packet (and its guard)
  });
});

describe('the guards wrap only methods the fast path honours', () => {
  it('limits.ts and protocol-check.ts (with packet_timeout) override nothing else', () => {
    const p = createFastParser();
    const before = new Set(Object.keys(p));
    const conn = new PassThrough();
    const rec = { meta: { listener: 't' }, peername: 'x', clientid: '' } as unknown as ClientRecord;
    const config = {
      connect_timeout: 10_000,
      listeners: { t: { ...LISTENER_LIMIT_DEFAULTS, packet_timeout: 5_000 } },
    } as unknown as BrokerConfig;
    const metrics = {} as BrokerMetrics;
    createLimits(config, metrics, silentLogger).guard({ _parser: p, conn } as never, rec);
    createProtocolCheck(metrics, silentLogger).guard({ _parser: p, conn } as never, rec);
    const wrapped = Object.keys(p).filter(
      (k) => typeof (p as unknown as Record<string, unknown>)[k] === 'function',
    );
    conn.emit('close');
    expect(wrapped.length).toBeGreaterThan(3);
    for (const k of wrapped)
      if (!before.has(k) || k === 'parse') expect(FAST_PATH_HONOURS).toContain(k);
  });
});

describe('in the broker', () => {
  it.each([4, 5] as const)(
    'MQTT %i: a PUBLISH is decoded by the fast path and routed as before',
    async (protocolVersion) => {
      const h = await harness();
      const { client: sub } = await h.connectClient('sub', { protocolVersion });
      sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'f/#', qos: 1 }] });
      await sub.next('suback');
      const { client } = await h.connectClient('pub', { protocolVersion });
      const slow = vi.spyOn(proto, '_parsePublish');
      client.send(publishPacket('f/1', 'hello', 1, 11));
      expect((await client.next('puback')).messageId).toBe(11);
      const got = await sub.next('publish');
      // The only mqtt-packet PUBLISH parse is the subscriber's own (the test client's parser).
      expect(slow).toHaveBeenCalledTimes(1);
      expect([got.topic, got.payload.toString(), got.qos]).toEqual(['f/1', 'hello', 1]);
      sub.send({ cmd: 'puback', messageId: got.messageId! });
      await vi.waitFor(() => expect(h.of('message.acked')).toHaveLength(1));
    },
  );
});
