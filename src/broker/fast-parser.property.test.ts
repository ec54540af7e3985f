/**
 * Differential test of the fast path (fast-parser.ts, decision 0015): random byte streams —
 * valid packets of every type from mqtt-packet's generator (MQTT 3.1.1 and 5, with random
 * properties), the same packets with bytes flipped, cut or inserted, and plain noise — are
 * split at random chunk boundaries and fed to two parsers: mqtt-packet's own, and ours. Both
 * carry the real parser guards of limits.ts (max_packet_size) and protocol-check.ts (UTF-8,
 * U+0000, packet id 0, packet_timeout's parse wrapper). The parsers must emit the same
 * packets (same prototype, same keys in the same order, equal values and Buffers) and the same
 * errors in the same order, and return the same buffered length from every `parse` call.
 */
import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import { generate, parser as mqttParser, type Packet } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../core/index.js';
import type { ClientRecord } from './client-records.js';
import type { BrokerConfig } from './config.js';
import { LISTENER_LIMIT_DEFAULTS } from './config.js';
import { createFastParser } from './fast-parser.js';
import { createLimits } from './limits.js';
import { createProtocolCheck } from './protocol-check.js';
import type { BrokerMetrics } from './types.js';

type Event = ['packet', unknown] | ['error', string] | ['parse', number];

/** A packet as data: prototype names, key order, Buffers as hex. */
function shape(v: unknown): unknown {
  if (Buffer.isBuffer(v)) return { buffer: v.toString('hex') };
  if (Array.isArray(v)) return v.map(shape);
  if (v !== null && typeof v === 'object') {
    const proto = Object.getPrototypeOf(v) as { constructor?: { name: string } } | null;
    return {
      proto: proto === null ? null : (proto.constructor?.name ?? '?'),
      entries: Object.keys(v).map((k) => [k, shape((v as Record<string, unknown>)[k])]),
    };
  }
  return v;
}

/** A parser with the broker's guards, recording what it emits. */
function guarded(make: () => object, maxPacketSize: number) {
  const parser = make() as NodeJS.EventEmitter & { parse(b: Buffer): number };
  const events: Event[] = [];
  parser.on('packet', (p: object) => events.push(['packet', shape(p)]));
  parser.on('error', (e: Error) => events.push(['error', e.message]));
  const conn = new PassThrough();
  const client = { _parser: parser, conn } as never;
  const rec = {
    meta: { listener: 't', transport: 'tcp' },
    peername: 'test',
    clientid: '',
  } as unknown as ClientRecord;
  const config = {
    connect_timeout: 60_000,
    listeners: {
      t: { ...LISTENER_LIMIT_DEFAULTS, max_packet_size: maxPacketSize, packet_timeout: 60_000 },
    },
  } as unknown as BrokerConfig;
  const metrics = new Proxy({} as Record<string, number>, {
    get: (t, k: string) => t[k] ?? 0,
  }) as unknown as BrokerMetrics;
  createLimits(config, metrics, silentLogger).guard(client, rec);
  createProtocolCheck(metrics, silentLogger).guard(client, rec);
  return {
    events,
    feed(chunk: Buffer) {
      events.push(['parse', parser.parse(chunk)]);
    },
    close: () => conn.emit('close'),
  };
}

const anyStr = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom('a', 'bench/r1/x', 'dev/ü/温度', '', 'x'.repeat(40)) },
  { weight: 6, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }) },
  { weight: 1, arbitrary: fc.constantFrom('a\u0000b', 'bad\uFFFD', '\uD800x') },
);
/** Strings protocol-check accepts (clean streams). */
const cleanStr = fc.oneof(
  fc.constantFrom('a', 'bench/r1/x', 'dev/ü/温度', '', 'x'.repeat(40)),
  fc.string({ maxLength: 12 }),
);
const bytes = (max: number) =>
  fc.uint8Array({ maxLength: max }).map((u) => Buffer.from(u.buffer, u.byteOffset, u.length));

