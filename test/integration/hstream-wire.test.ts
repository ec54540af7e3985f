/**
 * Wire behaviour of the HStreamDB client against the stand-in server (a test double of the wire
 * protocol): the status codes and error envelopes of hstream-protocol.md §9.3, Append validation
 * (§4), record ids (§7) and the read path (§10). The same client code runs against the real
 * server in hstream-real.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SluiceError } from '../../src/core/index.js';
import { compress, encodeBatch, hashKey, HStreamClient } from '../../src/sinks/hstream/index.js';
import { startStandInServer, type StandInServer } from '../hstream-server/server.js';
import { uniqueStream } from '../hstream-server/helpers.js';

let server: StandInServer;
let client: HStreamClient;

beforeAll(async () => {
  server = await startStandInServer();
  client = new HStreamClient({
    endpoints: [{ host: '127.0.0.1', port: server.port, tls: false }],
    timeoutMs: 5000,
    appendTimeoutMs: 5000,
  });
  await client.connect();
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

const opts = { replicationFactor: 1, shardCount: 2, backlogDuration: 0 };

describe('stream administration', () => {
  it('validates names, replication factor and shard count with the real codes', async () => {
    for (const bad of ['', '1abc', 'a b', 'zookeeper', 'x'.repeat(256)]) {
      const e = await failure(client.createStream(bad, opts));
      expect([e.code, e.context['hstreamError']], bad).toEqual(['hstream_invalid_argument', 204]);
    }
    expect(
      (await failure(client.createStream(uniqueStream(), { ...opts, replicationFactor: 0 })))
        .context['hstreamError'],
    ).toBe(203);
    expect(
      (await failure(client.createStream(uniqueStream(), { ...opts, shardCount: 0 }))).context[
        'hstreamError'
      ],
    ).toBe(205);
    const name = uniqueStream('ünï');
    expect(await client.createStream(name, opts)).toBe(true);
    expect(await client.createStream(name, opts)).toBe(false); // ALREADY_EXISTS, error 201
    const s = await client.getStream(name);
    expect(s).toMatchObject({ streamName: name, shardCount: 2, replicationFactor: 1 });
    expect(Number(s!.creationTime!.seconds)).toBeGreaterThan(0);
    await client.deleteStream(name);
    expect(await client.getStream(name)).toBeUndefined();
    const e = await failure(client.deleteStream(name));
    expect([e.code, e.retriable, e.message]).toEqual([
      'hstream_stream_not_found',
      false,
      `HStreamDB DeleteStream failed: NOT_FOUND: StreamNotFound (${name})`,
    ]);
    await client.deleteStream(name, { ignoreNonExist: true });
  });

  it('ListShards on a missing stream is UNAVAILABLE, not NOT_FOUND (§9.3)', async () => {
    const e = await failure(client.listShards(uniqueStream('none')));
    expect([e.code, e.retriable]).toEqual(['hstream_unavailable', true]);
  });
});

describe('append and read back', () => {
  it('validates appends like the server and returns ids per declared batchSize', async () => {
    const name = uniqueStream('app');
    await client.createStream(name, opts);
    const shards = await client.listShards(name);
    expect(shards.map((s) => [s.startHashRangeKey, s.endHashRangeKey])).toEqual([
      ['0', '170141183460469231731687303715884105726'],
      ['170141183460469231731687303715884105727', '340282366920938463463374607431768211455'],
    ]);
    const shard = shards.find(
      (s) =>
        hashKey('k') >= BigInt(s.startHashRangeKey) && hashKey('k') <= BigInt(s.endHashRangeKey),
    )!;
    const addr = client.bootstrapAddress!;
    const payload = encodeBatch([
      { key: 'k', payload: Buffer.from('one') },
      { key: 'k', payload: Buffer.from('two') },
    ]);
    const ack = await client.append(addr, name, shard.shardId, {
      compressionType: 'None',
      batchSize: 2,
      payload,
    });
    expect(ack.recordCount).toBe(2);
    expect(ack.shardId).toBe(shard.shardId);
    expect(BigInt(ack.batchId)).toBe((2n << 32n) | 1n); // first LSN of a fresh log: epoch 2, seq 1
    const ack2 = await client.append(addr, name, shard.shardId, {
      compressionType: 'Gzip',
      batchSize: 1,
      payload: compress(encodeBatch([{ key: 'k', payload: Buffer.from('three') }]), 'gzip'),
    });
    expect(BigInt(ack2.batchId)).toBe(BigInt(ack.batchId) + 1n);

    expect(
      (
        await failure(
          client.append(addr, name, shard.shardId, {
            compressionType: 'None',
            batchSize: 0,
            payload,
          }),
        )
      ).code,
    ).toBe('hstream_empty_batch');
    expect(
      (
        await failure(
          client.append(addr, name, shard.shardId, {
            compressionType: 'None',
            batchSize: 1,
            payload: Buffer.alloc(0),
          }),
        )
      ).code,
    ).toBe('hstream_empty_batch');
    const big = encodeBatch([{ key: 'k', payload: Buffer.alloc(1024 * 1024) }]);
    const tooBig = await failure(
      client.append(addr, name, shard.shardId, {
        compressionType: 'None',
        batchSize: 1,
        payload: big,
      }),
    );
    expect([tooBig.code, tooBig.context['hstreamError']]).toEqual(['hstream_batch_too_large', 207]);
    const unknown = await failure(
      client.append(addr, name, '123456789', { compressionType: 'None', batchSize: 2, payload }),
    );
    expect([unknown.code, unknown.retriable]).toEqual(['hstream_unavailable', true]);
    // Strict mode of the stand-in: a key that does not hash into the shard is flagged.
    const other = shards.find((s) => s !== shard)!;
    expect(
      (
        await failure(
          client.append(addr, name, other.shardId, {
            compressionType: 'None',
            batchSize: 2,
            payload,
          }),
        )
      ).message,
    ).toContain('does not hash into shard');

    const all = await client.readShard(shard.shardId);
    expect(all.map((r) => [r.payload.toString(), r.batchId === ack.batchId, r.batchIndex])).toEqual(
      [
        ['one', true, 0],
        ['two', true, 1],
        ['three', false, 0],
      ],
    );
    expect(all[0]!.publishTimeMs).toBeGreaterThan(Date.now() - 60_000);
    const fromSecond = await client.readShard(shard.shardId, {
      from: { recordOffset: { shardId: shard.shardId, batchId: ack2.batchId, batchIndex: 0 } },
    });
    expect(fromSecond.map((r) => r.payload.toString())).toEqual(['three']);
    const firstBatch = await client.readShard(shard.shardId, { maxReadBatches: 1 });
    expect(firstBatch.map((r) => r.payload.toString())).toEqual(['one', 'two']);
    // until unset = follow the shard: the read waits for new appends (here: stop after 3 batches).
    const following = client.readShard(shard.shardId, { until: {}, maxReadBatches: 3 });
    await new Promise((r) => setTimeout(r, 100));
    await client.append(addr, name, shard.shardId, {
      compressionType: 'None',
      batchSize: 1,
      payload: encodeBatch([{ key: 'k', payload: Buffer.from('four') }]),
    });
    expect((await following).map((r) => r.payload.toString())).toEqual([
      'one',
      'two',
      'three',
      'four',
    ]);
    const wrongShard = await failure(client.readShard('987654321'));
    expect(wrongShard.context['grpcStatus']).toBe('NOT_FOUND');
  });
});
