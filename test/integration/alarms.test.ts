/**
 * Alarms end to end (docs/alarms.md): a sink whose connects fail raises its resource_down
 * alarm, a rule on `$events/sys/alarm_activated` sees EMQX's columns, the alarm is listed by
 * `GET /api/v5/alarms?activated=true` and exported on /metrics; once the sink connects, the
 * deactivation fires `$events/sys/alarm_deactivated` and the alarm moves to `activated=false`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createApiServer } from '../../src/api/index.js';
import type { ApiServer } from '../../src/api/index.js';
import { silentLogger } from '../../src/core/index.js';
import { createEngine } from '../../src/engine/index.js';
import type { Engine } from '../../src/engine/index.js';
import type { MemorySink } from '../../src/sinks/memory/index.js';

async function waitFor(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('alarms through the engine, rules and the API', () => {
  let engine: Engine;
  let api: ApiServer;
  let base = '';

  beforeAll(async () => {
    engine = createEngine(
      {
        node: 'sluice@test',
        broker: { listeners: { tcp: { type: 'tcp', bind: '127.0.0.1', port: 0 } } },
        sinks: {
          // Connects fail until the test lets them through; retries are quick.
          remote: {
            type: 'memory',
            linger: 0,
            retry: { initial_backoff: 20, max_backoff: 50 },
          },
          seen: { type: 'memory', linger: 0 },
        },
        // Memory alarms are out of the way (watermark 1 is never exceeded).
        alarms: { check_interval: 60_000, sysmem_high_watermark: 1, procmem_high_watermark: 1 },
        rules: [
          {
            id: 'alarm_up',
            sql: 'SELECT event, name, message, details.reason AS reason, details.resource_id AS rid, activated_at FROM "$events/sys/alarm_activated"',
            actions: ['seen'],
          },
          {
            id: 'alarm_down',
            sql: 'SELECT event, name, activated_at, deactivated_at FROM "$events/sys/#" WHERE event = \'alarm.deactivated\'',
            actions: ['seen'],
          },
        ],
      },
      { logger: silentLogger, watch: false },
    );
    (engine.sink('remote') as MemorySink).failConnect(1_000_000);
    await engine.start();
    api = createApiServer({ engine, logger: silentLogger }, { bind: '127.0.0.1', port: 0 });
    base = (await api.start()).url;
  });

  afterAll(async () => {
    await api?.stop();
    await engine?.stop({ drainMs: 100 });
  });

  const seen = (): Record<string, unknown>[] =>
    (engine.sink('seen') as MemorySink).records.map((r) => r.data as Record<string, unknown>);

  it('a sink that cannot connect raises sink:<type>:<name> with EMQX columns', async () => {
    await waitFor(
      () => engine.metrics().sinks['remote']?.lastError !== undefined,
      'a failed connect',
    );
    engine.checkAlarms();
    await waitFor(() => seen().length === 1, 'the alarm event through the rule');
    const [ev] = seen();
    expect(ev).toMatchObject({
      event: 'alarm.activated',
      name: 'sink:memory:remote',
      message: 'resource down: sink:memory:remote',
      reason: 'resource_down',
      rid: 'sink:memory:remote',
    });
    expect(typeof ev?.['activated_at']).toBe('number');
    // Checking again changes nothing: an active alarm is not raised twice.
    engine.checkAlarms();
    expect(engine.alarms.active().map((a) => a.name)).toEqual(['sink:memory:remote']);
  });

  it('GET /api/v5/alarms lists it in EMQX shape; /metrics exports it', async () => {
    const res = await fetch(`${base}/api/v5/alarms?activated=true`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { data: Record<string, unknown>[]; meta: unknown };
    expect(body.meta).toEqual({ page: 1, limit: 100, count: 1, hasnext: false });
    expect(body.data[0]).toMatchObject({
      node: 'sluice@test',
      name: 'sink:memory:remote',
      activated: true,
      deactivate_at: 'infinity',
      details: { reason: 'resource_down', sink: 'remote' },
    });
    expect(String(body.data[0]?.['activate_at'])).toMatch(/^\d{4}-\d\d-\d\dT/);
    const none = (await (await fetch(`${base}/api/v5/alarms?activated=false`)).json()) as {
      data: unknown[];
    };
    expect(none.data).toEqual([]);
    expect((await fetch(`${base}/api/v5/alarms?activated=maybe`)).status).toBe(400);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('sluice_alarms_active 1');
    expect(metrics).toContain('sluice_alarm_active{name="sink:memory:remote"} 1');
  });

  it('the sink connecting clears the alarm: $events/sys/alarm_deactivated, activated=false', async () => {
    (engine.sink('remote') as MemorySink).failConnect(0);
    await waitFor(() => engine.metrics().sinks['remote']?.status === 'connected', 'a connect');
    engine.checkAlarms();
    await waitFor(() => seen().length === 2, 'the deactivation event');
    const down = seen()[1] as Record<string, unknown>;
    expect(down['event']).toBe('alarm.deactivated');
    expect(down['name']).toBe('sink:memory:remote');
    expect(down['deactivated_at'] as number).toBeGreaterThanOrEqual(down['activated_at'] as number);
    const off = (await (await fetch(`${base}/api/v5/alarms?activated=false`)).json()) as {
      data: Record<string, unknown>[];
    };
    expect(off.data.map((a) => [a['name'], a['activated']])).toEqual([
      ['sink:memory:remote', false],
    ]);
    expect((await fetch(`${base}/api/v5/alarms`, { method: 'DELETE' })).status).toBe(204);
    const cleared = (await (await fetch(`${base}/api/v5/alarms`)).json()) as { data: unknown[] };
    expect(cleared.data).toEqual([]);
  });
});

describe('stalled and buffer alarms from a real sink runner', () => {
  it('a held write raises sink_stalled and the buffer high watermark; releasing clears both', async () => {
    const engine = createEngine(
      {
        broker: { listeners: {} },
        sinks: {
          slow: {
            type: 'memory',
            linger: 0,
            batch_size: 1,
            max_inflight: 1,
            buffer: { max_records: 10 },
            health: { stall_after: 50 },
          },
        },
        alarms: { check_interval: 60_000, sysmem_high_watermark: 1, procmem_high_watermark: 1 },
        rules: [{ id: 'r', sql: 'SELECT payload FROM "t/#"', actions: ['slow'] }],
      },
      { logger: silentLogger, watch: false },
    );
    const sink = engine.sink('slow') as MemorySink;
    sink.hold();
    await engine.start();
    try {
      // One record in flight (held), nine queued: 9 > 0.8 × 10.
      for (let i = 0; i < 10; i++)
        await engine.broker.publish({ topic: 't/1', payload: String(i) });
      await waitFor(() => engine.metrics().sinks['slow']?.status === 'stalled', 'the stall');
      expect(engine.metrics().sinks['slow']?.queued).toBe(9);
      engine.checkAlarms();
      expect(engine.alarms.active().map((a) => a.name)).toEqual([
        'sink_stalled/slow',
        'sink_buffer_high_watermark/slow',
      ]);
      expect(engine.alarms.active()[1]?.details).toMatchObject({ queued: 9, max_records: 10 });
      sink.release();
      await waitFor(() => engine.metrics().sinks['slow']?.success === 10, 'the writes');
      engine.checkAlarms();
      expect(engine.alarms.active()).toEqual([]);
      expect(
        engine.alarms
          .history()
          .map((a) => a.name)
          .sort(),
      ).toEqual(['sink_buffer_high_watermark/slow', 'sink_stalled/slow']);
    } finally {
      sink.release();
      await engine.stop({ drainMs: 100 });
    }
  });
});
