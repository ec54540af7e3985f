/**
 * Broker security, authentication and authorization: real mqtt.js clients over TCP on
 * 127.0.0.1 against the embedded broker with JWT authentication (HMAC, and a JWKS endpoint
 * served by a real HTTP server on loopback), the JWT `acl` claim in both EMQX formats, a rules
 * file, `no_match`, check_authz_complete columns and disconnect at token expiry.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT, exportJWK, generateKeyPair, type JWK } from 'jose';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger, type BrokerEvent } from '../../src/core/index.js';
import { createBroker, type BrokerConfigInput } from '../../src/broker/index.js';

const SECRET = 'integration-secret-0123456789';
const uid = (p: string) => `${p}-${randomUUID().slice(0, 8)}`;
const sec = () => Math.floor(Date.now() / 1000);
const hs = (claims: Record<string, unknown>, secret = SECRET) =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(secret));

async function start(config: BrokerConfigInput, now?: () => number) {
  const broker = createBroker(
    { logger: silentLogger, node: 'sec@127.0.0.1', ...(now ? { now } : {}) },
    { listeners: { tcp: { type: 'tcp', bind: '127.0.0.1', port: 0 } }, ...config },
  );
  const events: BrokerEvent[] = [];
  broker.onEvent((e) => events.push(e));
  const [a] = await broker.start();
  return { broker, events, url: `mqtt://127.0.0.1:${a!.port}` };
}

const clients: MqttClient[] = [];
/** MQTT 3.1.1 sends a password only with a user name [MQTT-3.1.2-22]: default one. */
async function connect(url: string, opts: IClientOptions): Promise<MqttClient> {
  const c = await mqtt.connectAsync(url, {
    reconnectPeriod: 0,
    connectTimeout: 5000,
    username: 'u',
    ...opts,
  });
  clients.push(c);
  return c;
}
function refusedCode(url: string, opts: IClientOptions): Promise<number | string> {
  return new Promise((resolve) => {
    const c = mqtt.connect(url, {
      reconnectPeriod: 0,
      connectTimeout: 5000,
      ...(opts.password ? { username: 'u' } : {}),
      ...opts,
    });
    c.once('connect', () => {
      c.end(true);
      resolve('connected');
    });
    c.once('error', (err: Error & { code?: number }) => {
      c.end(true);
      resolve(Number(err.code));
    });
  });
}
/** Granted QoS per filter, 128 for a refused one (mqtt.js rejects a SUBACK holding 0x80). */
async function grants(c: MqttClient, topics: string[]): Promise<number[]> {
  const out: number[] = [];
  for (const t of topics)
    out.push(
      await new Promise<number>((resolve) =>
        c.subscribe(t, (err, g) =>
          resolve(
            err
              ? ((err as { packet?: { granted?: number[] } }).packet?.granted?.[0] ?? -1)
              : g![0]!.qos,
          ),
        ),
      ),
    );
  return out;
}
const closed = (c: MqttClient) => new Promise<void>((r) => c.once('close', () => r()));
afterEach(() => {
  for (const c of clients.splice(0)) c.end(true);
});

