/**
 * Helpers of the OCPP gateway suites: an in-memory message bus standing in for the broker's
 * publish/subscribe ports (exact-topic routing is all the gateway needs), a raw `ws` charge
 * point that records every WebSocket message it gets, and polling waits.
 */
import type { IncomingHttpHeaders } from 'node:http';

import WebSocket from 'ws';

import { silentLogger } from '../../src/core/index.js';
import type {
  ClientAuthenticator,
  MessagePublisher,
  MessageSubscriber,
  PublishMessage,
  SubscribedMessage,
} from '../../src/core/index.js';
import { createOcppGateway } from '../../src/ocpp/index.js';
import type { OcppGateway } from '../../src/ocpp/index.js';

export async function waitFor(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface MemoryBus {
  publish: MessagePublisher;
  subscribe: MessageSubscriber;
  /** Everything the gateway published, in order, payload parsed. */
  published: { topic: string; body: Record<string, unknown>; qos: number | undefined }[];
  /** Deliver a backend message to the gateway's subscribers of `topic`. */
  send(topic: string, body: unknown): void;
  subscribers(topic: string): number;
}

export function memoryBus(): MemoryBus {
  const subs = new Map<string, Set<(m: SubscribedMessage) => void>>();
  const published: MemoryBus['published'] = [];
  return {
    published,
    async publish(m: PublishMessage) {
      published.push({
        topic: m.topic,
        body: JSON.parse(Buffer.from(m.payload as Uint8Array).toString('utf8')),
        qos: m.qos,
      });
    },
    async subscribe(filter, handler) {
      let set = subs.get(filter);
      if (!set) subs.set(filter, (set = new Set()));
      set.add(handler);
      return async () => {
        set.delete(handler);
      };
    },
    send(topic, body) {
      const payload = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
      for (const h of subs.get(topic) ?? [])
        h({ topic, payload, qos: 1, retain: false, properties: undefined });
    },
    subscribers: (topic) => subs.get(topic)?.size ?? 0,
  };
}

export async function startGateway(
  config: Record<string, unknown>,
  opts: { authenticate?: ClientAuthenticator; bus?: MemoryBus } = {},
): Promise<{ gw: OcppGateway; bus: MemoryBus; url: string; port: number }> {
  const bus = opts.bus ?? memoryBus();
  const gw = createOcppGateway(
    {
      logger: silentLogger,
      publish: bus.publish,
      subscribe: bus.subscribe,
      ...(opts.authenticate ? { authenticate: opts.authenticate } : {}),
    },
    {
      enable: true,
      listeners: { default: { type: 'ws', bind: '127.0.0.1', port: 0 } },
      ...config,
    },
  );
  const [a] = await gw.start();
  return { gw, bus, url: `ws://127.0.0.1:${a!.port}${a!.path}`, port: a!.port };
}

/** A raw WebSocket charge point recording each message it receives (one entry per frame). */
export interface RawCp {
  ws: WebSocket;
  frames: unknown[][];
  /** Raw texts as received, one per WebSocket message. */
  texts: string[];
  headers: IncomingHttpHeaders;
  closed: { code: number; reason: string } | undefined;
  send(frame: unknown): void;
  close(): Promise<void>;
}

export function connectRaw(
  url: string,
  protocols: string[] | undefined = ['ocpp1.6'],
  opts: WebSocket.ClientOptions = {},
): Promise<RawCp> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols ?? [], opts);
    const cp: RawCp = {
      ws,
      frames: [],
      texts: [],
      headers: {},
      closed: undefined,
      send: (f) => ws.send(typeof f === 'string' ? f : JSON.stringify(f)),
      close: () =>
        new Promise((res) => {
          if (ws.readyState === WebSocket.CLOSED) return res();
          ws.once('close', () => res());
          ws.close();
        }),
    };
    ws.on('upgrade', (res) => (cp.headers = res.headers));
    ws.on('message', (d) => {
      const t = d.toString();
      cp.texts.push(t);
      try {
        cp.frames.push(JSON.parse(t) as unknown[]);
      } catch {
        cp.frames.push(['unparsable', t]);
      }
    });
    ws.on('close', (code, reason) => (cp.closed = { code, reason: reason.toString() }));
    ws.once('open', () => resolve(cp));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () =>
        reject(
          Object.assign(new Error(`HTTP ${res.statusCode}`), {
            status: res.statusCode,
            body,
            headers: res.headers,
          }),
        ),
      );
    });
    ws.once('error', reject);
  });
}

/** The HTTP status (and body) of a refused upgrade. */
export async function refusal(
  url: string,
  protocols?: string[],
  opts: WebSocket.ClientOptions = {},
): Promise<{ status: number; body: string; headers: IncomingHttpHeaders }> {
  try {
    const cp = await connectRaw(url, protocols, opts);
    await cp.close();
  } catch (err) {
    const e = err as { status?: number; body?: string; headers?: IncomingHttpHeaders };
    if (e.status !== undefined)
      return { status: e.status, body: e.body ?? '', headers: e.headers ?? {} };
    throw err;
  }
  throw new Error('upgrade was accepted');
}
