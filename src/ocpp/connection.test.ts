/**
 * OcppConnection in virtual time (vitest fake timers) over a fake socket: the keep-alive
 * arithmetic (interval × backoff, activity resets, BootNotification.conf re-arm, 0 = off) and
 * the await timeout, exactly, without wall-clock waits.
 */
import { EventEmitter } from 'node:events';

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { WebSocket } from 'ws';

import { silentLogger } from '../core/index.js';
import type { PublishMessage } from '../core/index.js';
import { resolveOcppConfig } from './config.js';
import { OcppConnection } from './connection.js';
import { compileTopic } from './envelope.js';
import { createMetrics } from './metrics.js';
import { createPayloadValidator } from './validation.js';

class FakeSocket extends EventEmitter {
  readonly OPEN = 1;
  readyState = 1;
  sent: unknown[][] = [];
  closedWith: [number, string] | undefined;
  send(text: string): void {
    this.sent.push(JSON.parse(text) as unknown[]);
  }
  close(code: number, reason: string): void {
    this.closedWith = [code, reason];
    this.readyState = 3;
  }
  terminate(): void {}
  frame(f: unknown): void {
    this.emit('message', Buffer.from(JSON.stringify(f)), false);
  }
}

function setup(config: Record<string, unknown> = {}) {
  const ws = new FakeSocket();
  const published: { topic: string; body: Record<string, unknown> }[] = [];
  const metrics = createMetrics();
  const conn = new OcppConnection({
    ws: ws as unknown as WebSocket,
    cid: 'CP1',
    username: undefined,
    listener: 'ocpp:ws:default',
    peername: '127.0.0.1:1',
    subprotocol: 'ocpp1.6',
    mountpoint: 'ocpp/',
    config: resolveOcppConfig({ enable: true, ...config }),
    topics: {
      call: compileTopic('cp/${cid}'),
      overrides: new Map(),
      reply: compileTopic('cp/${cid}/Reply'),
      error: compileTopic('cp/${cid}/Reply'),
    },
    publish: async (m: PublishMessage) => {
      published.push({ topic: m.topic, body: JSON.parse(String(m.payload)) });
    },
    validator: () => createPayloadValidator('detailed'),
    metrics,
    logger: silentLogger,
    now: Date.now,
  });
  const down = (body: unknown) => conn.deliver(Buffer.from(JSON.stringify(body)));
  return { ws, conn, published, metrics, down };
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('keep-alive', () => {
  it('closes after backoff × interval of silence, not before', () => {
    const { ws } = setup({
      default_heartbeat_interval: 10_000,
      heartbeat_checking_times_backoff: 2,
    });
    vi.advanceTimersByTime(19_999);
    expect(ws.closedWith).toBeUndefined();
    vi.advanceTimersByTime(1);
    expect(ws.closedWith).toEqual([1001, 'keepalive_timeout']);
  });

  it('any frame, ping or pong resets the count', () => {
    const { ws } = setup({ default_heartbeat_interval: 10_000 });
    for (let i = 0; i < 10; i++) {
      vi.advanceTimersByTime(9_000);
      ws.emit(i % 3 === 0 ? 'ping' : i % 3 === 1 ? 'pong' : 'message', Buffer.from('[5]'), false);
    }
    expect(ws.closedWith).toBeUndefined();
  });

  it('re-armed by the BootNotification.conf with the same UniqueId; interval 0 turns it off', () => {
    const { ws, conn, down } = setup({ default_heartbeat_interval: 10_000 });
    ws.frame([2, 'b1', 'BootNotification', { chargePointVendor: 'v', chargePointModel: 'm' }]);
    down({
      MessageTypeId: 3,
      UniqueId: 'b1',
      Payload: { status: 'Accepted', interval: 100, currentTime: 't' },
    });
    expect(conn.stats().keepalive).toBe(100);
    vi.advanceTimersByTime(99_999);
    expect(ws.closedWith).toBeUndefined();
    vi.advanceTimersByTime(100_001);
    expect(ws.closedWith).toEqual([1001, 'keepalive_timeout']);

    const b = setup({ default_heartbeat_interval: 10_000 });
    b.ws.frame([2, 'b2', 'BootNotification', { chargePointVendor: 'v', chargePointModel: 'm' }]);
    // Pending: the interval is a retry delay, not the heartbeat interval.
    b.down({
      MessageTypeId: 3,
      UniqueId: 'b2',
      Payload: { status: 'Pending', interval: 0, currentTime: 't' },
    });
    expect(b.conn.stats().keepalive).toBe(10);
    b.ws.frame([2, 'b3', 'BootNotification', { chargePointVendor: 'v', chargePointModel: 'm' }]);
    b.down({
      MessageTypeId: 3,
      UniqueId: 'b3',
      Payload: { status: 'Accepted', interval: 0, currentTime: 't' },
    });
    expect(b.conn.stats().keepalive).toBe(0);
    vi.advanceTimersByTime(10_000_000);
    expect(b.ws.closedWith).toBeUndefined();
  });
});

describe('await timeout', () => {
  it('the next CALL goes out exactly at await_timeout, with a synthetic error published', () => {
    const { ws, published, down, metrics } = setup({ dnstream: { await_timeout: 5_000 } });
    down({ MessageTypeId: 2, UniqueId: 'a', Action: 'ClearCache', Payload: {} });
    down({ MessageTypeId: 2, UniqueId: 'b', Action: 'ClearCache', Payload: {} });
    vi.advanceTimersByTime(4_999);
    expect(ws.sent.map((f) => f[1])).toEqual(['a']);
    vi.advanceTimersByTime(1);
    expect(ws.sent.map((f) => f[1])).toEqual(['a', 'b']);
    expect(published).toEqual([
      {
        topic: 'ocpp/cp/CP1/Reply',
        body: {
          MessageTypeId: 4,
          UniqueId: 'a',
          Action: 'ClearCache',
          ErrorCode: 'GenericError',
          ErrorDescription: 'timeout',
          ErrorDetails: { await_timeout_ms: 5_000 },
        },
      },
    ]);
    expect(metrics.call_timeouts).toBe(1);
  });

  it('timeout_error: false times out silently', () => {
    const { ws, published, down } = setup({
      dnstream: { await_timeout: 1_000, timeout_error: false },
    });
    down({ MessageTypeId: 2, UniqueId: 'a', Action: 'ClearCache', Payload: {} });
    down({ MessageTypeId: 2, UniqueId: 'b', Action: 'ClearCache', Payload: {} });
    vi.advanceTimersByTime(1_000);
    expect(ws.sent.map((f) => f[1])).toEqual(['a', 'b']);
    expect(published).toEqual([]);
  });
});
