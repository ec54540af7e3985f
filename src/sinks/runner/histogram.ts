/**
 * A fixed-size log-linear latency histogram (HDR-style, ~6 % relative precision): values
 * below 16 ms get one bucket per ms, above that each power of two is split into 16 buckets.
 * Recording is O(1) with no allocation so it can sit on the per-record ack path.
 */

import { LATENCY_BOUNDS_MS } from '../../core/index.js';
export { LATENCY_BOUNDS_MS };

const LINEAR = 16;
const SUB = 16;
const MAX_EXP = 40; // 2^40 ms ≈ 35 years: anything above is clamped
const SIZE = LINEAR + (MAX_EXP - 4) * SUB;

export interface LatencySummary {
  count: number;
  /** Upper bounds (ms) of the buckets holding the quantiles; 0 when empty. */
  p50: number;
  p99: number;
  max: number;
  /** Sum of all recorded values (ms). */
  sum: number;
  /**
   * Cumulative counts per `LATENCY_BOUNDS_MS` bound: records whose fine bucket lies wholly at
   * or below the bound (≈6 % resolution; a value just under a bound may count in the next).
   */
  buckets: number[];
}

export interface LatencyHistogram {
  record(ms: number): void;
  summary(): LatencySummary;
  reset(): void;
}

function bucketOf(ms: number): number {
  if (!(ms > 0)) return 0;
  if (ms < LINEAR) return Math.floor(ms);
  const exp = Math.min(Math.floor(Math.log2(ms)), MAX_EXP - 1);
  const sub = Math.min(SUB - 1, Math.floor((ms / 2 ** exp - 1) * SUB));
  return LINEAR + (exp - 4) * SUB + sub;
}

function upperBound(bucket: number): number {
  if (bucket < LINEAR) return bucket + 1;
  const exp = Math.floor((bucket - LINEAR) / SUB) + 4;
  const sub = (bucket - LINEAR) % SUB;
  return 2 ** exp * (1 + (sub + 1) / SUB);
}

export function createLatencyHistogram(): LatencyHistogram {
  const counts = new Float64Array(SIZE);
  let count = 0;
  let max = 0;
  let sum = 0;
  const cumulative = (): number[] => {
    const out = new Array<number>(LATENCY_BOUNDS_MS.length).fill(0);
    let seen = 0;
    let k = 0;
    for (let i = 0; i < SIZE && k < out.length; i++) {
      while (k < out.length && upperBound(i) > (LATENCY_BOUNDS_MS[k] as number)) out[k++] = seen;
      seen += counts[i] as number;
    }
    while (k < out.length) out[k++] = seen;
    return out;
  };
  const quantile = (q: number): number => {
    if (count === 0) return 0;
    const rank = Math.ceil(q * count);
    let seen = 0;
    for (let i = 0; i < SIZE; i++) {
      seen += counts[i] as number;
      if (seen >= rank) return Math.min(upperBound(i), max);
    }
    return max;
  };
  return {
    record(ms) {
      const b = bucketOf(ms);
      counts[b] = (counts[b] as number) + 1;
      count++;
      if (ms > 0) sum += ms;
      if (ms > max) max = ms;
    },
    summary: () => ({
      count,
      p50: quantile(0.5),
      p99: quantile(0.99),
      max,
      sum,
      buckets: cumulative(),
    }),
    reset() {
      counts.fill(0);
      count = 0;
      max = 0;
      sum = 0;
    },
  };
}
