import { describe, expect, it } from 'vitest';

import { silentLogger } from '../core/index.js';
import type { Logger } from '../core/index.js';
import { createAlarmMonitor, createAlarms } from './alarm-monitor.js';
import type { AlarmsSettings, MemorySample, MonitoredSink } from './alarm-monitor.js';
import { alarmEvent, createAlarmRegistry } from './alarms.js';
import type { AlarmChange } from './alarms.js';

const SETTINGS: AlarmsSettings = {
  enabled: true,
  check_interval: 1000,
  sysmem_high_watermark: 0.7,
  procmem_high_watermark: 0.5,
  buffer_high_watermark: 0.8,
  size_limit: 3,
  validity_period: 60_000,
};

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('alarm registry (EMQX emqx_alarm semantics)', () => {
  it('activates once, deactivates once, keeps a history and tells listeners in order', () => {
    const c = clock();
    const reg = createAlarmRegistry(
      { now: c.now, logger: silentLogger },
      { sizeLimit: 3, validityPeriod: 60_000 },
    );
    const seen: string[] = [];
    reg.onChange((ch) => seen.push(`${ch.kind}:${ch.alarm.name}`));
    expect(reg.activate('a', { x: 1 }, 'A is up')).toBe(true);
    expect(reg.activate('a', { x: 2 }, 'again')).toBe(false); // not generated repeatedly
    expect(reg.active()).toEqual([
      { name: 'a', message: 'A is up', details: { x: 1 }, activatedAt: 1_000_000 },
    ]);
    c.advance(500);
    expect(reg.deactivate('a', { x: 3 })).toBe(true);
    expect(reg.deactivate('a')).toBe(false);
    expect(reg.isActive('a')).toBe(false);
    expect(reg.history()).toEqual([
      {
        name: 'a',
        message: 'A is up',
        details: { x: 3 },
        activatedAt: 1_000_000,
        deactivatedAt: 1_000_500,
      },
    ]);
    expect(seen).toEqual(['activated:a', 'deactivated:a']);
    expect(reg.counts()).toEqual({ activated: 1, deactivated: 1 });
  });

  it('bounds the history by size_limit and validity_period; clearHistory empties it', () => {
    const c = clock();
    const reg = createAlarmRegistry(
      { now: c.now, logger: silentLogger },
      { sizeLimit: 2, validityPeriod: 10_000 },
    );
    for (const n of ['a', 'b', 'c']) {
      reg.activate(n, {}, n);
      c.advance(1);
      reg.deactivate(n);
    }
    expect(reg.history().map((a) => a.name)).toEqual(['c', 'b']);
    c.advance(10_000);
    expect(reg.history()).toEqual([]);
    reg.activate('d', {}, 'd');
    reg.deactivate('d');
    expect(reg.clearHistory()).toBe(1);
    expect(reg.history()).toEqual([]);
  });

  it('logs activation at warn with the alarm_activated code; a throwing listener is contained', () => {
    const lines: [string, Record<string, unknown>][] = [];
    const logger = {
      ...silentLogger,
      warn: (o: Record<string, unknown>) => lines.push(['warn', o]),
      error: (o: Record<string, unknown>) => lines.push(['error', o]),
      child: () => logger,
    } as unknown as Logger;
    const reg = createAlarmRegistry({ now: () => 1, logger }, { sizeLimit: 1, validityPeriod: 1 });
    reg.onChange(() => {
      throw new Error('boom');
    });
    expect(reg.activate('x', { a: 1 }, 'msg')).toBe(true);
    expect(lines.map(([l, o]) => [l, o['code'], o['alarm']])).toEqual([
      ['warn', 'alarm_activated', 'x'],
      ['error', 'alarm_listener_failed', 'x'],
    ]);
  });

  it('alarmEvent carries EMQX 5.8.5 columns on the $events/sys topics', () => {
    const change: AlarmChange = {
      kind: 'deactivated',
      alarm: { name: 'n', message: 'm', details: { k: 'v' }, activatedAt: 10, deactivatedAt: 20 },
    };
    expect(alarmEvent(change, 'sluice@h', 30)).toEqual({
      name: 'alarm.deactivated',
      matchTopic: '$events/sys/alarm_deactivated',
      columns: {
        event: 'alarm.deactivated',
        name: 'n',
        details: { k: 'v' },
        message: 'm',
        activated_at: 10,
        deactivated_at: 20,
        timestamp: 30,
        node: 'sluice@h',
      },
    });
    const on = alarmEvent({ kind: 'activated', alarm: change.alarm }, 'x', 1);
    expect(on.matchTopic).toBe('$events/sys/alarm_activated');
    expect(on.columns).not.toHaveProperty('deactivated_at');
  });
});

