/**
 * A started broker with no listeners, an event log and in-memory clients that speak raw MQTT
 * 3.1.1 or 5.0 packets (mqtt-packet generate / parser) over `createBrokerInternals(...).connect`,
 * the entry a listener uses (decision 0002). Used by the MQTT 5 and Aedes-patch unit tests and,
 * over TCP, by the conformance files (test/conformance.ts); the older src/broker/broker.test.ts
 * keeps its own 3.1.1-only copy.
 */
import type { Duplex } from 'node:stream';
import { generate, parser, type IConnectPacket, type Packet } from 'mqtt-packet';
import {
  silentLogger,
  type AckGatePort,
  type IngressPort,
  type BrokerEvent,
  type EventName,
  type Logger,
} from '../src/core/index.js';
import { createBrokerInternals } from '../src/broker/broker.js';
import type { BrokerConfigInput } from '../src/broker/config.js';
import type { ConnMeta } from '../src/broker/listeners.js';
import type { Broker } from '../src/broker/types.js';
import type { Authorizer } from '../src/broker/auth.js';
import { memoryPipe } from './memory-pipe.js';

export const NODE = 'sluice@unit';

/** The client end of a connection: sends packets, collects what the broker writes back. */
export class TestClient {
  private readonly inbox: Packet[] = [];
  private readonly waiting: { cmd: Packet['cmd']; resolve: (p: Packet) => void }[] = [];
  /** Every packet received, in order (also the ones `next` took). */
  readonly log: Packet[] = [];
  readonly closed: Promise<void>;
  isClosed = false;

  /** `waitMs`: how long `next` waits by default. */
  constructor(
    readonly stream: Duplex,
    readonly protocolVersion: 4 | 5,
    private readonly waitMs = 2000,
  ) {
    const p = parser({ protocolVersion });
    p.on('packet', (packet: Packet) => {
      this.log.push(packet);
      this.onPacket(packet);
      const i = this.waiting.findIndex((w) => w.cmd === packet.cmd);
      if (i >= 0) this.waiting.splice(i, 1)[0]!.resolve(packet);
      else this.inbox.push(packet);
    });
    stream.on('data', (b: Buffer) => p.parse(b));
    this.closed = new Promise((resolve) =>
      stream.once('close', () => {
        this.isClosed = true;
        resolve();
      }),
    );
  }

  /** Write the packets in one chunk (so the broker reads them in one batch). */
  send(...packets: Packet[]): void {
    const opts = { protocolVersion: this.protocolVersion };
    this.stream.write(Buffer.concat(packets.map((p) => generate(p, opts))));
  }

  /** Called with each packet before `next` or the inbox gets it (subclasses answer it). */
  protected onPacket(_packet: Packet): void {}

  /** The next packet of kind `cmd` the broker sent (waits up to `ms`, default `waitMs`). */
  next<C extends Packet['cmd']>(cmd: C, ms = this.waitMs): Promise<Extract<Packet, { cmd: C }>> {
    const i = this.inbox.findIndex((p) => p.cmd === cmd);
    if (i >= 0) return Promise.resolve(this.inbox.splice(i, 1)[0] as Extract<Packet, { cmd: C }>);
    return new Promise((resolve, reject) => {
      const w = {
        cmd,
        resolve: (p: Packet) => {
          clearTimeout(timer);
          resolve(p as Extract<Packet, { cmd: C }>);
        },
      };
      const timer = setTimeout(() => {
        this.waiting.splice(this.waiting.indexOf(w), 1);
        reject(new Error(`no ${cmd} within ${ms} ms`));
      }, ms);
      this.waiting.push(w);
    });
  }

  /** Packets of kind `cmd` received and not yet taken by `next`. */
  pending(cmd: Packet['cmd']): Packet[] {
    return this.inbox.filter((p) => p.cmd === cmd);
  }
}

export interface Harness {
  broker: Broker;
  events: BrokerEvent[];
  open(version?: 4 | 5): TestClient;
  connectClient(
    clientId: string,
    extra?: Partial<IConnectPacket>,
  ): Promise<{ client: TestClient; connack: Extract<Packet, { cmd: 'connack' }> }>;
  of(name: EventName): Record<string, unknown>[];
}

/** Start a broker (stopped by `stopAll`). `connectClient` speaks MQTT 5 unless told otherwise. */
export async function harness(
  config: BrokerConfigInput = {},
  opts: {
    now?: () => number;
    logger?: Logger;
    authorizers?: Authorizer[];
    ackGate?: AckGatePort;
    ingress?: IngressPort;
  } = {},
): Promise<Harness> {
  const { broker, connect } = createBrokerInternals(
    {
      logger: opts.logger ?? silentLogger,
      now: opts.now ?? Date.now,
      node: NODE,
      ...(opts.authorizers ? { authorizers: opts.authorizers } : {}),
      ...(opts.ackGate ? { ackGate: opts.ackGate } : {}),
      ...(opts.ingress ? { ingress: opts.ingress } : {}),
    },
    { listeners: {}, ...config },
  );
  started.push(broker);
  await broker.start();
  const events: BrokerEvent[] = [];
  broker.onEvent((e) => events.push(e));
  let port = 50_000;
  const open = (version: 4 | 5 = 5): TestClient => {
    const [client, server] = memoryPipe();
    const meta: ConnMeta = {
      listener: 'memory',
      transport: 'tcp',
      peerhost: '127.0.0.1',
      peerport: port++,
      sockhost: '127.0.0.1',
      sockport: 1883,
    };
    connect(server, meta);
    return new TestClient(client, version);
  };
  const connectedCount = (id: string) =>
    events.filter(
      (e) => e.name === 'client.connected' && (id === '' || e.columns['clientid'] === id),
    ).length;
  const connectClient = async (clientId: string, extra: Partial<IConnectPacket> = {}) => {
    const version = (extra.protocolVersion ?? 5) as 4 | 5;
    const client = open(version);
    client.send({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: version,
      clean: true,
      clientId,
      keepalive: 0,
      ...extra,
    });
    const before = connectedCount(clientId);
    const connack = await client.next('connack');
    // Aedes marks the client connected (and can then send it a DISCONNECT) only after the
    // CONNACK's follow-up steps; wait for client.connected so a test does not race them.
    if ((connack.returnCode ?? connack.reasonCode ?? 0) === 0) {
      const deadline = Date.now() + 2000;
      while (connectedCount(clientId) === before && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 5));
    }
    return { client, connack };
  };
  const of = (name: EventName) => events.filter((e) => e.name === name).map((e) => e.columns);
  return { broker, events, open, connectClient, of };
}

const started: Broker[] = [];

/** Stop every broker `harness` started (call from afterEach). */
export async function stopAll(): Promise<void> {
  await Promise.all(started.splice(0).map((b) => b.stop()));
}

export const publishPacket = (
  topic: string,
  payload: string,
  qos: 0 | 1 | 2 = 0,
  messageId?: number,
  extra: Record<string, unknown> = {},
): Packet =>
  ({
    cmd: 'publish',
    topic,
    payload: Buffer.from(payload),
    qos,
    retain: false,
    dup: false,
    ...(messageId === undefined ? {} : { messageId }),
    ...extra,
  }) as Packet;
