/**
 * The shared sink conformance suite against the republish sink over an in-process publish port
 * (the real broker is wired in src/engine; its own tests cover the port).
 */
import { silentLogger } from '../../core/index.js';
import { runSinkConformance } from '../../../test/integration/sink-conformance.js';
import { sinkNotConnected } from '../runner/index.js';
import { createRepublishSink } from './index.js';
import type { RepublishMessage } from './index.js';

runSinkConformance('republish', async () => {
  const sent: RepublishMessage[] = [];
  let down = false;
  const sink = createRepublishSink(
    { logger: silentLogger, now: Date.now },
    { topic: 'conf/${run}', payload: '' },
    async (msg) => {
      if (down) {
        down = false; // the broker is back for the next attempt
        throw sinkNotConnected('broker not accepting publishes');
      }
      sent.push(msg);
    },
  );
  return {
    sink,
    readIds: async () => sent.map((m) => (JSON.parse(m.payload.toString()) as { id: number }).id),
    dropConnection: async () => {
      down = true;
    },
    cleanup: async () => {},
  };
});
