/**
 * GET /api/v5/ready: readiness for probes. Ready only when the listeners are bound and every
 * sink is connected; a probe without credentials gets the bare verdict even when the API
 * requires authentication, an authenticated caller also gets the checks.
 */
import net from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import { createApiServer } from '../../src/api/index.js';
import type { ApiServer } from '../../src/api/index.js';
import { silentLogger } from '../../src/core/index.js';
import { createEngine } from '../../src/engine/index.js';
import type { Engine } from '../../src/engine/index.js';

let engine: Engine | undefined;
let api: ApiServer | undefined;
afterEach(async () => {
  await api?.stop();
  await engine?.stop({ drainMs: 100 });
  api = engine = undefined;
});

/** A port nothing listens on (bound, then closed). */
async function deadPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function start(sinks: Record<string, Record<string, unknown>>): Promise<string> {
  engine = createEngine(
    {
      broker: { listeners: { tcp: { type: 'tcp', bind: '127.0.0.1', port: 0 } } },
      sinks: sinks as never,
    },
    { logger: silentLogger },
  );
  await engine.start();
  api = createApiServer(
    { engine, logger: silentLogger },
    { bind: '127.0.0.1', port: 0, token: 'probe-test-token' },
  );
  return (await api.start()).url;
}

const auth = { headers: { authorization: 'Bearer probe-test-token' } };

describe('GET /api/v5/ready', () => {
  it('is ready with listeners up and sinks connected; a probe needs no credentials', async () => {
    const base = await start({ mem: { type: 'memory' } });
    const deadline = Date.now() + 10_000;
    while (engine!.metrics().sinks['mem']!.status !== 'connected' && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    const probe = await fetch(`${base}/api/v5/ready`);
    expect(probe.status).toBe(200);
    expect(await probe.json()).toEqual({ ready: true }); // nothing else without credentials
    const full = await fetch(`${base}/api/v5/ready`, auth);
    expect(full.status).toBe(200);
    expect(await full.json()).toEqual({
      ready: true,
      checks: { broker: true, 'sink:mem': true },
      failing: [],
    });
    // Every other endpoint still needs the credential.
    expect((await fetch(`${base}/api/v5/status`)).status).toBe(401);
    const wrong = await fetch(`${base}/api/v5/ready`, {
      headers: { authorization: 'Bearer wrong' },
    });
    expect(wrong.status).toBe(401);
  });

  it('is not ready while a sink cannot connect', async () => {
    const port = await deadPort();
    const base = await start({
      mem: { type: 'memory' },
      hs: { type: 'hstreamdb', url: `hstream://127.0.0.1:${port}`, stream: 'ready_test' },
    });
    const probe = await fetch(`${base}/api/v5/ready`);
    expect(probe.status).toBe(503);
    expect(await probe.json()).toEqual({ ready: false });
    const full = (await (await fetch(`${base}/api/v5/ready`, auth)).json()) as {
      failing: string[];
    };
    expect(full.failing).toEqual(['sink:hs']);
  });
});
