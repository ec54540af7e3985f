import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
// The patch must come before anything that loads kafkajs (as in sink.ts).
import {
  crc32C,
  groupMessagesPerPartition,
  installed,
  loadUncached,
  produceEncodings,
} from './kafkajs-patch.js';
import { createKafkaSink } from './sink.js';

const require = createRequire(import.meta.url);

/** kafkajs' own implementation, evaluated from its file without touching the module cache. */
function loadOriginal(): typeof groupMessagesPerPartition {
  const file = require.resolve('kafkajs/src/producer/groupMessagesPerPartition.js');
  const mod: { exports: unknown } = { exports: {} };
  new Function('module', 'exports', readFileSync(file, 'utf8'))(mod, mod.exports);
  return mod.exports as typeof groupMessagesPerPartition;
}

describe('kafkajs groupMessagesPerPartition replacement', () => {
  it('is what kafkajs producer code requires once the sink module is loaded', () => {
    expect(typeof createKafkaSink).toBe('function');
    expect(installed).toBe(true);
    expect(require('kafkajs/src/producer/groupMessagesPerPartition.js')).toBe(
      groupMessagesPerPartition,
    );
  });

  it('groups exactly like the original (same partitions, same order per partition)', () => {
    const original = loadOriginal();
    fc.assert(
      fc.property(
        fc.array(fc.record({ key: fc.integer(), partition: fc.nat({ max: 7 }) }), {
          maxLength: 300,
        }),
        fc.nat({ max: 3 }),
        (messages, metaCount) => {
          const args = {
            topic: 't',
            partitionMetadata: Array.from({ length: metaCount }, (_, i) => ({ partitionId: i })),
            messages,
            partitioner: ({ message }: { message: { partition: number } }) => message.partition,
          };
          expect(groupMessagesPerPartition(args)).toEqual(original(args));
        },
      ),
    );
  });
});

interface Rec {
  offsetDelta?: number;
  timestampDelta?: number;
  key?: Buffer | string | null;
  value?: Buffer | string | null;
  headers?: Record<string, Buffer | string | (Buffer | string)[]>;
}
type RecordFn = (args: Rec) => { buffer: Buffer };

const recordFile = require.resolve('kafkajs/src/protocol/recordBatch/record/v0/index.js');
const bytes = fc.oneof(
  fc.constant(null),
  fc.constant(undefined),
  fc.constant(''),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
);

describe('kafkajs record encoder replacement', () => {
  it('is what kafkajs requires for a record, and CRC-32C too', () => {
    expect(require(recordFile)).not.toBe(loadUncached(recordFile));
    expect((require(recordFile) as RecordFn).name).toBe('record');
    expect(require('kafkajs/src/protocol/recordBatch/crc32C/crc32C.js')).toBe(crc32C);
  });

  it('encodes every record exactly like kafkajs (headers and huge deltas via the original)', () => {
    const original = loadUncached(recordFile) as RecordFn;
    const ours = require(recordFile) as RecordFn;
    fc.assert(
      fc.property(
        fc.record(
          {
            offsetDelta: fc.oneof(fc.nat({ max: 5000 }), fc.integer()),
            timestampDelta: fc.oneof(
              fc.integer({ min: -100_000, max: 100_000 }),
              fc.integer(),
              fc.maxSafeInteger(),
            ),
            key: bytes,
            value: bytes,
            headers: fc.oneof(
              fc.constant({}),
              fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), {
                maxKeys: 3,
              }),
            ),
          },
          { requiredKeys: [] },
        ),
        (rec) => {
          expect(ours(rec).buffer.equals(original(rec).buffer)).toBe(true);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('keeps the encoder methods kafkajs calls on a record', () => {
    const r = (require(recordFile) as (a: Rec) => { size(): number; buffer: Buffer })({
      key: 'k',
      value: Buffer.from('v'),
    });
    expect(r.size()).toBe(r.buffer.length);
  });
});

describe('CRC-32C replacement', () => {
  it('equals kafkajs crc32C on any input (every length mod 8)', () => {
    const original = loadUncached(
      require.resolve('kafkajs/src/protocol/recordBatch/crc32C/crc32C.js'),
    ) as (b: Buffer) => number;
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (a) => {
        const b = Buffer.from(a);
        expect(crc32C(b)).toBe(original(b));
      }),
      { numRuns: 500 },
    );
    // The standard check value of CRC-32C.
    expect(crc32C(Buffer.from('123456789'))).toBe(0xe3069283);
  });
});

interface ProduceReq {
  apiKey: number;
  apiVersion: number;
  apiName: string;
  expectResponse(): boolean;
  encode(): Promise<{ buffer: Buffer; size(): number }>;
}
type ProduceFn = (args: Record<string, unknown>) => ProduceReq;
const produceFile = require.resolve('kafkajs/src/protocol/requests/produce/v3/request.js');
const Long = require('kafkajs/src/utils/long.js') as { fromInt(n: number): unknown };

/** `quirky`: headers, the `'1'` stamp that sorts first as text, 0 (= send time in kafkajs). */
const message = (quirky: boolean) =>
  fc.record(
    {
      key: bytes,
      value: bytes,
      timestamp: fc.oneof(
        fc.constant(undefined),
        fc.constant(null),
        fc.integer({ min: 1_699_999_000_000, max: 1_700_001_000_000 }),
        fc.integer({ min: 1_699_999_000_000, max: 1_700_001_000_000 }).map(String),
        ...(quirky ? [fc.constant('1'), fc.constant(0)] : []),
      ),
      headers: quirky
        ? fc.oneof(fc.constant(undefined), fc.constant({}), fc.constant({ h: 'x' }))
        : fc.constantFrom(undefined, {}),
    },
    { requiredKeys: ['value'] },
  );

const produceArgs = (quirky: boolean) =>
  fc.record(
    {
      acks: fc.constantFrom(-1, 0, 1),
      timeout: fc.nat({ max: 60_000 }),
      transactionalId: fc.oneof(fc.constant(null), fc.constant(''), fc.string({ maxLength: 10 })),
      producerId: fc.oneof(
        fc.constant(undefined),
        fc.nat().map((n) => Long.fromInt(n)),
      ),
      producerEpoch: fc.nat({ max: 100 }),
      compression: quirky ? fc.constantFrom(0, 1) : fc.constant(0),
      topicData: fc.array(
        fc.record({
          topic: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }),
          partitions: fc.array(
            fc.record(
              {
                partition: fc.oneof(fc.nat({ max: 20 }), fc.nat({ max: 20 }).map(String)),
                firstSequence: fc.nat({ max: 10_000 }),
                messages: fc.array(message(quirky), { minLength: 1, maxLength: 25 }),
              },
              { requiredKeys: ['partition', 'messages'] },
            ),
            { minLength: 1, maxLength: 3 },
          ),
        }),
        { minLength: 1, maxLength: 2 },
      ),
    },
    { requiredKeys: ['acks', 'timeout', 'topicData'] },
  );

