/** Codes the engine itself logs (sink threads). */
import { defineErrors } from '../core/index.js';

export const EngineErrors = defineErrors('engine', {
  sink_thread_exit: {
    description:
      'A sink thread (thread: worker) ended unexpectedly. Its sink reports status failed; the records it held are counted as dropped thread_exit. Restart Sluice (or reload the sink) to start it again.',
    retriable: false,
  },
  thread_exit: {
    description:
      'Drop reason: the record was in a sink thread (or on its way to it) when the thread ended unexpectedly.',
    retriable: false,
  },
  sink_thread_unsupported: {
    description:
      'thread: worker was set on a sink type that cannot leave the main thread (republish publishes into the broker, memory is read back through engine.sink(), and sink types supplied by an embedding program are not loadable in a thread); the sink runs on the main thread.',
    retriable: false,
  },
});
