/**
 * The API additions the dashboard needs, against a real engine and real MQTT.js clients:
 * `GET /api/v5/clients` lists connected clients, `DELETE /api/v5/clients/{id}` kicks one
 * (the client sees its connection close and `client.disconnected` carries reason `kicked`),
 * `GET /api/v5/metrics` counts broker messages, and the dashboard directory is served under
 * `/` without credentials — with its CSP — while every API path still needs one, and no path
 * outside the directory (`..`, dot files, encoded separators) is ever read.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createApiServer } from '../../src/api/index.js';
import type { ApiServer } from '../../src/api/index.js';
import { silentLogger } from '../../src/core/index.js';
import type { BrokerEvent } from '../../src/core/index.js';
import { createEngine } from '../../src/engine/index.js';
import type { Engine } from '../../src/engine/index.js';

const YAML = `
broker:
  listeners:
    tcp: { type: tcp, bind: 127.0.0.1, port: 0 }
sinks:
  mem: { type: memory, linger: 0 }
rules:
  - id: r1
    sql: SELECT payload AS p FROM "dash/t"
    actions: [mem]
`;

const basic = (key: string, secret: string) =>
  `Basic ${Buffer.from(`${key}:${secret}`).toString('base64')}`;
const ADMIN = basic('admin', 's3cret-admin');

async function waitFor(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A raw request line, so the path reaches the server exactly as written (no URL normalising). */
function rawGet(port: number, target: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const s = netConnect(port, '127.0.0.1');
    let data = '';
    s.on('data', (c) => (data += c.toString('latin1')));
    s.on('error', reject);
    s.on('end', () =>
      resolve({ status: Number(data.split(' ')[1]), text: data.split('\r\n\r\n')[1] ?? '' }),
    );
    s.write(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  });
}

let dir: string;
let webDir: string;
let engine: Engine;
let api: ApiServer;
let base: string;
let mqttUrl: string;
const events: BrokerEvent[] = [];

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'sluice-api-dash-'));
  writeFileSync(path.join(dir, 'sluice.yaml'), YAML);
  writeFileSync(path.join(dir, 'bootstrap'), 'admin:s3cret-admin\nwatcher:s3cret-view:viewer\n');
  // A stand-in build: the server must serve whatever the directory holds, and nothing beside it.
  webDir = path.join(dir, 'web');
  mkdirSync(path.join(webDir, 'assets'), { recursive: true });
  writeFileSync(path.join(webDir, 'index.html'), '<!doctype html><title>Sluice</title>');
  writeFileSync(path.join(webDir, 'assets', 'app-abc123.js'), 'console.log(1)');
  writeFileSync(path.join(webDir, '.env'), 'SECRET=1');
  writeFileSync(path.join(dir, 'outside.txt'), 'not served');
  engine = createEngine(path.join(dir, 'sluice.yaml'), {
    logger: silentLogger,
    env: {},
    watch: false,
  });
  await engine.start();
  engine.broker.onEvent((e) => events.push(e), { names: ['client.disconnected'] });
  api = createApiServer(
    { engine, logger: silentLogger },
    {
      bind: '127.0.0.1',
      port: 0,
      bootstrapFile: path.join(dir, 'bootstrap'),
      dashboardDir: webDir,
    },
  );
  base = (await api.start()).url;
  const tcp = engine.addresses.find((a) => a.type === 'tcp');
  mqttUrl = `mqtt://127.0.0.1:${tcp?.port}`;
});

