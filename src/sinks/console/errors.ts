/** Codes of the console sink (CONVENTIONS.md #7). */
import { defineErrors } from '../../core/index.js';

export const ConsoleErrors = defineErrors('sinks', {
  console_write_failed: {
    description:
      'The console sink could not write to its output stream (closed pipe, stream error); the batch is counted as failed.',
    retriable: false,
  },
});