async function waitFor<T>(f: () => T | undefined, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
const authz = (events: BrokerEvent[], clientid: string, topic: string) =>
  waitFor(() =>
    events.find(
      (e) =>
        e.name === 'client.check_authz_complete' &&
        e.columns['clientid'] === clientid &&
        e.columns['topic'] === topic,
    ),
  );

describe('JWT (HMAC) + acl claim + rules file', () => {
  let h: Awaited<ReturnType<typeof start>>;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-sec-'));
    const rules = join(dir, 'acl.yaml');
    await writeFile(
      rules,
      [
        'rules:',
        '  - {permission: allow, action: all, topics: ["file/${clientid}/#"]}',
        '  - {permission: deny, action: all, topics: ["file/#"]}',
      ].join('\n'),
    );
    h = await start({
      allow_anonymous: false,
      jwt: { secret: SECRET, verify_claims: { sub: '${clientid}' } },
      authorization: { no_match: 'deny', rules_file: rules },
    });
  });
  afterAll(async () => {
    await h.broker.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('CONNACK 0 for a good token, 4 for a bad one, 4 for a foreign sub, 5 for none', async () => {
    const id = uid('d');
    const c = await connect(h.url, {
      clientId: id,
      username: 'u',
      password: await hs({ sub: id }),
    });
    expect(c.connected).toBe(true);
    expect(
      await refusedCode(h.url, {
        clientId: id,
        username: 'u',
        password: await hs({ sub: id }, 'nope'),
      }),
    ).toBe(4);
    expect(
      await refusedCode(h.url, {
        clientId: id,
        username: 'u',
        password: await hs({ sub: 'other' }),
      }),
    ).toBe(4);
    expect(await refusedCode(h.url, { clientId: id })).toBe(5);
    const expired = await hs({ sub: id, exp: sec() - 5 });
    expect(await refusedCode(h.url, { clientId: id, username: 'u', password: expired })).toBe(4);
  });

  it('4.4 object claim: allow-listed topics pass, others are denied by jwt (no fall-through)', async () => {
    const id = uid('obj');
    const tok = await hs({ sub: id, acl: { pub: [`up/${'${clientid}'}`], sub: ['down/%c/#'] } });
    const c = await connect(h.url, { clientId: id, password: tok });
    expect(await grants(c, [`down/${id}/+`, `file/${id}/x`])).toEqual([0, 128]);
    const ev = await authz(h.events, id, `file/${id}/x`);
    expect(ev.columns).toMatchObject({ action: 'subscribe', authz_source: 'jwt', result: 'deny' });
    const ok = await authz(h.events, id, `down/${id}/+`);
    expect(ok.columns).toMatchObject({ authz_source: 'jwt', result: 'allow' });
    // an allowed publish reaches a subscriber; a denied one closes the connection
    const sub = await connect(h.url, {
      clientId: uid('s'),
      password: await hs({ sub: '', acl: { sub: ['#'] } }),
      username: 'u',
    }).catch(() => undefined);
    expect(sub).toBeUndefined(); // sub claim "" ≠ client id: refused
    const c2Id = uid('listen');
    const listener = await connect(h.url, {
      clientId: c2Id,
      password: await hs({ sub: c2Id, acl: { sub: ['up/#'] } }),
    });
    await listener.subscribeAsync(`up/${id}`);
    const got = new Promise<string>((r) => listener.once('message', (_t, p) => r(p.toString())));
    await c.publishAsync(`up/${id}`, 'hello', { qos: 1 });
    expect(await got).toBe('hello');
    const gone = closed(c);
    c.publish(`up/${id}/deeper`, 'x', { qos: 0 });
    await gone;
    const deny = await authz(h.events, id, `up/${id}/deeper`);
    expect(deny.columns).toMatchObject({ action: 'publish', authz_source: 'jwt', result: 'deny' });
  });

  it('5.x list claim: no match falls through to the rules file, then to no_match = deny', async () => {
    const id = uid('list');
    const tok = await hs({
      sub: id,
      acl: [
        { permission: 'deny', action: 'subscribe', topic: `file/${id}/secret` },
        { permission: 'allow', action: 'subscribe', topic: 'list/#' },
      ],
    });
    const c = await connect(h.url, { clientId: id, password: tok });
    expect(
      await grants(c, [
        'list/a',
        `file/${id}/secret`,
        `file/${id}/open`,
        'file/other/x',
        'nowhere',
      ]),
    ).toEqual([0, 128, 0, 128, 128]);
    expect((await authz(h.events, id, 'list/a')).columns['authz_source']).toBe('jwt');
    expect((await authz(h.events, id, `file/${id}/secret`)).columns).toMatchObject({
      authz_source: 'jwt',
      result: 'deny',
    });
    expect((await authz(h.events, id, `file/${id}/open`)).columns).toMatchObject({
      authz_source: 'file',
      result: 'allow',
    });
    expect((await authz(h.events, id, 'file/other/x')).columns).toMatchObject({
      authz_source: 'file',
      result: 'deny',
    });
    expect((await authz(h.events, id, 'nowhere')).columns).toMatchObject({
      authz_source: 'default',
      result: 'deny',
    });
  });

  it('a superuser claim skips authorization', async () => {
    const id = uid('root');
    const c = await connect(h.url, {
      clientId: id,
      password: await hs({ sub: id, is_superuser: true }),
    });
    expect(await grants(c, ['nowhere/at/all'])).toEqual([0]);
    expect((await authz(h.events, id, 'nowhere/at/all')).columns['authz_source']).toBe('superuser');
  });
});

describe('rules file hot reload', () => {
  it('an edit takes effect without a restart; a broken edit keeps the old rules', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-sec-'));
    const rules = join(dir, 'acl.yaml');
    await writeFile(rules, 'rules:\n  - {permission: allow, action: subscribe, topic: "a/#"}\n');
    const h = await start({ authorization: { no_match: 'deny', rules_file: rules } });
    try {
      const c = await connect(h.url, { clientId: uid('hot') });
      expect(await grants(c, ['a/1', 'b/1'])).toEqual([0, 128]);
      // Saved the way editors do: a temp file renamed over the original.
      await writeFile(
        `${rules}.tmp`,
        'rules:\n  - {permission: allow, action: subscribe, topics: ["a/#", "b/#"]}\n',
      );
      await rename(`${rules}.tmp`, rules);
      await waitFor(() => (h.broker.metrics().security?.acl?.reloads_ok ?? 0) >= 1 || undefined);
      expect(await grants(c, ['a/2', 'b/2'])).toEqual([0, 0]);
      await writeFile(rules, 'rules: [{permission: allow, action: subscribe}]\n');
      await waitFor(
        () => (h.broker.metrics().security?.acl?.reloads_failed ?? 0) >= 1 || undefined,
      );
      expect(await grants(c, ['b/3', 'c/3'])).toEqual([0, 128]);
      expect(h.broker.metrics().security?.acl).toEqual({
        rules: 1,
        reloads_ok: 1,
        reloads_failed: 1,
      });
    } finally {
      await h.broker.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('JWT expiry', () => {
  it('disconnect_after_expire closes the connection when exp passes (reason not_authorized)', async () => {
    const h = await start({ allow_anonymous: false, jwt: { secret: SECRET } });
    try {
      const id = uid('exp');
      const c = await connect(h.url, { clientId: id, password: await hs({ exp: sec() + 2 }) });
      const t0 = Date.now();
      await closed(c);
      expect(Date.now() - t0).toBeGreaterThan(500);
      const ev = await waitFor(() =>
        h.events.find((e) => e.name === 'client.disconnected' && e.columns['clientid'] === id),
      );
      expect(ev.columns['reason']).toBe('not_authorized');
    } finally {
      await h.broker.stop();
    }
  });

  it('with disconnect_after_expire false the client stays but every pub/sub is denied', async () => {
    let offset = 0;
    const h = await start(
      { allow_anonymous: false, jwt: { secret: SECRET, disconnect_after_expire: false } },
      () => Date.now() + offset,
    );
    try {
      const id = uid('stay');
      const c = await connect(h.url, {
        clientId: id,
        password: await hs({ exp: sec() + 60, acl: { all: ['#'] } }),
      });
      expect(await grants(c, ['a/b'])).toEqual([0]);
      offset = 120_000; // the broker's clock passes exp
      expect(await grants(c, ['a/c'])).toEqual([128]);
      expect(c.connected).toBe(true);
    } finally {
      await h.broker.stop();
    }
  });
});

describe('JWT via a JWKS endpoint on loopback', () => {
  let server: http.Server;
  let keys: JWK[] = [];
  let up = true;
  let fetches = 0;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      fetches++;
      if (!up) {
        res.writeHead(503).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('rotation and outage: old key survives the outage, a rotated-in key is fetched on demand', async () => {
    const mk = async (kid: string) => {
      const { publicKey, privateKey } = await generateKeyPair('RS256');
      return { privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256' } as JWK };
    };
    const k1 = await mk('k1');
    const k2 = await mk('k2');
    keys = [k1.jwk];
    let offset = 0;
    const port = (server.address() as AddressInfo).port;
    const h = await start(
      {
        allow_anonymous: false,
        jwt: { use_jwks: true, endpoint: `http://127.0.0.1:${port}/jwks.json` },
      },
      () => Date.now() + offset,
    );
    const sign = (k: typeof k1, kid: string) =>
      new SignJWT({}).setProtectedHeader({ alg: 'RS256', kid }).sign(k.privateKey);
    try {
      expect(fetches).toBe(1);
      await connect(h.url, { clientId: uid('j'), password: await sign(k1, 'k1') });
      // algorithm confusion against the JWKS: HS256 "signed" with the RSA modulus is refused
      const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const forged = `${b64({ alg: 'HS256', kid: 'k1' })}.${b64({ is_superuser: true })}.${b64('x')}`;
      expect(await refusedCode(h.url, { clientId: uid('f'), password: forged })).toBe(4);
      // outage: an unknown kid triggers a failed refetch; the known key still works
      up = false;
      offset += 11_000;
      expect(await refusedCode(h.url, { clientId: uid('j'), password: await sign(k2, 'k2') })).toBe(
        4,
      );
      expect(fetches).toBe(2);
      await connect(h.url, { clientId: uid('j'), password: await sign(k1, 'k1') });
      // rotation: k2 published; past the cooldown the unknown kid refetches and verifies
      up = true;
      keys = [k1.jwk, k2.jwk];
      offset += 11_000;
      await connect(h.url, { clientId: uid('j'), password: await sign(k2, 'k2') });
      expect(fetches).toBe(3);
    } finally {
      await h.broker.stop();
    }
  });
});
