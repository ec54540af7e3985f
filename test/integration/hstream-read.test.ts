/**
 * The read side of the stand-in server (a test double of HStreamDB's wire protocol), through
 * Sluice's own client code (HStreamReadApi over grpc-js): DescribeCluster, LookupResource,
 * named shard readers, subscriptions and StreamingFetch with acks, ack-timeout redelivery and
 * maxUnackedRecords — each with the real server's status codes and error envelopes
 * (hstream-protocol.md §3.6, §3.7, §9.3; server Core/ShardReader.hs, Core/Subscription.hs).
 * Also the sink's `record_type: hrecord` (JSON flag, protobuf Struct payload).
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SluiceError } from '../../src/core/index.js';
import {
  compress,
  decodeStruct,
  encodeBatch,
  FLAG_JSON,
  FLAG_RAW,
  HStreamClient,
  HStreamReadApi,
  type Compression,
  type Consumer,
  type Delivery,
} from '../../src/sinks/hstream/index.js';
import { startStandInServer, type StandInServer } from '../hstream-server/server.js';
import { createPipeline, readStream, record, uniqueStream } from '../hstream-server/helpers.js';

let server: StandInServer;
let client: HStreamClient;
let api: HStreamReadApi;

beforeAll(async () => {
  server = await startStandInServer();
  client = new HStreamClient({
    endpoints: [{ host: '127.0.0.1', port: server.port, tls: false }],
    timeoutMs: 10_000,
    appendTimeoutMs: 5000,
  });
  await client.connect();
  api = new HStreamReadApi(client);
});
afterAll(async () => {
  client.close();
  await server.stop();
});

async function failure(p: Promise<unknown>): Promise<SluiceError> {
  try {
    await p;
  } catch (e) {
    return e as SluiceError;
  }
  throw new Error('expected a failure');
}
const why = (e: SluiceError) => [e.context['grpcStatus'], e.context['hstreamError']];

/** A stream with `shards` shards; appends `batches` batches of `perBatch` records per shard. */
async function seed(
  shards: number,
  batches: number,
  perBatch: number,
  compression: Compression = 'none',
) {
  const name = uniqueStream('rd');
  await client.createStream(name, { replicationFactor: 1, shardCount: shards, backlogDuration: 0 });
  const list = await client.listShards(name);
  for (const [si, sh] of list.entries())
    for (let b = 0; b < batches; b++) await append(name, sh.shardId, si, b, perBatch, compression);
  return { name, shards: list };
}

async function append(
  name: string,
  shardId: string,
  si: number,
  b: number,
  perBatch: number,
  compression: Compression = 'none',
) {
  // Strict mode checks that every key hashes into the target shard: pick such a key.
  const key = keyFor(name, shardId);
  const recs = Array.from({ length: perBatch }, (_, i) => ({
    key,
    payload: `s${si}-b${b}-r${i}`,
  }));
  await client.append(client.bootstrapAddress!, name, shardId, {
    compressionType: ({ none: 'None', gzip: 'Gzip', zstd: 'Zstd' } as const)[compression],
    batchSize: perBatch,
    payload: compress(encodeBatch(recs), compression),
  });
}

/** A key that hashes into `shardId` (strict mode rejects keys outside the target shard). */
function keyFor(stream: string, shardId: string): string {
  const sh = server.streams.get(stream)!.shards.find((s) => s.shardId === shardId)!;
  for (let i = 0; ; i++) {
    const k = `k${i}`;
    const h = BigInt(`0x${createHash('md5').update(k).digest('hex')}`);
    if (h >= sh.start && h <= sh.end) return k;
  }
}

