/**
 * The loopback fault proxy (test/fault-proxy.ts) the fault tests and bench/faults/ rely on:
 * bytes pass through in order; a partition forwards nothing either way without closing or
 * resetting anything, holds new connections, and heal delivers what was held, in order;
 * latency delays delivery by at least the configured time; `cut` closes both sides.
 * Only lower bounds on time are asserted (the machine is shared).
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';

import { startFaultProxy, type FaultProxy } from '../fault-proxy.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

/** An echo server, and a proxy in front of it. */
async function setup(): Promise<FaultProxy> {
  const sockets = new Set<net.Socket>();
  const echo = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    s.pipe(s);
  });
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  closers.push(
    () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        echo.close(() => r());
      }),
  );
  const proxy = await startFaultProxy((echo.address() as net.AddressInfo).port);
  closers.push(() => proxy.close());
  return proxy;
}

interface Client {
  sock: net.Socket;
  received: () => string;
  closed: () => boolean;
}

async function client(port: number): Promise<Client> {
  const sock = net.connect(port, '127.0.0.1');
  await new Promise<void>((r) => sock.once('connect', () => r()));
  let got = '';
  let closed = false;
  sock.on('data', (d: Buffer) => (got += d.toString()));
  sock.on('close', () => (closed = true));
  sock.on('error', () => {});
  closers.push(async () => void sock.destroy());
  return { sock, received: () => got, closed: () => closed };
}

async function waitFor(cond: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('fault proxy', () => {
  it('passes bytes through in order', async () => {
    const proxy = await setup();
    const c = await client(proxy.port);
    const text = Array.from({ length: 500 }, (_, i) => `m${i};`).join('');
    c.sock.write(text);
    await waitFor(() => c.received().length === text.length);
    expect(c.received()).toBe(text);
  });

  it('black-holes both directions without closing, holds new connections, heals in order', async () => {
    const proxy = await setup();
    const c = await client(proxy.port);
    c.sock.write('before;');
    await waitFor(() => c.received() === 'before;');
    proxy.partition();
    c.sock.write('during-1;');
    c.sock.write('during-2;');
    const late = await client(proxy.port); // accepted, but not dialled through yet
    late.sock.write('late;');
    await new Promise((r) => setTimeout(r, 300));
    expect(c.received()).toBe('before;');
    expect(late.received()).toBe('');
    expect(c.closed()).toBe(false);
    expect(late.closed()).toBe(false);
    proxy.heal();
    await waitFor(() => c.received() === 'before;during-1;during-2;');
    await waitFor(() => late.received() === 'late;');
    expect(proxy.connections).toBe(2);
  });

  it('delays by at least the configured latency, and cut closes the connections', async () => {
    const proxy = await setup();
    const c = await client(proxy.port);
    proxy.latencyMs = 150;
    const t0 = Date.now();
    c.sock.write('slow;');
    await waitFor(() => c.received() === 'slow;');
    // Two hops through the proxy (there and back), each held ≥ 150 ms.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    proxy.cut();
    await waitFor(() => c.closed());
  });
});
