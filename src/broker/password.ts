/**
 * Salted password hashes for the built-in user list.
 *
 * Stored formats (salt and hash are standard base64):
 *   scrypt$<N>$<r>$<p>$<salt>$<hash>              (default; N=16384, r=8, p=1, 16-byte salt, 32-byte hash)
 *   pbkdf2$<digest>$<iterations>$<salt>$<hash>    (e.g. pbkdf2$sha256$600000$…; for FIPS-minded setups)
 *
 * Verification re-derives the hash with the stored parameters off the main thread
 * (crypto.scrypt / crypto.pbkdf2 run in libuv's pool) and compares with
 * crypto.timingSafeEqual, so the comparison time does not depend on where the bytes differ.
 */
import { pbkdf2, pbkdf2Sync, randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';
import { BrokerErrors } from './errors.js';

export interface HashOptions {
  algorithm?: 'scrypt' | 'pbkdf2';
  /** scrypt cost N (power of two). */
  N?: number;
  r?: number;
  p?: number;
  /** pbkdf2 iterations / digest. */
  iterations?: number;
  digest?: string;
}

export type ParsedHash =
  | { kind: 'scrypt'; N: number; r: number; p: number; salt: Buffer; hash: Buffer }
  | { kind: 'pbkdf2'; digest: string; iterations: number; salt: Buffer; hash: Buffer };

const B64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** scrypt needs 128·N·r bytes; raise Node's 32 MiB default just enough. */
function maxmem(N: number, r: number): number {
  return 128 * N * r * 2 + 1024 * 1024;
}

/** Produce the stored string for `plain` (synchronous: a CLI/config helper, not for the hot path). */
export function hashPassword(plain: string, opts: HashOptions = {}): string {
  const salt = randomBytes(16);
  if ((opts.algorithm ?? 'scrypt') === 'pbkdf2') {
    const iterations = opts.iterations ?? 600_000;
    const digest = opts.digest ?? 'sha256';
    const hash = pbkdf2Sync(plain, salt, iterations, 32, digest);
    return `pbkdf2$${digest}$${iterations}$${salt.toString('base64')}$${hash.toString('base64')}`;
  }
  const N = opts.N ?? 16384;
  const r = opts.r ?? 8;
  const p = opts.p ?? 1;
  const hash = scryptSync(plain, salt, 32, { N, r, p, maxmem: maxmem(N, r) });
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** Parse a stored hash; throws `broker_password_hash_invalid` (config-time check). */
export function parsePasswordHash(stored: string): ParsedHash {
  const parts = stored.split('$');
  const bad = (why: string) =>
    BrokerErrors.broker_password_hash_invalid(`invalid password hash: ${why}`);
  const b64 = (s: string | undefined, what: string): Buffer => {
    if (!s || !B64.test(s)) throw bad(`${what} is not base64`);
    return Buffer.from(s, 'base64');
  };
  const int = (s: string | undefined, what: string, min: number): number => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < min) throw bad(`${what} must be an integer >= ${min}`);
    return n;
  };
  if (parts[0] === 'scrypt' && parts.length === 6) {
    const N = int(parts[1], 'N', 2);
    if ((N & (N - 1)) !== 0) throw bad('N must be a power of two');
    return {
      kind: 'scrypt',
      N,
      r: int(parts[2], 'r', 1),
      p: int(parts[3], 'p', 1),
      salt: b64(parts[4], 'salt'),
      hash: b64(parts[5], 'hash'),
    };
  }
  if (parts[0] === 'pbkdf2' && parts.length === 5) {
    const digest = parts[1] ?? '';
    if (!/^sha(1|256|384|512)$/.test(digest))
      throw bad(`unsupported digest ${JSON.stringify(digest)}`);
    return {
      kind: 'pbkdf2',
      digest,
      iterations: int(parts[2], 'iterations', 1),
      salt: b64(parts[3], 'salt'),
      hash: b64(parts[4], 'hash'),
    };
  }
  throw bad('expected scrypt$N$r$p$salt$hash or pbkdf2$digest$iterations$salt$hash');
}

/** Constant-time check of `password` against a parsed hash. Never throws on a wrong password. */
export function verifyPassword(password: Buffer | string, parsed: ParsedHash): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, derived: Buffer) => {
      if (err) return reject(err);
      resolve(derived.length === parsed.hash.length && timingSafeEqual(derived, parsed.hash));
    };
    if (parsed.kind === 'scrypt') {
      scrypt(
        password,
        parsed.salt,
        parsed.hash.length,
        { N: parsed.N, r: parsed.r, p: parsed.p, maxmem: maxmem(parsed.N, parsed.r) },
        done,
      );
    } else {
      pbkdf2(password, parsed.salt, parsed.iterations, parsed.hash.length, parsed.digest, done);
    }
  });
}