function waitFor(cond: () => boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const t = setInterval(() => {
      if (cond()) {
        clearInterval(t);
        resolve();
      } else if (Date.now() > until) {
        clearInterval(t);
        reject(new Error('condition not met in time'));
      }
    }, 20);
  });
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('cluster discovery', () => {
  it('DescribeCluster lists this node as Running (v0.15.2+ numbering)', async () => {
    const d = await api.describeCluster();
    expect(d.protocolVersion).toBe('0.1.0');
    expect(d.serverNodes).toHaveLength(1);
    expect(d.serverNodes[0]).toMatchObject({ host: '127.0.0.1', port: server.port });
    expect(d.serverNodes[0]!.version!.version).toBe('0.20.3');
    expect(d.serverNodesStatus[0]).toMatchObject({ state: 'Running' });
    expect(Number(d.clusterUpTime)).toBeGreaterThanOrEqual(0);
  });

  it('LookupResource answers the lookup node for any type; bad ids are INVALID_ARGUMENT by type', async () => {
    expect(await api.lookupResource('ResShard', '1152921504606846977')).toMatchObject({
      host: '127.0.0.1',
      port: server.port,
    });
    server.lookupNode = { host: 'hserver', port: 6570 };
    try {
      expect(await api.lookupResource('ResSubscription', 'any-sub_1')).toMatchObject({
        host: 'hserver',
        port: 6570,
      });
    } finally {
      server.lookupNode = undefined;
    }
    expect(why(await failure(api.lookupResource('ResSubscription', 'a b')))).toEqual([
      'INVALID_ARGUMENT',
      304,
    ]);
    expect(why(await failure(api.lookupResource('ResStream', '')))).toEqual([
      'INVALID_ARGUMENT',
      204,
    ]);
    expect(why(await failure(api.lookupResource('ResShardReader', 'x!')))).toEqual([
      'INVALID_ARGUMENT',
      900,
    ]);
  });
});

describe('named shard readers', () => {
  it('reads every batch in order, exactly as stored, then [] after the reader timeout', async () => {
    const { name, shards } = await seed(1, 5, 3, 'gzip');
    const shardId = shards[0]!.shardId;
    await api.createShardReader({ readerId: 'rd-all', streamName: name, shardId, timeoutMs: 200 });
    expect(await api.listShardReaders()).toContain('rd-all');
    expect(await api.lookupShardReader('rd-all')).toMatchObject({ port: server.port });
    // Raw ReadShard: the bytes are the stored batch bytes (compression untouched).
    const raw = await client.call<{
      receivedRecords: Array<{ record: { payload: Buffer; compressionType: string } }>;
    }>('ReadShard', { readerId: 'rd-all', maxRecords: 2 });
    const stored = server.streams.get(name)!.shards[0]!.batches;
    expect(raw.receivedRecords.map((r) => r.record.compressionType)).toEqual(['Gzip', 'Gzip']);
    expect(raw.receivedRecords.map((r) => r.record.payload)).toEqual(
      stored.slice(0, 2).map((b) => b.payload),
    );
    const rest = await api.readShardReader('rd-all', 10); // only 3 left: waits the 200 ms
    expect(rest.map((r) => r.payload.toString())).toEqual(
      [2, 3, 4].flatMap((b) => [0, 1, 2].map((i) => `s0-b${b}-r${i}`)),
    );
    expect(rest.every((r) => r.compression === 'gzip' && r.flag === FLAG_RAW)).toBe(true);
    expect(await api.readShardReader('rd-all', 10)).toEqual([]);
    await api.deleteShardReader('rd-all');
    expect(await api.listShardReaders()).not.toContain('rd-all');
  });

  it('a waiting ReadShard returns once maxRecords batches exist; LATEST and record offsets', async () => {
    const { name, shards } = await seed(1, 2, 1);
    const shardId = shards[0]!.shardId;
    await api.createShardReader({
      readerId: 'rd-latest',
      streamName: name,
      shardId,
      offset: { specialOffset: 'LATEST' },
      timeoutMs: 60_000,
    });
    const pending = api.readShardReader('rd-latest', 2);
    await sleep(50);
    await append(name, shardId, 0, 7, 1);
    await append(name, shardId, 0, 8, 1);
    expect((await pending).map((r) => r.payload.toString())).toEqual(['s0-b7-r0', 's0-b8-r0']);

    const second = server.streams.get(name)!.shards[0]!.batches[1]!;
    await api.createShardReader({
      readerId: 'rd-record',
      streamName: name,
      shardId,
      offset: { recordOffset: { shardId, batchId: second.lsn.toString(), batchIndex: 0 } },
    });
    expect((await api.readShardReader('rd-record', 1)).map((r) => r.payload.toString())).toEqual([
      's0-b1-r0',
    ]);
    await api.deleteShardReader('rd-latest');
    await api.deleteShardReader('rd-record');
  });

  it('fails like the server: exists, unknown shard, bad id, bad offset, unknown reader', async () => {
    const { name, shards } = await seed(2, 1, 1);
    const [a, b] = shards.map((s) => s.shardId);
    await api.createShardReader({ readerId: 'rd-dup', streamName: name, shardId: a! });
    const dup = await failure(
      api.createShardReader({ readerId: 'rd-dup', streamName: name, shardId: a! }),
    );
    expect(why(dup)).toEqual(['ALREADY_EXISTS', 0]);
    expect(dup.message).toContain('ShardReaderExists (ShardReader with id rd-dup already exists.)');
    const missing = await failure(
      api.createShardReader({ readerId: 'rd-x', streamName: name, shardId: '42' }),
    );
    expect([missing.code, ...why(missing)]).toEqual(['hstream_request_failed', 'NOT_FOUND', 0]);
    expect(missing.message).toContain('ShardNotFound (Shard with id 42 is not found.)');
    expect(
      why(await failure(api.createShardReader({ readerId: '9x', streamName: name, shardId: a! }))),
    ).toEqual(['INVALID_ARGUMENT', 900]);
    const conflict = await failure(
      api.createShardReader({
        readerId: 'rd-conflict',
        streamName: name,
        shardId: a!,
        offset: { recordOffset: { shardId: b!, batchId: '1', batchIndex: 0 } },
      }),
    );
    expect(why(conflict)).toEqual(['INVALID_ARGUMENT', 901]);
    for (const p of [api.readShardReader('rd-nope', 1), api.deleteShardReader('rd-nope')]) {
      const e = await failure(p);
      expect(why(e)).toEqual(['FAILED_PRECONDITION', 0]);
      expect(e.message).toContain('EmptyShardReader (ShardReaderNotExists)');
    }
    await api.deleteShardReader('rd-dup');
  });
});

