/** docs/sinks/kafka.md stays in sync with the Kafka field specs and error codes. */
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describeFields, toJsonSchema } from '../../core/index.js';
import { kafkaSpec, kafkaRunnerSpec, KafkaErrors, kafkaSinkType } from './index.js';

const doc = readFileSync(
  fileURLToPath(new URL('../../../docs/sinks/kafka.md', import.meta.url)),
  'utf8',
);

describe('docs/sinks/kafka.md', () => {
  it('documents every Kafka and runner field', () => {
    const missing = [...describeFields(kafkaSpec), ...describeFields(kafkaRunnerSpec)]
      .filter((r) => r.type !== 'object')
      .map((r) => r.path)
      .filter((p) => !doc.includes(`\`${p}\``));
    expect(missing).toEqual([]);
  });

  it('lists every error code of the sink', () => {
    const missing = Object.keys(KafkaErrors).filter((c) => !doc.includes(`\`${c}\``));
    expect(missing).toEqual([]);
  });

  it('the sink type exposes a JSON schema with descriptions', () => {
    expect(kafkaSinkType.type).toBe('kafka');
    const schema = toJsonSchema(kafkaSinkType.spec) as { required: string[]; properties: object };
    expect(schema.required).toEqual(['bootstrap_hosts', 'topic']);
    expect(Object.keys(schema.properties)).toContain('authentication');
  });
});
