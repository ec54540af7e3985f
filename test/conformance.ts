/**
 * Helpers for the MQTT conformance files (test/integration/conformance-*.test.ts, one per area;
 * the statement → test map is docs/mqtt-conformance.md). Every file starts one broker with a TCP
 * listener on 127.0.0.1 port 0 and drives it with real clients:
 *
 * - MQTT.js (`mqttjs`), the npm client;
 * - paho-mqtt 2 (`paho`), the Eclipse Python client, through a small scripted driver
 *   (fixtures/paho-conformance.py: a JSON list of steps in, one JSON line of what it saw out);
 * - `RawClient`, a TCP socket speaking mqtt-packet (broker-harness's `TestClient` over TCP), only for packets a client library will not
 *   produce (bad flags, a second CONNECT, a QoS 3 PUBLISH, withheld acknowledgements).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { IPublishPacket, Packet } from 'mqtt-packet';
import { silentLogger, type BrokerEvent } from '../src/core/index.js';
import { createBroker, type BoundAddress, type Broker } from '../src/broker/index.js';
import type { BrokerDeps } from '../src/broker/types.js';
import type { BrokerConfigInput } from '../src/broker/config.js';
import { TestClient } from './broker-harness.js';
import { pahoPython } from './python-venv.js';

export interface Conformance {
  broker: Broker;
  port: number;
  url: string;
  /** Every listener's bound address (`tcp` plus any in `config.listeners`). */
  addresses: BoundAddress[];
  events: BrokerEvent[];
  /** Columns of the events named `name` (optionally of one client). */
  of(name: string, clientid?: string): Record<string, unknown>[];
  /** An MQTT.js client (closed by `stop`); 3.1.1 unless `protocolVersion: 5`. */
  mqttjs(opts?: IClientOptions): Promise<MqttClient>;
  /** A raw TCP client (closed by `stop`). */
  raw(version?: 4 | 5): Promise<RawClient>;
  /** A raw client that sent CONNECT and got CONNACK 0. */
  rawConnected(clientId: string, extra?: Record<string, unknown>): Promise<RawClient>;
  /** Run one paho-mqtt session script (see fixtures/paho-conformance.py). */
  paho(script: PahoScript, hooks?: PahoHooks): Promise<PahoResult>;
  stop(): Promise<void>;
}

let n = 0;
/** A client id / topic prefix unique in this process. */
export const uid = (p: string): string => `${p}-${process.pid}-${++n}`;