/** Collect deliveries of a consumer; `autoAck` acks every record on arrival. */
function collect(sub: string, name: string, autoAck: boolean) {
  const got: Delivery[] = [];
  const c: Consumer = api.consume(sub, name, (d, consumer) => {
    got.push(d);
    if (autoAck) consumer.ack(d.records);
  });
  return { got, c, records: () => got.flatMap((d) => d.records) };
}

describe('subscriptions', () => {
  it('create/list/check/lookup/delete with the server error codes', async () => {
    const { name } = await seed(1, 1, 1);
    const sub = uniqueStream('sub');
    const created = await api.createSubscription(sub, name, { ackTimeoutSeconds: 5 });
    expect(created).toMatchObject({ subscriptionId: sub, streamName: name, ackTimeoutSeconds: 5 });
    expect(Number(created.creationTime!.seconds)).toBeGreaterThan(0);
    expect(why(await failure(api.createSubscription(sub, name)))).toEqual(['ALREADY_EXISTS', 301]);
    expect(why(await failure(api.createSubscription(uniqueStream('s'), 'no_such_stream')))).toEqual(
      ['FAILED_PRECONDITION', 302],
    );
    expect(why(await failure(api.createSubscription('1bad', name)))).toEqual([
      'INVALID_ARGUMENT',
      304,
    ]);
    expect((await api.listSubscriptions()).map((s) => s.subscriptionId)).toContain(sub);
    expect(await api.subscriptionExists(sub)).toBe(true);
    expect(await api.lookupSubscription(sub)).toMatchObject({ port: server.port });
    // A stream with a subscription is not deleted unless forced (§9.3, error 202).
    expect(why(await failure(client.deleteStream(name)))).toEqual(['FAILED_PRECONDITION', 202]);
    await api.deleteSubscription(sub);
    expect(await api.subscriptionExists(sub)).toBe(false);
    expect(why(await failure(api.deleteSubscription(sub)))).toEqual(['NOT_FOUND', 300]);
    await client.deleteStream(name);
  });

  it('delivers every record once, one stored batch per message, in order per shard', async () => {
    const { name, shards } = await seed(3, 4, 5, 'gzip');
    const sub = uniqueStream('sub');
    await api.createSubscription(sub, name, { offset: 'EARLIEST' });
    const { got, c, records } = collect(sub, 'c1', true);
    await waitFor(() => records().length === 60);
    await sleep(150);
    expect(records()).toHaveLength(60);
    const stored = new Map(
      server.streams.get(name)!.shards.map((s) => [s.shardId, s.batches.map((b) => b.payload)]),
    );
    for (const sh of shards) {
      const mine = got.filter((d) => d.raw.recordIds[0]!.shardId === sh.shardId);
      expect(mine.map((d) => d.raw.record!.payload)).toEqual(stored.get(sh.shardId));
      expect(mine.every((d) => d.raw.record!.compressionType === 'Gzip')).toBe(true);
    }
    expect(server.subscriptions.get(sub)!.stats).toMatchObject({ acked: 60, redelivered: 0 });
    // LATEST subscription: only what is appended after it was created.
    const late = uniqueStream('sub');
    await api.createSubscription(late, name, { offset: 'LATEST' });
    const l = collect(late, 'c1', true);
    await append(name, shards[0]!.shardId, 0, 9, 2);
    await waitFor(() => l.records().length === 2);
    expect(l.records().map((r) => r.payload.toString())).toEqual(['s0-b9-r0', 's0-b9-r1']);
    await l.c.close();
    await c.close();
  });

  it('redelivers unacked records after ackTimeoutSeconds, as a batch of just those records', async () => {
    const { name } = await seed(1, 1, 4, 'zstd');
    const sub = uniqueStream('sub');
    await api.createSubscription(sub, name, { ackTimeoutSeconds: 1 });
    const { got, c } = collect(sub, 'c1', false);
    await waitFor(() => got.length === 1);
    c.ack([got[0]!.records[0]!, got[0]!.records[2]!]);
    await waitFor(() => got.length === 2, 5000);
    const again = got[1]!;
    expect(again.raw.recordIds.map((i) => i.batchIndex)).toEqual([1, 3]);
    expect(again.raw.record!.compressionType).toBe('Zstd');
    expect(again.records.map((r) => r.payload.toString())).toEqual(['s0-b0-r1', 's0-b0-r3']);
    c.ack(again.records);
    await sleep(1500);
    expect(got).toHaveLength(2); // all acked: nothing more
    expect(server.subscriptions.get(sub)!.stats).toMatchObject({ acked: 4, redelivered: 2 });
    await c.close();
  });

  it('stops sending at maxUnackedRecords until acks free the budget', async () => {
    const { name } = await seed(1, 4, 3);
    const sub = uniqueStream('sub');
    await api.createSubscription(sub, name, { maxUnackedRecords: 5, ackTimeoutSeconds: 60 });
    const { got, c } = collect(sub, 'c1', false);
    await waitFor(() => got.length === 2); // 3 unacked < 5 → second batch; 6 ≥ 5 → stop
    await sleep(300);
    expect(got).toHaveLength(2);
    c.ack(got[0]!.records);
    await waitFor(() => got.length === 3);
    await sleep(300);
    expect(got).toHaveLength(3);
    c.ack([...got[1]!.records, ...got[2]!.records]);
    await waitFor(() => got.length === 4);
    await c.close();
  });

  it('shares shards between consumers; a leaver’s unacked records go to the others', async () => {
    const { name } = await seed(4, 2, 2);
    const sub = uniqueStream('sub');
    await api.createSubscription(sub, name, { ackTimeoutSeconds: 1 });
    const a = collect(sub, 'a', false); // never acks
    await waitFor(() => a.records().length === 16);
    const b = collect(sub, 'b', true);
    await sleep(200);
    const dup = api.consume(sub, 'b', () => undefined);
    expect(why(await failure(dup.done))).toEqual(['ALREADY_EXISTS', 0]);
    await a.c.close();
    // a's 16 unacked records are redelivered to b once their ack timeout passes.
    await waitFor(() => b.records().length === 16, 8000);
    const ids = b.records().map((r) => `${r.shardId}-${r.batchId}-${r.batchIndex}`);
    expect(new Set(ids).size).toBe(16);
    await waitFor(() => server.subscriptions.get(sub)!.stats.acked === 16); // acks in flight
    await sleep(1200); // one more ack timeout: nothing is sent again
    expect(b.records()).toHaveLength(16);
    await b.c.close();
  });

  it('StreamingFetch on an unknown subscription is NOT_FOUND 300; delete with consumers is 305', async () => {
    const nope = api.consume('no_such_sub', 'c', () => undefined);
    expect(why(await failure(nope.done))).toEqual(['NOT_FOUND', 300]);
    const { name } = await seed(1, 1, 1);
    const sub = uniqueStream('sub');
    await api.createSubscription(sub, name);
    const { got, c } = collect(sub, 'c1', true);
    await waitFor(() => got.length === 1);
    expect(why(await failure(api.deleteSubscription(sub)))).toEqual(['FAILED_PRECONDITION', 305]);
    await api.deleteSubscription(sub, true);
    const ended = await failure(c.done);
    expect(why(ended)).toEqual(['ABORTED', 0]);
    expect(await api.subscriptionExists(sub)).toBe(false);
  });
});

