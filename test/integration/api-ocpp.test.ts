/**
 * The OCPP gateway over the management API and /metrics: a real charge point connection (ws,
 * subprotocol ocpp1.6) is listed by GET /api/v5/gateways/ocpp/clients, counted on /metrics,
 * and kicked by DELETE; an engine without the gateway answers 404.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';

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

async function start(withGateway: boolean): Promise<string> {
  engine = createEngine(
    {
      broker: {
        listeners: { tcp: { type: 'tcp', bind: '127.0.0.1', port: 0 } },
        allow_anonymous: true,
      },
      ...(withGateway
        ? {
            gateway: {
              ocpp: {
                enable: true,
                listeners: { default: { type: 'ws', bind: '127.0.0.1', port: 0 } },
              },
            },
          }
        : {}),
    },
    { logger: silentLogger },
  );
  await engine.start();
  api = createApiServer({ engine, logger: silentLogger }, { bind: '127.0.0.1', port: 0 });
  return (await api.start()).url;
}

function chargePoint(id: string): Promise<WebSocket> {
  const port = engine!.ocpp!.addresses[0]!.port;
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ocpp/${id}`, ['ocpp1.6']);
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

describe('OCPP gateway over the API', () => {
  it('lists, counts and kicks a connected charge point', async () => {
    const base = await start(true);
    const ws = await chargePoint('CP-API-1');
    const list = (await (await fetch(`${base}/api/v5/gateways/ocpp/clients`)).json()) as {
      clientid: string;
    }[];
    expect(list.map((c) => c.clientid)).toEqual(['CP-API-1']);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/^sluice_ocpp_connections 1$/m);
    expect(metrics).toMatch(/^sluice_ocpp_connections_total 1$/m);

    const closed = new Promise<number>((resolve) => ws.once('close', resolve));
    const kick = await fetch(`${base}/api/v5/gateways/ocpp/clients/CP-API-1`, { method: 'DELETE' });
    expect(kick.status).toBe(204);
    await closed;
    const again = await fetch(`${base}/api/v5/gateways/ocpp/clients/CP-API-1`, {
      method: 'DELETE',
    });
    expect(again.status).toBe(404);
    expect(((await again.json()) as { code: string }).code).toBe('api_not_found');
    expect(await (await fetch(`${base}/metrics`)).text()).toMatch(/^sluice_ocpp_connections 0$/m);
  });

  it('answers 404 when the gateway is not enabled, and /metrics has no ocpp families', async () => {
    const base = await start(false);
    const r = await fetch(`${base}/api/v5/gateways/ocpp/clients`);
    expect(r.status).toBe(404);
    expect(((await r.json()) as { code: string }).code).toBe('api_not_found');
    expect(await (await fetch(`${base}/metrics`)).text()).not.toContain('sluice_ocpp_');
  });
});
