/**
 * The disk buffer (`buffer.mode: disk`) and the hybrid buffer (`buffer.mode: hybrid`): the
 * `RecordBuffer` surface of buffer.ts over a `SegmentStore`.
 *
 * Per partition the queue is two FIFOs: a memory tier (hybrid only) followed by a disk tier.
 * A record goes to memory only while its partition has nothing on disk and the memory tier is
 * under `memoryRecords`/`memoryBytes`; otherwise it is appended to disk. So within a partition
 * every memory record is older than every disk record, and taking from the memory tier first
 * keeps the partition's order. In disk mode the memory tier has no room and every record is
 * written before `push` returns.
 *
 * Records on disk stay there while in flight: `take` reads them back (coalescing adjacent
 * frames into one read) and `ack` marks them done in the segment's ack file; evicted, expired,
 * failed and cleared records are marked done too. At startup the store indexes the records a
 * previous run left not done, and they are queued again, in append order, before anything new.
 * Memory per record on disk: one small index entry (where it is, its sizes, its ingest time).
 */
import type { Logger, SinkRecord } from '../../core/index.js';
import type { Inflight, Partition, PartitionQueue, RecordBuffer, Taken } from './buffer.js';
import { readRecord, Writer, writeRecord } from './record-codec.js';
import { RecordQueue } from './record-queue.js';
import { frameAt, HEADER_BYTES, readPayloadHead } from './segment.js';
import { SegmentStore } from './segment-store.js';
import type { Entry, FsyncPolicy } from './segment-store.js';

export interface DiskBufferOptions {
  readonly dir: string;
  readonly segmentBytes: number;
  readonly fsync: FsyncPolicy;
  /** ms between fsyncs with `fsync: interval`. */
  readonly fsyncInterval: number;
  /** Hybrid: records (and `sizeOf` bytes) the memory tier holds before spilling; 0 = disk mode. */
  readonly memoryRecords: number;
  readonly memoryBytes: number;
  /** Partitions are forgotten once empty and idle (the sink has a partitionKey). */
  readonly partitioned: boolean;
  readonly logger: Logger;
  /** Timers (fsync interval). */
  readonly schedule: (fn: () => void, ms: number) => () => void;
  /** Scheduler time given to the records replayed at startup. */
  readonly time: number;
}

class TieredQueue implements PartitionQueue {
  readonly mem = new RecordQueue();
  private entries: Entry[] = [];
  private times: number[] = [];
  private head = 0;
  /** `sizeOf` sum of the disk tier. */
  diskSizes = 0;

  get length(): number {
    return this.mem.length + this.entries.length - this.head;
  }

  get diskLength(): number {
    return this.entries.length - this.head;
  }

  get bytes(): number {
    return this.mem.bytes + this.diskSizes;
  }

  firstTime(): number | undefined {
    return (
      this.mem.firstTime() ?? (this.head < this.entries.length ? this.times[this.head] : undefined)
    );
  }

  pushDisk(e: Entry, time: number): void {
    this.entries.push(e);
    this.times.push(time);
    this.diskSizes += e.size;
  }

  peekDisk(): Entry | undefined {
    return this.entries[this.head];
  }

  shiftDisk(): Entry {
    const e = this.entries[this.head] as Entry;
    (this.entries as (Entry | undefined)[])[this.head] = undefined;
    this.head++;
    this.diskSizes -= e.size;
    if (this.head === this.entries.length) {
      this.entries = [];
      this.times = [];
      this.head = 0;
    } else if (this.head >= 4096 && this.head * 2 >= this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
    return e;
  }

  /** Remove and return the disk tier. */
  clearDisk(): Entry[] {
    const out = this.entries.slice(this.head);
    this.entries = [];
    this.times = [];
    this.head = 0;
    this.diskSizes = 0;
    return out;
  }
}

type TPart = Partition<TieredQueue>;

export class DiskBuffer implements RecordBuffer {
  readonly durable = true;
  readonly parts = new Map<string, TPart>();
  records = 0;
  bytes = 0;
  corrupt = 0;
  private memRecords = 0;
  private memBytes = 0;
  private readonly store: SegmentStore;
  private readonly w = new Writer();
  /** The record `measure` encoded last (`push` of the same record reuses the encoding). */
  private pending: { record: SinkRecord; key: string; size: number; end: number } | undefined;
  private readonly replayed: number;
  private cancelSync: (() => void) | undefined;
  private closed = false;
  /** awaitDurable callbacks waiting for the next interval fsync. */
  private durableWaiters: (() => void)[] = [];