export async function waitFor(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Start a broker with one TCP listener (`tcp`, plus any others in `config.listeners`) and `config`. */
export async function startConformance(
  config: BrokerConfigInput = {},
  listener: Record<string, unknown> = {},
  deps: Partial<BrokerDeps> = {},
): Promise<Conformance> {
  const broker = createBroker(
    { logger: silentLogger, node: 'sluice-conformance@127.0.0.1', ...deps },
    {
      ...config,
      listeners: {
        ...config.listeners,
        tcp: { type: 'tcp', bind: '127.0.0.1', port: 0, ...listener },
      },
    },
  );
  const events: BrokerEvent[] = [];
  broker.onEvent((e) => events.push(e));
  const addresses = await broker.start();
  const port = addresses.find((a) => a.name === 'tcp')!.port;
  const url = `mqtt://127.0.0.1:${port}`;
  const clients: MqttClient[] = [];
  const raws: RawClient[] = [];
  const children = new Set<ChildProcessWithoutNullStreams>();
  const c: Conformance = {
    broker,
    port,
    url,
    addresses,
    events,
    of: (name, clientid) =>
      events
        .filter(
          (e) => e.name === name && (clientid === undefined || e.columns['clientid'] === clientid),
        )
        .map((e) => e.columns),
    async mqttjs(opts = {}) {
      const client = await mqtt.connectAsync(url, {
        reconnectPeriod: 0,
        connectTimeout: 5000,
        protocolVersion: 4,
        ...opts,
      });
      clients.push(client);
      return client;
    },
    async raw(version = 4) {
      const r = await RawClient.open(port, version);
      raws.push(r);
      return r;
    },
    async rawConnected(clientId, extra = {}) {
      const r = await c.raw((extra['protocolVersion'] as 4 | 5 | undefined) ?? 4);
      r.send({ ...connectPacket(clientId), ...extra } as Packet);
      const ack = await r.next('connack');
      if ((ack.returnCode ?? ack.reasonCode ?? 0) !== 0)
        throw new Error(`CONNACK ${ack.returnCode ?? ack.reasonCode}`);
      await waitFor(
        () => c.of('client.connected', clientId).length > 0 || clientId === '',
        `${clientId} connected`,
      );
      return r;
    },
    paho: (script, hooks) => runPaho(port, script, hooks, children),
    async stop() {
      for (const r of raws.splice(0)) r.socket.destroy();
      for (const ch of children) ch.kill('SIGKILL');
      await Promise.all(clients.splice(0).map((cl) => cl.endAsync(true)));
      await broker.stop();
    },
  };
  return c;
}

/**
 * MQTT.js MQTT 5 clients of one conformance file: `connect` opens one (reconnect off, a unique
 * client id unless given), `closeAll` ends every one it opened (call it in afterAll).
 */
export function mqttV5Clients(url: () => string): {
  connect(opts?: IClientOptions): Promise<MqttClient>;
  /** A client the test connected itself (to see its CONNACK), to be ended by `closeAll`. */
  track(c: MqttClient): MqttClient;
  closeAll(): Promise<void>;
} {
  const open: MqttClient[] = [];
  return {
    async connect(opts = {}) {
      const c = await mqtt.connectAsync(url(), {
        reconnectPeriod: 0,
        connectTimeout: 5000,
        protocolVersion: 5,
        clientId: uid('js5'),
        ...opts,
      });
      open.push(c);
      return c;
    },
    track(c) {
      open.push(c);
      return c;
    },
    async closeAll() {
      await Promise.all(open.splice(0).map((c) => c.endAsync(true)));
    },
  };
}

/** Every PUBLISH `c` receives from now on, with its properties and flags. */
export function publishesOf(c: MqttClient): IPublishPacket[] {
  const got: IPublishPacket[] = [];
  c.on('message', (_t, _p, packet) => got.push(packet));
  return got;
}

export const connectPacket = (clientId: string, version: 4 | 5 = 4): Packet =>
  ({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: version,
    clean: true,
    clientId,
    keepalive: 0,
  }) as Packet;

/** A TCP client that writes mqtt-packet packets (or raw bytes) and collects what comes back. */
export class RawClient extends TestClient {
  /** Answer every PUBLISH (PUBACK / PUBREC) and PUBREL (PUBCOMP) as a well-behaved client. */
  autoAck = false;

  private constructor(
    readonly socket: net.Socket,
    version: 4 | 5,
  ) {
    super(socket, version, 3000);
    socket.on('error', () => {});
  }

  static async open(port: number, version: 4 | 5): Promise<RawClient> {
    const s = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      s.once('connect', resolve);
      s.once('error', reject);
    });
    return new RawClient(s, version);
  }

  protected override onPacket(p: Packet): void {
    if (!this.autoAck) return;
    if (p.cmd === 'publish' && p.qos === 1) this.send({ cmd: 'puback', messageId: p.messageId! });
    else if (p.cmd === 'publish' && p.qos === 2)
      this.send({ cmd: 'pubrec', messageId: p.messageId! });
    else if (p.cmd === 'pubrel') this.send({ cmd: 'pubcomp', messageId: p.messageId! });
  }

  /** PUBLISH packets received so far (in order). */
  publishes(): Extract<Packet, { cmd: 'publish' }>[] {
    return this.log.filter((p): p is Extract<Packet, { cmd: 'publish' }> => p.cmd === 'publish');
  }

  bytes(...chunks: (Buffer | number[])[]): void {
    this.socket.write(Buffer.concat(chunks.map((c) => (Buffer.isBuffer(c) ? c : Buffer.from(c)))));
  }

  /** Resolves true when the broker closes the socket within `ms`, false otherwise. */
  async closedWithin(ms = 3000): Promise<boolean> {
    return Promise.race([this.closed.then(() => true), sleep(ms).then(() => false)]);
  }
}

/** Helpers for hand-made packets (bad flags etc.). */
export const mqttString = (s: string | Buffer): Buffer => {
  const b = Buffer.isBuffer(s) ? s : Buffer.from(s);
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
};
export const rawPacket = (first: number, ...body: (Buffer | number[])[]): Buffer => {
  const b = Buffer.concat(body.map((x) => (Buffer.isBuffer(x) ? x : Buffer.from(x))));
  if (b.length > 127) throw new Error('hand-made packets are short');
  return Buffer.concat([Buffer.from([first, b.length]), b]);
};

