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

/** What the runner reads of a partition's queue. */
export interface PartitionQueue {
  readonly length: number;
  /** Sum of the records' `sizeOf` sizes (batch_bytes). */
  readonly bytes: number;
  /** Scheduler time the oldest record entered; undefined when empty. */
  firstTime(): number | undefined;
}

export interface Partition<Q extends PartitionQueue = PartitionQueue> {
  readonly key: string;
  readonly queue: Q;
  /** In-flight batches taken from this partition and not yet acknowledged. */
  busy: number;
}

export interface Taken {
  readonly records: SinkRecord[];
  /** Records found past the TTL while taking (not in `records`). */
  readonly expired: number;
  /** Records that could not be read back (disk damage; not in `records`). */
  readonly corrupt?: number;
  /** Buffer-private: what `ack` must release (the disk buffer's entries). */
  readonly ticket?: unknown;
}

export interface Inflight {
  readonly taken: Taken;
  /** Records of the batch not yet settled. */
  readonly records: number;
}

/**
 * The surface the runner drives (memory-buffer, disk-buffer, hybrid). `records` and `bytes`
 * are the totals the limits apply to: the memory buffer counts `sizeOf` sizes, the disk buffer
 * framed bytes on disk (so `max_bytes` bounds the disk for every sink).
 */
export interface RecordBuffer {
  /** True when records survive a restart (unacknowledged ones are replayed). */
  readonly durable: boolean;
  /** Partitions in dispatch order (round-robin). */
  readonly parts: Map<string, Partition>;
  readonly records: number;
  readonly bytes: number;
  /** Damaged records or regions found (at startup or when reading back). */
  readonly corrupt: number;
  /** Bytes of the buffer's files (0 for the memory buffer). */
  readonly diskBytes: number;
  /**
   * Listen for the records pushed so far becoming durable (listener `ack_after: buffered`):
   * true = `cb` runs once, when they are (disk buffer with fsync `interval`: after the next
   * fsync, or at close); false = they already are as durable as this buffer makes them (memory
   * buffer; fsync `always` / `never`; nothing unsynced) and `cb` is never called.
   */
  awaitDurable?(cb: () => void): boolean;
  /** What `push` of this record would add to `bytes` (the disk buffer encodes it once, here). */
  measure(key: string, record: SinkRecord, size: number): number;
  /** Append; throws a coded error when the record cannot be stored (disk write failed). */
  push(key: string, record: SinkRecord, size: number, time: number): Partition;
  /**
   * Take a batch from the head of `part`, skipping records past the TTL; with `collect` the
   * skipped ones are pushed there (for fallback actions; a disk buffer reads them back for it).
   */
  take(
    part: Partition,
    maxRecords: number,
    maxBytes: number,
    now: number,
    ttl: number,
    collect?: SinkRecord[],
  ): Taken;
  /** A batch taken from `part` is finished (acknowledged, failed or dropped): forget it for good. */
  ack(part: Partition, taken: Taken): void;
  /** How many records a previous run left unacknowledged (queued again, at startup). */
  replay(): number;
  /** `collect` (as for take, expire and clear): the removed records are pushed there. */
  evictOldest(collect?: SinkRecord[]): boolean;
  expire(now: number, ttl: number, collect?: SinkRecord[]): number;
  nextHeadTimeAfter(after: number): number;
  /** Remove every queued record for good; returns how many. */
  clear(collect?: SinkRecord[]): number;
  /**
   * Shut down: `inflight` lists the unfinished batches (what was taken, how many records are
   * still unsettled). Returns how many queued and unsettled records are lost; a durable buffer
   * keeps the others for the next start and counts them in `records` from then on.
   */
  close(inflight: readonly Inflight[]): number;
}

export const SINGLE_PARTITION = '';

export class MemoryBuffer implements RecordBuffer {
  readonly durable = false;
  readonly corrupt = 0;
  readonly diskBytes = 0;
  /** Partitions in dispatch order (round-robin: a partition moves to the back when taken from). */
  readonly parts = new Map<string, Partition<RecordQueue>>();
  records = 0;
  bytes = 0;

  /** `partitioned` = partitions are forgotten once empty and idle (many keys come and go). */
  constructor(private readonly partitioned: boolean) {}

  measure(_key: string, _record: SinkRecord, size: number): number {
    return size;
  }

  push(key: string, record: SinkRecord, size: number, time: number): Partition<RecordQueue> {
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

  /**
   * Take up to `maxRecords` records (and `maxBytes`, at least one record) from the head of the
   * partition, skipping records older than `ttl` ms at wall-clock `now` (ttl 0 = none).
   */
  take(
    p: Partition,
    maxRecords: number,
    maxBytes: number,
    now: number,
    ttl: number,
    collect?: SinkRecord[],
  ): Taken {
    const part = p as Partition<RecordQueue>;
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
        collect?.push(r);
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
  ack(p: Partition): void {
    const part = p as Partition<RecordQueue>;
    part.busy--;
    this.forgetIfIdle(part);
  }

  /** Records a previous run left unacknowledged: none survive in memory. */
  replay(): number {
    return 0;
  }

  /** Everything queued or in flight is lost. */
  close(inflight: readonly Inflight[]): number {
    let n = this.clear();
    for (const b of inflight) n += b.records;
    return n;
  }

  /** Remove the record that entered first across all partitions; false when empty. */
  evictOldest(collect?: SinkRecord[]): boolean {
    let oldest: Partition<RecordQueue> | undefined;
    let oldestT = Infinity;
    for (const p of this.parts.values()) {
      const t = p.queue.firstTime();
      if (t !== undefined && t < oldestT) {
        oldestT = t;
        oldest = p;
      }
    }
    if (!oldest) return false;
    this.shiftHead(oldest, collect);
    this.forgetIfIdle(oldest);
    return true;
  }

  /** Remove queued records older than `ttl` at `now` (FIFO: they sit at the heads); returns how many. */
  expire(now: number, ttl: number, collect?: SinkRecord[]): number {
    let n = 0;
    for (const part of [...this.parts.values()]) {
      const q = part.queue;
      while (q.length > 0 && now - (q.peek() as SinkRecord).ingestTs > ttl) {
        this.shiftHead(part, collect);
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
  clear(collect?: SinkRecord[]): number {
    let n = 0;
    for (const p of this.parts.values()) {
      const gone = p.queue.clear();
      n += gone.length;
      if (collect) for (const r of gone) collect.push(r);
    }
    this.parts.clear();
    this.records = 0;
    this.bytes = 0;
    return n;
  }

  private shiftHead(part: Partition<RecordQueue>, collect?: SinkRecord[]): void {
    const size = part.queue.peekSize();
    const r = part.queue.shift() as SinkRecord;
    collect?.push(r);
    this.records--;
    this.bytes -= size;
  }

  private forgetIfIdle(part: Partition<RecordQueue>): void {
    if (this.partitioned && part.busy === 0 && part.queue.length === 0) this.parts.delete(part.key);
  }
}
