/**
 * Decision 0019 rests on two facts about kafkajs 2.2.4's idempotent producer; if a kafkajs
 * upgrade changes either, revisit the decision (more than one batch in flight per partition).
 */
import './kafkajs-patch.js'; // must run before kafkajs loads
import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';

const { Kafka, logLevel } = kafkajs;

describe('kafkajs idempotent producer (decision 0019)', () => {
  it('refuses to run without its own retries (the runner owns retry: retries 0)', () => {
    const kafka = new Kafka({ brokers: ['127.0.0.1:1'], logLevel: logLevel.NOTHING });
    expect(() => kafka.producer({ idempotent: true, retry: { retries: 0 } })).toThrow(
      /Idempotent producer must allow retries/,
    );
    // The sink's own configuration is accepted.
    expect(() => kafka.producer({ retry: { retries: 0 } })).not.toThrow();
  });
});
