/**
 * A linear replacement for kafkajs 2.2.4's `producer/groupMessagesPerPartition.js`.
 *
 * The original rebuilds a partition's array with a spread for every message
 * (`{ [partition]: [...current, message] }`), which is quadratic in the records per partition
 * per request: 1.1–1.9 µs per record at batch 1 000, 15–25 % of the producer's CPU in
 * `npm run bench:kafka` (bench/results/kafka.md). kafkajs is unmaintained upstream, so instead of
 * carrying a patch file we place this function in Node's CommonJS module cache under the
 * original file's path BEFORE kafkajs is first loaded; `sendMessages.js` then requires ours.
 *
 * Contract: same inputs, same output shape and the same per-partition message order as the
 * original. This module must be imported before anything imports `kafkajs` (it is the first
 * import of every file in this folder that imports kafkajs). If kafkajs was already loaded, or
 * its layout differs, nothing is changed and `installed` is false.
 */
import Module, { createRequire } from 'node:module';

interface GroupArgs<M> {
  topic: string;
  partitionMetadata: readonly unknown[];
  messages: readonly M[];
  partitioner: (args: {
    topic: string;
    partitionMetadata: readonly unknown[];
    message: M;
  }) => number;
}

export function groupMessagesPerPartition<M>({
  topic,
  partitionMetadata,
  messages,
  partitioner,
}: GroupArgs<M>): Record<number, M[]> {
  if (partitionMetadata.length === 0) return {};
  const result: Record<number, M[]> = {};
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    (result[partition] ??= []).push(message);
  }
  return result;
}

function install(): boolean {
  try {
    const require = createRequire(import.meta.url);
    const file = require.resolve('kafkajs/src/producer/groupMessagesPerPartition.js');
    const sendMessages = require.resolve('kafkajs/src/producer/sendMessages.js');
    const cache = require.cache;
    if (cache[file] !== undefined || cache[sendMessages] !== undefined) return false;
    const m = new Module(file);
    m.filename = file;
    m.loaded = true;
    m.exports = groupMessagesPerPartition;
    cache[file] = m;
    return true;
  } catch {
    return false;
  }
}

/** Whether the replacement is in effect for this process. */
export const installed: boolean = install();
