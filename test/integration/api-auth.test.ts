/**
 * Management API authentication and limits against a real engine, with real HTTP requests
 * (fetch, node:http, raw sockets) to APIs on 127.0.0.1:0: API keys as HTTP Basic with the
 * viewer/administrator roles, keys created and deleted while the API runs, bootstrap keys,
 * the bearer token as an administrator, expiry, failed-auth metrics, the per-address
 * failure limit, the refusal of an exposed bind without credentials, body size limit, slow
 * headers, and the audit log (file and log line).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createApiKey, createApiServer, deleteApiKey } from '../../src/api/index.js';
import type { ApiServer, ApiServerConfig, AuditEntry } from '../../src/api/index.js';
import { silentLogger } from '../../src/core/index.js';
import type { Logger } from '../../src/core/index.js';
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
    sql: SELECT payload AS p FROM "auth/t"
    actions: [mem]
`;

/** Cheap scrypt for the test keys (real keys use N=16384). */
const FAST = { hashCost: { N: 1024 } };

const basic = (key: string, secret: string) =>
  `Basic ${Buffer.from(`${key}:${secret}`).toString('base64')}`;

/** A logger that keeps every line (for the audit log line). */
function collectingLogger(lines: { level: string; obj: Record<string, unknown>; msg?: string }[]) {
  const make = (bindings: Record<string, unknown>): Logger => {
    const at =
      (level: string) =>
      (obj: object, msg?: string): void => {
        lines.push({ level, obj: { ...bindings, ...obj }, ...(msg !== undefined ? { msg } : {}) });
      };
    return {
      debug: at('debug'),
      info: at('info'),
      warn: at('warn'),
      error: at('error'),
      child: (b) => {
        const c = b['component'];
        const parent = bindings['component'];
        return make({
          ...bindings,
          ...b,
          ...(typeof c === 'string' && typeof parent === 'string'
            ? { component: `${parent}.${c}` }
            : {}),
        });
      },
    };
  };
  return make({});
}