describe('sink record_type: hrecord', () => {
  it('writes JSON-flagged records whose payload is a protobuf Struct; non-objects are rejected', async () => {
    const stream = uniqueStream('hrec');
    const { runner } = createPipeline(
      {
        url: `hstream://127.0.0.1:${server.port}`,
        stream,
        record_type: 'hrecord',
        record_template: '${payload}',
        partition_key: '${clientid}',
        auto_create: { enable: true, shard_count: 2 },
      },
      { batch_size: 10, linger: 5 },
    );
    await runner.start();
    runner.enqueue(record({ clientid: 'a', payload: '{"temp": 21.5, "tags": ["x"], "ok": true}' }));
    runner.enqueue(record({ clientid: 'a', payload: Buffer.from('{"n": null}') }));
    runner.enqueue(record({ clientid: 'b', payload: '[1, 2]' }));
    runner.enqueue(record({ clientid: 'b', payload: 'not json' }));
    await runner.drain(10_000);
    const m = runner.metrics();
    expect(m.success).toBe(2);
    expect(m.failedBy['hstream_hrecord_invalid']).toBe(2);
    const back = await readStream(`hstream://127.0.0.1:${server.port}`, stream);
    expect(back.map((r) => [r.key, r.flag, decodeStruct(r.payload)])).toEqual([
      ['a', FLAG_JSON, { temp: 21.5, tags: ['x'], ok: true }],
      ['a', FLAG_JSON, { n: null }],
    ]);
  });

  it('without a template the whole rule output is the HRecord', async () => {
    const stream = uniqueStream('hrec');
    const { runner } = createPipeline({
      url: `hstream://127.0.0.1:${server.port}`,
      stream,
      record_type: 'hrecord',
      auto_create: { enable: true },
    });
    await runner.start();
    runner.enqueue(record({ clientid: 'c', qos: 1, payload: 'hello' }));
    await runner.drain(10_000);
    const [r] = await readStream(`hstream://127.0.0.1:${server.port}`, stream);
    expect(r!.flag).toBe(FLAG_JSON);
    expect(decodeStruct(r!.payload)).toEqual({ clientid: 'c', qos: 1, payload: 'hello' });
  });
});
