/** The shared sink conformance suite, proven against the in-memory sink. */
import { runSinkConformance } from '../../../test/integration/sink-conformance.js';
import { createMemorySink } from './index.js';

runSinkConformance('memory', async () => {
  const sink = createMemorySink({ delay: 1 });
  return {
    sink,
    readIds: async () => sink.records.map((r) => r.data['id'] as number),
    dropConnection: async () => sink.disconnect(),
    cleanup: async () => {},
  };
});