async function waitFor(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** GET with node:http from a chosen local address (127.0.0.0/8 is all loopback on Linux). */
function getFrom(
  url: string,
  localAddress: string,
  authorization?: string,
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        localAddress,
        agent: false,
        headers: authorization ? { Authorization: authorization } : {},
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function promSample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('management API authentication', () => {
  let dir: string;
  let engine: Engine;
  const servers: ApiServer[] = [];
  const logLines: { level: string; obj: Record<string, unknown>; msg?: string }[] = [];
  let keysFile: string;
  let auditFile: string;
  let base: string;
  let viewer: { key: string; secret: string };
  let admin: { key: string; secret: string };

  async function startApi(config: Partial<ApiServerConfig>, logger: Logger = silentLogger) {
    const s = createApiServer({ engine, logger }, { bind: '127.0.0.1', port: 0, ...config });
    servers.push(s);
    return (await s.start()).url;
  }

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sluice-api-auth-'));
    writeFileSync(path.join(dir, 'sluice.yaml'), YAML);
    engine = createEngine(path.join(dir, 'sluice.yaml'), {
      logger: silentLogger,
      env: {},
      watch: false,
    });
    await engine.start();
    keysFile = path.join(dir, 'data', 'api_keys.json');
    auditFile = path.join(dir, 'audit', 'api.jsonl');
    const v = createApiKey(keysFile, { name: 'dash', role: 'viewer', ...FAST });
    const a = createApiKey(keysFile, { name: 'ci', role: 'administrator', ...FAST });
    viewer = { key: v.stored.api_key, secret: v.secret };
    admin = { key: a.stored.api_key, secret: a.secret };
    base = await startApi(
      { keysFile, token: 'the-token', auditLog: auditFile, maxBodySize: 2048 },
      collectingLogger(logLines),
    );
  });

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await engine?.stop({ drainMs: 0 });
    rmSync(dir, { recursive: true, force: true });
  });

  const RULE = JSON.stringify({ id: 'made', sql: 'SELECT 1 AS one FROM "auth/made"' });

  it('viewer keys read, administrator keys write, the token is an administrator', async () => {
    const v = { Authorization: basic(viewer.key, viewer.secret) };
    const a = { Authorization: basic(admin.key, admin.secret) };
    expect((await fetch(`${base}/api/v5/rules`, { headers: v })).status).toBe(200);
    expect((await fetch(`${base}/metrics`, { headers: v })).status).toBe(200);

    const denied = await fetch(`${base}/api/v5/rules`, { method: 'POST', headers: v, body: RULE });
    expect(denied.status).toBe(403);
    expect(await denied.json()).toEqual({
      code: 'api_forbidden',
      message: 'API key dash has the viewer role: POST /api/v5/rules needs administrator',
    });
    const denied2 = await fetch(`${base}/api/v5/rules/r1`, {
      method: 'PUT',
      headers: v,
      body: '{"enable": false}',
    });
    expect(denied2.status).toBe(403);
    expect(engine.rules().find((r) => r.id === 'r1')?.enabled).toBe(true);
    expect(engine.rules().some((r) => r.id === 'made')).toBe(false);

    const made = await fetch(`${base}/api/v5/rules`, { method: 'POST', headers: a, body: RULE });
    expect(made.status).toBe(201);
    expect(engine.rules().some((r) => r.id === 'made')).toBe(true);
    const del = await fetch(`${base}/api/v5/rules/made`, {
      method: 'DELETE',
      headers: { Authorization: 'Bearer the-token' },
    });
    expect(del.status).toBe(204);
    expect(engine.rules().some((r) => r.id === 'made')).toBe(false);
  });

  it('no, wrong or unknown credentials: 401 with both challenges, counted by reason in /metrics', async () => {
    const metrics = async () =>
      (await fetch(`${base}/metrics`, { headers: { Authorization: 'Bearer the-token' } })).text();
    const before = await metrics();
    const count = (t: string, reason: string) =>
      promSample(t, `sluice_api_auth_failures_total{reason="${reason}"}`) ?? NaN;

    const none = await fetch(`${base}/api/v5/rules`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe(
      'Bearer realm="sluice", Basic realm="sluice"',
    );
    expect(((await none.json()) as { code: string }).code).toBe('api_unauthorized');
    const wrong = await fetch(`${base}/api/v5/rules`, {
      headers: { Authorization: basic(viewer.key, viewer.secret + 'x') },
    });
    expect(wrong.status).toBe(401);
    const unknown = await fetch(`${base}/api/v5/rules`, {
      headers: { Authorization: basic('0000000000000000', viewer.secret) },
    });
    expect(unknown.status).toBe(401);
    // A wrong secret for an existing key and an unknown key answer alike.
    expect(await wrong.json()).toEqual(await unknown.json());
    // Paths are not discoverable: an unknown path is a 401 too, not a 404.
    expect((await fetch(`${base}/no/such/path`)).status).toBe(401);

    const after = await metrics();
    expect(count(after, 'missing') - count(before, 'missing')).toBe(2);
    expect(count(after, 'invalid') - count(before, 'invalid')).toBe(2);
    expect(promSample(after, 'sluice_api_forbidden_total')).toBeGreaterThanOrEqual(2);
  });

  it('keys created and deleted while the API runs take effect on the next request', async () => {
    const k = createApiKey(keysFile, { name: 'late', role: 'administrator', ...FAST });
    const h = { Authorization: basic(k.stored.api_key, k.secret) };
    expect((await fetch(`${base}/api/v5/status`, { headers: h })).status).toBe(200);
    expect(deleteApiKey(keysFile, 'late')).toBe(true);
    expect((await fetch(`${base}/api/v5/status`, { headers: h })).status).toBe(401);
  });

  it('an expired key is refused with the reason', async () => {
    const k = createApiKey(keysFile, {
      name: 'brief',
      role: 'administrator',
      expiresAt: Date.now() + 1500,
      ...FAST,
    });
    const h = { Authorization: basic(k.stored.api_key, k.secret) };
    expect((await fetch(`${base}/api/v5/status`, { headers: h })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1600));
    const r = await fetch(`${base}/api/v5/status`, { headers: h });
    expect(r.status).toBe(401);
    expect(((await r.json()) as { message: string }).message).toMatch(/^API key brief expired at /);
    deleteApiKey(keysFile, 'brief');
  });

  it('bodies over api.max_body_size get 413 api_body_too_large; at the limit they are read', async () => {
    const a = { Authorization: basic(admin.key, admin.secret) };
    const over = await fetch(`${base}/api/v5/rule_test`, {
      method: 'POST',
      headers: a,
      body: ' '.repeat(2049),
    });
    expect(over.status).toBe(413);
    expect(((await over.json()) as { code: string }).code).toBe('api_body_too_large');
    const sql = '{"sql": "SELECT 1 AS one FROM \\"t/1\\""}';
    const at = await fetch(`${base}/api/v5/rule_test`, {
      method: 'POST',
      headers: a,
      body: ' '.repeat(2048 - sql.length) + sql,
    });
    expect(at.status).toBe(200);
    expect(await at.json()).toEqual({ one: 1 });
  });

  it('audits every state-changing request: file line and log line, never credentials or body', async () => {
    // Everything above wrote some; this test adds known ones and checks those.
    const marker = `audit-${Date.now()}`;
    const body = JSON.stringify({
      id: marker,
      sql: 'SELECT 1 FROM "auth/a"',
      description: 'pw=hunter2',
    });
    const a = { Authorization: basic(admin.key, admin.secret) };
    expect((await fetch(`${base}/api/v5/rules`, { method: 'POST', headers: a, body })).status).toBe(
      201,
    );
    expect(
      (
        await fetch(`${base}/api/v5/rules/${marker}?x=secretquery`, {
          method: 'DELETE',
          headers: { Authorization: basic(viewer.key, viewer.secret) },
        })
      ).status,
    ).toBe(403);
    expect((await fetch(`${base}/api/v5/rules/${marker}`, { method: 'DELETE' })).status).toBe(401);
    expect(
      (await fetch(`${base}/api/v5/rules/${marker}`, { method: 'DELETE', headers: a })).status,
    ).toBe(204);
    expect((await fetch(`${base}/api/v5/rules/${marker}`, { headers: a })).status).toBe(404);

    const read = (): AuditEntry[] =>
      readFileSync(auditFile, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as AuditEntry)
        .filter((e) => e.path.includes(marker));
    await waitFor(() => read().length >= 3, 'three audit lines');
    const lines = read();
    expect(lines.map((e) => [e.method, e.path, e.status, e.actor, e.role, e.auth, e.code])).toEqual(
      [
        ['DELETE', `/api/v5/rules/${marker}`, 403, 'dash', 'viewer', 'api_key', 'api_forbidden'],
        ['DELETE', `/api/v5/rules/${marker}`, 401, null, null, null, 'api_unauthorized'],
        ['DELETE', `/api/v5/rules/${marker}`, 204, 'ci', 'administrator', 'api_key', undefined],
      ],
    );
    // The POST's path has no marker: it is the line just before the first DELETE.
    const all = readFileSync(auditFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as AuditEntry);
    const first = all.findIndex((e) => e.path.includes(marker));
    expect(all[first - 1]).toMatchObject({
      method: 'POST',
      path: '/api/v5/rules',
      status: 201,
      actor: 'ci',
      role: 'administrator',
      auth: 'api_key',
    });
    for (const e of lines) {
      expect(e.remote).toMatch(/127\.0\.0\.1$/);
      expect(e.duration_ms).toBeGreaterThanOrEqual(0);
      expect(Date.parse(e.time)).not.toBeNaN();
    }
    const text = readFileSync(auditFile, 'utf8');
    for (const s of [admin.secret, viewer.secret, 'hunter2', 'secretquery', 'Basic ', 'the-token'])
      expect(text).not.toContain(s);
    // GETs are not audited.
    expect(all.some((e) => (e as { method: string }).method === 'GET')).toBe(false);
    // The same entry is an info line of the api.audit logger.
    const logged = logLines.filter(
      (l) =>
        l.obj['component'] === 'api.audit' && (l.obj['audit'] as AuditEntry).path.includes(marker),
    );
    expect(logged.map((l) => l.msg)).toEqual([
      `DELETE /api/v5/rules/${marker} 403`,
      `DELETE /api/v5/rules/${marker} 401`,
      `DELETE /api/v5/rules/${marker} 204`,
    ]);
    expect(logged.every((l) => l.level === 'info')).toBe(true);
  });
});