// ---- paho-mqtt 2 -------------------------------------------------------------------------------

/** One step of a paho session (see fixtures/paho-conformance.py for what each does). */
/** paho property names (MQTT 5), e.g. `SessionExpiryInterval`, `UserProperty: [[k, v]]`. */
export type PahoProps = Record<string, unknown>;

/** MQTT 5 subscription options: No Local, Retain As Published, Retain Handling. */
export interface PahoSubOpts {
  nl?: boolean;
  rap?: boolean;
  rh?: 0 | 1 | 2;
}

export type PahoStep =
  | { op: 'connect' }
  | {
      op: 'subscribe';
      filters: ([string, number] | [string, number, PahoSubOpts])[];
      properties?: PahoProps;
    }
  | { op: 'unsubscribe'; filters: string[] }
  | {
      op: 'publish';
      topic: string;
      payload: string;
      qos?: number;
      retain?: boolean;
      properties?: PahoProps;
    }
  | { op: 'expect'; count: number; timeout?: number }
  | { op: 'sleep'; s: number }
  | { op: 'signal'; name: string }
  | { op: 'await' }
  | { op: 'disconnect'; rc?: number; properties?: PahoProps }
  | { op: 'drop' };

export interface PahoScript {
  client_id: string;
  clean?: boolean;
  version?: 4 | 5;
  keepalive?: number;
  /** MQTT 5 CONNECT properties. */
  properties?: PahoProps;
  will?: { topic: string; payload: string; qos?: number; retain?: boolean; properties?: PahoProps };
  steps: PahoStep[];
}

export interface PahoMessage {
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
  dup: boolean;
  /** MQTT 5 only: the PUBLISH properties as paho reports them (CorrelationData in hex). */
  props?: PahoProps;
}

export interface PahoResult {
  connack: { rc: number; session_present: boolean }[];
  granted: number[][];
  messages: PahoMessage[];
  published: number;
  closed_by_server: boolean;
  /** MQTT 5 only: CONNACK properties, one dict per CONNACK. */
  connack_props?: PahoProps[];
  /** MQTT 5 only: PUBACK / PUBREC reason code of each QoS > 0 publish, in order. */
  acks?: (number | null)[];
  /** MQTT 5 only: reason code of a DISCONNECT the server sent. */
  disconnect_rc?: number | null;
}

export interface PahoHooks {
  /** Called on each `signal` step; the script continues at its next `await` once it resolves. */
  onSignal?: (name: string) => Promise<void> | void;
}

const PAHO_DRIVER = path.join(
  import.meta.dirname,
  'integration',
  'fixtures',
  'paho-conformance.py',
);

function runPaho(
  port: number,
  script: PahoScript,
  hooks: PahoHooks = {},
  children: Set<ChildProcessWithoutNullStreams>,
): Promise<PahoResult> {
  const py = pahoPython();
  const child = spawn(py, [PAHO_DRIVER, String(port), JSON.stringify(script)]);
  children.add(child);
  // A script that ends right after a signal may be gone before the 'go' line is written.
  child.stdin.on('error', () => {});
  let out = '';
  let err = '';
  let result: PahoResult | undefined;
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  child.stdout.on('data', (b: Buffer) => {
    out += b.toString();
    let nl: number;
    while ((nl = out.indexOf('\n')) >= 0) {
      const line = out.slice(0, nl);
      out = out.slice(nl + 1);
      const msg = JSON.parse(line) as { signal?: string; result?: PahoResult };
      if (msg.signal !== undefined) {
        void Promise.resolve(hooks.onSignal?.(msg.signal)).then(
          () => child.stdin.write('go\n'),
          (e: unknown) => {
            err += `onSignal failed: ${String(e)}`;
            child.kill('SIGKILL');
          },
        );
      } else if (msg.result) result = msg.result;
    }
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 25_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      children.delete(child);
      if (code === 0 && result) resolve(result);
      else
        reject(
          new Error(`paho script exited ${code}: ${err.trim().split('\n').slice(-8).join('\n')}`),
        );
    });
  });
}
