/** Error codes of the trace recorder (registry.ts); the API maps them to HTTP statuses. */
import { defineErrors } from '../../core/index.js';

export const TraceErrors = defineErrors('runtime.trace', {
  trace_invalid: {
    description:
      'HTTP 400 from `POST /api/v5/traces`: the filter or a bound is invalid (an empty filter, a bad MQTT topic filter, `duration_s` outside 1–3600, `max_messages` outside 1–100000, an unknown field).',
    retriable: false,
  },
  trace_not_found: {
    description: 'HTTP 404: no trace with that id (deleted, or evicted after it stopped).',
    retriable: false,
  },
  trace_limit_reached: {
    description:
      'HTTP 409: the number of running traces is at its cap (8); stop or delete one first.',
    retriable: false,
  },
});
