/**
 * Bucket bounds (ms) of the ingest → acknowledgement latency histogram: the sink runner counts
 * into them, `/metrics` exports them as `le` (in seconds).
 */
export const LATENCY_BOUNDS_MS: readonly number[] = [
  1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000,
];
