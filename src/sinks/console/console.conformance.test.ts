/** The shared sink conformance suite against the console sink writing to a collecting stream. */
import { runSinkConformance } from '../../../test/integration/sink-conformance.js';
import { createConsoleSink } from './index.js';

runSinkConformance('console', async () => {
  let text = '';
  const stream = {
    write(chunk: string, cb: (err?: Error | null) => void) {
      text += chunk;
      setImmediate(() => cb());
      return true;
    },
  };
  return {
    sink: createConsoleSink({}, stream),
    readIds: async () =>
      text
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => (JSON.parse(l) as { id: number }).id),
    dropConnection: async () => {}, // nothing to drop: stdout has no connection
    cleanup: async () => {},
  };
});
