import { describe, expect, it } from 'vitest';
import { hashPassword, parsePasswordHash, verifyPassword } from './password.js';

describe('password hashes', () => {
  it('scrypt: format, round trip, wrong password, unique salts', async () => {
    const h = hashPassword('s3cret', { N: 1024 });
    expect(h).toMatch(/^scrypt\$1024\$8\$1\$[A-Za-z0-9+/]+={0,2}\$[A-Za-z0-9+/]+={0,2}$/);
    const parsed = parsePasswordHash(h);
    expect(await verifyPassword('s3cret', parsed)).toBe(true);
    expect(await verifyPassword(Buffer.from('s3cret'), parsed)).toBe(true);
    expect(await verifyPassword('s3cret ', parsed)).toBe(false);
    expect(await verifyPassword('', parsed)).toBe(false);
    expect(hashPassword('s3cret', { N: 1024 })).not.toBe(h);
  });

  it('default parameters are N=16384, r=8, p=1', () => {
    expect(hashPassword('x')).toMatch(/^scrypt\$16384\$8\$1\$/);
  });

  it('pbkdf2: round trip', async () => {
    const h = hashPassword('pw', { algorithm: 'pbkdf2', iterations: 1000 });
    expect(h).toMatch(/^pbkdf2\$sha256\$1000\$/);
    const parsed = parsePasswordHash(h);
    expect(await verifyPassword('pw', parsed)).toBe(true);
    expect(await verifyPassword('pW', parsed)).toBe(false);
  });

  it('a hash made with node:crypto by hand (docs one-liner) verifies', async () => {
    // scrypt("my-password", salt, 32, N=16384 r=8 p=1), produced by the docs/broker.md one-liner.
    const h =
      'scrypt$16384$8$1$2ltCOV+cAuPHxun9ljHbAg==$hQgF+bWN0A5WrQukTl3sffk4OiIpPsEUpLWsdBm/OQU=';
    expect(await verifyPassword('my-password', parsePasswordHash(h))).toBe(true);
  });

  it.each([
    ['plain', 'expected scrypt'],
    ['scrypt$16384$8$1$salt', 'expected scrypt'],
    ['scrypt$1000$8$1$AAAA$AAAA', 'power of two'],
    ['scrypt$16384$0$1$AAAA$AAAA', 'r must be'],
    ['scrypt$16384$8$1$not base64!$AAAA', 'salt is not base64'],
    ['pbkdf2$md5$1000$AAAA$AAAA', 'unsupported digest'],
    ['pbkdf2$sha256$x$AAAA$AAAA', 'iterations'],
  ])('rejects %s with broker_password_hash_invalid', (input, why) => {
    expect(() => parsePasswordHash(input)).toThrow(
      expect.objectContaining({
        code: 'broker_password_hash_invalid',
        message: expect.stringContaining(why),
      }),
    );
  });
});
