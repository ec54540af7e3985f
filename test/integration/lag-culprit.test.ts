/**
 * Event-loop lag with a culprit (issue #19 item 3), through a real engine: a rule that hashes
 * sixteen 10 MB strings built from the payload holds the main thread for a few hundred ms on
 * its message (pure CPU work cannot be interrupted; jq no longer blocks at all). With
 * rule_limits.lag_warn below that, the engine logs one `event_loop_lag` warning that names
 * that rule, not the busy but cheap rule next to it.
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
          id: 'hashing',
          sql: `SELECT sha256(pad(payload.s, payload.n + 0)) AS h0, sha256(pad(payload.s, payload.n + 1)) AS h1, sha256(pad(payload.s, payload.n + 2)) AS h2, sha256(pad(payload.s, payload.n + 3)) AS h3, sha256(pad(payload.s, payload.n + 4)) AS h4, sha256(pad(payload.s, payload.n + 5)) AS h5, sha256(pad(payload.s, payload.n + 6)) AS h6, sha256(pad(payload.s, payload.n + 7)) AS h7, sha256(pad(payload.s, payload.n + 8)) AS h8, sha256(pad(payload.s, payload.n + 9)) AS h9, sha256(pad(payload.s, payload.n + 10)) AS h10, sha256(pad(payload.s, payload.n + 11)) AS h11, sha256(pad(payload.s, payload.n + 12)) AS h12, sha256(pad(payload.s, payload.n + 13)) AS h13, sha256(pad(payload.s, payload.n + 14)) AS h14, sha256(pad(payload.s, payload.n + 15)) AS h15 FROM "slow/#"`,
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
      await c.publishAsync('slow/x', '{"s":"x","n":10000000}', { qos: 1 });
      const t0 = Date.now();
      while (!warns.some((w) => w['code'] === 'event_loop_lag') && Date.now() - t0 < 10_000)
        await new Promise((r) => setTimeout(r, 50));
    } finally {
      await c.endAsync();
    }
    const w = warns.find((x) => x['code'] === 'event_loop_lag');
    expect(w).toBeDefined();
    expect(w).toMatchObject({ rule: 'hashing' });
    expect((w!['culprit'] as { ms: number }).ms).toBeGreaterThanOrEqual(150);
    expect(w!['lag_ms'] as number).toBeGreaterThan(150);
  });
});
