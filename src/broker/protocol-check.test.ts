/**
 * Protocol strictness (protocol-check.ts) over in-memory duplex streams, in the style of
 * broker.test.ts: packets with bad strings are built byte by byte (mqtt-packet's generator
 * cannot write ill-formed UTF-8), good ones with mqtt-packet. Each test names the MQTT 3.1.1
 * normative statement it checks. Real-socket runs of the same checks: test/integration/
 * broker-protocol.test.ts.
 */
import type { Duplex } from 'node:stream';
import { generate, parser, type Packet } from 'mqtt-packet';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { silentLogger, type BrokerEvent, type EventName, type Logger } from '../core/index.js';
import { createBrokerInternals } from './broker.js';
import type { BrokerConfigInput } from './config.js';
import type { ConnMeta } from './listeners.js';
import { connectFlagsFault, stringFault } from './protocol-check.js';
import { misplacedPlus } from './hooks.js';
import type { Broker } from './types.js';
import { memoryPipe } from '../../test/memory-pipe.js';

/** The client end: writes raw bytes, records every byte and packet the broker sends back. */
class RawClient {
  readonly bytes: Buffer[] = [];
  readonly packets: Packet[] = [];
  readonly closed: Promise<void>;
  isClosed = false;
  constructor(readonly stream: Duplex) {
    const p = parser();
    p.on('packet', (packet: Packet) => this.packets.push(packet));
    stream.on('data', (b: Buffer) => {
      this.bytes.push(b);
      p.parse(b);
    });
    this.closed = new Promise((resolve) =>
      stream.once('close', () => {
        this.isClosed = true;
        resolve();
      }),
    );
  }
  write(...chunks: (Buffer | Packet)[]): void {
    this.stream.write(Buffer.concat(chunks.map((c) => (Buffer.isBuffer(c) ? c : generate(c)))));
  }
  of<C extends Packet['cmd']>(cmd: C): Extract<Packet, { cmd: C }>[] {
    return this.packets.filter((p) => p.cmd === cmd) as Extract<Packet, { cmd: C }>[];
  }
  async waitFor(cmd: Packet['cmd']): Promise<void> {
    await vi.waitFor(() => expect(this.of(cmd)).not.toHaveLength(0), { timeout: 5000 });
  }
}

/** A UTF-8 string field: two-byte length, then the bytes as given (possibly ill-formed). */
const str = (b: Buffer | string): Buffer => {
  const bytes = typeof b === 'string' ? Buffer.from(b, 'utf8') : b;
  return Buffer.concat([Buffer.from([bytes.length >> 8, bytes.length & 0xff]), bytes]);
};

/** A whole packet: first byte, Remaining Length (MQTT 3.1.1 §2.2.3), body. */
function packet(first: number, ...body: Buffer[]): Buffer {
  const b = Buffer.concat(body);
  const len: number[] = [];
  let n = b.length;
  do {
    let d = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) d |= 0x80;
    len.push(d);
  } while (n > 0);
  return Buffer.concat([Buffer.from([first, ...len]), b]);
}

const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);

/** CONNECT with raw fields; flags computed from what is present. */
function connect(o: {
  clientId?: Buffer | string;
  willTopic?: Buffer | string;
  username?: Buffer | string;
  level?: number;
  name?: string;
}): Buffer {
  let flags = 0x02; // clean session
  if (o.willTopic !== undefined) flags |= 0x04;
  if (o.username !== undefined) flags |= 0x80;
  return packet(
    0x10,
    str(o.name ?? 'MQTT'),
    Buffer.from([o.level ?? 4, flags]),
    u16(0), // keepalive 0
    str(o.clientId ?? 'c'),
    ...(o.willTopic !== undefined ? [str(o.willTopic), str('bye')] : []),
    ...(o.username !== undefined ? [str(o.username)] : []),
  );
}

const publishQos1 = (topic: Buffer | string, id = 1) =>
  packet(0x32, str(topic), u16(id), Buffer.from('{"a":1}'));