/** Packets of every kind; dirty ones may carry strings and packet ids protocol-check refuses. */
function packetArb(v5: boolean, dirty: boolean): fc.Arbitrary<Record<string, unknown>> {
  const str = dirty ? anyStr : cleanStr;
  const id = dirty
    ? fc.oneof(
        { weight: 20, arbitrary: fc.integer({ min: 1, max: 65_535 }) },
        { weight: 1, arbitrary: fc.constant(0) },
      )
    : fc.integer({ min: 1, max: 65_535 });
  const userProps = fc.dictionary(
    str,
    fc.oneof(str, fc.array(str, { minLength: 1, maxLength: 3 })),
    {
      maxKeys: 3,
    },
  );

  const publishProps = fc.record(
    {
      payloadFormatIndicator: fc.boolean(),
      messageExpiryInterval: fc.nat(),
      contentType: str,
      responseTopic: str,
      correlationData: bytes(8),
      subscriptionIdentifier: fc.oneof(
        fc.integer({ min: 1, max: 268_435_455 }),
        fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 3 }),
      ),
      topicAlias: fc.integer({ min: 0, max: 65_535 }),
      userProperties: userProps,
    },
    { requiredKeys: [] },
  );

  const ackProps = fc.record(
    { reasonString: str, userProperties: userProps },
    { requiredKeys: [] },
  );

  return fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record({
        cmd: fc.constant('publish'),
        topic: str,
        payload: bytes(40),
        qos: fc.constantFrom(0, 1, 2),
        dup: fc.boolean(),
        retain: fc.boolean(),
        messageId: id,
        ...(v5 ? { properties: publishProps } : {}),
      }),
    },
    {
      weight: 4,
      arbitrary: fc.record({
        cmd: fc.constantFrom('puback', 'pubrec', 'pubrel', 'pubcomp'),
        messageId: id,
        ...(v5
          ? {
              // Mostly valid for the type (0x10 / 0x99 only for PUBACK / PUBREC, 0x92 only
              // for PUBREL / PUBCOMP), sometimes not.
              reasonCode: fc.oneof(
                { weight: 6, arbitrary: fc.constant(0) },
                { weight: 1, arbitrary: fc.constantFrom(0x10, 0x80, 0x87, 0x92, 0x99, 0x01) },
              ),
              properties: ackProps,
            }
          : {}),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom<Record<string, unknown>>(
        { cmd: 'pingreq' },
        { cmd: 'subscribe', messageId: 3, subscriptions: [{ topic: 'a/#', qos: 1 }] },
        { cmd: 'unsubscribe', messageId: 4, unsubscriptions: ['a/#'] },
        { cmd: 'disconnect' },
      ),
    },
  );
}

/** One packet's bytes: generated, then maybe mutated; or noise. */
const wireArb = (v5: boolean, dirty: boolean): fc.Arbitrary<Buffer> =>
  !dirty
    ? packetArb(v5, dirty).map((p) => encode(p, v5))
    : fc.oneof(
        {
          weight: 30,
          arbitrary: packetArb(v5, dirty).map((p) => encode(p, v5)),
        },
        {
          weight: 2,
          arbitrary: fc
            .tuple(
              packetArb(v5, dirty),
              fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat(2)), {
                minLength: 1,
                maxLength: 3,
              }),
            )
            .map(([p, edits]) => mutate(encode(p, v5), edits)),
        },
        { weight: 1, arbitrary: bytes(12) },
      );

function encode(p: Record<string, unknown>, v5: boolean): Buffer {
  try {
    return generate(p as unknown as Packet, { protocolVersion: v5 ? 5 : 4 });
  } catch {
    return Buffer.from([0x30, 0x03, 0x00, 0x01, 0x61]); // a valid QoS 0 PUBLISH to "a"
  }
}

