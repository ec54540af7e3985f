/**
 * Child process of memory-reclaim.test.ts (decision 0023):
 *   node --import tsx test/integration/memory-reclaim-child.ts on|off <watch ms>
 * Starts an engine (memory_reclaim enabled or not), has memory-reclaim-flooder.ts flood it with
 * 100,000 subscriptions on one connection (100 raw SUBSCRIBEs of 1,000 filters, as
 * bench/abuse/abuse.ts subs_100k), closes that connection, then samples RSS every 250 ms: with `on` until a reclaim is done and RSS is under 1.3 × the pre-flood RSS, or
 * `<watch ms>` passed, with `off` for `<watch ms>`. Prints one JSON line with the figures.
 */
import { fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { silentLogger } from '../../src/core/index.js';
import { createEngine } from '../../src/engine/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const [mode = 'on', watchArg = '20000'] = process.argv.slice(2);
const watchMs = Number(watchArg);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rss = () => process.memoryUsage.rss();

const engine = createEngine(
  {
    broker: {
      listeners: {
        tcp: { type: 'tcp', bind: '127.0.0.1', port: 0, max_subscriptions: 100_000 },
      },
    },
    api: { enabled: false },
    alarms: { enabled: false },
    memory_reclaim: { enabled: mode === 'on' },
    sinks: { sink: { type: 'memory', linger: 0 } },
    rules: [{ id: 'r', sql: 'SELECT payload FROM "probe/in"', actions: ['sink'] }],
  },
  { logger: silentLogger },
);
const [addr] = await engine.start();
await sleep(1500);
const before = rss();

// The flooder is its own process (as the abuse suite's attacker): see memory-reclaim-flooder.ts.
const flooder = fork(join(here, 'memory-reclaim-flooder.ts'), [String(addr!.port)], {
  execArgv: ['--import', 'tsx'],
});
const { granted } = await new Promise<{ granted: number }>((r) =>
  flooder.once('message', (m) => r(m as { granted: number })),
);
const peak = rss();
flooder.send('close');
await new Promise((r) => flooder.once('exit', r));
const closedAt = Date.now();
let after = rss();
let maxAfter = after;
while (Date.now() - closedAt < watchMs) {
  await sleep(250);
  after = rss();
  maxAfter = Math.max(maxAfter, after);
  if (mode === 'on' && after < 1.3 * before && engine.memoryReclaim.metrics().reclaims.done > 0)
    break;
}
const m = engine.memoryReclaim.metrics();
await engine.stop({ drainMs: 10 });
process.stdout.write(
  JSON.stringify({
    mode,
    granted,
    before,
    peak,
    maxAfter,
    after,
    elapsedMs: Date.now() - closedAt,
    reclaims: m.reclaims,
    reclaimedBytes: m.reclaimedBytes,
    lastPauseMs: m.lastPauseMs,
  }) + '\n',
);
process.exit(0);
