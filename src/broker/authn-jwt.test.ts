import { createHmac, generateKeyPairSync } from 'node:crypto';
import { SignJWT, exportJWK, exportSPKI, generateKeyPair, type JWK } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../core/index.js';
import type { AuthnRequest } from './auth.js';
import { createJwtAuthenticator, type JwtAuthConfig, type JwtAuthenticator } from './authn-jwt.js';

const NOW = Date.UTC(2030, 0, 1); // a fixed clock, far from the real one
const sec = (ms: number) => Math.floor(ms / 1000);

function cfg(over: Partial<JwtAuthConfig>): JwtAuthConfig {
  return {
    enable: true,
    from: 'password',
    use_jwks: false,
    algorithm: 'hmac-based',
    secret_base64_encoded: false,
    headers: {},
    refresh_interval: 300_000,
    http_timeout: 2000,
    max_fail_count: 0,
    verify_claims: {},
    require_exp: false,
    clock_tolerance: 0,
    disconnect_after_expire: true,
    acl_claim_name: 'acl',
    ...over,
  };
}

const req = (
  password: string | undefined,
  clientid = 'dev-1',
  username = 'alice',
): AuthnRequest => ({
  clientid,
  username,
  password: password === undefined ? undefined : Buffer.from(password),
  peerhost: '127.0.0.1',
  listener: 'tcp',
  peerCertCN: undefined,
});

const hs = (claims: Record<string, unknown>, secret: string | Uint8Array, alg = 'HS256') =>
  new SignJWT(claims)
    .setProtectedHeader({ alg })
    .sign(typeof secret === 'string' ? new TextEncoder().encode(secret) : secret);