const subscribe = (filter: Buffer | string, id = 1) =>
  packet(0x82, u16(id), str(filter), Buffer.from([1]));
const unsubscribe = (filter: Buffer | string, id = 1) => packet(0xa2, u16(id), str(filter));

// Ill-formed UTF-8 sequences (Unicode §3.9 / RFC 3629).
const BAD = {
  invalidByte: Buffer.from([0x61, 0x2f, 0xff]), // 0xFF never appears in UTF-8
  overlongNull: Buffer.from([0x61, 0xc0, 0x80]), // "modified UTF-8" NUL
  surrogate: Buffer.from([0x61, 0xed, 0xa0, 0x80]), // U+D800 encoded
  truncated: Buffer.from([0x61, 0xe2, 0x82]), // first two bytes of €
  nul: Buffer.from([0x61, 0x00, 0x62]), // U+0000 [MQTT-1.5.3-2]
};

const started: Broker[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((b) => b.stop()));
});

async function harness(listener: Record<string, unknown> = {}, logger: Logger = silentLogger) {
  const config: BrokerConfigInput = {
    // Declared but not bound: connections handed to `connect` with listener 'memory' use it.
    listeners: { memory: { type: 'tcp', enabled: false, ...listener } },
  };
  const { broker, connect: accept } = createBrokerInternals({ logger }, config);
  started.push(broker);
  await broker.start();
  const events: BrokerEvent[] = [];
  broker.onEvent((e) => events.push(e));
  let port = 40_000;
  const open = (): RawClient => {
    const [client, server] = memoryPipe();
    const meta: ConnMeta = {
      listener: 'memory',
      transport: 'tcp',
      peerhost: '127.0.0.1',
      peerport: port++,
      sockhost: '127.0.0.1',
      sockport: 1883,
    };
    accept(server, meta);
    return new RawClient(client);
  };
  const connected = async (clientId = 'c'): Promise<RawClient> => {
    const c = open();
    c.write(connect({ clientId }));
    await c.waitFor('connack');
    expect(c.of('connack')[0]!.returnCode).toBe(0);
    return c;
  };
  const of = (name: EventName) => events.filter((e) => e.name === name).map((e) => e.columns);
  return { broker, open, connected, of };
}

/** A logger that records `{ code, msg }` of info lines. */
function recordingLogger(): { logger: Logger; lines: { code?: unknown; msg: string }[] } {
  const lines: { code?: unknown; msg: string }[] = [];
  const make = (): Logger => {
    const l: Logger = {
      ...silentLogger,
      info: (obj: Record<string, unknown>, msg?: string) => {
        lines.push({ code: obj['code'], msg: msg ?? '' });
      },
      child: () => make(),
    } as Logger;
    return l;
  };
  return { logger: make(), lines };
}

describe('stringFault', () => {
  it('accepts well-formed text, including a U+FFFD the client really sent', () => {
    for (const s of ['a/b', 'température/°C', 'emoji/😀', 'real/\uFFFD']) {
      const raw = Buffer.from(s, 'utf8');
      expect(stringFault(raw.toString('utf8'), () => raw)).toBeUndefined();
    }
  });
  it('flags ill-formed UTF-8 and U+0000', () => {
    for (const raw of [BAD.invalidByte, BAD.overlongNull, BAD.surrogate, BAD.truncated])
      expect(stringFault(raw.toString('utf8'), () => raw)).toBe('malformed_utf8');
    expect(stringFault(BAD.nul.toString('utf8'), () => BAD.nul)).toBe('null_character');
  });
});

describe('connectFlagsFault', () => {
  it('[MQTT-3.1.2-14] will QoS 3 at any level; [MQTT-3.1.2-22] a password without a user name in 3.1 / 3.1.1 only', () => {
    expect(connectFlagsFault(4, 0x1e)).toBe('will_qos_3');
    expect(connectFlagsFault(5, 0x1e)).toBe('will_qos_3');
    expect(connectFlagsFault(4, 0x42)).toBe('password_without_username');
    expect(connectFlagsFault(3, 0x42)).toBe('password_without_username');
    expect(connectFlagsFault(5, 0x42)).toBeUndefined();
    expect(connectFlagsFault(4, 0xc2)).toBeUndefined();
    expect(connectFlagsFault(4, 0x16)).toBeUndefined(); // will QoS 2
  });
});