interface FakeSink extends MonitoredSink {
  state: { status: string; lastError?: { code: string; message: string }; queued: number };
}
function fakeSink(name: string, maxRecords = 100): FakeSink {
  const state: FakeSink['state'] = { status: 'connecting', queued: 0 };
  return { name, type: 'kafka', maxRecords, state, metrics: () => state };
}

describe('alarm monitor conditions', () => {
  function setup(mem: MemorySample = { rss: 10, total: 100, free: 90 }) {
    const reg = createAlarmRegistry(
      { now: () => 5, logger: silentLogger },
      { sizeLimit: 10, validityPeriod: 1e9 },
    );
    const sink = fakeSink('k');
    const memory = { ...mem };
    const monitor = createAlarmMonitor(
      { registry: reg, sinks: () => [sink], memory: () => memory },
      SETTINGS,
    );
    const names = () => reg.active().map((a) => a.name);
    return { reg, sink, memory, monitor, names };
  }

  it('a first connect in progress is not an alarm; a failed connect is resource_down until connected', () => {
    const { reg, sink, monitor, names } = setup();
    monitor.check();
    expect(names()).toEqual([]);
    sink.state.lastError = { code: 'kafka_connect_failed', message: 'refused' };
    monitor.check();
    expect(names()).toEqual(['sink:kafka:k']);
    expect(reg.active()[0]).toMatchObject({
      message: 'resource down: sink:kafka:k',
      details: {
        resource_id: 'sink:kafka:k',
        reason: 'resource_down',
        status: 'connecting',
        error: 'kafka_connect_failed',
      },
    });
    sink.state.status = 'connected';
    monitor.check();
    expect(names()).toEqual([]);
    expect(reg.history().map((a) => a.name)).toEqual(['sink:kafka:k']);
    sink.state.status = 'failed';
    monitor.check();
    expect(names()).toEqual(['sink:kafka:k']);
  });

  it('stalled raises sink_stalled (the connection counts as up); progress clears it', () => {
    const { sink, monitor, names } = setup();
    sink.state.status = 'stalled';
    monitor.check();
    expect(names()).toEqual(['sink_stalled/k']);
    sink.state.status = 'connected';
    monitor.check();
    expect(names()).toEqual([]);
  });

  it('buffer over the high watermark raises; it clears only at half of it (hysteresis)', () => {
    const { reg, sink, monitor, names } = setup();
    sink.state.status = 'connected';
    sink.state.queued = 80; // = 0.8 × 100: not over
    monitor.check();
    expect(names()).toEqual([]);
    sink.state.queued = 81;
    monitor.check();
    expect(names()).toEqual(['sink_buffer_high_watermark/k']);
    expect(reg.active()[0]?.details).toMatchObject({ queued: 81, max_records: 100 });
    sink.state.queued = 41;
    monitor.check();
    expect(names()).toEqual(['sink_buffer_high_watermark/k']);
    sink.state.queued = 40;
    monitor.check();
    expect(names()).toEqual([]);
  });

  it('memory watermarks raise EMQX high_system_memory_usage / high_process_memory_usage', () => {
    const { reg, sink, memory, monitor, names } = setup();
    sink.state.status = 'connected';
    memory.free = 20; // 80% used > 70%
    monitor.check();
    expect(names()).toEqual(['high_system_memory_usage']);
    expect(reg.active()[0]).toMatchObject({
      message: 'System memory usage is higher than 70%',
      details: { high_watermark: 70, usage: 80 },
    });
    memory.rss = 60; // 60% of system memory > 50%
    monitor.check();
    expect(names()).toEqual(['high_system_memory_usage', 'high_process_memory_usage']);
    memory.free = 90;
    memory.rss = 10;
    monitor.check();
    expect(names()).toEqual([]);
  });

  it('the alarms producer pushes only the event names the rules listen for', () => {
    const sink = fakeSink('s');
    const memory = { rss: 1, total: 100, free: 90 };
    const a = createAlarms(
      { logger: silentLogger, now: () => 7, node: 'n', sinks: () => [sink], memory: () => memory },
      SETTINGS,
    );
    const pushed: string[] = [];
    const off = a.producer.listen(
      (e) => pushed.push(`${e.name} ${String(e.columns['name'])}`),
      ['alarm.deactivated'],
    );
    memory.free = 0;
    a.monitor.check();
    memory.free = 90;
    a.monitor.check();
    off();
    memory.free = 0;
    a.monitor.check();
    expect(pushed).toEqual(['alarm.deactivated high_system_memory_usage']);
  });
});
