import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
// The patch must come before anything that loads kafkajs (as in sink.ts).
import { groupMessagesPerPartition, installed } from './kafkajs-patch.js';
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