describe('limits and exposure', () => {
  let dir: string;
  let engine: Engine;
  const servers: ApiServer[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sluice-api-limits-'));
    writeFileSync(path.join(dir, 'sluice.yaml'), YAML);
    engine = createEngine(path.join(dir, 'sluice.yaml'), {
      logger: silentLogger,
      env: {},
      watch: false,
    });
    await engine.start();
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await engine?.stop({ drainMs: 0 });
    rmSync(dir, { recursive: true, force: true });
  });
  async function startApi(config: Partial<ApiServerConfig>) {
    const s = createApiServer(
      { engine, logger: silentLogger },
      { bind: '127.0.0.1', port: 0, ...config },
    );
    servers.push(s);
    return (await s.start()).url;
  }

  it('failed authentications are limited per remote address: 429 with Retry-After, others unaffected', async () => {
    const boot = path.join(dir, 'boot.txt');
    writeFileSync(boot, '# bootstrap keys\nops:opsecret:administrator\nro:rosecret:viewer\n');
    const base = await startApi({
      bootstrapFile: boot,
      authFailureLimit: 3,
      authFailureWindow: 60_000,
    });
    const good = basic('ops', 'opsecret');
    expect((await getFrom(`${base}/api/v5/status`, '127.0.0.2', good)).status).toBe(200);
    for (let i = 0; i < 3; i++)
      expect(
        (await getFrom(`${base}/api/v5/status`, '127.0.0.2', basic('ops', `guess${i}`))).status,
      ).toBe(401);
    // Now even the right secret from that address waits.
    const limited = await getFrom(`${base}/api/v5/status`, '127.0.0.2', good);
    expect(limited.status).toBe(429);
    expect(JSON.parse(limited.body).code).toBe('api_auth_rate_limited');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(50);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
    // Another address is not affected.
    expect((await getFrom(`${base}/api/v5/status`, '127.0.0.3', good)).status).toBe(200);
    // Requests without credentials are not guesses: they do not lock an address out.
    for (let i = 0; i < 5; i++)
      expect((await getFrom(`${base}/api/v5/status`, '127.0.0.4')).status).toBe(401);
    expect((await getFrom(`${base}/api/v5/status`, '127.0.0.4', good)).status).toBe(200);
    const m = await getFrom(`${base}/metrics`, '127.0.0.3', basic('ro', 'rosecret'));
    expect(promSample(m.body, 'sluice_api_auth_failures_total{reason="rate_limited"}')).toBe(1);
    expect(promSample(m.body, 'sluice_api_auth_failures_total{reason="invalid"}')).toBe(3);
    expect(promSample(m.body, 'sluice_api_auth_failures_total{reason="missing"}')).toBe(5);
  });

  it('refuses to start on a non-loopback bind without any credential (api_auth_required)', async () => {
    const exposed = createApiServer(
      { engine, logger: silentLogger },
      { bind: '0.0.0.0', port: 0, keysFile: path.join(dir, 'no-keys.json') },
    );
    await expect(exposed.start()).rejects.toMatchObject({ code: 'api_auth_required' });
    expect(exposed.address).toBeUndefined();
    // An empty token is no credential either.
    const empty = createApiServer(
      { engine, logger: silentLogger },
      { bind: '::', port: 0, token: '' },
    );
    await expect(empty.start()).rejects.toMatchObject({ code: 'api_auth_required' });
  });

  it('on loopback with no credential configured, requests stay anonymous (the default setup)', async () => {
    const base = await startApi({ keysFile: path.join(dir, 'none.json') });
    expect((await fetch(`${base}/api/v5/rules`)).status).toBe(200);
    // A key created later switches authentication on at once.
    const k = createApiKey(path.join(dir, 'none.json'), { name: 'first', role: 'viewer', ...FAST });
    expect((await fetch(`${base}/api/v5/rules`)).status).toBe(401);
    expect(
      (
        await fetch(`${base}/api/v5/rules`, {
          headers: { Authorization: basic(k.stored.api_key, k.secret) },
        })
      ).status,
    ).toBe(200);
  });

  it('a client that never finishes its headers gets 408 and is disconnected after headers_timeout', async () => {
    const base = await startApi({ headersTimeout: 400, requestTimeout: 5_000 });
    const { port } = new URL(base);
    const sock = connect(Number(port), '127.0.0.1');
    let received = '';
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => (received += d));
    const closed = new Promise<number>((resolve) => {
      const t0 = Date.now();
      sock.on('close', () => resolve(Date.now() - t0));
    });
    sock.write('GET /api/v5/status HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    const took = await closed;
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
    // Closed by the timeout (400 ms, checked every 100 ms), well before the request timeout.
    expect(took).toBeGreaterThanOrEqual(350);
    expect(took).toBeLessThan(4_500);
    // A normal client still gets through.
    expect((await fetch(`${base}/api/v5/status`)).status).toBe(200);
  });
});
