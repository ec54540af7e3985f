/**
 * Isolation (issue #19): a rule whose jq program loops costs its own jq worker, never the event
 * loop: while the program runs (until its timeout), an unrelated client's messages keep
 * flowing through other rules; each timeout is a strike, and repeated, the rule is suspended
 * (circuit breaker) and says why over the API's rule list; enabling resumes it.
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
      sinks: {
        loop: { type: 'memory', linger: 0 },
        probe: { type: 'memory', linger: 0 },
        quick: { type: 'memory', linger: 0 },
      },
      rule_limits: { eval_budget: '100ms', suspend_after: 3, suspend_window: '1m' },
      rules: [
        {
          id: 'looping_jq',
          sql: `SELECT jq('def f: f; f', payload, 1500) AS x FROM "jq/#"`,
          actions: ['loop'],
        },
        { id: 'probe', sql: 'SELECT payload FROM "probe/#"', actions: ['probe'] },
        {
          id: 'quick_jq',
          sql: `SELECT jq('.a * 2', payload) AS x FROM "jqq/#"`,
          actions: ['quick'],
        },
        // Loops for longer than the test below takes even on a loaded machine; the engine's stop
        // ends it.
        {
          id: 'long_jq',
          sql: `SELECT jq('def f: f; f', payload, 60000) AS x FROM "jqlong/#"`,
          actions: ['loop'],
        },
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
  it('a looping jq runs in its worker while other rules go on; three timeouts suspend the rule', async () => {
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
    try {
      const probe = engine.sink('probe') as MemorySink;
      const jqRule = () => engine.metrics().rules['looping_jq']!;
      const suspended = (): boolean =>
        engine.rules().find((r) => r.id === 'looping_jq')!.enabled === false;
      for (let i = 0; i < 3; i++) {
        await c.publishAsync(`jq/${i}`, '{"a":1}', { qos: 1 });
        // While the looping program runs (1.5 s), other rules are served: the probe's output
        // arrives before the jq rule has finished (counted) this message.
        for (let k = 0; k < 5; k++) {
          await c.publishAsync(`probe/${i}/${k}`, 'hi', { qos: 1 });
          await waitFor(() => probe.records.length === i * 5 + k + 1, 10_000);
          expect(jqRule().matched).toBe(i);
        }
        await waitFor(() => jqRule().matched === i + 1, 30_000);
      }
      const m = jqRule();
      expect(m['failed.exception']).toBe(3);
      await waitFor(suspended, 2_000);
      const info = engine.rules().find((r) => r.id === 'looping_jq')!;
      expect(info.suspended?.reason).toMatch(/rule_suspended/);
      await c.publishAsync('jq/y', '{}', { qos: 1 });
      await c.publishAsync('probe/after', 'hi', { qos: 1 });
      await waitFor(() => probe.records.length === 16, 5_000);
      expect(jqRule().matched).toBe(m.matched); // suspended: not run
      engine.enableRule('looping_jq');
      expect(engine.rules().find((r) => r.id === 'looping_jq')!.suspended).toBeUndefined();
      expect((engine.sink('loop') as MemorySink).records).toHaveLength(0);
    } finally {
      await c.endAsync();
    }
  });

  it("another rule's jq programs are not held up while a looping one runs (a spare jq worker)", async () => {
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
    try {
      const quick = engine.sink('quick') as MemorySink;
      expect(engine.rules().find((r) => r.id === 'long_jq')?.enabled).toBe(true);
      // Counted when its evaluation ends (the metrics list a rule from its first count on).
      const longMatched = () => engine.metrics().rules['long_jq']?.matched ?? 0;
      await c.publishAsync('jqlong/1', '{"a":1}', { qos: 1 });
      for (let k = 1; k <= 3; k++) {
        await c.publishAsync(`jqq/${k}`, JSON.stringify({ a: k }), { qos: 1 });
        await waitFor(() => quick.records.length === k, 20_000);
        expect(quick.records[k - 1]!.data['x']).toEqual([2 * k]);
        // The looping program (60 s timeout) is still running meanwhile.
        expect(longMatched()).toBe(0);
      }
    } finally {
      await c.endAsync();
    }
  });
});
