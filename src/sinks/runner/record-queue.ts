/**
 * FIFO of records waiting to be batched, for one partition. Parallel arrays with a moving head
 * (compacted lazily) keep enqueue/dequeue allocation-free on the hot path.
 */
import type { SinkRecord } from '../../core/index.js';

export class RecordQueue {
  private records: SinkRecord[] = [];
  private sizes: number[] = [];
  /** Scheduler time (ms) each record entered the queue (for linger). */
  private times: number[] = [];
  private head = 0;
  bytes = 0;

  get length(): number {
    return this.records.length - this.head;
  }

  push(record: SinkRecord, size: number, time: number): void {
    this.records.push(record);
    this.sizes.push(size);
    this.times.push(time);
    this.bytes += size;
  }

  /** Time the oldest record entered; undefined when empty. */
  firstTime(): number | undefined {
    return this.head < this.records.length ? this.times[this.head] : undefined;
  }

  peek(): SinkRecord | undefined {
    return this.records[this.head];
  }

  peekSize(): number {
    return this.sizes[this.head] ?? 0;
  }

  shift(): SinkRecord | undefined {
    if (this.head >= this.records.length) return undefined;
    const r = this.records[this.head] as SinkRecord;
    this.bytes -= this.sizes[this.head] as number;
    // Drop the reference so the record can be collected before compaction.
    (this.records as (SinkRecord | undefined)[])[this.head] = undefined;
    this.head++;
    if (this.head === this.records.length) {
      this.records.length = 0;
      this.sizes.length = 0;
      this.times.length = 0;
      this.head = 0;
    } else if (this.head >= 4096 && this.head * 2 >= this.records.length) {
      this.records = this.records.slice(this.head);
      this.sizes = this.sizes.slice(this.head);
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
    return r;
  }

  /** Remove and return every record. */
  clear(): SinkRecord[] {
    const out = this.records.slice(this.head);
    this.records = [];
    this.sizes = [];
    this.times = [];
    this.head = 0;
    this.bytes = 0;
    return out;
  }
}
