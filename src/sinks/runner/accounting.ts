/**
 * The runner's books (EMQX per-action metrics). Every record handed to the runner ends in
 * exactly one of the counters here, or is still queued or in flight; the runner keeps the
 * invariant `matched = queued + inflightRecords + success + failed + dropped` (tested).
 */
import type { SinkRecord } from '../../core/index.js';
import { createLatencyHistogram } from './histogram.js';

export class Accounting {
  /** Records handed to `enqueue` (EMQX `matched`). */
  matched = 0;
  success = 0;
  failed = 0;
  dropped = 0;
  /** Record re-sends (after a retriable error, a timeout or a reconnect). */
  retried = 0;
  readonly failedBy: Record<string, number> = {};
  readonly droppedBy: Record<string, number> = {};
  /** Ingest → acknowledgement latency of successful records. */
  readonly latency = createLatencyHistogram();

  drop(reason: string, n: number): void {
    if (n <= 0) return;
    this.dropped += n;
    this.droppedBy[reason] = (this.droppedBy[reason] ?? 0) + n;
  }

  fail(reason: string, n: number): void {
    if (n <= 0) return;
    this.failed += n;
    this.failedBy[reason] = (this.failedBy[reason] ?? 0) + n;
  }

  /** Count `records` as acknowledged at wall-clock `now` (latency from each `ingestTs`). */
  succeed(records: readonly SinkRecord[], now: number): void {
    for (let i = 0; i < records.length; i++)
      this.latency.record(now - (records[i] as SinkRecord).ingestTs);
    this.success += records.length;
  }
}
