import { describe, expect, it } from 'vitest';

import { SluiceError } from '../core/index.js';
import type { Sink, SinkRecord, WriteResult } from '../core/index.js';
import { EngineDeliveryTracker } from './delivery.js';

const rec = (n: number): SinkRecord => ({ data: { n }, ruleId: 'r', ingestTs: 0 });

function fakeSink(): Sink & { next: (WriteResult | Error | void)[]; extra: () => string } {
  const s = {
    next: [] as (WriteResult | Error | void)[],
    connect: async () => {},
    close: async () => {},
    async write(): Promise<WriteResult | void> {
      const r = s.next.shift();
      if (r instanceof Error) throw r;
      return r;
    },
    extra: () => 'passes through',
  };
  return s;
}

describe('EngineDeliveryTracker', () => {
  it('is done at once when the push routed nothing', () => {
    const t = new EngineDeliveryTracker();
    let done = 0;
    t.track(
      () => {},
      () => done++,
    );
    expect(done).toBe(1);
  });

  it('is done once every sink that took a record acknowledged it, each sink once', async () => {
    const t = new EngineDeliveryTracker();
    const a = fakeSink();
    const b = fakeSink();
    const da = t.decorate(a, 'a');
    const db = t.decorate(b, 'b');
    const r1 = rec(1);
    let done = 0;
    t.track(
      () => {
        t.routed(r1, 'a');
        t.routed(r1, 'b');
        t.routed(r1, 'b'); // the same record twice to one sink counts once
      },
      () => done++,
    );
    expect(done).toBe(0);
    await da.write([r1]);
    expect(done).toBe(0);
    await db.write([r1]);
    expect(done).toBe(1);
    await db.write([r1]); // a late duplicate write settles nothing twice
    expect(done).toBe(1);
    expect((da as ReturnType<typeof fakeSink>).extra()).toBe('passes through');
  });

  it('keeps retriable failures and retry indexes open; final failures and rejections settle', async () => {
    const t = new EngineDeliveryTracker();
    const s = fakeSink();
    const d = t.decorate(s, 's');
    const [r1, r2] = [rec(1), rec(2)];
    const done: number[] = [];
    t.track(
      () => t.routed(r1, 's'),
      () => done.push(1),
    );
    t.track(
      () => t.routed(r2, 's'),
      () => done.push(2),
    );
    s.next.push(new SluiceError('x', 'retry me', { retriable: true }));
    await expect(d.write([r1, r2])).rejects.toThrow('retry me');
    expect(done).toEqual([]);
    s.next.push({ retry: [0], rejected: [{ index: 1, code: 'bad', message: 'no' }] });
    await d.write([r1, r2]);
    expect(done).toEqual([2]);
    s.next.push(new SluiceError('y', 'final', { retriable: false }));
    await expect(d.write([r1])).rejects.toThrow('final');
    expect(done).toEqual([2, 1]);
  });

  it('does not count records routed outside a tracked push', async () => {
    const t = new EngineDeliveryTracker();
    const d = t.decorate(fakeSink(), 's');
    const r = rec(1);
    t.routed(r, 's');
    await d.write([r]);
    let done = 0;
    t.track(
      () => {},
      () => done++,
    );
    expect(done).toBe(1);
  });

  it('buffered: done when every sink it routed to is durable, one wait per sink', () => {
    const waits: { sink: string; cb: () => void }[] = [];
    const durableNow = new Set(['mem']);
    const t = new EngineDeliveryTracker({
      awaitDurable: (sink, cb) => {
        if (durableNow.has(sink)) return false;
        waits.push({ sink, cb });
        return true;
      },
    });
    let done = 0;
    t.track(
      () => {
        t.routed(rec(1), 'mem');
        t.routed(rec(2), 'disk');
        t.routed(rec(3), 'disk'); // the same sink again: covered by the first wait
      },
      () => done++,
      'buffered',
    );
    expect(waits.map((w) => w.sink)).toEqual(['disk']);
    expect(done).toBe(0);
    waits[0]!.cb();
    expect(done).toBe(1);
    // Buffered records never wait for the sink's write.
    let done2 = 0;
    t.track(
      () => t.routed(rec(4), 'mem'),
      () => done2++,
      'buffered',
    );
    expect(done2).toBe(1);
  });

  it('remote (the default mode) ignores durability and waits for the write', async () => {
    const t = new EngineDeliveryTracker({ awaitDurable: () => false });
    const d = t.decorate(fakeSink(), 's');
    const r = rec(1);
    let done = 0;
    t.track(
      () => t.routed(r, 's'),
      () => done++,
      'remote',
    );
    expect(done).toBe(0);
    await d.write([r]);
    expect(done).toBe(1);
  });
});
