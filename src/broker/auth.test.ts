import { describe, expect, it } from 'vitest';
import {
  createBuiltinAuthenticator,
  runAuthnChain,
  runAuthzChain,
  sysPublishAuthorizer,
  type Authenticator,
  type Authorizer,
  type AuthzOutcome,
  type AuthzRequest,
  type AuthzResult,
} from './auth.js';
import { hashPassword } from './password.js';

const req = (username?: string, password?: string) => ({
  clientid: 'c1',
  username,
  password: password === undefined ? undefined : Buffer.from(password),
  peerhost: '127.0.0.1',
  listener: 'tcp',
  peerCertCN: undefined,
});

describe('authentication chain', () => {
  const builtin = createBuiltinAuthenticator([
    { username: 'u', password_hash: hashPassword('p', { N: 1024 }), is_superuser: false },
    { username: 'root', password_hash: hashPassword('r', { N: 1024 }), is_superuser: true },
  ]);

  it('allows the right password, denies a wrong or missing one', async () => {
    expect(await runAuthnChain([builtin], req('u', 'p'), false)).toMatchObject({
      ok: true,
      reason_code: 'success',
      is_anonymous: false,
      is_superuser: false,
    });
    expect(await runAuthnChain([builtin], req('root', 'r'), false)).toMatchObject({
      ok: true,
      is_superuser: true,
    });
    expect(await runAuthnChain([builtin], req('u', 'x'), true)).toMatchObject({
      ok: false,
      reason_code: 'bad_username_or_password',
    });
    expect(await runAuthnChain([builtin], req('u'), true)).toMatchObject({
      ok: false,
      reason_code: 'bad_username_or_password',
    });
  });

  it('unknown users and anonymous clients fall through to allow_anonymous', async () => {
    expect(await runAuthnChain([builtin], req('stranger', 'x'), true)).toMatchObject({
      ok: true,
      is_anonymous: true,
    });
    expect(await runAuthnChain([builtin], req(), true)).toMatchObject({
      ok: true,
      is_anonymous: true,
    });
    expect(await runAuthnChain([builtin], req('stranger', 'x'), false)).toMatchObject({
      ok: false,
      reason_code: 'not_authorized',
    });
    expect(await runAuthnChain([builtin], req(), false)).toMatchObject({
      ok: false,
      reason_code: 'not_authorized',
    });
  });

  it('a plugged-in authenticator runs after the built-in list and can set client_attrs', async () => {
    const calls: string[] = [];
    const token: Authenticator = {
      name: 'jwt',
      authenticate: (r) => {
        calls.push(r.clientid);
        return r.password?.toString() === 'token'
          ? { result: 'allow', client_attrs: { tenant: 't1' } }
          : { result: 'ignore' };
      },
    };
    const out = await runAuthnChain([builtin, token], req('dev', 'token'), false);
    expect(out).toMatchObject({ ok: true, is_anonymous: false, client_attrs: { tenant: 't1' } });
    expect(Object.isFrozen(out.client_attrs)).toBe(true);
    // The built-in list decided: the token authenticator was not consulted.
    await runAuthnChain([builtin, token], req('u', 'p'), false);
    expect(calls).toEqual(['c1']);
  });
});

describe('authorization chain', () => {
  const areq = (action: 'publish' | 'subscribe', topic: string): AuthzRequest => ({
    clientid: 'c1',
    username: undefined,
    peerhost: undefined,
    client_attrs: {},
    action,
    topic,
    qos: 0,
    retain: false,
  });
  const run = (chain: Authorizer[], r: AuthzRequest, noMatch = true) => {
    let out: AuthzOutcome | undefined;
    runAuthzChain(
      chain,
      r,
      noMatch,
      (o) => (out = o),
      () => {},
    );
    return out;
  };

  it('answers synchronously for synchronous authorizers', () => {
    expect(run([sysPublishAuthorizer], areq('publish', '$SYS/x'))).toEqual({
      allow: false,
      source: 'sys_topics',
    });
    expect(run([sysPublishAuthorizer], areq('subscribe', '$SYS/#'))).toEqual({
      allow: true,
      source: 'default',
    });
    expect(run([sysPublishAuthorizer], areq('publish', 'a/b'), false)).toEqual({
      allow: false,
      source: 'default',
    });
  });

  it('waits for an async authorizer and continues after an async ignore', async () => {
    const slowIgnore: Authorizer = {
      name: 'slow',
      authorize: async (): Promise<AuthzResult> => 'ignore',
    };
    const acl: Authorizer = {
      name: 'acl',
      authorize: (r) => (r.topic.startsWith('ok/') ? 'allow' : 'deny'),
    };
    const outcome = await new Promise<AuthzOutcome>((resolve) =>
      runAuthzChain([slowIgnore, acl], areq('publish', 'no/x'), true, resolve, () => {}),
    );
    expect(outcome).toEqual({ allow: false, source: 'acl' });
  });

  it('a throwing or rejecting authorizer denies and reports the error', async () => {
    const errors: string[] = [];
    const boom: Authorizer = {
      name: 'boom',
      authorize: () => {
        throw new Error('x');
      },
    };
    let out: AuthzOutcome | undefined;
    runAuthzChain(
      [boom],
      areq('publish', 'a'),
      true,
      (o) => (out = o),
      (_e, s) => errors.push(s),
    );
    expect(out).toEqual({ allow: false, source: 'boom' });
    const rejecting: Authorizer = {
      name: 'rej',
      authorize: () => Promise.reject(new Error('down')),
    };
    const o2 = await new Promise<AuthzOutcome>((resolve) =>
      runAuthzChain([rejecting], areq('publish', 'a'), true, resolve, (_e, s) => errors.push(s)),
    );
    expect(o2).toEqual({ allow: false, source: 'rej' });
    expect(errors).toEqual(['boom', 'rej']);
  });
});
