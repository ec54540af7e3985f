/** Codes of the republish sink (CONVENTIONS.md #7). */
import { defineErrors } from '../../core/index.js';

export const RepublishErrors = defineErrors('sinks', {
  republish_invalid_config: {
    description:
      'A republish setting cannot work (qos not 0/1/2 or a template, retain not a boolean or a template, user_properties not a ${…} placeholder).',
    retriable: false,
  },
  republish_invalid_topic: {
    description:
      'The rendered republish topic is empty or contains the wildcards + or # (or NUL); the record is rejected.',
    retriable: false,
  },
  republish_invalid_qos: {
    description: 'The rendered republish QoS is not 0, 1 or 2; the record is rejected.',
    retriable: false,
  },
  republish_invalid_retain: {
    description: 'The rendered republish retain flag is not true or false; the record is rejected.',
    retriable: false,
  },
  republish_publish_failed: {
    description: 'The broker refused the republished message; the record is rejected.',
    retriable: false,
  },
  republish_loop_detected: {
    description:
      'The record was triggered by a message this same rule republished; it is not republished again (EMQX recursive_republish_detected).',
    retriable: false,
  },
});
