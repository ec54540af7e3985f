/**
 * Isolation (issue #19): a rule whose jq program loops costs its evaluation budget, not jq's
 * 10 s timeout, so an unrelated client's messages keep flowing; repeated, the rule is
 * suspended (circuit breaker) and says why over the API's rule list; enabling resumes it.
 */
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { silentLogger } from '../../src/core/index.js';
import { createEngine } from '../../src/engine/index.js';
import type { Engine } from '../../src/engine/index.js';
import type { MemorySink } from '../../src/sinks/memory/index.js';

let engine: Engine;
let port = 0;
beforeAll(async () => {
  engine = createEngine(
    {
      broker: { listeners: { tcp: { type: 'tcp', bind: '127.0.0.1', port: 0 } } },
      sinks: { loop: { type: 'memory', linger: 0 }, probe: { type: 'memory', linger: 0 } },
      rule_limits: { eval_budget: '100ms', suspend_after: 3, suspend_window: '1m' },
      rules: [
        {
          id: 'looping_jq',
          sql: `SELECT jq('def f: f; f', payload) AS x FROM "jq/#"`,
          actions: ['loop'],
        },
        { id: 'probe', sql: 'SELECT payload FROM "probe/#"', actions: ['probe'] },
      ],
    },
    { logger: silentLogger },
  );
  const [addr] = await engine.start();
  port = addr!.port;
});
afterAll(async () => {
  await engine.stop({ drainMs: 100 });
});

async function waitFor(cond: () => boolean, ms: number): Promise<number> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
  return Date.now() - t0;
}

describe('rule evaluation budget', () => {
  it('a looping jq costs the budget, an unrelated QoS 1 round trip stays fast, and the rule is suspended after 3', async () => {
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
    try {
      // The worker was started when the rule was created; the first call waits for it at
      // most the budget, then loops (a strike).
      await c.publishAsync('jq/warm', '1', { qos: 1 });
      await waitFor(() => engine.metrics().rules['looping_jq']!.matched === 1, 30_000);
      const probe = engine.sink('probe') as MemorySink;
      const suspended = (): boolean =>
        engine.rules().find((r) => r.id === 'looping_jq')!.enabled === false;
      const times: number[] = [];
      // A message that finds the replacement worker still loading fails at once (no strike),
      // so keep sending until the breaker trips.
      for (let i = 0; i < 60 && !suspended(); i++) {
        const t0 = Date.now();
        await c.publishAsync('jq/x', '{"a":1}', { qos: 1 });
        await c.publishAsync(`probe/${i}`, 'hi', { qos: 1 });
        await waitFor(() => probe.records.length === i + 1, 10_000);
        times.push(Date.now() - t0);
        await new Promise((r) => setTimeout(r, 100));
      }
      // Before the budget: each looping message stalled everyone for jq's 10 s timeout.
      for (const t of times) expect(t).toBeLessThan(1_000);
      const m = engine.metrics().rules['looping_jq']!;
      expect(m['failed.exception']).toBeGreaterThanOrEqual(3);
      await waitFor(suspended, 2_000);
      const info = engine.rules().find((r) => r.id === 'looping_jq')!;
      expect(info.suspended?.reason).toMatch(/rule_suspended/);
      await c.publishAsync('jq/y', '{}', { qos: 1 });
      await c.publishAsync('probe/after', 'hi', { qos: 1 });
      await waitFor(() => probe.records.length === times.length + 1, 5_000);
      expect(engine.metrics().rules['looping_jq']!.matched).toBe(m.matched); // suspended: not run
      engine.enableRule('looping_jq');
      expect(engine.rules().find((r) => r.id === 'looping_jq')!.suspended).toBeUndefined();
      expect((engine.sink('loop') as MemorySink).records).toHaveLength(0);
    } finally {
      await c.endAsync();
    }
  });
});
