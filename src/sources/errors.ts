/** Coded errors of the event sources (CONVENTIONS.md #7; listed in docs/errors.md). */
import { defineErrors } from '../core/index.js';

export const SourceErrors = defineErrors('sources', {
  source_connect_failed: {
    description:
      'A source could not connect to its broker (MQTT) or cluster (Kafka); it keeps retrying with backoff.',
    retriable: true,
  },
  source_subscribe_failed: {
    description:
      'The MQTT broker refused a subscription of the mqtt source (SUBACK failure code, e.g. shared subscriptions not allowed or not authorised).',
    retriable: true,
  },
  source_not_connected: {
    description:
      'A publish through the mqtt source (republish in mqtt source mode) found the client disconnected; the sink runner retries it.',
    retriable: true,
  },
  source_publish_failed: {
    description:
      'The source broker refused a publish (MQTT 5 PUBACK reason code >= 0x80) or the publish failed for another reason.',
    retriable: true,
  },
  source_commit_failed: {
    description:
      'The kafka source could not commit consumer offsets; it retries at the next commit_interval (records after the last commit may be read again after a restart: duplicates, not losses).',
    retriable: true,
  },
  source_consumer_crashed: {
    description:
      'The kafka source consumer crashed (kafkajs CRASH event); kafkajs restarts it when the error is retriable, otherwise the source stops taking records.',
    retriable: false,
  },
  source_stop_failed: {
    description:
      'Stopping the source (disconnecting from the broker or leaving the consumer group) failed at shutdown.',
    retriable: false,
  },
  source_ack_forced: {
    description:
      'A message was acknowledged (PUBACK / offset commit) after `ack_timeout` although a record it produced was not yet acknowledged by its sink (logged as a warning, counted in the source metrics).',
    retriable: false,
  },
});
