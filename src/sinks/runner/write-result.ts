/**
 * Splitting a batch by the sink's per-record answer (`WriteResult`): which records were
 * acknowledged, which must be sent again, which were refused for good (with their codes).
 */
import type { SinkRecord, WriteResult } from '../../core/index.js';

export interface SplitResult {
  readonly ok: SinkRecord[];
  readonly again: SinkRecord[];
  /** Reason code per refused record. */
  readonly rejected: string[];
  /** The refused records, in the order of `rejected`. */
  readonly rejectedRecords: SinkRecord[];
  /** Records the sink found expired (`WriteResult.expired`): dropped as `expired`. */
  readonly expired: SinkRecord[];
}

/** True when the sink acknowledged the whole batch. */
export function isWholeSuccess(res: WriteResult | void): boolean {
  return (
    !res ||
    ((!res.retry || res.retry.length === 0) &&
      (!res.rejected || res.rejected.length === 0) &&
      (!res.expired || res.expired.length === 0))
  );
}

/**
 * Out-of-range indexes are ignored; an index named both as retry and rejected is rejected; an
 * index named as expired and as retry is expired (it would only expire again).
 */
export function splitWriteResult(records: readonly SinkRecord[], res: WriteResult): SplitResult {
  const outcome = new Uint8Array(records.length); // 0 success, 1 retry, 2 rejected, 3 expired
  for (const i of res.retry ?? []) if (i >= 0 && i < records.length) outcome[i] = 1;
  for (const i of res.expired ?? []) if (i >= 0 && i < records.length) outcome[i] = 3;
  const rejected: string[] = [];
  const rejectedRecords: SinkRecord[] = [];
  for (const rej of res.rejected ?? []) {
    if (rej.index >= 0 && rej.index < records.length && outcome[rej.index] !== 2) {
      outcome[rej.index] = 2;
      rejected.push(rej.code);
      rejectedRecords.push(records[rej.index] as SinkRecord);
    }
  }
  const ok: SinkRecord[] = [];
  const again: SinkRecord[] = [];
  const expired: SinkRecord[] = [];
  for (let i = 0; i < records.length; i++) {
    if (outcome[i] === 0) ok.push(records[i] as SinkRecord);
    else if (outcome[i] === 1) again.push(records[i] as SinkRecord);
    else if (outcome[i] === 3) expired.push(records[i] as SinkRecord);
  }
  return { ok, again, rejected, rejectedRecords, expired };
}

/** The records of `records` not older than `ttl` ms at `now` (ttl 0 = all). */
export function unexpired(records: SinkRecord[], now: number, ttl: number): SinkRecord[] {
  if (ttl <= 0) return records;
  return records.filter((r) => now - r.ingestTs <= ttl);
}
