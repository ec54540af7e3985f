/**
 * Creating a large rule through the parse worker (decision 0022) against the synchronous path,
 * in one process: the request's wall time and the longest event-loop turn while it runs
 * (`monitorEventLoopDelay`, 1 ms resolution). Rule size limits are off so that a 5,000-branch
 * CASE is really created. The tsc build, as `sluice run` runs it:
 *
 *   npm run build && node --expose-gc --import tsx bench/abuse/parse-off-thread.ts
 *
 * All asynchronous creates first, then the synchronous ones, with a gc() before each, so the
 * garbage of one (a 5,000-branch parse allocates ~300 MB) is not collected inside the next.
 */
import { loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';

import type * as CoreModule from '../../src/core/index.js';
import type * as EngineModule from '../../src/engine/index.js';

const dist = new URL('../../dist/', import.meta.url).href;
const { createEngine } = (await import(`${dist}engine/index.js`)) as typeof EngineModule;
const { silentLogger } = (await import(`${dist}core/index.js`)) as typeof CoreModule;

const engine = createEngine(
  {
    broker: { listeners: { tcp: { type: 'tcp', bind: '127.0.0.1', port: 0 } } },
    api: { enabled: false },
    rule_limits: { max_sql_bytes: 0, max_sql_tokens: 0 },
    sinks: { sink: { type: 'memory' } },
    rules: [],
  },
  { logger: silentLogger },
);
await engine.start();
await new Promise((r) => setTimeout(r, 500)); // the start's own work done

const caseSql = (n: number) =>
  `SELECT CASE ${Array.from({ length: n }, (_, i) => `WHEN payload.v = ${i} THEN 'b${i}'`).join(' ')} ELSE 'none' END AS c FROM "abuse/case"`;

async function turns(
  f: () => Promise<unknown> | unknown,
): Promise<{ ms: number; longest: number }> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const t0 = performance.now();
  await f();
  const ms = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 5)); // let the histogram see the last turn
  h.disable();
  return { ms, longest: h.max / 1e6 };
}

console.log(
  `load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
console.log('| rule | addRuleAsync: request ms | longest turn ms | addRule (sync) ms |');
console.log('| --- | ---: | ---: | ---: |');
let k = 0;
for (const n of [480, 480, 480, 5000, 5000]) {
  k++;
  const sql = caseSql(n);
  const a = await turns(() => engine.addRuleAsync({ id: `a${k}`, sql, actions: ['sink'] }));
  const s = await turns(() => engine.addRule({ id: `s${k}`, sql, actions: ['sink'] }));
  console.log(
    `| ${n} branches (#${k}) | ${a.ms.toFixed(0)} | ${a.longest.toFixed(1)} | ${s.ms.toFixed(0)} |`,
  );
}
console.log(
  `load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
await engine.stop();
