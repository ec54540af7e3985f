/**
 * Access policy helpers: which binds count as local, and the per-address limit on failed
 * authentications.
 */
import { isIPv4, isIPv6 } from 'node:net';

/**
 * True for addresses only this machine can reach: `localhost`, 127.0.0.0/8, `::1` and
 * IPv4-mapped 127.x (`::ffff:127.0.0.1`). Everything else — `0.0.0.0`, `::`, a LAN address, a
 * host name — counts as exposed.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost') return true;
  if (isIPv4(h)) return h.startsWith('127.');
  if (isIPv6(h)) {
    if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
    return mapped !== null && (mapped[1] as string).startsWith('127.');
  }
  return false;
}

export interface AuthLimiter {
  /** ms until `addr` may try again; 0 when it may now. */
  blockedFor(addr: string): number;
  /**
   * An authentication attempt starts: counted as a failure until `succeeded` says otherwise,
   * so parallel guesses cannot run past the limit while their scrypt checks are in flight.
   */
  attempt(addr: string): void;
  succeeded(addr: string): void;
  /** Addresses tracked now (bounded by `maxAddresses`). */
  readonly size: number;
}

/**
 * Fixed-window counter per remote address: after `limit` failures within `windowMs` (counted
 * from the first), the address is refused until the window ends. `limit` 0 disables it. At
 * most `maxAddresses` are tracked; past that, expired windows are dropped, then the oldest.
 */
export function createAuthLimiter(
  limit: number,
  windowMs: number,
  now: () => number,
  maxAddresses = 10_000,
): AuthLimiter {
  const windows = new Map<string, { start: number; failures: number }>();
  const current = (addr: string) => {
    const w = windows.get(addr);
    if (w && now() - w.start >= windowMs) {
      windows.delete(addr);
      return undefined;
    }
    return w;
  };
  const prune = () => {
    if (windows.size < maxAddresses) return;
    const t = now();
    for (const [a, w] of windows) if (t - w.start >= windowMs) windows.delete(a);
    // Still full: forget the oldest windows (Map keeps insertion order).
    for (const a of windows.keys()) {
      if (windows.size < maxAddresses) break;
      windows.delete(a);
    }
  };
  return {
    blockedFor(addr) {
      if (limit <= 0) return 0;
      const w = current(addr);
      return w && w.failures >= limit ? Math.max(1, w.start + windowMs - now()) : 0;
    },
    attempt(addr) {
      if (limit <= 0) return;
      const w = current(addr);
      if (w) w.failures++;
      else {
        prune();
        windows.set(addr, { start: now(), failures: 1 });
      }
    },
    succeeded(addr) {
      const w = current(addr);
      if (w && w.failures > 0) w.failures--;
    },
    get size() {
      return windows.size;
    },
  };
}
