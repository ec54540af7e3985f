/**
 * Property test: under any sequence of pushes, takes, acks, evictions and restarts (closing
 * with batches still in flight, then opening the directory again), the disk buffer agrees with
 * a model: nothing acknowledged or evicted is ever handed out again, nothing else is lost, and
 * each key's records come out in the order they were pushed.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../core/index.js';
import type { SinkRecord } from '../../core/index.js';
import type { Partition, Taken } from './buffer.js';
import { DiskBuffer } from './disk-buffer.js';

type Op =
  | { op: 'push'; key: number; n: number }
  | { op: 'take'; key: number; n: number }
  | { op: 'ack'; which: number }
  | { op: 'evict' }
  | { op: 'restart' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant('push' as const),
      key: fc.integer({ min: 0, max: 2 }),
      n: fc.integer({ min: 1, max: 30 }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('take' as const),
      key: fc.integer({ min: 0, max: 2 }),
      n: fc.integer({ min: 1, max: 20 }),
    }),
  },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('ack' as const), which: fc.nat() }) },
  { weight: 1, arbitrary: fc.constant({ op: 'evict' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'restart' as const }) },
);

const ids = (rs: readonly SinkRecord[]): number[] => rs.map((r) => r.data['id'] as number);

describe('DiskBuffer against a model', () => {
  it('acknowledged records never come back, unacknowledged ones are never lost, order per key holds', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60 }), fc.boolean(), (ops, hybrid) => {
        const dir = mkdtempSync(join(tmpdir(), 'sluice-diskprop-'));
        const open = (): DiskBuffer =>
          new DiskBuffer({
            dir,
            segmentBytes: 2048, // many segments: rotation and deletion are exercised
            fsync: 'never',
            fsyncInterval: 1000,
            memoryRecords: hybrid ? 8 : 0,
            memoryBytes: hybrid ? 1e9 : 0,
            partitioned: true,
            logger: silentLogger,
            schedule: () => () => {},
            time: 0,
          });
        try {
          let b = open();
          let nextId = 0;
          // Model: per key, ids queued (in order) and batches in flight.
          const queued = new Map<string, number[]>([
            ['k0', []],
            ['k1', []],
            ['k2', []],
          ]);
          let inflight: { key: string; ids: number[]; part: Partition; taken: Taken }[] = [];
          for (const o of ops) {
            if (o.op === 'push') {
              const key = `k${o.key}`;
              for (let i = 0; i < o.n; i++) {
                const id = nextId++;
                b.push(key, { data: { id }, ruleId: 'r', ingestTs: 0 }, 1, id);
                queued.get(key)!.push(id);
              }
            } else if (o.op === 'take') {
              const key = `k${o.key}`;
              const part = b.parts.get(key);
              const q = queued.get(key)!;
              if (!part || part.queue.length === 0) {
                expect(q).toEqual([]);
                continue;
              }
              const taken = b.take(part, o.n, Infinity, 0, 0);
              const want = q.splice(0, o.n);
              expect(ids(taken.records)).toEqual(want);
              inflight.push({ key, ids: want, part, taken });
            } else if (o.op === 'ack') {
              if (inflight.length === 0) continue;
              const [batch] = inflight.splice(o.which % inflight.length, 1);
              b.ack(batch!.part, batch!.taken);
            } else if (o.op === 'evict') {
              let oldest: { key: string; id: number } | undefined;
              for (const [key, q] of queued)
                if (q.length > 0 && (!oldest || (q[0] as number) < oldest.id))
                  oldest = { key, id: q[0] as number };
              expect(b.evictOldest()).toBe(oldest !== undefined);
              if (oldest) queued.get(oldest.key)!.shift();
            } else {
              // Restart with batches in flight. Disk mode: everything not acked comes back, in
              // order per key. Hybrid: records that were only in the memory tier are lost (counted
              // by close), the rest come back in order.
              const onDisk = new Set<number>();
              for (const f of inflight) {
                const n = (f.taken.ticket as unknown[] | undefined)?.length ?? 0;
                for (const id of f.ids.slice(f.ids.length - n)) onDisk.add(id);
              }
              const expected = new Map<string, number[]>();
              let total = 0;
              for (const [key, q] of queued) {
                const live = [...inflight.filter((f) => f.key === key).flatMap((f) => f.ids), ...q];
                live.sort((x, y) => x - y);
                expected.set(key, live);
                total += live.length;
              }
              const lost = b.close(
                inflight.map((f) => ({ taken: f.taken, records: f.ids.length })),
              );
              if (!hybrid) expect(lost).toBe(0);
              b = open();
              expect(b.replay()).toBe(total - lost);
              inflight = [];
              for (const [key, want] of expected) {
                const part = b.parts.get(key);
                const t = part ? b.take(part, 1e9, Infinity, 0, 0) : undefined;
                const got = t ? ids(t.records) : [];
                if (hybrid) {
                  // A subsequence of what was live, in order, holding every record known on disk.
                  let j = 0;
                  for (const id of got) {
                    while (j < want.length && want[j] !== id) j++;
                    expect(j).toBeLessThan(want.length);
                    j++;
                  }
                  for (const id of want) if (onDisk.has(id)) expect(got).toContain(id);
                } else {
                  expect(got).toEqual(want);
                }
                // Keep them in flight in the model: the run goes on from here.
                if (t && part && got.length > 0) inflight.push({ key, ids: got, part, taken: t });
                queued.get(key)!.length = 0;
              }
            }
          }
          // Final drain: every key's queued records come out complete and in push order; after
          // acking everything no segment file is left.
          for (const [key, q] of queued) {
            const part = b.parts.get(key);
            const t = part ? b.take(part, 1e9, Infinity, 0, 0) : undefined;
            expect(t ? ids(t.records) : []).toEqual(q);
            if (t && part) b.ack(part, t);
          }
          for (const f of inflight) b.ack(f.part, f.taken);
          expect(b.records).toBe(0);
          b.close([]);
          expect(readdirSync(dir).filter((f) => f.endsWith('.seg'))).toEqual([]);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }),
      { numRuns: 150 },
    );
  });
});