  constructor(private readonly o: DiskBufferOptions) {
    this.store = new SegmentStore({ dir: o.dir, segmentBytes: o.segmentBytes, fsync: o.fsync });
    const report = this.store.open();
    for (const d of report.damaged)
      o.logger.error(
        {
          code: 'sink_buffer_corrupt',
          file: d.file,
          at: d.region.at,
          bytes: d.region.bytes,
          tail: d.region.tail,
        },
        d.region.tail
          ? 'disk buffer: torn or damaged tail skipped'
          : 'disk buffer: damaged region skipped; resynced on the next valid record',
      );
    if (report.undecodable > 0)
      o.logger.error(
        { code: 'sink_buffer_corrupt', records: report.undecodable },
        'disk buffer: records with a valid checksum but an unreadable head skipped',
      );
    this.corrupt = report.damaged.length + report.undecodable;
    for (const e of report.entries) {
      const part = this.partition(e.key);
      part.queue.pushDisk(e, o.time);
      this.records++;
      this.bytes += e.len;
    }
    this.replayed = report.entries.length;
    if (this.replayed > 0)
      o.logger.info(
        { records: this.replayed, segments: this.store.segmentCount, dir: o.dir },
        'disk buffer: replaying records a previous run left unacknowledged',
      );
  }

  /** Bytes of the segment files, and how many there are (for metrics). */
  get diskBytes(): number {
    return this.store.diskBytes;
  }

  get segments(): number {
    return this.store.segmentCount;
  }

  replay(): number {
    return this.replayed;
  }

  measure(key: string, record: SinkRecord, size: number): number {
    if (this.toMemory(key, size)) return size;
    return this.encode(key, record, size);
  }

  push(key: string, record: SinkRecord, size: number, time: number): TPart {
    if (this.toMemory(key, size)) {
      const part = this.partition(key);
      part.queue.mem.push(record, size, time);
      this.memRecords++;
      this.memBytes += size;
      this.records++;
      this.bytes += size;
      return part;
    }
    const p = this.pending;
    const end =
      p && p.record === record && p.key === key && p.size === size
        ? p.end
        : this.encode(key, record, size);
    this.pending = undefined;
    const entry = this.store.append(this.w.buf, end, size, record.ingestTs, key);
    if (record.ackToken) entry.token = record.ackToken;
    if (this.o.fsync === 'interval' && !this.cancelSync && this.store.dirty)
      this.cancelSync = this.o.schedule(() => {
        this.cancelSync = undefined;
        this.store.sync();
        this.runDurableWaiters();
      }, this.o.fsyncInterval);
    const part = this.partition(key);
    part.queue.pushDisk(entry, time);
    this.records++;
    this.bytes += entry.len;
    return part;
  }