describe('misplacedPlus [MQTT-4.7.1-3]', () => {
  it.each([
    ['+', false],
    ['+/a/+', false],
    ['a/+/#', false],
    ['/+/', false],
    ['a+', true],
    ['a/+b', true],
    ['++', true],
    ['a/b', false],
  ])('%s → %s', (filter, bad) => expect(misplacedPlus(filter)).toBe(bad));
});

describe('UTF-8 strings [MQTT-1.5.3-1] [MQTT-1.5.3-2]', () => {
  it('[MQTT-1.5.3-1] a PUBLISH topic with ill-formed UTF-8 closes the connection: no PUBACK, no message.publish', async () => {
    const { logger, lines } = recordingLogger();
    const h = await harness({}, logger);
    for (const bad of [BAD.invalidByte, BAD.overlongNull, BAD.surrogate, BAD.truncated]) {
      const c = await h.connected();
      c.write(publishQos1(bad));
      await c.closed;
      expect(c.of('puback')).toHaveLength(0);
    }
    expect(h.of('message.publish')).toHaveLength(0);
    expect(h.broker.metrics()).toMatchObject({ protocol_malformed_utf8: 4, messages_in: 0 });
    expect(lines.filter((l) => l.code === 'broker_malformed_string')).toHaveLength(4);
    await vi.waitFor(
      () =>
        expect(h.of('client.disconnected').map((d) => d['reason'])).toEqual(
          Array(4).fill('protocol_error'),
        ),
      { timeout: 5000 },
    );
  });

  it('[MQTT-1.5.3-2] a PUBLISH topic containing U+0000 closes the connection', async () => {
    const h = await harness();
    const c = await h.connected();
    c.write(publishQos1(BAD.nul));
    await c.closed;
    expect(c.of('puback')).toHaveLength(0);
    expect(h.of('message.publish')).toHaveLength(0);
    expect(h.broker.metrics().protocol_null_character).toBe(1);
  });

  it('[MQTT-1.5.3-1] a well-formed multi-byte topic (and a real U+FFFD) is PUBACKed and published', async () => {
    const h = await harness();
    const c = await h.connected();
    c.write(publishQos1('température/😀/\uFFFD', 7));
    await c.waitFor('puback');
    expect(c.of('puback')[0]!.messageId).toBe(7);
    expect(h.of('message.publish').map((p) => p['topic'])).toEqual(['température/😀/\uFFFD']);
    expect(c.isClosed).toBe(false);
  });

  it('[MQTT-1.5.3-1] [MQTT-1.5.3-2] a SUBSCRIBE filter with bad UTF-8 or U+0000 closes the connection: no SUBACK', async () => {
    const h = await harness();
    for (const bad of [BAD.invalidByte, BAD.nul]) {
      const c = await h.connected();
      c.write(subscribe(bad));
      await c.closed;
      expect(c.of('suback')).toHaveLength(0);
    }
    expect(h.of('session.subscribed')).toHaveLength(0);
    expect(h.broker.metrics()).toMatchObject({
      protocol_malformed_utf8: 1,
      protocol_null_character: 1,
    });
  });

  it('[MQTT-1.5.3-1] an UNSUBSCRIBE filter with bad UTF-8 closes the connection: no UNSUBACK', async () => {
    const h = await harness();
    const c = await h.connected();
    c.write(unsubscribe(BAD.surrogate));
    await c.closed;
    expect(c.of('unsuback')).toHaveLength(0);
    expect(h.broker.metrics().protocol_malformed_utf8).toBe(1);
  });

  it('[MQTT-1.5.3-1] [MQTT-1.5.3-2] a CONNECT whose client id, will topic or user name is bad is closed without CONNACK', async () => {
    const h = await harness();
    const cases = [
      connect({ clientId: BAD.invalidByte }),
      connect({ clientId: BAD.nul }),
      connect({ willTopic: BAD.truncated }),
      connect({ username: BAD.overlongNull }),
    ];
    for (const bytes of cases) {
      const c = h.open();
      c.write(bytes);
      await c.closed;
      expect(c.bytes).toEqual([]);
    }
    expect(h.of('client.connected')).toHaveLength(0);
    expect(h.broker.metrics()).toMatchObject({
      protocol_malformed_utf8: 3,
      protocol_null_character: 1,
      connections: 0,
    });
    // A good CONNECT with the same shape still passes.
    const ok = h.open();
    ok.write(connect({ clientId: 'ünïcode', willTopic: 'w/😀', username: 'üser' }));
    await ok.waitFor('connack');
    expect(ok.of('connack')[0]!.returnCode).toBe(0);
  });

  it('[MQTT-1.5.3-1] the packets after the bad one in the same read are not acted on', async () => {
    const h = await harness();
    const c = await h.connected();
    c.write(publishQos1(BAD.invalidByte, 1), publishQos1('ok/after', 2));
    await c.closed;
    expect(c.of('puback')).toHaveLength(0);
    expect(h.of('message.publish')).toHaveLength(0);
  });
});

