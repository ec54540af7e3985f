/** Codes of the in-memory test sink (CONVENTIONS.md #7). */
import { defineErrors } from '../../core/index.js';

export const MemoryErrors = defineErrors('sinks', {
  memory_injected_failure: {
    description:
      'A failure injected into the in-memory test sink (failNext/failConnect); retriable unless the test asked otherwise.',
    retriable: true,
  },
});
