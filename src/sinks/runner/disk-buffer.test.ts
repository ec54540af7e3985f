import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../core/index.js';
import type { Logger, SinkRecord } from '../../core/index.js';
import type { Partition, Taken } from './buffer.js';
import { DiskBuffer } from './disk-buffer.js';
import type { DiskBufferOptions } from './disk-buffer.js';

const rec = (i: number, key = 'a', ingestTs = 0): SinkRecord => ({
  data: { i, key, blob: Buffer.from([i & 255]) },
  ruleId: 'r',
  ingestTs,
  context: { clientid: `c-${key}` },
});
const ids = (rs: readonly SinkRecord[]): number[] => rs.map((r) => r.data['i'] as number);

interface Logged {
  level: string;
  obj: Record<string, unknown>;
  msg?: string;
}
function collectingLogger(out: Logged[]): Logger {
  const at =
    (level: string) =>
    (obj: object, msg?: string): void => {
      out.push({ level, obj: obj as Record<string, unknown>, ...(msg ? { msg } : {}) });
    };
  const l: Logger = {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: () => l,
  };
  return l;
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-disk-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const open = (o: Partial<DiskBufferOptions> = {}): DiskBuffer =>
  new DiskBuffer({
    dir,
    segmentBytes: 64 * 1024,
    fsync: 'never',
    fsyncInterval: 1000,
    memoryRecords: 0,
    memoryBytes: 0,
    partitioned: true,
    logger: silentLogger,
    schedule: () => () => {},
    time: 0,
    ...o,
  });

/** Take everything queued in `key` in batches of `n`. */
function takeAll(b: DiskBuffer, key: string, n = 100): { part: Partition; taken: Taken }[] {
  const out: { part: Partition; taken: Taken }[] = [];
  for (;;) {
    const part = b.parts.get(key);
    if (!part || part.queue.length === 0) return out;
    out.push({ part, taken: b.take(part, n, Infinity, 0, 0) });
  }
}
const segFiles = (): string[] => readdirSync(dir).filter((f) => f.endsWith('.seg'));

describe('DiskBuffer', () => {
  it('replays after a restart exactly the records not acknowledged, in order per key', () => {
    const b = open();
    for (let i = 0; i < 20; i++)
      b.push(i % 2 ? 'odd' : 'even', rec(i, i % 2 ? 'odd' : 'even'), 5, i);
    expect(b.records).toBe(20);
    const even = b.take(b.parts.get('even')!, 4, Infinity, 0, 0);
    const odd = b.take(b.parts.get('odd')!, 3, Infinity, 0, 0);
    expect(ids(even.records)).toEqual([0, 2, 4, 6]);
    expect(even.records[1]).toEqual(rec(2, 'even')); // read back from disk, value for value
    b.ack(b.parts.get('even')!, even); // odd's batch is in flight when the process stops
    expect(b.close([{ taken: odd, records: 3 }])).toBe(0);

    const again = open();
    expect(again.replay()).toBe(16);
    expect(ids(takeAll(again, 'even').flatMap((t) => t.taken.records))).toEqual([
      8, 10, 12, 14, 16, 18,
    ]);
    expect(ids(takeAll(again, 'odd').flatMap((t) => t.taken.records))).toEqual([
      1, 3, 5, 7, 9, 11, 13, 15, 17, 19,
    ]);
    again.close([]);
  });

  it('new records after a restart come after the replayed ones', () => {
    const b = open({ partitioned: false });
    for (let i = 0; i < 3; i++) b.push('', rec(i, ''), 1, 0);
    b.close([]);
    const again = open({ partitioned: false });
    again.push('', rec(3, ''), 1, 0);
    expect(ids(again.take(again.parts.get('')!, 10, Infinity, 0, 0).records)).toEqual([0, 1, 2, 3]);
    again.close([]);
  });

  it('deletes segments once every record in them is done, and keeps the one being written', () => {
    const b = open({ segmentBytes: 4096, partitioned: false });
    for (let i = 0; i < 400; i++) b.push('', rec(i, ''), 1, 0);
    expect(segFiles().length).toBeGreaterThan(3);
    const bytesBefore = b.diskBytes;
    for (const t of takeAll(b, '', 50)) b.ack(t.part, t.taken);
    expect(segFiles().length).toBe(1);
    expect(b.diskBytes).toBeLessThan(bytesBefore / 3);
    b.close([]);
    expect(segFiles()).toEqual([]); // fully done at close: nothing to replay
    expect(open().replay()).toBe(0);
  });

  it('evicted and expired records are done for good (not replayed)', () => {
    const b = open({ partitioned: false });
    for (let i = 0; i < 6; i++) b.push('', rec(i, '', i * 100), 1, i);
    expect(b.evictOldest()).toBe(true); // 0
    expect(b.expire(350, 100)).toBe(2); // 1 and 2 are older than 100 ms at 350
    const t = b.take(b.parts.get('')!, 10, Infinity, 450, 100); // 3 expires while taking
    expect([ids(t.records), t.expired]).toEqual([[4, 5], 1]);
    b.close([{ taken: t, records: 2 }]);
    const again = open({ partitioned: false });
    expect(ids(again.take(again.parts.get('')!, 10, Infinity, 0, 0).records)).toEqual([4, 5]);
    again.close([]);
  });

  it('a torn tail is reported, counted and skipped; the records before it are replayed', () => {
    const b = open({ partitioned: false });
    for (let i = 0; i < 5; i++) b.push('', rec(i, ''), 1, 0);
    b.close([]);
    const [seg] = segFiles();
    const path = join(dir, seg!);
    const bytes = readFileSync(path);
    writeFileSync(path, bytes.subarray(0, bytes.length - 7)); // the crash cut the last frame
    const logs: Logged[] = [];
    const again = open({ partitioned: false, logger: collectingLogger(logs) });
    expect(again.replay()).toBe(4);
    expect(again.corrupt).toBe(1);
    const err = logs.find((l) => l.level === 'error');
    expect(err?.obj).toMatchObject({ code: 'sink_buffer_corrupt', tail: true });
    again.push('', rec(9, ''), 1, 0); // goes to a new segment, not after the torn bytes
    expect(ids(again.take(again.parts.get('')!, 10, Infinity, 0, 0).records)).toEqual([
      0, 1, 2, 3, 9,
    ]);
    again.close([]);
  });

  it('a flipped byte costs one record: the scan resyncs and the records after it survive', () => {
    const b = open({ partitioned: false });
    for (let i = 0; i < 5; i++) b.push('', rec(i, ''), 1, 0);
    b.close([]);
    const path = join(dir, segFiles()[0]!);
    const bytes = readFileSync(path);
    const frameLen = bytes.length / 5; // equal-sized records
    const at = frameLen * 2 + 30;
    bytes[at] = (bytes[at] as number) ^ 0xff;
    writeFileSync(path, bytes);
    const again = open({ partitioned: false });
    expect([again.replay(), again.corrupt]).toEqual([4, 1]);
    expect(ids(again.take(again.parts.get('')!, 10, Infinity, 0, 0).records)).toEqual([0, 1, 3, 4]);
    again.close([]);
  });

  it('detects a record damaged on disk after it was written when reading it back', () => {
    const b = open({ partitioned: false });
    for (let i = 0; i < 3; i++) b.push('', rec(i, ''), 1, 0);
    const path = join(dir, segFiles()[0]!);
    const bytes = readFileSync(path);
    const at = bytes.length / 3 + 20; // inside record 1
    bytes[at] = (bytes[at] as number) ^ 0x01;
    writeFileSync(path, bytes);
    const t = b.take(b.parts.get('')!, 10, Infinity, 0, 0);
    expect([ids(t.records), t.corrupt, b.corrupt]).toEqual([[0, 2], 1, 1]);
    b.close([]);
  });

  it('hybrid: memory first, then spills to disk; order holds; only the disk part survives', () => {
    const b = open({ memoryRecords: 3, memoryBytes: 1000, partitioned: false });
    for (let i = 0; i < 6; i++) b.push('', rec(i, ''), 10, 0);
    expect(b.records).toBe(6);
    const first = b.take(b.parts.get('')!, 2, Infinity, 0, 0); // 0,1 from memory
    b.ack(b.parts.get('')!, first);
    // Memory has room again, but the partition has records on disk: new ones go to disk too.
    b.push('', rec(6, ''), 10, 0);
    const rest = b.take(b.parts.get('')!, 10, Infinity, 0, 0);
    expect(ids([...first.records, ...rest.records])).toEqual([0, 1, 2, 3, 4, 5, 6]);
    b.ack(b.parts.get('')!, rest);
    b.push('', rec(7, ''), 10, 0); // disk tier empty again: memory
    b.push('', rec(8, ''), 10, 0);
    for (let i = 9; i < 12; i++) b.push('', rec(i, ''), 10, 0); // 9 fills memory, 10 and 11 spill
    expect(b.close([])).toBe(3); // 7, 8 and 9 were in memory only
    const again = open({ memoryRecords: 3, memoryBytes: 1000, partitioned: false });
    expect(ids(again.take(again.parts.get('')!, 10, Infinity, 0, 0).records)).toEqual([10, 11]);
    again.close([]);
  });

  it('refuses a directory a live process holds, takes over a dead one', () => {
    writeFileSync(join(dir, 'LOCK'), `${process.ppid}\n`);
    expect(() => open()).toThrow(expect.objectContaining({ code: 'sink_buffer_locked' }));
    writeFileSync(join(dir, 'LOCK'), '2147483646\n'); // no such pid
    const b = open();
    expect(readFileSync(join(dir, 'LOCK'), 'utf8').trim()).toBe(String(process.pid));
    b.close([]);
  });

  it('fsync interval: syncs on the timer after writes, not per record', () => {
    const timers: (() => void)[] = [];
    const b = open({
      fsync: 'interval',
      schedule: (fn) => {
        timers.push(fn);
        return () => {};
      },
    });
    for (let i = 0; i < 10; i++) b.push('a', rec(i), 1, 0);
    expect(timers.length).toBe(1);
    timers[0]!();
    b.push('a', rec(10), 1, 0);
    expect(timers.length).toBe(2);
    b.close([]);
  });

  it('awaitDurable (ack_after buffered): fsync interval waits for the next fsync or close', () => {
    const timers: (() => void)[] = [];
    const b = open({
      fsync: 'interval',
      schedule: (fn) => {
        timers.push(fn);
        return () => {};
      },
    });
    const fired: string[] = [];
    expect(b.awaitDurable(() => fired.push('nothing'))).toBe(false); // nothing unsynced
    b.push('a', rec(1), 1, 0);
    expect(b.awaitDurable(() => fired.push('first'))).toBe(true);
    expect(b.awaitDurable(() => fired.push('second'))).toBe(true);
    expect(fired).toEqual([]);
    timers[0]!();
    expect(fired).toEqual(['first', 'second']);
    expect(b.awaitDurable(() => fired.push('synced'))).toBe(false);
    b.push('a', rec(2), 1, 0);
    expect(b.awaitDurable(() => fired.push('at close'))).toBe(true);
    b.close([]);
    expect(fired).toEqual(['first', 'second', 'at close']);
  });

  it.each(['always', 'never'] as const)(
    'awaitDurable: fsync %s is as durable as it gets once pushed',
    (fsync) => {
      const b = open({ fsync });
      b.push('a', rec(1), 1, 0);
      expect(b.awaitDurable(() => {})).toBe(false);
      b.close([]);
    },
  );

  it('awaitDurable: a hybrid record in the memory tier does not wait for an fsync', () => {
    const b = open({ fsync: 'interval', memoryRecords: 10, memoryBytes: 1 << 20 });
    b.push('a', rec(1), 1, 0);
    expect(b.awaitDurable(() => {})).toBe(false);
    b.close([]);
  });
});
