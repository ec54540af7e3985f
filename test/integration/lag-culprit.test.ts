/**
 * Event-loop lag with a culprit (issue #19 item 3), through a real engine: a rule whose jq
 * program loops holds the main thread for its evaluation budget on every message (jq waits in
 * a worker behind Atomics.wait, up to the budget). With rule_limits.lag_warn below the budget,
 * the engine logs one `event_loop_lag` warning that names that rule, not the busy but cheap
 * rule next to it.
 */
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { silentLogger, type Logger } from '../../src/core/index.js';
import { createEngine, type Engine } from '../../src/engine/index.js';

const warns: Record<string, unknown>[] = [];
const logger: Logger = {
  ...silentLogger,
  warn: (obj) => warns.push(obj as Record<string, unknown>),
  child: () => logger,
};

let engine: Engine;
let port = 0;
beforeAll(async () => {
  engine = createEngine(
    {
      broker: { listeners: { tcp: { type: 'tcp', bind: '127.0.0.1', port: 0 } } },
      sinks: { out: { type: 'memory', linger: 0 } },
      rule_limits: { eval_budget: '300ms', suspend_after: 0, lag_warn: '150ms' },
      rules: [
        {
          id: 'looping_jq',
          sql: `SELECT jq('def f: f; f', payload) AS x FROM "jq/#"`,
          actions: ['out'],
        },
        { id: 'cheap', sql: 'SELECT payload FROM "#"', actions: ['out'] },
      ],
    },
    { logger },
  );
  const [addr] = await engine.start();
  port = addr!.port;
});
afterAll(async () => {
  await engine.stop({ drainMs: 100 });
});

describe('event-loop lag warning', () => {
  it('names the rule whose evaluations held the loop', async () => {
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
    try {
      for (let i = 0; i < 50; i++) await c.publishAsync(`cheap/${i}`, '{"a":1}', { qos: 1 });
      await c.publishAsync('jq/x', '{"a":1}', { qos: 1 });
      const t0 = Date.now();
      while (!warns.some((w) => w['code'] === 'event_loop_lag') && Date.now() - t0 < 10_000)
        await new Promise((r) => setTimeout(r, 50));
    } finally {
      await c.endAsync();
    }
    const w = warns.find((x) => x['code'] === 'event_loop_lag');
    expect(w).toBeDefined();
    expect(w).toMatchObject({ rule: 'looping_jq' });
    expect((w!['culprit'] as { ms: number }).ms).toBeGreaterThanOrEqual(150);
    expect(w!['lag_ms'] as number).toBeGreaterThan(150);
  });
});
