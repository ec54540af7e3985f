/**
 * The one backoff formula: exponential growth with full jitter, used by the sink runner for
 * retries and reconnects (which retry only errors whose `retriable` flag is set, see errors.ts).
 */

export interface BackoffOptions {
  /** First delay in ms (default 100). */
  initialMs?: number;
  /** Upper bound of one delay in ms (default 30 000). */
  maxMs?: number;
  /** Growth factor per attempt (default 2). */
  factor?: number;
  /** 0..1, share of the delay that is randomised (default 1 = full jitter). */
  jitter?: number;
}

/** Delay before retry number `attempt` (0-based). */
export function backoffDelay(
  attempt: number,
  opts: BackoffOptions = {},
  random = Math.random,
): number {
  const initial = opts.initialMs ?? 100;
  const max = opts.maxMs ?? 30_000;
  const factor = opts.factor ?? 2;
  const jitter = opts.jitter ?? 1;
  const base = Math.min(max, initial * Math.pow(factor, attempt));
  return Math.round(base * (1 - jitter) + base * jitter * random());
}
