/**
 * Stored hashes of API key secrets: `scrypt$<N>$<r>$<p>$<salt>$<hash>` (salt and hash in
 * standard base64; N=16384, r=8, p=1, 16-byte salt, 32-byte hash) — the format of the broker's
 * password hashes (src/broker/password.ts). The api module may not import the broker, and the
 * few lines are copied rather than moved into src/core while the broker is being changed
 * elsewhere; the two must stay the same format.
 *
 * Verification re-derives the hash off the main thread (crypto.scrypt runs in libuv's pool)
 * and compares with `timingSafeEqual`. Secrets are 32 random bytes, so the slow hash only
 * matters if the key file leaks; `keys.ts` therefore verifies a secret with scrypt once and
 * then remembers its SHA-256 digest in memory (compared in constant time too).
 */
import { createHash, randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';

export interface ParsedSecretHash {
  readonly N: number;
  readonly r: number;
  readonly p: number;
  readonly salt: Buffer;
  readonly hash: Buffer;
}

const B64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** scrypt needs 128·N·r bytes; raise Node's 32 MiB default just enough. */
function maxmem(N: number, r: number): number {
  return 128 * N * r * 2 + 1024 * 1024;
}

/** The stored string for `secret` (synchronous: used by the CLI when a key is created). */
export function hashSecret(secret: string, cost: { N?: number; r?: number; p?: number } = {}) {
  const N = cost.N ?? 16384;
  const r = cost.r ?? 8;
  const p = cost.p ?? 1;
  const salt = randomBytes(16);
  const hash = scryptSync(secret, salt, 32, { N, r, p, maxmem: maxmem(N, r) });
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** Parse a stored hash; undefined when it is not `scrypt$N$r$p$salt$hash`. */
export function parseSecretHash(stored: string): ParsedSecretHash | undefined {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined;
  const [N, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  if (![N, r, p].every((n) => Number.isInteger(n) && n >= 1) || N < 2 || (N & (N - 1)) !== 0)
    return undefined;
  const salt = parts[4] ?? '';
  const hash = parts[5] ?? '';
  if (!B64.test(salt) || !B64.test(hash)) return undefined;
  return { N, r, p, salt: Buffer.from(salt, 'base64'), hash: Buffer.from(hash, 'base64') };
}

/** Constant-time check of `secret` against a parsed hash; never rejects on a wrong secret. */
export function verifySecret(secret: string, h: ParsedSecretHash): Promise<boolean> {
  return new Promise((resolve, reject) => {
    scrypt(
      secret,
      h.salt,
      h.hash.length,
      { N: h.N, r: h.r, p: h.p, maxmem: maxmem(h.N, h.r) },
      (err, derived) => {
        if (err) return reject(err);
        resolve(derived.length === h.hash.length && timingSafeEqual(derived, h.hash));
      },
    );
  });
}

/** SHA-256 of a string: fixed-length input for `timingSafeEqual`. */
export function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** Constant-time equality of two strings (both hashed to 32 bytes first, so lengths leak nothing). */
export function sameSecret(given: string, want: string | Buffer): boolean {
  const w = typeof want === 'string' ? digest(want) : want;
  return timingSafeEqual(digest(given), w);
}