/** Each edit at position `at`: 0 = overwrite the byte, 1 = insert it, 2 = cut the rest there. */
function mutate(buf: Buffer, edits: [number, number, number][]): Buffer {
  let b = Buffer.from(buf);
  for (const [at, value, kind] of edits) {
    if (b.length === 0) break;
    const i = at % b.length;
    if (kind === 0) b[i] = value;
    else if (kind === 1) b = Buffer.concat([b.subarray(0, i), Buffer.from([value]), b.subarray(i)]);
    else b = b.subarray(0, Math.max(1, i));
  }
  return b;
}

const connect = (v5: boolean): Buffer =>
  generate(
    {
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: v5 ? 5 : 4,
      clean: true,
      clientId: 'c',
      keepalive: 0,
    } as Packet,
    { protocolVersion: v5 ? 5 : 4 },
  );

const streamArb = fc
  .tuple(
    fc.boolean(),
    fc.boolean(),
    fc.boolean(),
    fc.oneof(fc.constant(268_435_460), fc.integer({ min: 24, max: 4096 })),
  )
  .chain(([v5, withConnect, dirty, maxSize]) =>
    fc.record({
      v5: fc.constant(v5),
      maxSize: fc.constant(maxSize),
      wire: fc
        .array(wireArb(v5, dirty), { minLength: 1, maxLength: 40, size: 'large' })
        .map((ps) => Buffer.concat(withConnect ? [connect(v5), ...ps] : ps)),
      cuts: fc.array(fc.nat(), { maxLength: 8 }),
    }),
  );

function chunks(wire: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const c of [...at, wire.length]) {
    if (c > from) out.push(wire.subarray(from, c));
    from = Math.max(from, c);
  }
  return out;
}

describe('fast parser ≡ mqtt-packet', () => {
  it('emits the same packets and errors for random, mutated and split streams', () => {
    let packets = 0;
    fc.assert(
      fc.property(streamArb, ({ maxSize, wire, cuts }) => {
        const ref = guarded(() => mqttParser(), maxSize);
        const ours = guarded(createFastParser, maxSize);
        for (const c of chunks(wire, cuts)) {
          ref.feed(c);
          ours.feed(c);
        }
        ref.close();
        ours.close();
        expect(ours.events).toEqual(ref.events);
        packets += ref.events.filter((e) => e[0] === 'packet').length;
      }),
      { numRuns: 600 },
    );
    expect(packets).toBeGreaterThan(3000); // the streams really carried packets
  });

  it('the fast path really handles most valid hot packets (the comparison is not vacuous)', () => {
    const ours = createFastParser() as unknown as {
      _parsePublish(): void;
      _parseConfirmation(): void;
      parse(b: Buffer): number;
      on(e: string, f: () => void): void;
    };
    let slow = 0;
    let emitted = 0;
    const pub = ours._parsePublish;
    const conf = ours._parseConfirmation;
    ours._parsePublish = function (this: unknown) {
      slow++;
      pub.call(this);
    };
    ours._parseConfirmation = function (this: unknown) {
      slow++;
      conf.call(this);
    };
    ours.on('packet', () => emitted++);
    ours.parse(connect(true));
    const wire = Buffer.concat(
      Array.from({ length: 200 }, (_, i) =>
        generate(
          i % 2
            ? ({ cmd: 'puback', messageId: i + 1, reasonCode: 0 } as Packet)
            : ({
                cmd: 'publish',
                topic: `t/${i}`,
                payload: Buffer.alloc(50, i),
                qos: 1,
                messageId: i + 1,
                properties: { userProperties: { k: 'v' } },
              } as unknown as Packet),
          { protocolVersion: 5 },
        ),
      ),
    );
    // 7 chunks with cuts inside packets: those split in a payload are joined, not re-parsed.
    for (const c of chunks(wire, [1000, 2011, 3500, 4777, 6000, 8123])) ours.parse(c);
    expect(emitted).toBe(201);
    expect(slow).toBeLessThanOrEqual(6);
  });
});
