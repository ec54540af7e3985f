import { describe, expect, it } from 'vitest';

import { basicCredentials, chooseProtocol, identityOf, offeredProtocols } from './handshake.js';

describe('identityOf', () => {
  it.each([
    ['/ocpp/CP001', 'CP001'],
    ['/ocpp/CP%20001?x=1', 'CP 001'],
    ['/ocpp/%CE%B1', 'α'],
  ])('%s → %s', (url, cid) => expect(identityOf(url, '/ocpp')).toEqual({ ok: true, cid }));
  it.each([
    ['/ocpp/', 400, 'clientid_cannot_be_empty'],
    ['/ocpp', 404, 'unknown path'],
    ['/other/CP', 404, 'unknown path'],
    ['/ocpp/a/b', 400, 'unsupported_clientid'],
    ['/ocpp/a%2Fb', 400, 'unsupported_clientid'],
    ['/ocpp/a%2B', 400, 'unsupported_clientid'],
    ['/ocpp/%23', 400, 'unsupported_clientid'],
    ['/ocpp/%E0%A4%A', 400, 'unsupported_clientid'],
  ])('%s refused', (url, status, reason) =>
    expect(identityOf(url, '/ocpp')).toEqual({ ok: false, status, reason }),
  );
  it('a base path with a trailing slash works too', () =>
    expect(identityOf('/cs/ocpp/X', '/cs/ocpp/')).toEqual({ ok: true, cid: 'X' }));
});

describe('subprotocols', () => {
  it('parses tolerantly and picks by server preference', () => {
    expect(offeredProtocols(undefined)).toBeUndefined();
    expect(offeredProtocols(' , ')).toBeUndefined();
    expect(offeredProtocols(',ocpp2.0.1, ocpp1.6')).toEqual(['ocpp2.0.1', 'ocpp1.6']);
    expect(chooseProtocol(['ocpp1.5', 'ocpp1.6'], ['ocpp1.6'])).toBe('ocpp1.6');
    expect(chooseProtocol(['ocpp2.0', 'ocpp1.6'], ['ocpp1.6', 'ocpp2.0'])).toBe('ocpp1.6');
    expect(chooseProtocol(['ocpp1.6j'], ['ocpp1.6'])).toBeUndefined();
  });
});

describe('basicCredentials', () => {
  const h = (b: Buffer | string) => `Basic ${Buffer.from(b).toString('base64')}`;
  it('splits after "<cid>:" so ids and passwords may contain colons', () => {
    expect(basicCredentials(h('a:b:pw:x'), 'a:b')).toEqual({
      username: 'a:b',
      password: Buffer.from('pw:x'),
    });
  });
  it('falls back to the first colon; keeps binary passwords', () => {
    const pw = Buffer.from([0xff, 0x00, 0x3a, 0x80]);
    expect(basicCredentials(h(Buffer.concat([Buffer.from('user:'), pw])), 'CP')).toEqual({
      username: 'user',
      password: pw,
    });
  });
  it('no colon: username only; missing or not Basic: anonymous', () => {
    expect(basicCredentials(h('user'), 'CP')).toEqual({ username: 'user', password: undefined });
    expect(basicCredentials(undefined, 'CP')).toEqual({ username: undefined, password: undefined });
    expect(basicCredentials('Bearer abc', 'CP')).toEqual({
      username: undefined,
      password: undefined,
    });
  });
});
