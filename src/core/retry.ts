/**
 * The one retry helper: exponential backoff with full jitter, retrying only errors whose
 * `retriable` flag is set (see errors.ts). Time is injectable for tests.
 */
import { isRetriable } from './errors.js';

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

export interface RetryOptions extends BackoffOptions {
  /** Attempts in total, including the first (default 5). */
  maxAttempts?: number;
  /** Which errors to retry (default: `isRetriable`). */
  shouldRetry?: (err: unknown) => boolean;
  sleep?: (ms: number) => Promise<void>;
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

export async function retry<T>(
  fn: (attempt: number) => Promise<T>,
  opts: RetryOptions = {},
): Promise<T> {
  const maxAttempts = opts.maxAttempts ?? 5;
  const shouldRetry = opts.shouldRetry ?? isRetriable;
  const doSleep = opts.sleep ?? sleep;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt + 1 >= maxAttempts || !shouldRetry(err)) throw err;
      const delay = backoffDelay(attempt, opts);
      opts.onRetry?.(err, attempt, delay);
      await doSleep(delay);
    }
  }
}
