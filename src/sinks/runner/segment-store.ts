/**
 * The files of one disk buffer directory: segments (`<base>.seg`, frames of segment.ts), their
 * ack files (`<base>.ack`, one byte per slot, 1 = done) and a `LOCK` file naming the owning
 * process. Synchronous on purpose: `enqueue` never waits, and a record it accepted must already
 * be in the file (the kernel's page cache) when it returns, so a killed process loses nothing
 * it accepted. `fsync` decides what a power loss may take (always: nothing; interval: the last
 * interval; never: whatever the OS had not written back).
 *
 * Invariants:
 * - appends go to the one active segment; a new one is opened when the next frame would pass
 *   `segmentBytes` (a frame is never split; a frame larger than a segment gets one alone);
 * - segments found at startup are never appended to (their tail may be torn);
 * - a segment that is not active and whose every intact record is done is deleted with its
 *   ack file at once;
 * - acks are not fsynced: an ack lost in a power cut replays a delivered record (a duplicate),
 *   never loses one.
 */
import {
  closeSync,
  fdatasyncSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { RunnerErrors } from './errors.js';
import { HEADER_BYTES, readPayloadHead, scanSegment, sealFrame } from './segment.js';
import type { DamagedRegion } from './segment.js';

export type FsyncPolicy = 'always' | 'interval' | 'never';

export interface Segment {
  readonly base: number;
  readonly path: string;
  readonly ackPath: string;
  fd: number;
  ackFd: number;
  /** Bytes in the file. */
  size: number;
  /** Intact records in the file. */
  count: number;
  /** Of those, records done (acknowledged, failed or dropped). */
  done: number;
  active: boolean;
}

/** Where one record lives on disk. */
export interface Entry {
  readonly seg: Segment;
  readonly seq: number;
  readonly pos: number;
  /** Frame length (header included). */
  readonly len: number;
  /** The sink's `sizeOf` of the record. */
  readonly size: number;
  readonly ingestTs: number;
  readonly key: string;
  /** The record's `ackToken` (delivery tracking), in memory only: lost on restart. */
  token?: object;
}

export interface OpenReport {
  /** Records not yet done, in append order. */
  readonly entries: Entry[];
  /** Damaged regions skipped, per segment file. */
  readonly damaged: { file: string; region: DamagedRegion }[];
  /** Records found intact but not decodable (counted with the damage). */
  readonly undecodable: number;
}

const SEG_RE = /^(\d{20})\.seg$/;
const ONES = Buffer.alloc(65_536, 1);

const segName = (base: number): string => String(base).padStart(20, '0');

export interface StoreOptions {
  readonly dir: string;
  readonly segmentBytes: number;
  readonly fsync: FsyncPolicy;
}

export class SegmentStore {
  private readonly segments = new Map<number, Segment>();
  private active: Segment | undefined;
  private nextSeq = 0;
  /** Unsynced appends (fsync interval). */
  dirty = false;
  /** Bytes in all segment files. */
  diskBytes = 0;

  constructor(private readonly opts: StoreOptions) {}

  get segmentCount(): number {
    return this.segments.size;
  }

  /** Take the directory (create it, lock it) and index what a previous run left. */
  open(): OpenReport {
    const { dir } = this.opts;
    mkdirSync(dir, { recursive: true });
    this.lock();
    const entries: Entry[] = [];
    const damaged: OpenReport['damaged'] = [];
    let undecodable = 0;
    const files = readdirSync(dir)
      .map((f) => SEG_RE.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    for (const base of files) {
      const path = join(dir, `${segName(base)}.seg`);
      const ackPath = join(dir, `${segName(base)}.ack`);
      const buf = readFileSync(path);
      let acks: Buffer;
      try {
        acks = readFileSync(ackPath);
      } catch {
        acks = Buffer.alloc(0);
      }
      const scan = scanSegment(buf);
      for (const region of scan.damaged) damaged.push({ file: path, region });
      const seg: Segment = {
        base,
        path,
        ackPath,
        fd: -1,
        ackFd: -1,
        size: buf.length,
        count: 0,
        done: 0,
        active: false,
      };
      const live: Entry[] = [];
      for (const f of scan.frames) {
        let head;
        try {
          head = readPayloadHead(buf, f.pos, f.end);
        } catch {
          undecodable++;
          continue;
        }
        const slot = head.seq - base;
        if (!Number.isInteger(slot) || slot < 0) {
          undecodable++;
          continue;
        }
        seg.count++;
        this.nextSeq = Math.max(this.nextSeq, head.seq + 1);
        if (acks[slot] === 1) {
          seg.done++;
          continue;
        }
        live.push({
          seg,
          seq: head.seq,
          pos: f.pos,
          len: f.end - f.pos,
          size: head.size,
          ingestTs: head.ingestTs,
          key: head.key,
        });
      }
      this.nextSeq = Math.max(this.nextSeq, base + 1);
      if (live.length === 0) {
        this.unlink(seg);
        continue;
      }
      seg.fd = openSync(path, 'r');
      seg.ackFd = openSync(ackPath, 'a+');
      // 'a+' appends on Linux regardless of position: reopen for positional writes.
      closeSync(seg.ackFd);
      seg.ackFd = openSync(ackPath, 'r+');
      this.segments.set(base, seg);
      this.diskBytes += seg.size;
      for (const e of live) entries.push(e);
    }
    return { entries, damaged, undecodable };
  }

  /**
   * Append the frame being built in `buf[0, end)` (header space reserved, payload from byte 12
   * with a placeholder seq): assigns the seq, seals the frame, writes it. Throws
   * `sink_buffer_io` when the write fails (the record is not in the buffer).
   */
  append(buf: Buffer, end: number, size: number, ingestTs: number, key: string): Entry {
    const len = end;
    let seg = this.active;
    try {
      if (!seg || (seg.count > 0 && seg.size + len > this.opts.segmentBytes)) seg = this.rotate();
      const seq = this.nextSeq;
      buf.writeDoubleLE(seq, HEADER_BYTES);
      sealFrame(buf, 0, end);
      let off = 0;
      while (off < len) off += writeSync(seg.fd, buf, off, len - off, seg.size + off);
      if (this.opts.fsync === 'always') fdatasyncSync(seg.fd);
      else if (this.opts.fsync === 'interval') this.dirty = true;
      this.nextSeq++;
      const pos = seg.size;
      seg.size += len;
      seg.count++;
      this.diskBytes += len;
      return { seg, seq, pos, len, size, ingestTs, key };
    } catch (err) {
      throw RunnerErrors.sink_buffer_io(
        `disk buffer write failed: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err, context: { dir: this.opts.dir } },
      );
    }
  }

  /** Read the frames of `entries` (in order) into one buffer; returns it and each frame's offset. */
  read(entries: readonly Entry[]): { buf: Buffer; offsets: number[] } {
    let total = 0;
    for (const e of entries) total += e.len;
    const buf = Buffer.allocUnsafe(total);
    const offsets: number[] = [];
    let at = 0;
    let i = 0;
    while (i < entries.length) {
      // Coalesce a run of adjacent frames of one segment into one read.
      const first = entries[i] as Entry;
      let j = i + 1;
      let runLen = first.len;
      while (j < entries.length) {
        const e = entries[j] as Entry;
        if (e.seg !== first.seg || e.pos !== first.pos + runLen) break;
        runLen += e.len;
        j++;
      }
      let got = 0;
      while (got < runLen) {
        const n = readSync(first.seg.fd, buf, at + got, runLen - got, first.pos + got);
        if (n === 0) break;
        got += n;
      }
      if (got < runLen) buf.fill(0, at + got, at + runLen); // truncated file: fails the CRC
      for (let k = i; k < j; k++) {
        offsets.push(at);
        at += (entries[k] as Entry).len;
      }
      i = j;
    }
    return { buf, offsets };
  }

  /** Mark records done; deletes segments that become entirely done. */
  ack(entries: readonly Entry[]): void {
    let i = 0;
    while (i < entries.length) {
      const first = entries[i] as Entry;
      const seg = first.seg;
      let j = i + 1;
      while (
        j < entries.length &&
        (entries[j] as Entry).seg === seg &&
        (entries[j] as Entry).seq === first.seq + (j - i) &&
        j - i < ONES.length
      )
        j++;
      const n = j - i;
      seg.done += n;
      if (seg.fd >= 0) {
        try {
          writeSync(seg.ackFd, ONES, 0, n, first.seq - seg.base);
        } catch {
          // An ack that cannot be written only means a duplicate after a restart.
        }
        if (seg.done >= seg.count && !seg.active) this.drop(seg);
      }
      i = j;
    }
  }

  /** fsync interval: flush the active segment if anything was appended since the last sync. */
  sync(): void {
    if (!this.dirty) return;
    this.dirty = false;
    if (this.active && this.active.fd >= 0) {
      try {
        fdatasyncSync(this.active.fd);
      } catch {
        // Reported by the next append, which fails the same way.
      }
    }
  }

  /** Close every file (leaving them for the next start) and release the lock. */
  close(): void {
    if (this.opts.fsync !== 'never') this.sync();
    if (this.active && this.opts.fsync !== 'never') fdatasyncSync(this.active.fd);
    for (const seg of this.segments.values()) {
      seg.active = false;
      if (seg.done >= seg.count) {
        this.drop(seg);
        continue;
      }
      closeSync(seg.fd);
      closeSync(seg.ackFd);
      seg.fd = -1;
      seg.ackFd = -1;
    }
    this.segments.clear();
    this.active = undefined;
    try {
      unlinkSync(join(this.opts.dir, 'LOCK'));
    } catch {
      // already gone
    }
  }

  private rotate(): Segment {
    const old = this.active;
    const base = this.nextSeq;
    const path = join(this.opts.dir, `${segName(base)}.seg`);
    const ackPath = join(this.opts.dir, `${segName(base)}.ack`);
    const seg: Segment = {
      base,
      path,
      ackPath,
      fd: openSync(path, 'w+'),
      ackFd: openSync(ackPath, 'w+'),
      size: 0,
      count: 0,
      done: 0,
      active: true,
    };
    if (this.opts.fsync !== 'never') this.syncDir();
    this.segments.set(base, seg);
    this.active = seg;
    if (old) {
      old.active = false;
      if (this.opts.fsync !== 'never') fdatasyncSync(old.fd);
      if (old.done >= old.count) this.drop(old);
    }
    return seg;
  }

  private drop(seg: Segment): void {
    if (seg.fd >= 0) closeSync(seg.fd);
    if (seg.ackFd >= 0) closeSync(seg.ackFd);
    seg.fd = -1;
    seg.ackFd = -1;
    this.segments.delete(seg.base);
    this.diskBytes -= seg.size;
    this.unlink(seg);
  }

  private unlink(seg: Segment): void {
    for (const p of [seg.path, seg.ackPath]) {
      try {
        unlinkSync(p);
      } catch {
        // already gone
      }
    }
  }

  private syncDir(): void {
    const fd = openSync(this.opts.dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  /** One process per directory: a LOCK file with the owner's pid (a dead owner's is taken over). */
  private lock(): void {
    const path = join(this.opts.dir, 'LOCK');
    let pid = 0;
    try {
      pid = Number(readFileSync(path, 'utf8').trim());
    } catch {
      // no lock file: the directory is free
    }
    if (pid > 0 && pid !== process.pid && alive(pid))
      throw RunnerErrors.sink_buffer_locked(
        `disk buffer directory ${this.opts.dir} is in use by process ${pid}`,
        { context: { dir: this.opts.dir, pid } },
      );
    writeFileSync(path, `${process.pid}\n`);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