  take(
    p: Partition,
    maxRecords: number,
    maxBytes: number,
    now: number,
    ttl: number,
    collect?: SinkRecord[],
  ): Taken {
    const part = p as TPart;
    const q = part.queue;
    const records: SinkRecord[] = [];
    let bytes = 0;
    let expired = 0;
    // Memory tier first: it holds the partition's oldest records.
    while (q.mem.length > 0 && records.length < maxRecords) {
      const size = q.mem.peekSize();
      if (records.length > 0 && bytes + size > maxBytes) break;
      const r = q.mem.shift() as SinkRecord;
      this.memRecords--;
      this.memBytes -= size;
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
    const chosen: Entry[] = [];
    const gone: Entry[] = [];
    const expiredOnDisk: Entry[] = [];
    while (q.mem.length === 0 && q.diskLength > 0 && records.length + chosen.length < maxRecords) {
      const e = q.peekDisk() as Entry;
      if (records.length + chosen.length > 0 && bytes + e.size > maxBytes) break;
      q.shiftDisk();
      this.records--;
      this.bytes -= e.len;
      if (ttl > 0 && now - e.ingestTs > ttl) {
        expired++;
        gone.push(e);
        if (collect) expiredOnDisk.push(e);
        continue;
      }
      chosen.push(e);
      bytes += e.size;
    }
    let corrupt = 0;
    const ticket: Entry[] = [];
    if (chosen.length > 0) {
      const { buf, offsets } = this.store.read(chosen);
      for (let i = 0; i < chosen.length; i++) {
        const e = chosen[i] as Entry;
        const at = offsets[i] as number;
        const r = this.decodeAt(buf, at, at + e.len);
        if (r) {
          if (e.token) r.ackToken = e.token;
          records.push(r);
          ticket.push(e);
        } else {
          corrupt++;
          gone.push(e);
        }
      }
      if (corrupt > 0) {
        this.corrupt += corrupt;
        this.o.logger.error(
          { code: 'sink_buffer_corrupt', records: corrupt, dir: this.o.dir },
          'disk buffer: records damaged on disk since they were written; skipped',
        );
      }
    }
    if (expiredOnDisk.length > 0) this.readBack(expiredOnDisk, collect as SinkRecord[]);
    if (gone.length > 0) this.store.ack(gone);
    if (this.o.partitioned) {
      this.parts.delete(part.key);
      if (q.length > 0 || records.length > 0) this.parts.set(part.key, part);
    }
    if (records.length > 0) part.busy++;
    return { records, expired, corrupt, ticket };
  }

  ack(p: Partition, taken: Taken): void {
    const part = p as TPart;
    part.busy--;
    const ticket = taken.ticket as Entry[] | undefined;
    if (ticket && ticket.length > 0 && !this.closed) this.store.ack(ticket);
    this.forgetIfIdle(part);
  }

  evictOldest(collect?: SinkRecord[]): boolean {
    let oldest: TPart | undefined;
    let oldestT = Infinity;
    for (const p of this.parts.values()) {
      const t = p.queue.firstTime();
      if (t !== undefined && t < oldestT) {
        oldestT = t;
        oldest = p;
      }
    }
    if (!oldest) return false;
    this.dropHead(oldest, collect);
    this.forgetIfIdle(oldest);
    return true;
  }

  expire(now: number, ttl: number, collect?: SinkRecord[]): number {
    let n = 0;
    for (const part of [...this.parts.values()]) {
      const q = part.queue;
      for (;;) {
        const ts =
          q.mem.length > 0 ? (q.mem.peek() as SinkRecord).ingestTs : q.peekDisk()?.ingestTs;
        if (ts === undefined || now - ts <= ttl) break;
        this.dropHead(part, collect);
        n++;
      }
      this.forgetIfIdle(part);
    }
    return n;
  }

  nextHeadTimeAfter(after: number): number {
    let next = Infinity;
    for (const p of this.parts.values()) {
      const t = p.queue.firstTime();
      if (t !== undefined && t > after && t < next) next = t;
    }
    return next;
  }

  clear(collect?: SinkRecord[]): number {
    let n = 0;
    for (const p of this.parts.values()) {
      const mem = p.queue.mem.clear();
      n += mem.length;
      const entries = p.queue.clearDisk();
      n += entries.length;
      if (collect) {
        for (const r of mem) collect.push(r);
        if (entries.length > 0) this.readBack(entries, collect);
      }
      this.store.ack(entries);
    }
    this.parts.clear();
    this.records = 0;
    this.bytes = 0;
    this.memRecords = 0;
    this.memBytes = 0;
    return n;
  }

  awaitDurable(cb: () => void): boolean {
    if (this.closed || this.o.fsync !== 'interval' || !this.store.dirty) return false;
    this.durableWaiters.push(cb);
    return true;
  }

  private runDurableWaiters(): void {
    const w = this.durableWaiters;
    if (w.length === 0) return;
    this.durableWaiters = [];
    for (const cb of w) cb();
  }

  close(inflight: readonly Inflight[]): number {
    if (this.closed) return 0;
    this.closed = true;
    this.cancelSync?.();
    this.cancelSync = undefined;
    let lost = this.memRecords;
    let kept = this.records - this.memRecords;
    for (const b of inflight) {
      const onDisk = Math.min(b.records, (b.taken.ticket as Entry[] | undefined)?.length ?? 0);
      kept += onDisk;
      lost += b.records - onDisk;
    }
    this.store.close();
    this.runDurableWaiters(); // close synced the segment (fsync interval)
    this.parts.clear();
    this.records = kept;
    this.bytes = 0;
    this.memRecords = 0;
    this.memBytes = 0;
    if (kept > 0)
      this.o.logger.info(
        { records: kept, dir: this.o.dir },
        'disk buffer closed; unacknowledged records are kept for the next start',
      );
    return lost;
  }

  // ---- internals ---------------------------------------------------------------------------
  private toMemory(key: string, size: number): boolean {
    if (this.o.memoryRecords <= 0 || this.memRecords >= this.o.memoryRecords) return false;
    if (this.memRecords > 0 && this.memBytes + size > this.o.memoryBytes) return false;
    const part = this.parts.get(key);
    return !part || part.queue.diskLength === 0;
  }

  /** Build the frame of `record` in the writer; returns its length. */
  private encode(key: string, record: SinkRecord, size: number): number {
    const w = this.w;
    w.reset(HEADER_BYTES);
    w.f64(0); // seq, set by the store
    w.u32(size);
    w.str(key);
    writeRecord(w, record);
    this.pending = { record, key, size, end: w.pos };
    return w.pos;
  }

  private decodeAt(buf: Buffer, start: number, end: number): SinkRecord | undefined {
    if (frameAt(buf, start, end) !== end) return undefined;
    try {
      const head = readPayloadHead(buf, start, end);
      return readRecord(buf, head.recordAt, end);
    } catch {
      return undefined;
    }
  }

  private partition(key: string): TPart {
    let part = this.parts.get(key);
    if (!part) {
      part = { key, queue: new TieredQueue(), busy: 0 };
      this.parts.set(key, part);
    }
    return part;
  }

  /** Remove a partition's head record for good (evicted or expired). */
  private dropHead(part: TPart, collect?: SinkRecord[]): void {
    const q = part.queue;
    if (q.mem.length > 0) {
      const size = q.mem.peekSize();
      const r = q.mem.shift() as SinkRecord;
      collect?.push(r);
      this.memRecords--;
      this.memBytes -= size;
      this.records--;
      this.bytes -= size;
      return;
    }
    const e = q.shiftDisk();
    this.records--;
    this.bytes -= e.len;
    if (collect) this.readBack([e], collect);
    this.store.ack([e]);
  }

  /**
   * Read records being removed for good back from disk, for the runner's fallback actions (only
   * asked for when the sink has some). Damaged ones are counted as corrupt and left out.
   */
  private readBack(entries: readonly Entry[], collect: SinkRecord[]): void {
    const { buf, offsets } = this.store.read(entries);
    for (let i = 0; i < entries.length; i++) {
      const at = offsets[i] as number;
      const r = this.decodeAt(buf, at, at + (entries[i] as Entry).len);
      if (r) collect.push(r);
      else this.corrupt++;
    }
  }

  private forgetIfIdle(part: TPart): void {
    if (this.o.partitioned && part.busy === 0 && part.queue.length === 0)
      this.parts.delete(part.key);
  }
}