describe('kafkajs produce request replacement', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('is what kafkajs requires for produce v3 (which v4-v7 wrap)', () => {
    expect(installed).toBe(true);
    const ours = require(produceFile) as ProduceFn;
    expect(ours.name).toBe('produceRequest');
    const v7 = require('kafkajs/src/protocol/requests/produce/v7/request.js') as ProduceFn;
    const req = v7({ acks: -1, timeout: 1, topicData: [] });
    expect(req.apiVersion).toBe(7);
    expect(req.apiName).toBe('Produce');
  });

  it('encodes every request exactly like kafkajs, and takes the lean path for plain records', async () => {
    // kafkajs stamps records without a timestamp with Date.now(): one fixed clock for both.
    vi.spyOn(Date, 'now').mockReturnValue(1_700_000_000_500);
    const original = loadUncached(produceFile) as ProduceFn;
    const ours = require(produceFile) as ProduceFn;
    const lean0 = produceEncodings.lean;
    const orig0 = produceEncodings.original;
    await fc.assert(
      fc.asyncProperty(fc.oneof(produceArgs(false), produceArgs(true)), async (args) => {
        const a = await ours(args).encode();
        const b = await original(args).encode();
        expect(a.buffer.equals(b.buffer)).toBe(true);
        expect(a.size()).toBe(b.size());
        const r1 = ours(args);
        const r2 = original(args);
        expect([r1.apiKey, r1.apiVersion, r1.apiName, r1.expectResponse()]).toEqual([
          r2.apiKey,
          r2.apiVersion,
          r2.apiName,
          r2.expectResponse(),
        ]);
      }),
      { numRuns: 400 },
    );
    // Both paths were exercised (compression and headers go to the original).
    expect(produceEncodings.lean - lean0).toBeGreaterThan(150);
    expect(produceEncodings.original - orig0).toBeGreaterThan(20);
  });

  it('a typical batch (1,000 text values, one key, no timestamps) takes the lean path', async () => {
    vi.spyOn(Date, 'now').mockReturnValue(1_700_000_000_000);
    const ours = require(produceFile) as ProduceFn;
    const original = loadUncached(produceFile) as ProduceFn;
    const key = Buffer.from('dev-1');
    const messages = Array.from({ length: 1000 }, (_, i) => ({
      key,
      value: `{"seq":${i},"t":"é"}`,
      timestamp: undefined,
      headers: undefined,
      partition: 2,
    }));
    const args = {
      acks: -1,
      timeout: 30_000,
      topicData: [{ topic: 't', partitions: [{ partition: '2', firstSequence: 0, messages }] }],
    };
    const lean0 = produceEncodings.lean;
    const a = await ours(args).encode();
    expect(produceEncodings.lean).toBe(lean0 + 1);
    expect(a.buffer.equals((await original(args).encode()).buffer)).toBe(true);
    // The record batch CRC (bytes 21..25 after the partition header) covers what follows it.
    const batchAt = 2 + 2 + 4 + 4 + 2 + 1 + 4 + 4 + 4;
    const crcAt = batchAt + 8 + 4 + 4 + 1;
    expect(a.buffer.readUInt32BE(crcAt)).toBe(crc32C(a.buffer.subarray(crcAt + 4)));
  });
});
