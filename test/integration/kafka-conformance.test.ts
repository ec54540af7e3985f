/**
 * The shared sink conformance suite against the `kafka` sink and the real Kafka broker of the
 * integration-kafka setup (PLAINTEXT listener). `dropConnection` closes every socket under the
 * connected sink by restarting the broker (the data directory is kept, so acknowledged records
 * survive), then waits until it serves again.
 */
import { inject } from 'vitest';

import { silentLogger } from '../../src/core/index.js';
import { createKafkaSink } from '../../src/sinks/kafka/index.js';
import { restartKafka, stopKafka } from '../../scripts/services/index.js';
import { consumeAll, createTopic, kafkaConfig, uniqueTopic } from './kafka-helpers.js';
import { runSinkConformance } from './sink-conformance.js';

const k = inject('services').kafka;

runSinkConformance(
  'kafka',
  async () => {
    const topic = uniqueTopic('conf');
    await createTopic(k.plaintext, topic, 3);
    const sink = createKafkaSink(
      { logger: silentLogger, now: Date.now },
      kafkaConfig({
        bootstrap_hosts: k.plaintext,
        topic,
        message: { key: '${id}', value: '${.}' },
      }),
      'conformance',
    );
    return {
      sink,
      async readIds(atLeast) {
        const got = await consumeAll(k.plaintext, topic, atLeast, {
          timeoutMs: 30_000,
          quietMs: 500,
        });
        return got.map((g) => (JSON.parse(g.value!) as { id: number }).id);
      },
      async dropConnection() {
        await stopKafka(k.dir);
        await restartKafka(k.dir);
      },
      async cleanup() {},
    };
  },
  { timeoutMs: 120_000 },
);
