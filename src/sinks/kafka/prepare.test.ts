import { describe, expect, it } from 'vitest';
import { silentLogger, validate } from '../../core/index.js';
import type { SinkRecord } from '../../core/index.js';
import { kafkaSpec } from './config.js';
import type { KafkaSinkConfig } from './config.js';
import { createKafkaSink } from './sink.js';

function cfg(input: Record<string, unknown>): KafkaSinkConfig {
  const v = validate<KafkaSinkConfig>(kafkaSpec, {
    bootstrap_hosts: '127.0.0.1:1',
    topic: 't-${clientid}',
    ...input,
  });
  if (!v.ok) throw new Error(JSON.stringify(v.issues));
  return v.value;
}

describe('kafka sink: a record is prepared once', () => {
  for (const frozen of [false, true])
    it(`partitionKey and sizeOf agree and are computed once (${frozen ? 'frozen' : 'plain'} record)`, () => {
      let renders = 0;
      const sink = createKafkaSink(
        { logger: silentLogger, now: Date.now },
        cfg({ message: { key: '${clientid}', value: '${payload}', timestamp: '' } }),
        's',
      );
      // Count renders through the record's data: the key template reads `clientid`.
      const counting = new Proxy({ clientid: 'c1', payload: 'p' } as Record<string, unknown>, {
        get(target, prop, recv) {
          if (prop === 'clientid') renders++;
          return Reflect.get(target, prop, recv);
        },
      });
      const plain = { data: counting, ruleId: 'r', ingestTs: 1 } as SinkRecord;
      const r2 = frozen ? Object.freeze(plain) : plain;
      // The partition count of the topic is unknown here (not connected): the pending group.
      expect(sink.partitionKey!(r2 as SinkRecord)).toBe('t-c1\u0000*');
      const rendered = renders;
      expect(rendered).toBeGreaterThan(0);
      expect(sink.sizeOf!(r2 as SinkRecord)).toBe(24 + 2 + 1);
      expect(sink.partitionKey!(r2 as SinkRecord)).toBe('t-c1\u0000*');
      expect(renders).toBe(rendered);
      // A second sink keeps its own prepared form of the same record.
      const other = createKafkaSink(
        { logger: silentLogger, now: Date.now },
        cfg({ topic: 'o', message: { key: '', value: '${payload}', timestamp: '' } }),
        'o',
      );
      expect(other.partitionKey!(r2 as SinkRecord)).toBe('o\u0000*');
      expect(sink.partitionKey!(r2 as SinkRecord)).toBe('t-c1\u0000*');
    });
});