afterAll(async () => {
  await api?.stop();
  await engine?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const get = (p: string, auth: string | null = ADMIN) =>
  fetch(base + p, { headers: auth ? { authorization: auth } : {} });

describe('GET /api/v5/clients and kick', () => {
  it('lists a connected MQTT.js client and kicks it (reason kicked)', async () => {
    const c = await mqtt.connectAsync(mqttUrl, {
      clientId: 'dash-client-1',
      username: 'u1',
      reconnectPeriod: 0,
    });
    await c.subscribeAsync('dash/#');
    const r = await get('/api/v5/clients');
    expect(r.status).toBe(200);
    const body = (await r.json()) as { data: Record<string, unknown>[]; meta: { count: number } };
    const me = body.data.find((x) => x['clientid'] === 'dash-client-1');
    expect(me).toMatchObject({
      clientid: 'dash-client-1',
      username: 'u1',
      ip_address: '127.0.0.1',
      listener: expect.stringContaining('tcp'),
      proto_ver: 4,
      connected: true,
      subscriptions_cnt: 1,
      paused: false,
    });
    expect(Date.parse(me?.['connected_at'] as string)).toBeGreaterThan(Date.now() - 60_000);
    expect(body.meta.count).toBe(body.data.length);

    let closed = false;
    c.on('close', () => (closed = true));
    const k = await fetch(`${base}/api/v5/clients/dash-client-1`, {
      method: 'DELETE',
      headers: { authorization: ADMIN },
    });
    expect(k.status).toBe(204);
    await waitFor(() => closed, 'the kicked client to see its connection close');
    await waitFor(
      () =>
        events.some(
          (e) => e.columns['clientid'] === 'dash-client-1' && e.columns['reason'] === 'kicked',
        ),
      'client.disconnected with reason kicked',
    );
    const after = (await (await get('/api/v5/clients')).json()) as { data: { clientid: string }[] };
    expect(after.data.map((x) => x.clientid)).not.toContain('dash-client-1');
    await c.endAsync(true);
  });

  it('answers 404 for a client that is not connected, and 401 without a credential', async () => {
    const k = await fetch(`${base}/api/v5/clients/nobody`, {
      method: 'DELETE',
      headers: { authorization: ADMIN },
    });
    expect(k.status).toBe(404);
    expect(((await k.json()) as { code: string }).code).toBe('api_not_found');
    expect((await get('/api/v5/clients', null)).status).toBe(401);
  });

  it('lets a viewer list clients but not kick one (403)', async () => {
    const c = await mqtt.connectAsync(mqttUrl, { clientId: 'dash-viewed', reconnectPeriod: 0 });
    try {
      const viewer = basic('watcher', 's3cret-view');
      const list = (await (await get('/api/v5/clients', viewer)).json()) as {
        data: { clientid: string }[];
      };
      expect(list.data.map((x) => x.clientid)).toContain('dash-viewed');
      const k = await fetch(`${base}/api/v5/clients/dash-viewed`, {
        method: 'DELETE',
        headers: { authorization: viewer },
      });
      expect(k.status).toBe(403);
      expect(c.connected).toBe(true);
    } finally {
      await c.endAsync();
    }
  });
});

describe('GET /api/v5/metrics', () => {
  it('counts published messages and rule matches', async () => {
    const before = (await (await get('/api/v5/metrics')).json()) as Record<string, number>;
    const c = await mqtt.connectAsync(mqttUrl, { clientId: 'dash-pub', reconnectPeriod: 0 });
    for (let i = 0; i < 5; i++) await c.publishAsync('dash/t', `{"i":${i}}`, { qos: 1 });
    await c.endAsync();
    const after = (await (await get('/api/v5/metrics')).json()) as Record<string, number>;
    expect(after['messages.received']! - before['messages.received']!).toBe(5);
    expect(after['rules.matched']! - before['rules.matched']!).toBe(5);
    expect(after['connections.total']).toBeGreaterThan(before['connections.total']!);
    expect(after).toHaveProperty('node');
  });
});

describe('the dashboard assets under /', () => {
  it('serves index.html and hashed assets without credentials, with a strict CSP', async () => {
    const r = await get('/', null);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(r.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(r.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(r.headers.get('cache-control')).toBe('no-cache');
    expect(await r.text()).toContain('<title>Sluice</title>');
    const a = await get('/assets/app-abc123.js', null);
    expect(a.status).toBe(200);
    expect(a.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(a.headers.get('cache-control')).toContain('immutable');
  });

  it('never serves dot files or anything outside the directory; API paths still need auth', async () => {
    for (const p of [
      '/.env',
      '/../outside.txt',
      '/assets/../../outside.txt',
      '/%2e%2e/outside.txt',
      '/assets%2f..%2f..%2foutside.txt',
      '/..%5coutside.txt',
    ]) {
      const r = await rawGet(api.address!.port, p);
      // Not a dashboard file: the API pipeline answers, and it wants a credential first.
      expect(r.status, p).toBe(401);
      expect(r.text, p).not.toContain('not served');
      expect(r.text, p).not.toContain('SECRET');
    }
    expect((await get('/api/v5/rules', null)).status).toBe(401);
    expect((await get('/metrics', null)).status).toBe(401);
    expect((await get('/nothing-here.js')).status).toBe(404);
  });
});
