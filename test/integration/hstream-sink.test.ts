/**
 * HStreamDB sink end to end: runner → sink → grpc-js → the stand-in server (a test double of the
 * wire protocol, test/hstream-server), read back with ReadShardStream. Covers content and order
 * per shard, compression, shard routing, host remapping, warm-up UNAVAILABLE, stream deletion
 * under the sink, bad templates and back-pressure against a slow server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SluiceError } from '../../src/core/index.js';
import { hashKey, HStreamClient, zstdAvailable } from '../../src/sinks/hstream/index.js';
import { startStandInServer, type StandInServer } from '../hstream-server/server.js';
import { createPipeline, readStream, record, uniqueStream } from '../hstream-server/helpers.js';

let server: StandInServer;
let url: string;

beforeAll(async () => {
  server = await startStandInServer();
  url = `hstream://127.0.0.1:${server.port}`;
});
afterAll(async () => {
  await server.stop();
});

function payloads(recs: Array<{ payload: Buffer }>): Array<{ k: string; seq: number }> {
  return recs.map((r) => JSON.parse(r.payload.toString('utf8')) as { k: string; seq: number });
}

describe.each(['none', 'gzip', ...(zstdAvailable() ? ['zstd'] : [])])(
  'compression %s',
  (compression) => {
    it('writes every record once, routed by key hash, in order per key, readable back', async () => {
      const stream = uniqueStream('order');
      const { runner, sink } = createPipeline(
        {
          url,
          stream,
          compression,
          partition_key: '${k}',
          auto_create: { enable: true, shard_count: 4 },
        },
        { batch_size: 50, linger: 2 },
      );
      await runner.start();
      const N = 3000;
      for (let i = 0; i < N; i++) runner.enqueue(record({ k: `key-${i % 37}`, seq: i }));
      await runner.drain(30_000);
      const m = runner.metrics();
      expect(m.success).toBe(N);
      expect(m.failed + m.dropped).toBe(0);
      expect(sink.stats.appends).toBeGreaterThan(0);

      const back = await readStream(url, stream);
      expect(back).toHaveLength(N);
      const shards = await (async () => {
        const c = new HStreamClient({
          endpoints: [{ host: '127.0.0.1', port: server.port, tls: false }],
          timeoutMs: 5000,
          appendTimeoutMs: 5000,
        });
        await c.connect();
        try {
          return await c.listShards(stream);
        } finally {
          c.close();
        }
      })();
      expect(shards).toHaveLength(4);
      // Every shard id is a uint64 beyond 2^53, carried as text.
      for (const s of shards) expect(BigInt(s.shardId) > 2n ** 53n).toBe(true);
      const bySeq = new Map<number, (typeof back)[number]>();
      for (const r of back) {
        const p = JSON.parse(r.payload.toString('utf8')) as { k: string; seq: number };
        expect(r.flag).toBe(1); // RAW, as EMQX writes
        expect(r.key).toBe(p.k);
        const shard = shards.find((s) => s.shardId === r.shardId)!;
        const h = hashKey(r.key);
        expect(h >= BigInt(shard.startHashRangeKey) && h <= BigInt(shard.endHashRangeKey)).toBe(
          true,
        );
        bySeq.set(p.seq, r);
      }
      expect(bySeq.size).toBe(N);
      // Per-key order: within a shard, a key's sequence numbers are strictly increasing.
      const lastSeq = new Map<string, number>();
      for (const p of payloads(back)) {
        expect(p.seq).toBeGreaterThan(lastSeq.get(p.k) ?? -1);
        lastSeq.set(p.k, p.seq);
      }
      // Record ids: batch ids increase per shard, indexes count from 0 within a batch.
      for (const s of shards) {
        const ids = back.filter((r) => r.shardId === s.shardId);
        for (let i = 1; i < ids.length; i++) {
          const a = BigInt(ids[i - 1]!.batchId);
          const b = BigInt(ids[i]!.batchId);
          expect(b > a || (b === a && ids[i]!.batchIndex === ids[i - 1]!.batchIndex + 1)).toBe(
            true,
          );
        }
      }
      expect(server.stats.strictViolations).toBe(0);
    });
  },
);

describe('hstreamdb sink behaviour', () => {
  it('defaults: record = rule output as JSON, key "" → one shard; templates render like EMQX', async () => {
    const stream = uniqueStream('tpl');
    const a = createPipeline({ url, stream, auto_create: { enable: true, shard_count: 4 } });
    await a.runner.start();
    a.runner.enqueue(record({ t: 21.5, id: 7, ok: true, nested: { x: null } }));
    await a.runner.drain(10_000);
    const b = createPipeline({
      url,
      stream,
      partition_key: '${clientid}',
      record_template: 'T=${payload.temp};missing=${nope}',
    });
    await b.runner.start();
    b.runner.enqueue({
      data: { payload: '{"temp":30}' },
      ruleId: 'r',
      ingestTs: Date.now(),
      context: { clientid: 'c1' },
    });
    await b.runner.drain(10_000);
    const back = await readStream(url, stream);
    expect(back.map((r) => [r.key, r.payload.toString()])).toEqual(
      expect.arrayContaining([
        ['', '{"t":21.5,"id":7,"ok":true,"nested":{"x":null}}'],
        ['c1', 'T=30;missing=undefined'],
      ]),
    );
    // MD5("") lands in the last of 4 shards (hstream-protocol.md §6 test vector).
    const empty = back.find((r) => r.key === '')!;
    expect(server.streams.get(stream)!.shards[3]!.shardId).toBe(empty.shardId);
  });

  it('keeps per-key order for records enqueued before the first connect', async () => {
    const stream = uniqueStream('early');
    const { runner } = createPipeline(
      { url, stream, partition_key: '${k}', auto_create: { enable: true, shard_count: 2 } },
      { batch_size: 7, linger: 1, max_inflight: 16 },
    );
    // No start(): the first enqueue connects; these records are partitioned before the shards
    // are known.
    let seq = 0;
    for (; seq < 300; seq++) runner.enqueue(record({ k: `k${seq % 5}`, seq }));
    await runner.start();
    for (; seq < 900; seq++) runner.enqueue(record({ k: `k${seq % 5}`, seq }));
    await runner.drain(20_000);
    expect(runner.metrics().success).toBe(900);
    const last = new Map<string, number>();
    const back = payloads(await readStream(url, stream));
    expect(back).toHaveLength(900);
    for (const p of back) {
      expect(p.seq).toBeGreaterThan(last.get(p.k) ?? -1);
      last.set(p.k, p.seq);
    }
  });

  it('retries through warm-up UNAVAILABLE answers without losing records', async () => {
    const stream = uniqueStream('warm');
    const { runner } = createPipeline(
      { url, stream, auto_create: { enable: true } },
      { batch_size: 10, linger: 1, retry: { initial_backoff: 5, max_backoff: 20 } },
    );
    await runner.start();
    server.faults.unavailableAppends = 4;
    for (let i = 0; i < 100; i++) runner.enqueue(record({ seq: i }));
    await runner.drain(20_000);
    expect(server.faults.unavailableAppends).toBe(0);
    const m = runner.metrics();
    expect(m.success).toBe(100);
    expect(m.retried).toBeGreaterThan(0);
    const seqs = payloads(await readStream(url, stream)).map((p) => p.seq);
    expect(new Set(seqs).size).toBe(100);
  });

  it('WrongServer: looks the shard owner up again and retries there', async () => {
    const stream = uniqueStream('owner');
    const { runner, sink } = createPipeline(
      { url, stream, auto_create: { enable: true } },
      { batch_size: 10, linger: 1, retry: { initial_backoff: 5, max_backoff: 20 } },
    );
    await runner.start();
    const lookups = server.stats.lookups;
    const discoveries = sink.stats.discoveries;
    server.faults.wrongServerAppends = 2;
    for (let i = 0; i < 50; i++) runner.enqueue(record({ seq: i }));
    await runner.drain(10_000);
    expect(server.faults.wrongServerAppends).toBe(0);
    expect(runner.metrics()).toMatchObject({ success: 50, failed: 0 });
    expect(sink.stats.discoveries).toBeGreaterThanOrEqual(discoveries + 2);
    expect(server.stats.lookups).toBeGreaterThanOrEqual(lookups + 2);
    expect(new Set(payloads(await readStream(url, stream)).map((p) => p.seq)).size).toBe(50);
  });

  it('append deadline exceeded: retried, every record present at least once', async () => {
    const stream = uniqueStream('deadline');
    const { runner } = createPipeline(
      { url, stream, auto_create: { enable: true }, append_timeout: '100ms' },
      { batch_size: 10, linger: 1, retry: { initial_backoff: 20, max_backoff: 50 } },
    );
    await runner.start();
    server.faults.appendDelayMs = 300;
    for (let i = 0; i < 30; i++) runner.enqueue(record({ seq: i }));
    runner.flush();
    await waitFor(() => runner.metrics().retried > 0);
    server.faults.appendDelayMs = 0;
    await runner.drain(20_000);
    const m = runner.metrics();
    expect(m).toMatchObject({ success: 30, failed: 0, dropped: 0 });
    expect(runner.lastError()).toMatchObject({ code: 'hstream_timeout' });
    // The slow appends were stored after their deadline: duplicates, never gaps.
    const seqs = payloads(await readStream(url, stream)).map((p) => p.seq);
    expect(new Set(seqs)).toEqual(new Set(range(0, 30)));
    expect(seqs.length).toBeGreaterThanOrEqual(30);
  });

  it('follows LookupShard through host_mapping', async () => {
    const stream = uniqueStream('remap');
    server.lookupNode = { host: 'hserver.invalid', port: 6570 };
    try {
      const { runner, sink } = createPipeline({
        url,
        stream,
        auto_create: { enable: true, shard_count: 2 },
        host_mapping: { 'hserver.invalid:6570': `127.0.0.1:${server.port}` },
      });
      await runner.start();
      for (let i = 0; i < 20; i++) runner.enqueue(record({ k: String(i) }));
      await runner.drain(10_000);
      expect(runner.metrics().success).toBe(20);
      expect(sink.stats.appends).toBeGreaterThan(0);
    } finally {
      server.lookupNode = undefined;
    }
  });

  it('a stream deleted under the sink: clear non-retriable error, counted; recovers once re-created', async () => {
    const stream = uniqueStream('del');
    const { runner } = createPipeline(
      { url, stream, auto_create: { enable: true } },
      { batch_size: 10, linger: 1 },
    );
    await runner.start();
    for (let i = 0; i < 30; i++) runner.enqueue(record({ seq: i }));
    runner.flush();
    await waitFor(() => runner.metrics().success === 30);
    expect(server.deleteStream(stream)).toBe(true);
    for (let i = 30; i < 60; i++) runner.enqueue(record({ seq: i }));
    runner.flush();
    await waitFor(() => runner.metrics().failed === 30);
    const m = runner.metrics();
    expect(m.failedBy['hstream_stream_not_found']).toBe(30);
    expect(runner.status()).toBe('connected');
    const err = runner.lastError() as SluiceError;
    expect(err.code).toBe('hstream_stream_not_found');
    expect(err.message).toContain(stream);
    // Re-created by an operator: the sink picks up the new shards without a restart.
    const c = new HStreamClient({
      endpoints: [{ host: '127.0.0.1', port: server.port, tls: false }],
      timeoutMs: 5000,
      appendTimeoutMs: 5000,
    });
    await c.connect();
    await c.createStream(stream, { replicationFactor: 1, shardCount: 1, backlogDuration: 0 });
    c.close();
    for (let i = 60; i < 70; i++) runner.enqueue(record({ seq: i }));
    await runner.drain(10_000);
    expect(runner.metrics().success).toBe(40);
    expect(payloads(await readStream(url, stream)).map((p) => p.seq)).toEqual(range(60, 70));
  });

  it('bad templates: malformed placeholder is a config error; an oversized record is rejected alone', async () => {
    const stream = uniqueStream('bad');
    expect(() =>
      createPipeline({ url, stream, record_template: '{"t": ${payload.temp}' }),
    ).not.toThrow();
    let err: unknown;
    try {
      createPipeline({ url, stream, partition_key: '${payload.temp' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SluiceError);
    expect((err as SluiceError).code).toBe('hstream_config_invalid');
    expect((err as SluiceError).message).toContain('partition_key');

    const { runner } = createPipeline({
      url,
      stream,
      record_template: '${payload}',
      auto_create: { enable: true },
    });
    await runner.start();
    runner.enqueue(record({ payload: 'small-1' }));
    runner.enqueue(record({ payload: 'x'.repeat(2 * 1024 * 1024) }));
    runner.enqueue(record({ payload: 'small-2' }));
    await runner.drain(10_000);
    const m = runner.metrics();
    expect(m.success).toBe(2);
    expect(m.failedBy['hstream_record_too_large']).toBe(1);
    expect((await readStream(url, stream)).map((r) => r.payload.toString())).toEqual([
      'small-1',
      'small-2',
    ]);
  });

  it('splits batches that would exceed 1 MiB into several appends', async () => {
    const stream = uniqueStream('split');
    const { runner, sink } = createPipeline(
      { url, stream, record_template: '${payload}', auto_create: { enable: true } },
      { batch_size: 100, batch_bytes: '64MB', linger: 20 },
    );
    await runner.start();
    const rejectedBefore = server.stats.rejectedAppends;
    for (let i = 0; i < 30; i++) runner.enqueue(record({ payload: `${i}:`.padEnd(100_000, 'y') }));
    await runner.drain(10_000);
    expect(runner.metrics().success).toBe(30);
    expect(sink.stats.appends).toBeGreaterThanOrEqual(3);
    expect(server.stats.rejectedAppends).toBe(rejectedBefore);
    const back = await readStream(url, stream);
    expect(back.map((r) => Number(r.payload.toString().split(':')[0]))).toEqual(range(0, 30));
  });

  it('slow server: back-pressure keeps the buffer within buffer.max_records and loses nothing', async () => {
    const stream = uniqueStream('slow');
    const { runner } = createPipeline(
      { url, stream, auto_create: { enable: true, shard_count: 2 }, partition_key: '${k}' },
      { batch_size: 50, linger: 1, buffer: { max_records: 200, overflow: 'block' } },
    );
    await runner.start();
    server.faults.appendDelayMs = 50;
    let maxQueued = 0;
    const sampler = setInterval(
      () => (maxQueued = Math.max(maxQueued, runner.metrics().queued)),
      5,
    );
    try {
      const heapBefore = process.memoryUsage().heapUsed;
      // A producer that honours back-pressure: it waits while the runner is under pressure.
      for (let i = 0; i < 2000; i++) {
        if (runner.pressured) await runner.whenWritable();
        expect(runner.enqueue(record({ k: `k${i % 5}`, seq: i, pad: 'p'.repeat(200) }))).toBe(true);
      }
      await runner.drain(60_000);
      const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
      expect(runner.metrics().success).toBe(2000);
      expect(maxQueued).toBeGreaterThan(0);
      expect(maxQueued).toBeLessThanOrEqual(200);
      // 2000 × ~250 B would be ~0.5 MB if everything piled up; allow generous GC noise only.
      expect(heapGrowth).toBeLessThan(64 * 1024 * 1024);
    } finally {
      clearInterval(sampler);
      server.faults.appendDelayMs = 0;
    }
    expect(new Set(payloads(await readStream(url, stream)).map((p) => p.seq)).size).toBe(2000);
  });

  it('missing stream without auto_create: connect fails with a clear error instead of hanging', async () => {
    const stream = uniqueStream('missing');
    const { sink } = createPipeline({ url, stream });
    await expect(sink.connect()).rejects.toMatchObject({ code: 'hstream_stream_not_found' });
    await sink.close();
  });
});

function range(a: number, b: number): number[] {
  return Array.from({ length: b - a }, (_, i) => a + i);
}

async function waitFor(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