describe('CONNECT protocol name and level [MQTT-3.1.2-1] [MQTT-3.1.2-2]', () => {
  it('[MQTT-3.1.2-2] an unsupported protocol level (0, 2, 6, 7, 0x80) gets CONNACK 0x01, then the connection is closed', async () => {
    const { logger, lines } = recordingLogger();
    const h = await harness({}, logger);
    for (const level of [0, 2, 6, 7, 0x80]) {
      const c = h.open();
      c.write(connect({ level, clientId: `lvl${level}` }));
      await c.closed;
      // Exactly the 3.1.1 CONNACK: session present 0, return code 1.
      expect(Buffer.concat(c.bytes)).toEqual(Buffer.from([0x20, 0x02, 0x00, 0x01]));
    }
    expect(h.broker.metrics()).toMatchObject({ protocol_unsupported_level: 5, connections: 0 });
    expect(h.of('client.connected')).toHaveLength(0);
    expect(lines.filter((l) => l.code === 'broker_unsupported_protocol')).toHaveLength(5);
  });

  it('[MQTT-3.1.2-2] level 5 (MQTT 5, Aedes 2 beta, decision 0010) is accepted: CONNACK reason 0', async () => {
    const h = await harness();
    const c = h.open();
    c.write(
      generate({
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 5,
        clean: true,
        clientId: 'v5',
        keepalive: 0,
      }),
    );
    await vi.waitFor(() => expect(h.of('client.connected')).toHaveLength(1));
    expect(h.of('client.connected')[0]).toMatchObject({ clientid: 'v5', proto_ver: 5 });
    expect(h.broker.metrics()).toMatchObject({ protocol_unsupported_level: 0, connections: 1 });
  });

  it('[MQTT-3.1.2-2] bytes sent after a CONNECT with a bad level are not acted on', async () => {
    const h = await harness();
    const c = h.open();
    c.write(connect({ level: 7 }), connect({ level: 4, clientId: 'again' }));
    await c.closed;
    expect(c.of('connack').map((p) => p.returnCode)).toEqual([1]);
    expect(h.of('client.connected')).toHaveLength(0);
  });

  it('[MQTT-3.1.2-1] an unknown protocol name is closed without any CONNACK', async () => {
    const h = await harness();
    const c = h.open();
    c.write(connect({ name: 'MQTX' }));
    await c.closed;
    expect(c.bytes).toEqual([]);
    expect(h.broker.metrics()).toMatchObject({ protocol_unknown_name: 1, connections: 0 });
  });

  it('levels 3 (MQIsdp) and 4, with or without the bridge bit, are accepted', async () => {
    const h = await harness();
    for (const [name, level] of [
      ['MQIsdp', 3],
      ['MQTT', 4],
      ['MQTT', 0x84],
    ] as const) {
      const c = h.open();
      c.write(connect({ name, level, clientId: `ok${level}` }));
      await c.waitFor('connack');
      expect(c.of('connack')[0]!.returnCode).toBe(0);
    }
  });
});

