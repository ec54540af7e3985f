/**
 * Sluice under test for the fault suite (bench/faults/faults.ts), as a child process so it can
 * be SIGKILLed mid-stream and started again on the same buffer directory:
 *
 *   node --import tsx bench/faults/sluice-child.ts <config.json>
 *
 * Prints `READY <mqtt port>` once listening, then every 100 ms one line
 * `M {"t": ms since the epoch, "rss": bytes, "in": broker messages_in, "sink": {…metrics}}`.
 * SIGTERM drains (5 s) and exits.
 */
import { readFileSync } from 'node:fs';

import { silentLogger } from '../../src/core/index.js';
import { createEngine } from '../../src/engine/index.js';

const config = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as Parameters<
  typeof createEngine
>[0];
const engine = createEngine(config, { logger: silentLogger });
const [addr] = await engine.start();
process.stdout.write(`READY ${addr!.port}\n`);
const report = (): void => {
  const m = engine.metrics();
  process.stdout.write(
    `M ${JSON.stringify({ t: Date.now(), rss: process.memoryUsage().rss, in: m.broker.messages_in, sink: m.sinks['out'] })}\n`,
  );
};
const timer = setInterval(report, 100);
process.on('SIGTERM', () => {
  clearInterval(timer);
  void engine.stop({ drainMs: 5000 }).then(() => {
    report();
    process.exit(0);
  });
});
