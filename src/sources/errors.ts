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
  source_ack_forced: {
    description:
      'A message was acknowledged (PUBACK / offset commit) after `ack_timeout` although a record it produced was not yet acknowledged by its sink (logged as a warning, counted in the source metrics).',
    retriable: false,
  },
});