describe('packet_timeout: a packet must be completed in bounded time', () => {
  const T = 150;

  it('a half-sent PUBLISH on a keepalive-0 connection is closed after packet_timeout (reason packet_timeout)', async () => {
    const { logger, lines } = recordingLogger();
    const h = await harness({ packet_timeout: T }, logger);
    const c = await h.connected(); // keepalive 0: no keepalive timer at all
    const p = publishQos1('slow/topic');
    c.write(p.subarray(0, p.length - 3));
    await c.closed;
    expect(c.of('puback')).toHaveLength(0);
    expect(h.broker.metrics().refused_packet_timeout).toBe(1);
    expect(lines.some((l) => l.code === 'broker_packet_timeout')).toBe(true);
    await vi.waitFor(
      () => expect(h.of('client.disconnected').map((d) => d['reason'])).toEqual(['packet_timeout']),
      { timeout: 5000 },
    );
  });

  it('a half-sent CONNECT header (one byte) is closed too', async () => {
    const h = await harness({ packet_timeout: T });
    const c = h.open();
    c.write(Buffer.from([0x10]));
    await c.closed;
    expect(h.broker.metrics().refused_packet_timeout).toBe(1);
  });

  // The tests that expect no close use a longer limit and short gaps (25× margin), so a loaded
  // machine delaying a timer cannot turn them into a close.
  const LONG = 1000;
  const GAP = 40;

  it('complete packets with long idle gaps, and a packet completed in pieces within the limit, are fine', async () => {
    const h = await harness({ packet_timeout: LONG });
    const c = await h.connected();
    const p = publishQos1('pieces', 3);
    c.write(p.subarray(0, 4));
    await new Promise((r) => setTimeout(r, GAP));
    c.write(p.subarray(4));
    await c.waitFor('puback');
    await new Promise((r) => setTimeout(r, LONG * 1.5)); // idle, nothing pending
    c.write(publishQos1('later', 4));
    await vi.waitFor(() => expect(c.of('puback')).toHaveLength(2), { timeout: 5000 });
    expect(c.isClosed).toBe(false);
    expect(h.broker.metrics().refused_packet_timeout).toBe(0);
  });

  it('each packet gets its own time: a stream of packets whose reads end mid-packet is not closed', async () => {
    const h = await harness({ packet_timeout: LONG });
    const c = await h.connected();
    const n = 40;
    // 30-byte packets read 13 bytes at a time, one read every GAP ms: a read ends on a packet
    // boundary only every 30 reads (1.2 s > LONG), so a timer that ran from the first
    // incomplete read until the parser is empty would close this connection; per packet, each
    // completes within three reads.
    const stream = Buffer.concat(
      Array.from({ length: n }, (_, i) =>
        publishQos1(`s/${String(i).padStart(2, '0')}/abcdefghijkl`, i + 1),
      ),
    );
    expect(stream.length).toBe(30 * n);
    const t0 = Date.now();
    for (let i = 0; i < stream.length; i += 13) {
      c.write(stream.subarray(i, i + 13));
      await new Promise((r) => setTimeout(r, GAP));
    }
    expect(Date.now() - t0).toBeGreaterThan(1.5 * LONG);
    await vi.waitFor(() => expect(c.of('puback')).toHaveLength(n), { timeout: 5000 });
    expect(c.isClosed).toBe(false);
  });

  it('time the broker does not read the socket (pauseClient) does not count', async () => {
    const h = await harness({ packet_timeout: T });
    const c = await h.connected('paused');
    expect(h.broker.pauseClient('paused')).toBe(true);
    const next = publishQos1('held/2', 2);
    c.write(publishQos1('held/1', 1), next.subarray(0, 5));
    await new Promise((r) => setTimeout(r, T * 4));
    expect(c.isClosed).toBe(false);
    expect(h.broker.metrics()).toMatchObject({ publishes_held: 1, refused_packet_timeout: 0 });
    expect(h.of('message.publish')).toHaveLength(0);
    h.broker.resumeClient('paused');
    await vi.waitFor(() => expect(h.of('message.publish')).toHaveLength(1), { timeout: 5000 });
    // Reading again, the half-sent second packet is now the client's to finish.
    await c.closed;
    expect(h.broker.metrics().refused_packet_timeout).toBe(1);
  });

  it('packet_timeout 0 disables the check', async () => {
    const h = await harness({ packet_timeout: 0 });
    const c = await h.connected();
    c.write(publishQos1('x').subarray(0, 4));
    await new Promise((r) => setTimeout(r, 300));
    expect(c.isClosed).toBe(false);
  });
});

