// Loads the engine first, as the CLI and `createEngine` users do: the Kafka source (reached
// through engine.ts) also loads kafkajs, so the engine must install the sink's kafkajs
// replacements before it (src/engine/index.ts, first import).
import { createEngine } from './index.js';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { kafkajsPatchInstalled } from '../sinks/kafka/index.js';

const require = createRequire(import.meta.url);

describe('kafkajs replacements when the engine is loaded first', () => {
  it('are in effect', () => {
    expect(typeof createEngine).toBe('function');
    expect(kafkajsPatchInstalled).toBe(true);
    // kafkajs' own version is an arrow function using reduce; ours is named.
    expect(require('kafkajs/src/producer/groupMessagesPerPartition.js').name).toBe(
      'groupMessagesPerPartition',
    );
  });
});
