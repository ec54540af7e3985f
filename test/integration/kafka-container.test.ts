/**
 * The Kafka sink against a Kafka broker in a container (testcontainers), for machines with a
 * Docker engine. Where no engine is reachable the suite is skipped and the reason printed —
 * the real-broker suites (kafka-sink/kafka-failures) run everywhere without Docker.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { getContainerRuntimeClient } from 'testcontainers';
import type { StartedKafkaContainer } from '@testcontainers/kafka';
import { keyPartition } from '../../src/sinks/kafka/index.js';
import {
  uniqueTopic,
  createTopic,
  consumeAll,
  startSink,
  record,
  waitFor,
} from './kafka-helpers.js';

async function dockerUnavailable(): Promise<string | undefined> {
  try {
    await getContainerRuntimeClient();
    return undefined;
  } catch (err) {
    return (err as Error).message.split('\n')[0];
  }
}

const reason = await dockerUnavailable();
if (reason !== undefined)
  console.log(`[kafka-container] skipped: no container engine reachable (${reason})`);

describe.skipIf(reason !== undefined)('kafka sink against a testcontainers broker', () => {
  let container: StartedKafkaContainer | undefined;
  afterAll(async () => {
    await container?.stop();
  });

  it('delivers keyed records in order per partition', async () => {
    const { KafkaContainer } = await import('@testcontainers/kafka');
    container = await new KafkaContainer('confluentinc/cp-kafka:7.9.0').withKraft().start();
    const bootstrap = `${container.getHost()}:${container.getMappedPort(9093)}`;
    const topic = uniqueTopic('container');
    await createTopic(bootstrap, topic, 3);
    const s = startSink('container', {
      bootstrap_hosts: bootstrap,
      topic,
      partition_strategy: 'key_dispatch',
      message: { key: '${k}' },
    });
    try {
      for (let i = 0; i < 200; i++) s.runner.enqueue(record({ seq: i, k: `k${i % 5}` }));
      await waitFor(() => s.runner.metrics().success === 200, 60_000, 'acks');
      const got = await consumeAll(bootstrap, topic, 200);
      expect(got).toHaveLength(200);
      const last = new Map<number, number>();
      for (const m of got) {
        const seq = (JSON.parse(m.value!) as { seq: number }).seq;
        expect(m.partition).toBe(keyPartition(Buffer.from(m.key!), 3));
        expect(seq).toBeGreaterThan(last.get(m.partition) ?? -1);
        last.set(m.partition, seq);
      }
    } finally {
      await s.runner.stop();
    }
  });
});