describe('MQTT 5 DISCONNECT with a Session Expiry Interval (§3.14.2.2.2)', () => {
  const connect5 = (clientId: string, sessionExpiryInterval?: number) =>
    generate({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 5,
      clean: true,
      clientId,
      keepalive: 0,
      ...(sessionExpiryInterval === undefined ? {} : { properties: { sessionExpiryInterval } }),
    });
  const disconnect5 = (sessionExpiryInterval: number) =>
    generate(
      { cmd: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval } },
      { protocolVersion: 5 },
    );

  it.each([
    ['absent', undefined],
    ['0', 0],
  ] as const)(
    'CONNECT expiry %s, DISCONNECT expiry 60: a protocol error (reason protocol_error, logged with its fault)',
    async (_what, sei) => {
      const { logger, lines } = recordingLogger();
      const h = await harness({}, logger);
      const c = h.open();
      c.write(connect5('d0', sei));
      await vi.waitFor(() => expect(h.of('client.connected')).toHaveLength(1));
      c.write(disconnect5(60));
      await c.closed;
      await vi.waitFor(() => expect(h.of('client.disconnected')).toHaveLength(1));
      expect(h.of('client.disconnected')[0]).toMatchObject({ reason: 'protocol_error' });
      expect(
        lines.filter(
          (l) =>
            l.code === 'broker_malformed_packet' && l.msg.includes('disconnect_session_expiry'),
        ),
      ).toHaveLength(1);
    },
  );

  it('CONNECT expiry 10, DISCONNECT expiry 60 (or 0): allowed, a normal disconnection', async () => {
    const { logger, lines } = recordingLogger();
    const h = await harness({}, logger);
    for (const [i, after] of [60, 0].entries()) {
      const c = h.open();
      c.write(connect5(`d10-${i}`, 10));
      await vi.waitFor(() => expect(h.of('client.connected')).toHaveLength(i + 1));
      c.write(disconnect5(after));
      await c.closed;
    }
    await vi.waitFor(() => expect(h.of('client.disconnected')).toHaveLength(2));
    expect(h.of('client.disconnected').map((e) => e['reason'])).not.toContain('protocol_error');
    expect(lines.filter((l) => l.code === 'broker_malformed_packet')).toEqual([]);
  });
});

describe('abuse: a flood of subscriptions past max_subscriptions', () => {
  it('each filter past the limit gets 0x80 and is counted, but the refusal is logged once per connection', async () => {
    const { logger, lines } = recordingLogger();
    const h = await harness({ max_subscriptions: 10 }, logger);
    const c = await h.connected('flood');
    for (let b = 0; b < 3; b++)
      c.write({
        cmd: 'subscribe',
        messageId: b + 1,
        subscriptions: Array.from({ length: 1000 }, (_, i) => ({ topic: `f/${b}/${i}`, qos: 1 })),
      });
    await vi.waitFor(() => expect(c.of('suback')).toHaveLength(3), { timeout: 5000 });
    const granted = c.of('suback').flatMap((s) => s.granted);
    expect(granted.filter((g) => g !== 128)).toHaveLength(10);
    expect(h.broker.metrics().refused_max_subscriptions).toBe(2990);
    expect(lines.filter((l) => l.msg.startsWith('SUBSCRIBE refused'))).toHaveLength(1);
  });
});
