/**
 * The memory buffer in front of a sink: one FIFO per partition key (a single one for sinks
 * without `partitionKey`), totals across them, and the operations the runner needs — push a
 * record, peek at a partition's head, take a batch out, evict the globally oldest record,
 * expire records past `request_ttl`. Every operation is O(1) per record it touches (eviction
 * scans partitions, not records).
 *
 * Taken records leave the buffer; until the sink acknowledges them they belong to the runner's
 * in-flight batches. A disk buffer (issue #12) implements the same surface with `take` leaving
 * records on disk until `ack`, and `replay` returning them after a restart; the memory buffer's
 * `ack` only releases the partition slot and `replay` has nothing to return.
 */
import type { SinkRecord } from '../../core/index.js';
import { RecordQueue } from './record-queue.js';

export interface Partition {
  readonly key: string;
  readonly queue: RecordQueue;
  /** In-flight batches taken from this partition and not yet acknowledged. */
  busy: number;
}

export interface Taken {
  readonly records: SinkRecord[];
  /** Records found past the TTL while taking (not in `records`). */
  readonly expired: number;
}

export const SINGLE_PARTITION = '';

export class MemoryBuffer {
  /** Partitions in dispatch order (round-robin: a partition moves to the back when taken from). */
  readonly parts = new Map<string, Partition>();
  records = 0;
  bytes = 0;

  /** `partitioned` = partitions are forgotten once empty and idle (many keys come and go). */
  constructor(private readonly partitioned: boolean) {}

  push(key: string, record: SinkRecord, size: number, time: number): Partition {
    let part = this.parts.get(key);
    if (!part) {
      part = { key, queue: new RecordQueue(), busy: 0 };
      this.parts.set(key, part);
    }
    part.queue.push(record, size, time);
    this.records++;
    this.bytes += size;
    return part;
  }

  peek(part: Partition): SinkRecord | undefined {
    return part.queue.peek();
  }

  /**
   * Take up to `maxRecords` records (and `maxBytes`, at least one record) from the head of the
   * partition, skipping records older than `ttl` ms at wall-clock `now` (ttl 0 = none).
   */
  take(part: Partition, maxRecords: number, maxBytes: number, now: number, ttl: number): Taken {
    const q = part.queue;
    const records: SinkRecord[] = [];
    let bytes = 0;
    let expired = 0;
    while (q.length > 0 && records.length < maxRecords) {
      const size = q.peekSize();
      if (records.length > 0 && bytes + size > maxBytes) break;
      const r = q.shift() as SinkRecord;
      this.records--;
      this.bytes -= size;
      if (ttl > 0 && now - r.ingestTs > ttl) {
        expired++;
        continue;
      }
      records.push(r);
      bytes += size;
    }
    if (this.partitioned) {
      // Round-robin across partitions; forget an empty idle one.
      this.parts.delete(part.key);
      if (q.length > 0 || records.length > 0) this.parts.set(part.key, part);
    }
    if (records.length > 0) part.busy++;
    return { records, expired };
  }

  /** A batch taken from `part` is finished (acknowledged, failed or dropped). */
  ack(part: Partition): void {
    part.busy--;
    this.forgetIfIdle(part);
  }

  /** Records a previous run left unacknowledged: none survive in memory. */
  replay(): SinkRecord[] {
    return [];
  }

  /** Remove the record that entered first across all partitions; false when empty. */
  evictOldest(): boolean {
    let oldest: Partition | undefined;
    let oldestT = Infinity;
    for (const p of this.parts.values()) {
      const t = p.queue.firstTime();
      if (t !== undefined && t < oldestT) {
        oldestT = t;
        oldest = p;
      }
    }
    if (!oldest) return false;
    this.shiftHead(oldest);
    this.forgetIfIdle(oldest);
    return true;
  }

  /** Remove queued records older than `ttl` at `now` (FIFO: they sit at the heads); returns how many. */
  expire(now: number, ttl: number): number {
    let n = 0;
    for (const part of [...this.parts.values()]) {
      const q = part.queue;
      while (q.length > 0 && now - (q.peek() as SinkRecord).ingestTs > ttl) {
        this.shiftHead(part);
        n++;
      }
      this.forgetIfIdle(part);
    }
    return n;
  }

  /** Earliest scheduler time a partition's head entered, strictly after `after`; Infinity if none. */
  nextHeadTimeAfter(after: number): number {
    let next = Infinity;
    for (const p of this.parts.values()) {
      const t = p.queue.firstTime();
      if (t !== undefined && t > after && t < next) next = t;
    }
    return next;
  }

  /** Empty every partition; returns how many records were queued. */
  clear(): number {
    let n = 0;
    for (const p of this.parts.values()) n += p.queue.clear().length;
    this.parts.clear();
    this.records = 0;
    this.bytes = 0;
    return n;
  }

  private shiftHead(part: Partition): void {
    const size = part.queue.peekSize();
    part.queue.shift();
    this.records--;
    this.bytes -= size;
  }

  private forgetIfIdle(part: Partition): void {
    if (this.partitioned && part.busy === 0 && part.queue.length === 0) this.parts.delete(part.key);
  }
}
