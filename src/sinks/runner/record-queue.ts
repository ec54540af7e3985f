/**
 * FIFO of records waiting to be batched, for one partition. Parallel arrays with a moving head
 * and tail (compacted lazily) keep enqueue/dequeue allocation-free on the hot path. A queue that
 * empties keeps its arrays (only head and tail go back to 0), so the next records reuse them
 * instead of growing three new arrays: a QoS 1 flood empties the queue at every small batch.
 * Arrays grown past `KEEP` slots are released when the queue empties (memory after a backlog).
 */
import type { SinkRecord } from '../../core/index.js';

/** Slots an emptied queue keeps for reuse; larger arrays are released. */
const KEEP = 4096;

export class RecordQueue {
  private records: (SinkRecord | undefined)[] = [];
  private sizes: number[] = [];
  /** Scheduler time (ms) each record entered the queue (for linger). */
  private times: number[] = [];
  private head = 0;
  /** One past the newest record (slots from `tail` on are free for reuse). */
  private tail = 0;
  bytes = 0;

  get length(): number {
    return this.tail - this.head;
  }

  push(record: SinkRecord, size: number, time: number): void {
    const i = this.tail++;
    if (i < this.records.length) {
      this.records[i] = record;
      this.sizes[i] = size;
      this.times[i] = time;
    } else {
      this.records.push(record);
      this.sizes.push(size);
      this.times.push(time);
    }
    this.bytes += size;
  }

  /** Time the oldest record entered; undefined when empty. */
  firstTime(): number | undefined {
    return this.head < this.tail ? this.times[this.head] : undefined;
  }

  peek(): SinkRecord | undefined {
    return this.head < this.tail ? this.records[this.head] : undefined;
  }

  peekSize(): number {
    return this.head < this.tail ? (this.sizes[this.head] as number) : 0;
  }

  shift(): SinkRecord | undefined {
    if (this.head >= this.tail) return undefined;
    const r = this.records[this.head] as SinkRecord;
    this.bytes -= this.sizes[this.head] as number;
    // Drop the reference so the record can be collected before compaction.
    this.records[this.head] = undefined;
    this.head++;
    if (this.head === this.tail) {
      this.head = this.tail = 0;
      if (this.records.length > KEEP) {
        this.records = [];
        this.sizes = [];
        this.times = [];
      }
    } else if (this.head >= KEEP && this.head * 2 >= this.tail) {
      this.records = this.records.slice(this.head, this.tail);
      this.sizes = this.sizes.slice(this.head, this.tail);
      this.times = this.times.slice(this.head, this.tail);
      this.tail -= this.head;
      this.head = 0;
    }
    return r;
  }

  /** Remove and return every record. */
  clear(): SinkRecord[] {
    const out = this.records.slice(this.head, this.tail) as SinkRecord[];
    this.records = [];
    this.sizes = [];
    this.times = [];
    this.head = 0;
    this.tail = 0;
    this.bytes = 0;
    return out;
  }
}
