/**
 * The `kafka` source against the real Kafka of the test services (scripts/services): a
 * consumer group of three worker processes splits the partitions; one is SIGKILLed mid-stream
 * and restarted: every input record reaches the output topic (the committed offset never
 * passed an unfinished record), duplicates counted.
 */
import { Kafka, logLevel } from 'kafkajs';
import { describe, expect, inject, it } from 'vitest';

import { consumeAll, createTopic, uniqueTopic } from './kafka-helpers.js';
import { startWorker } from './source-workers.js';
import type { Worker } from './source-workers.js';

const services = inject('services');

describe('kafka source (real Kafka)', () => {
  it('a group of three splits the load; one SIGKILLed mid-stream and restarted loses nothing', async () => {
    const bootstrap = services.kafka.plaintext;
    const input = uniqueTopic('src-in');
    const output = uniqueTopic('src-out');
    await createTopic(bootstrap, input, 6);
    await createTopic(bootstrap, output, 1);
    const group = uniqueTopic('src-group');
    const N = 3000;
    const cfg = (name: string): Record<string, unknown> => ({
      node: name,
      log: { level: 'warn', format: 'json' },
      sources: {
        mode: 'kafka',
        kafka: {
          brokers: [bootstrap],
          group_id: group,
          topics: [input],
          from_beginning: true,
          session_timeout: '6s',
          commit_interval: '200ms',
        },
      },
      sinks: {
        out: {
          type: 'kafka',
          bootstrap_hosts: bootstrap,
          topic: output,
          message: { key: '${node}', value: '${seq}' },
          linger: 5,
        },
      },
      rules: [{ id: 'fwd', sql: 'SELECT payload.seq AS seq, node FROM "in/#"', actions: ['out'] }],
    });
    const producer = new Kafka({
      clientId: 'src-test',
      brokers: [bootstrap],
      logLevel: logLevel.NOTHING,
    }).producer();
    await producer.connect();
    const produce = async (from: number, to: number): Promise<void> => {
      for (let i = from; i < to; i += 100)
        await producer.send({
          topic: input,
          messages: Array.from({ length: Math.min(100, to - i) }, (_, k) => ({
            key: `dev${(i + k) % 17}`,
            value: JSON.stringify({ seq: i + k }),
            headers: { mqtt_topic: `in/dev${(i + k) % 17}` },
          })),
        });
    };
    const workers: Worker[] = await Promise.all(
      ['k1', 'k2', 'k3'].map((n) => startWorker(n, cfg(n))),
    );
    let restarted: Worker | undefined;
    try {
      await produce(0, 1000);
      await new Promise((r) => setTimeout(r, 1500));
      await produce(1000, 1500);
      await workers[1]!.kill(); // SIGKILL with records in flight
      await produce(1500, 2200);
      restarted = await startWorker('k2', cfg('k2'));
      await produce(2200, N);
      const got = await consumeAll(bootstrap, output, N, { timeoutMs: 90_000, quietMs: 3000 });
      const seen = new Map<number, number>();
      const byWorker: Record<string, number> = {};
      for (const r of got) {
        const seq = Number(r.value);
        seen.set(seq, (seen.get(seq) ?? 0) + 1);
        byWorker[r.key ?? '?'] = (byWorker[r.key ?? '?'] ?? 0) + 1;
      }
      const missing = Array.from({ length: N }, (_, i) => i).filter((i) => !seen.has(i));
      expect(missing).toEqual([]);
      console.log(
        `[source-kafka] ${N} records, ${got.length - N} duplicates; per worker ${JSON.stringify(byWorker)}`,
      );
      // The load split: the two survivors both worked, and the group of three shared it first.
      expect(byWorker['k1'] ?? 0).toBeGreaterThan(0);
      expect(byWorker['k3'] ?? 0).toBeGreaterThan(0);
      expect(byWorker['k2'] ?? 0).toBeGreaterThan(0);
      const m = await restarted.metrics();
      console.log(`[source-kafka] restarted k2 source metrics ${JSON.stringify(m.source)}`);
      for (const w of [workers[0]!, workers[2]!, restarted]) expect(await w.stop()).toBe(0);
    } finally {
      for (const w of workers) await w.kill();
      await restarted?.kill();
      await producer.disconnect();
    }
  }, 240_000);
});