/** Hand-made compact JWS with any header and an HMAC signature under `key`. */
function forge(
  header: Record<string, unknown>,
  claims: Record<string, unknown>,
  key: Buffer | string,
): string {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${b64(header)}.${b64(claims)}`;
  const sig = createHmac('sha256', key).update(input).digest('base64url');
  return `${input}.${sig}`;
}

const opened: JwtAuthenticator[] = [];
function make(c: JwtAuthConfig, extra: Partial<Parameters<typeof createJwtAuthenticator>[1]> = {}) {
  const a = createJwtAuthenticator(c, { logger: silentLogger, now: () => NOW, ...extra });
  opened.push(a);
  return a;
}
afterEach(() => {
  for (const a of opened.splice(0)) a.stop();
});

describe('JWT authenticator: HMAC', () => {
  const a = () => make(cfg({ secret: 'topsecret' }));

  it('allows a valid token, carries exp, is_superuser, client_attrs', async () => {
    const t = await hs(
      { exp: sec(NOW) + 60, is_superuser: true, client_attrs: { site: 'x', n: 1 } },
      'topsecret',
    );
    expect(await a().authenticate(req(t))).toEqual({
      result: 'allow',
      is_superuser: true,
      client_attrs: { site: 'x' },
      expires_at: (sec(NOW) + 60) * 1000,
      disconnect_after_expire: true,
    });
  });

  it('ignores an empty field and non-JWT passwords; denies a wrong secret', async () => {
    expect(await a().authenticate(req(undefined))).toEqual({ result: 'ignore' });
    expect(await a().authenticate(req('plain password'))).toEqual({ result: 'ignore' });
    const t = await hs({ exp: sec(NOW) + 60 }, 'other');
    expect(await a().authenticate(req(t))).toEqual({
      result: 'deny',
      reason: 'bad_username_or_password',
    });
  });

  it('reads the token from the username when from = username', async () => {
    const t = await hs({}, 'topsecret');
    const u = make(cfg({ secret: 'topsecret', from: 'username' }));
    expect((await u.authenticate(req(undefined, 'c', t))).result).toBe('allow');
    expect((await u.authenticate(req(t, 'c', 'bob'))).result).toBe('ignore');
  });

  it('decodes a base64 secret', async () => {
    const raw = Buffer.from([0, 1, 2, 250, 251, 252, 7, 8, 9]);
    const u = make(cfg({ secret: raw.toString('base64'), secret_base64_encoded: true }));
    expect((await u.authenticate(req(await hs({}, new Uint8Array(raw))))).result).toBe('allow');
    // the base64 text itself is not the key
    expect((await u.authenticate(req(await hs({}, raw.toString('base64'))))).result).toBe('deny');
  });

  it('enforces exp and nbf (with clock_tolerance) and require_exp', async () => {
    const expired = await hs({ exp: sec(NOW) - 1 }, 'topsecret');
    const notYet = await hs({ nbf: sec(NOW) + 30 }, 'topsecret');
    expect((await a().authenticate(req(expired))).result).toBe('deny');
    expect((await a().authenticate(req(notYet))).result).toBe('deny');
    const tolerant = make(cfg({ secret: 'topsecret', clock_tolerance: 60_000 }));
    expect((await tolerant.authenticate(req(expired))).result).toBe('allow');
    expect((await tolerant.authenticate(req(notYet))).result).toBe('allow');
    const strict = make(cfg({ secret: 'topsecret', require_exp: true }));
    expect((await strict.authenticate(req(await hs({}, 'topsecret')))).result).toBe('deny');
  });

  it('verify_claims with ${clientid} / ${username}, missing claim fails, aud arrays', async () => {
    const u = make(
      cfg({
        secret: 'topsecret',
        verify_claims: { sub: '${clientid}', aud: 'mqtt', usr: 'u-${username}' },
      }),
    );
    const good = await hs({ sub: 'dev-1', aud: ['x', 'mqtt'], usr: 'u-alice' }, 'topsecret');
    expect((await u.authenticate(req(good))).result).toBe('allow');
    expect((await u.authenticate(req(good, 'dev-2'))).result).toBe('deny');
    expect((await u.authenticate(req(good, 'dev-1', 'mallory'))).result).toBe('deny');
    const missing = await hs({ sub: 'dev-1', aud: 'mqtt' }, 'topsecret');
    expect((await u.authenticate(req(missing))).result).toBe('deny');
    const otherAud = await hs({ sub: 'dev-1', aud: ['x'], usr: 'u-alice' }, 'topsecret');
    expect((await u.authenticate(req(otherAud))).result).toBe('deny');
  });

  it('refuses verify_claims on exp/iat/nbf and algorithms outside the mode', () => {
    expect(() => make(cfg({ secret: 's', verify_claims: { exp: '1' } }))).toThrow(
      /verify_claims\.exp/,
    );
    expect(() => make(cfg({ secret: 's', algorithms: ['RS256'] }))).toThrow(/RS256 is not allowed/);
    expect(() => make(cfg({}))).toThrow(/secret is required/);
  });

  it('rejects alg none and an RS256-labelled token in HMAC mode', async () => {
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const none = `${b64({ alg: 'none' })}.${b64({ sub: 'x' })}.`;
    expect((await a().authenticate(req(none))).result).toBe('deny');
    const rsLabel = forge({ alg: 'RS256' }, { sub: 'x' }, 'topsecret');
    expect((await a().authenticate(req(rsLabel))).result).toBe('deny');
  });

  it('a narrowed allow-list refuses HS512 when only HS256 is allowed', async () => {
    const u = make(cfg({ secret: 'topsecret', algorithms: ['HS256'] }));
    expect((await u.authenticate(req(await hs({}, 'topsecret', 'HS512')))).result).toBe('deny');
    expect((await u.authenticate(req(await hs({}, 'topsecret', 'HS256')))).result).toBe('allow');
  });

  it('a malformed acl claim fails authentication', async () => {
    const t = await hs({ acl: { pub: 'not-a-list' } }, 'topsecret');
    expect((await a().authenticate(req(t))).result).toBe('deny');
    const ok = await hs({ acl: { pub: ['a/b'] } }, 'topsecret');
    const r = await a().authenticate(req(ok));
    expect(r.result).toBe('allow');
    expect(r.result === 'allow' && r.acl).toMatchObject({ format: 'object' });
  });
});

describe('JWT authenticator: public key', () => {
  it('verifies RS256 and refuses the algorithm-confusion HS256 token made with the public PEM', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const u = make(cfg({ algorithm: 'public-key', public_key: pem }));
    const good = await new SignJWT({ sub: 'x' })
      .setProtectedHeader({ alg: 'RS256' })
      .sign(privateKey);
    expect((await u.authenticate(req(good))).result).toBe('allow');
    // The classic attack: HMAC over the token with the public key text as the secret.
    const confused = forge({ alg: 'HS256', typ: 'JWT' }, { sub: 'x', is_superuser: true }, pem);
    expect((await u.authenticate(req(confused))).result).toBe('deny');
    // Same with the DER bytes of the key as the secret.
    const der = publicKey.export({ type: 'spki', format: 'der' });
    expect((await u.authenticate(req(forge({ alg: 'HS256' }, { sub: 'x' }, der)))).result).toBe(
      'deny',
    );
  });

  it('refuses a private key or garbage as public_key', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const priv = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(() => make(cfg({ algorithm: 'public-key', public_key: priv }))).toThrow(/public key/);
    expect(() =>
      make(cfg({ algorithm: 'public-key', public_key: '/nonexistent/key.pem' })),
    ).toThrow(/cannot read/);
  });
});

describe('JWT authenticator: JWKS', () => {
  async function keyPair(kid: string) {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
    return { jwk, privateKey, spki: await exportSPKI(publicKey) };
  }
  const sign = (
    k: { privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'] },
    kid: string,
    claims: Record<string, unknown> = {},
  ) => new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid }).sign(k.privateKey);

  /** A fake endpoint: `keys` is served while `up` is true, otherwise HTTP 503. */
  function endpoint() {
    const state = { keys: [] as JWK[], up: true, calls: 0 };
    const fetchFn = (async () => {
      state.calls++;
      if (!state.up) return new Response('down', { status: 503 });
      return Response.json({ keys: state.keys });
    }) as unknown as typeof fetch;
    return { state, fetchFn };
  }

  it('verifies by kid, keeps old keys through an outage, picks up a rotated key on an unknown kid', async () => {
    const k1 = await keyPair('k1');
    const k2 = await keyPair('k2');
    const ep = endpoint();
    ep.state.keys = [k1.jwk];
    let now = NOW;
    const a = make(cfg({ use_jwks: true, endpoint: 'http://127.0.0.1:9/jwks' }), {
      fetch: ep.fetchFn,
      now: () => now,
      jwksCooldown: 10_000,
    });
    await a.start();
    expect(a.metrics.keys).toBe(1);
    expect((await a.authenticate(req(await sign(k1, 'k1')))).result).toBe('allow');
    // Outage: refreshes fail, the cached key keeps working.
    ep.state.up = false;
    expect(await a.refresh()).toBe(false);
    expect(await a.refresh()).toBe(false);
    expect((await a.authenticate(req(await sign(k1, 'k1')))).result).toBe('allow');
    // Rotation: k2 published; an unknown kid refetches once the cooldown has passed.
    ep.state.up = true;
    ep.state.keys = [k2.jwk];
    const t2 = await sign(k2, 'k2');
    now += 5_000; // within cooldown of the last fetch: no refetch, refused
    const calls = ep.state.calls;
    expect((await a.authenticate(req(t2))).result).toBe('deny');
    expect(ep.state.calls).toBe(calls);
    now += 10_000;
    expect((await a.authenticate(req(t2))).result).toBe('allow');
    expect(ep.state.calls).toBe(calls + 1);
    // k1 is gone from the set now.
    expect((await a.authenticate(req(await sign(k1, 'k1')))).result).toBe('deny');
  });

  it('drops keys after max_fail_count consecutive failures (then CONNACK 3)', async () => {
    const k1 = await keyPair('k1');
    const ep = endpoint();
    ep.state.keys = [k1.jwk];
    const a = make(
      cfg({ use_jwks: true, endpoint: 'http://127.0.0.1:9/jwks', max_fail_count: 2 }),
      {
        fetch: ep.fetchFn,
        jwksCooldown: Infinity,
      },
    );
    await a.start();
    ep.state.up = false;
    await a.refresh();
    expect((await a.authenticate(req(await sign(k1, 'k1')))).result).toBe('allow');
    await a.refresh();
    expect(await a.authenticate(req(await sign(k1, 'k1')))).toEqual({
      result: 'deny',
      reason: 'server_unavailable',
    });
  });

  it('refuses HS256 tokens keyed with a JWKS public key, and ignores oct keys in the set', async () => {
    const k1 = await keyPair('k1');
    const ep = endpoint();
    // An attacker-controlled oct key slipped into the set must not be usable.
    ep.state.keys = [
      k1.jwk,
      { kty: 'oct', k: Buffer.from('evil').toString('base64url'), kid: 'o' },
    ];
    const a = make(cfg({ use_jwks: true, endpoint: 'http://127.0.0.1:9/jwks' }), {
      fetch: ep.fetchFn,
      jwksCooldown: Infinity,
    });
    await a.start();
    expect(a.metrics.keys).toBe(1);
    expect(
      (await a.authenticate(req(forge({ alg: 'HS256', kid: 'o' }, { sub: 'x' }, 'evil')))).result,
    ).toBe('deny');
    expect(
      (await a.authenticate(req(forge({ alg: 'HS256', kid: 'k1' }, { sub: 'x' }, k1.spki)))).result,
    ).toBe('deny');
  });

  it('tries every key when tokens carry no kid', async () => {
    const k1 = await keyPair('k1');
    const k2 = await keyPair('k2');
    const ep = endpoint();
    ep.state.keys = [k1.jwk, k2.jwk];
    const a = make(cfg({ use_jwks: true, endpoint: 'http://127.0.0.1:9/jwks' }), {
      fetch: ep.fetchFn,
      jwksCooldown: Infinity,
    });
    await a.start();
    const noKid = await new SignJWT({}).setProtectedHeader({ alg: 'ES256' }).sign(k2.privateKey);
    expect((await a.authenticate(req(noKid))).result).toBe('allow');
    const stranger = await keyPair('k3');
    const bad = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256' })
      .sign(stranger.privateKey);
    expect((await a.authenticate(req(bad))).result).toBe('deny');
  });
});
