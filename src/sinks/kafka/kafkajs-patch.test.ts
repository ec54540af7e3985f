import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
// The patch must come before anything that loads kafkajs (as in sink.ts).
import { crc32C, groupMessagesPerPartition, installed, loadUncached } from './kafkajs-patch.js';
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
