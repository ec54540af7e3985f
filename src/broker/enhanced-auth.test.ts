/**
 * MQTT 5 enhanced authentication with SCRAM (enhanced-auth.ts, authn-scram.ts): the SCRAM math
 * against RFC 7677's test vector, then the CONNECT → AUTH → AUTH → CONNACK exchange and
 * re-authentication as raw packets (test/broker-harness.ts).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Packet } from 'mqtt-packet';
import { harness, publishPacket, stopAll, type TestClient } from '../../test/broker-harness.js';
import {
  createScramServer,
  loadScramUsers,
  parseScramCredential,
  scramClient,
  scramCredential,
  type ScramAlgorithm,
} from './authn-scram.js';
import { hashPassword } from './password.js';

afterEach(stopAll);

// RFC 7677 §3: user "user", password "pencil".
const RFC = {
  salt: Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'),
  iterations: 4096,
  cnonce: 'rOprNGfwEbeRWgbNEkqO',
  snonce: '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
  clientFirst: 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO',
  serverFirst:
    'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
  clientFinal:
    'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
  serverFinal: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
};

describe('SCRAM (RFC 5802 / 7677)', () => {
  it('RFC 7677 test vector: server-first, the proof check and server-final match the RFC', () => {
    const credential = scramCredential('pencil', { salt: RFC.salt, iterations: RFC.iterations });
    const server = createScramServer(
      [{ username: 'user', credential: parseScramCredential(credential), is_superuser: false }],
      { nonce: () => RFC.snonce },
    );
    const s = server.start('SCRAM-SHA-256', Buffer.from(RFC.clientFirst));
    if (!s.ok) throw new Error(s.failure);
    expect(s.serverFirst.toString()).toBe(RFC.serverFirst);
    const f = server.finish(s.pending, Buffer.from(RFC.clientFinal));
    if (!f.ok) throw new Error(f.failure);
    expect(f.serverFinal.toString()).toBe(RFC.serverFinal);
    // Our client computes the RFC's proof from the password.
    const client = scramClient('user', 'pencil', 'sha256', RFC.cnonce);
    expect(client.first().toString()).toBe(RFC.clientFirst);
    expect(client.final(Buffer.from(RFC.serverFirst)).toString()).toBe(RFC.clientFinal);
    expect(client.verify(Buffer.from(RFC.serverFinal))).toBe(true);
  });

  it('a flipped proof bit, a changed nonce or channel-binding flag fail; p= binding is refused', () => {
    const credential = parseScramCredential(scramCredential('pencil', { salt: RFC.salt }));
    const server = createScramServer([{ username: 'user', credential, is_superuser: false }], {
      nonce: () => RFC.snonce,
    });
    const start = () => {
      const s = server.start('SCRAM-SHA-256', Buffer.from(RFC.clientFirst));
      if (!s.ok) throw new Error(s.failure);
      return s.pending;
    };
    const proof = Buffer.from(RFC.clientFinal.split(',p=')[1]!, 'base64');
    proof[0]! ^= 1;
    const tampered = `${RFC.clientFinal.split(',p=')[0]},p=${proof.toString('base64')}`;
    expect(server.finish(start(), Buffer.from(tampered))).toEqual({
      ok: false,
      failure: 'invalid_proof',
    });
    expect(
      server.finish(start(), Buffer.from(RFC.clientFinal.replace('k0,p=', 'k1,p='))),
    ).toMatchObject({ ok: false, failure: 'nonce_mismatch' });
    expect(
      server.finish(start(), Buffer.from(RFC.clientFinal.replace('c=biws', 'c=eSws'))),
    ).toMatchObject({ ok: false, failure: 'channel_binding_mismatch' });
    expect(server.start('SCRAM-SHA-256', Buffer.from('p=tls-unique,,n=user,r=abc'))).toEqual({
      ok: false,
      failure: 'channel_binding_not_supported',
    });
    expect(server.start('SCRAM-SHA-256', Buffer.from('n,,n=us=er,r=abc'))).toEqual({
      ok: false,
      failure: 'malformed_client_first',
    });
  });

  it('an unknown user gets a server-first of the same shape (stable salt, 4096), then fails', () => {
    const credential = parseScramCredential(scramCredential('pencil'));
    const server = createScramServer([{ username: 'user', credential, is_superuser: false }]);
    const a = server.start('SCRAM-SHA-256', Buffer.from('n,,n=ghost,r=abc'));
    const b = server.start('SCRAM-SHA-256', Buffer.from('n,,n=ghost,r=abc'));
    if (!a.ok || !b.ok) throw new Error('refused');
    const salt = (m: Buffer) => /,s=([^,]+),i=(\d+)$/.exec(m.toString())!.slice(1);
    expect(salt(a.serverFirst)).toEqual(salt(b.serverFirst));
    expect(salt(a.serverFirst)[1]).toBe('4096');
    const c = scramClient('ghost', 'anything', 'sha256', 'abc');
    c.first();
    expect(server.finish(a.pending, c.final(a.serverFirst))).toEqual({
      ok: false,
      failure: 'invalid_proof',
    });
  });

  it('credentials: format checked at load, duplicates per algorithm refused, never plaintext', () => {
    const c = scramCredential('pw', { algorithm: 'sha512', iterations: 10 });
    expect(c).toMatch(/^scram-sha-512\$10\$[^$]+\$[^$]+\$[^$]+$/);
    expect(c).not.toContain('pw$');
    expect(parseScramCredential(c).storedKey).toHaveLength(64);
    expect(() => parseScramCredential('pencil')).toThrow(/broker_scram|invalid SCRAM credential/);
    expect(() => parseScramCredential(c.replace('scram-sha-512', 'scram-sha-256'))).toThrow(
      /must be 32 bytes/,
    );
    expect(() =>
      loadScramUsers({
        users: [
          { username: 'a', credential: scramCredential('x') },
          { username: 'a', credential: scramCredential('y') },
        ],
      }),
    ).toThrow(/second sha256 credential/);
  });
});

const USERS = [
  { username: 'dev-1', credential: scramCredential('s3cret', { iterations: 64 }) },
  {
    username: 'dev-1',
    credential: scramCredential('s3cret', { algorithm: 'sha512', iterations: 64 }),
  },
  {
    username: 'admin',
    credential: scramCredential('root-pw', { iterations: 64 }),
    is_superuser: true,
  },
];

type Auth = Extract<Packet, { cmd: 'auth' }>;

function connectScram(
  h: Awaited<ReturnType<typeof harness>>,
  clientId: string,
  user: string,
  password: string,
  algorithm: ScramAlgorithm = 'sha256',
  extra: Record<string, unknown> = {},
): { client: TestClient; scram: ReturnType<typeof scramClient>; method: string } {
  const method = algorithm === 'sha256' ? 'SCRAM-SHA-256' : 'SCRAM-SHA-512';
  const scram = scramClient(user, password, algorithm);
  const client = h.open(5);
  client.send({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 5,
    clean: true,
    clientId,
    keepalive: 0,
    properties: { authenticationMethod: method, authenticationData: scram.first() },
    ...extra,
  } as Packet);
  return { client, scram, method };
}

async function continueAuth(
  client: TestClient,
  scram: ReturnType<typeof scramClient>,
  method: string,
): Promise<Auth> {
  const auth = await client.next('auth');
  expect(auth.reasonCode).toBe(0x18);
  expect(auth.properties?.authenticationMethod).toBe(method);
  client.send({
    cmd: 'auth',
    reasonCode: 0x18,
    properties: {
      authenticationMethod: method,
      authenticationData: scram.final(auth.properties!.authenticationData!),
    },
  } as Packet);
  return auth;
}

describe('MQTT 5 enhanced authentication: CONNECT → AUTH → AUTH → CONNACK', () => {
  it.each(['sha256', 'sha512'] as const)(
    'SCRAM-%s: CONNACK 0x00 carries the method and a server-final the client verifies',
    async (algorithm) => {
      const h = await harness({ scram: { users: USERS }, allow_anonymous: false });
      const { client, scram, method } = connectScram(h, 'c1', 'dev-1', 's3cret', algorithm);
      await continueAuth(client, scram, method);
      const connack = await client.next('connack');
      expect(connack.reasonCode).toBe(0);
      expect(connack.properties?.authenticationMethod).toBe(method);
      expect(scram.verify(connack.properties!.authenticationData!)).toBe(true);
      await vi.waitFor(() => expect(h.of('client.connected')).toHaveLength(1));
      expect(h.of('client.connected')[0]).toMatchObject({ clientid: 'c1', username: 'dev-1' });
      expect(h.of('client.check_authn_complete')[0]).toMatchObject({
        reason_code: 'success',
        is_superuser: false,
        username: 'dev-1',
      });
      // The session works: a QoS 1 PUBLISH is acknowledged and routed.
      client.send(publishPacket('t/scram', 'hi', 1, 7));
      expect((await client.next('puback')).messageId).toBe(7);
      await vi.waitFor(() => expect(h.of('message.publish')).toHaveLength(1));
      expect(h.broker.metrics()).toMatchObject({
        enhanced_auth_success: 1,
        enhanced_auth_failed: 0,
      });
    },
  );

  it('a superuser credential makes the client a superuser', async () => {
    const h = await harness({ scram: { users: USERS } });
    const { client, scram, method } = connectScram(h, 'a1', 'admin', 'root-pw');
    await continueAuth(client, scram, method);
    expect((await client.next('connack')).reasonCode).toBe(0);
    await vi.waitFor(() => expect(h.of('client.check_authn_complete')).toHaveLength(1));
    expect(h.of('client.check_authn_complete')[0]!['is_superuser']).toBe(true);
  });

  it('a wrong password: CONNACK 0x87 (not authorized), closed, counted, no client.connected', async () => {
    const h = await harness({ scram: { users: USERS } });
    const { client, scram, method } = connectScram(h, 'bad', 'dev-1', 'wrong');
    await continueAuth(client, scram, method);
    const connack = await client.next('connack');
    expect(connack.reasonCode).toBe(0x87);
    expect(connack.properties?.authenticationData).toBeUndefined();
    await client.closed;
    expect(h.broker.metrics()).toMatchObject({
      enhanced_auth_failed: 1,
      enhanced_auth_success: 0,
      connections_refused: 1,
    });
    expect(h.of('client.connected')).toHaveLength(0);
    await vi.waitFor(() => expect(h.of('client.connack')).toHaveLength(1));
    expect(h.of('client.connack')[0]!['reason_code']).toBe('not_authorized');
  });

  it('an unknown user is answered with AUTH 0x18 too, then CONNACK 0x87', async () => {
    const h = await harness({ scram: { users: USERS } });
    const { client, scram, method } = connectScram(h, 'g', 'ghost', 's3cret');
    await continueAuth(client, scram, method);
    expect((await client.next('connack')).reasonCode).toBe(0x87);
    await client.closed;
  });

  it('a CONNECT user name other than the SCRAM one: CONNACK 0x87 without an AUTH', async () => {
    const h = await harness({ scram: { users: USERS } });
    const { client } = connectScram(h, 'm', 'dev-1', 's3cret', 'sha256', { username: 'admin' });
    expect((await client.next('connack')).reasonCode).toBe(0x87);
    expect(client.pending('auth')).toHaveLength(0);
  });

  it('an unknown method (SCRAM-SHA-1) is still CONNACK 0x8C with SCRAM configured', async () => {
    const h = await harness({ scram: { users: USERS } });
    const { client, connack } = await h.connectClient('sha1', {
      properties: { authenticationMethod: 'SCRAM-SHA-1', authenticationData: Buffer.from('n,,') },
    });
    expect(connack.reasonCode).toBe(0x8c);
    await client.closed;
    // Only SHA-256 users: SCRAM-SHA-512 is not offered.
    const h2 = await harness({ scram: { users: [USERS[0]!] } });
    const r = await h2.connectClient('s512', {
      properties: { authenticationMethod: 'SCRAM-SHA-512', authenticationData: Buffer.from('n,,') },
    });
    expect(r.connack.reasonCode).toBe(0x8c);
  });

  it('a PUBLISH sent during the exchange closes the connection unprocessed [MQTT-3.1.2-30]', async () => {
    const h = await harness({ scram: { users: USERS } });
    const { client } = connectScram(h, 'early', 'dev-1', 's3cret');
    await client.next('auth');
    client.send(publishPacket('t/early', 'x', 1, 1));
    await client.closed;
    expect(client.pending('connack')).toHaveLength(0);
    expect(client.pending('puback')).toHaveLength(0);
    expect(h.of('message.publish')).toHaveLength(0);
    expect(h.of('client.connected')).toHaveLength(0);
  });

  it('AUTH with another method, or a reason code other than 0x18: CONNACK 0x82', async () => {
    const h = await harness({ scram: { users: USERS } });
    const { client } = connectScram(h, 'other', 'dev-1', 's3cret');
    await client.next('auth');
    client.send({
      cmd: 'auth',
      reasonCode: 0x18,
      properties: { authenticationMethod: 'SCRAM-SHA-512', authenticationData: Buffer.from('x') },
    } as Packet);
    expect((await client.next('connack')).reasonCode).toBe(0x82);
    await client.closed;
  });

  it('a client that never answers the AUTH is refused after connect_timeout (0x87)', async () => {
    const h = await harness({ scram: { users: USERS }, connect_timeout: 300 });
    const { client } = connectScram(h, 'silent', 'dev-1', 's3cret');
    await client.next('auth');
    const t0 = Date.now();
    expect((await client.next('connack', 3000)).reasonCode).toBe(0x87);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(200);
    await client.closed;
  });

  it('password clients are unchanged next to SCRAM ones', async () => {
    const h = await harness({
      scram: { users: USERS },
      users: [{ username: 'pw', password_hash: hashPassword('p', { N: 1024 }) }],
      allow_anonymous: false,
    });
    const ok = await h.connectClient('pw1', { username: 'pw', password: Buffer.from('p') });
    expect(ok.connack.reasonCode).toBe(0);
    expect(ok.connack.properties?.authenticationMethod).toBeUndefined();
  });
});

describe('MQTT 5 re-authentication (AUTH 0x19)', () => {
  async function connected(h: Awaited<ReturnType<typeof harness>>, id: string) {
    const { client, scram, method } = connectScram(h, id, 'dev-1', 's3cret');
    await continueAuth(client, scram, method);
    expect((await client.next('connack')).reasonCode).toBe(0);
    await vi.waitFor(() => expect(h.of('client.connected').length).toBeGreaterThan(0));
    return { client, method };
  }

  it('AUTH 0x19 → AUTH 0x18 → AUTH 0x18 → AUTH 0x00 with a valid server-final; the session goes on', async () => {
    const h = await harness({ scram: { users: USERS } });
    const { client, method } = await connected(h, 're1');
    const again = scramClient('dev-1', 's3cret', 'sha256');
    client.send({
      cmd: 'auth',
      reasonCode: 0x19,
      properties: { authenticationMethod: method, authenticationData: again.first() },
    } as Packet);
    await continueAuth(client, again, method);
    const done = (await vi.waitFor(() => {
      const ok = client.log.filter((p) => p.cmd === 'auth' && p.reasonCode === 0x00);
      expect(ok).toHaveLength(1);
      return ok[0];
    })) as Auth;
    expect(done.properties?.authenticationMethod).toBe(method);
    expect(again.verify(done.properties!.authenticationData!)).toBe(true);
    client.send(publishPacket('t/re', 'x', 1, 3));
    expect((await client.next('puback')).messageId).toBe(3);
    expect(h.broker.metrics()).toMatchObject({ reauth_success: 1, reauth_failed: 0 });
  });

  it('a failed re-authentication is DISCONNECT 0x87 (reason not_authorized)', async () => {
    const h = await harness({ scram: { users: USERS } });
    const { client, method } = await connected(h, 're2');
    const wrong = scramClient('dev-1', 'nope', 'sha256');
    client.send({
      cmd: 'auth',
      reasonCode: 0x19,
      properties: { authenticationMethod: method, authenticationData: wrong.first() },
    } as Packet);
    await continueAuth(client, wrong, method);
    expect((await client.next('disconnect')).reasonCode).toBe(0x87);
    await client.closed;
    await vi.waitFor(() => expect(h.of('client.disconnected')).toHaveLength(1));
    expect(h.of('client.disconnected')[0]!['reason']).toBe('not_authorized');
    expect(h.broker.metrics().reauth_failed).toBe(1);
  });

  it('re-authenticating as another user is DISCONNECT 0x87', async () => {
    const h = await harness({ scram: { users: USERS } });
    const { client, method } = await connected(h, 're3');
    client.send({
      cmd: 'auth',
      reasonCode: 0x19,
      properties: {
        authenticationMethod: method,
        authenticationData: scramClient('admin', 'root-pw', 'sha256').first(),
      },
    } as Packet);
    expect((await client.next('disconnect')).reasonCode).toBe(0x87);
  });

  it('AUTH from a client that connected with a password is DISCONNECT 0x82 [MQTT-4.12.0-7]', async () => {
    for (const config of [{ scram: { users: USERS } }, {}]) {
      const h = await harness(config);
      const { client } = await h.connectClient('plain');
      client.send({
        cmd: 'auth',
        reasonCode: 0x19,
        properties: {
          authenticationMethod: 'SCRAM-SHA-256',
          authenticationData: Buffer.from('n,,'),
        },
      } as Packet);
      expect((await client.next('disconnect')).reasonCode).toBe(0x82);
      await client.closed;
    }
  });
});
