/**
 * What raises and clears alarms (docs/alarms.md): one check every `alarms.check_interval`
 * reads each sink runner's metrics and the process/system memory, and (de)activates
 * alarms in the registry (alarms.ts). Polling, not hooks: the sink runner stays unaware of
 * alarms, a threaded runner reports through the same `metrics()`, and a flapping condition
 * costs at most one change per interval.
 *
 * Conditions and names (EMQX's where one applies):
 *  - `sink:<type>:<name>` — the sink cannot reach its remote: status `failed`, or `connecting`
 *    after a connect attempt failed (EMQX's resource alarm: named by the resource id, details
 *    `{resource_id, reason: resource_down}`, message `resource down: <id>`). Cleared once it is
 *    connected again. Sink status changes reach rules this way: EMQX has no sink status event.
 *  - `sink_stalled/<name>` — connected, but no write acknowledged for `health.stall_after`.
 *  - `sink_buffer_high_watermark/<name>` — the buffer holds more than
 *    `buffer_high_watermark` × `buffer.max_records`; cleared at half of that.
 *  - `high_system_memory_usage`, `high_process_memory_usage` — EMQX os_mon's alarms, with the
 *    watermarks from config.
 */
import { freemem, totalmem } from 'node:os';

import type { EventProducer, Logger, ValueMap } from '../core/index.js';
import { alarmEvent, createAlarmRegistry } from './alarms.js';
import type { AlarmRegistry } from './alarms.js';

export interface AlarmsSettings {
  readonly enabled: boolean;
  readonly check_interval: number;
  readonly sysmem_high_watermark: number;
  readonly procmem_high_watermark: number;
  readonly buffer_high_watermark: number;
  readonly size_limit: number;
  readonly validity_period: number;
}

/** The facts of one sink the monitor reads (the runner's metrics and its buffer limit). */
export interface MonitoredSink {
  readonly name: string;
  readonly type: string;
  readonly maxRecords: number;
  metrics(): {
    readonly status: string;
    readonly lastError?: { readonly code: string; readonly message: string } | undefined;
    readonly queued: number;
  };
}

export interface MemorySample {
  /** Resident set of this process, bytes. */
  readonly rss: number;
  /** System memory, bytes. */
  readonly total: number;
  readonly free: number;
}

export const readMemory = (): MemorySample => ({
  rss: process.memoryUsage.rss(),
  total: totalmem(),
  free: freemem(),
});

export interface AlarmMonitor {
  /** Check every condition once now (the timer, GET /api/v5/alarms, tests); a no-op when disabled. */
  check(): void;
  /** Start the periodic check (unref'd timer); a no-op when `enabled` is false. */
  start(): void;
  stop(): void;
}

const pct = (x: number): number => Math.round(x * 10_000) / 100;

export function createAlarmMonitor(
  deps: {
    registry: AlarmRegistry;
    sinks: () => Iterable<MonitoredSink>;
    memory?: () => MemorySample;
    /** For a check that throws on the timer (logged, never an uncaught exception). */
    logger?: Logger;
  },
  config: AlarmsSettings,
): AlarmMonitor {
  const { registry } = deps;
  const memory = deps.memory ?? readMemory;
  let timer: ReturnType<typeof setInterval> | undefined;

  const set = (on: boolean, name: string, details: ValueMap, message: string): void => {
    if (on) registry.activate(name, details, message);
    else registry.deactivate(name, details);
  };

  function checkSink(s: MonitoredSink): void {
    const m = s.metrics();
    const id = `sink:${s.type}:${s.name}`;
    if (m.status === 'stopped' || m.status === 'draining') return; // shutting down: leave as is
    const down = m.status === 'failed' || (m.status === 'connecting' && m.lastError !== undefined);
    const up = m.status === 'connected' || m.status === 'stalled';
    if (down)
      registry.activate(
        id,
        {
          resource_id: id,
          sink: s.name,
          reason: 'resource_down',
          status: m.status,
          ...(m.lastError ? { error: m.lastError.code } : {}),
        },
        `resource down: ${id}`,
      );
    else if (up) registry.deactivate(id);

    const stalledName = `sink_stalled/${s.name}`;
    if (m.status === 'stalled')
      registry.activate(
        stalledName,
        { resource_id: id, sink: s.name, reason: 'sink_stalled' },
        `sink ${s.name} is connected but acknowledges no writes`,
      );
    else registry.deactivate(stalledName);

    const high = config.buffer_high_watermark * s.maxRecords;
    const bufName = `sink_buffer_high_watermark/${s.name}`;
    const details = {
      resource_id: id,
      sink: s.name,
      queued: m.queued,
      max_records: s.maxRecords,
      high_watermark: pct(config.buffer_high_watermark),
    };
    if (m.queued > high)
      registry.activate(
        bufName,
        details,
        `sink ${s.name} buffer is over ${pct(config.buffer_high_watermark)}% of max_records`,
      );
    else if (m.queued <= high / 2) registry.deactivate(bufName, details);
  }

  function checkMemory(): void {
    const mem = memory();
    if (!(mem.total > 0)) return;
    const sys = (mem.total - mem.free) / mem.total;
    set(
      sys > config.sysmem_high_watermark,
      'high_system_memory_usage',
      { high_watermark: pct(config.sysmem_high_watermark), usage: pct(sys) },
      `System memory usage is higher than ${pct(config.sysmem_high_watermark)}%`,
    );
    const proc = mem.rss / mem.total;
    set(
      proc > config.procmem_high_watermark,
      'high_process_memory_usage',
      { high_watermark: pct(config.procmem_high_watermark), usage: pct(proc), rss: mem.rss },
      `Process memory usage is higher than ${pct(config.procmem_high_watermark)}%`,
    );
  }

  function check(): void {
    if (!config.enabled) return;
    for (const s of deps.sinks()) checkSink(s);
    checkMemory();
  }

  return {
    check,
    start() {
      if (!config.enabled || timer) return;
      timer = setInterval(
        () => {
          try {
            check();
          } catch (err) {
            deps.logger?.error({ code: 'alarm_check_failed', err }, 'alarm check failed');
          }
        },
        Math.max(10, config.check_interval),
      );
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}

/**
 * The engine's alarm parts: the registry, its monitor, and the event producer that turns
 * alarm changes into `$events/sys/alarm_*` rule events (only while rules want them).
 */
export function createAlarms(
  deps: {
    logger: Logger;
    now: () => number;
    node: string;
    sinks: () => Iterable<MonitoredSink>;
    memory?: () => MemorySample;
  },
  config: AlarmsSettings,
): { registry: AlarmRegistry; monitor: AlarmMonitor; producer: EventProducer } {
  const registry = createAlarmRegistry(
    { now: deps.now, logger: deps.logger },
    { sizeLimit: config.size_limit, validityPeriod: config.validity_period },
  );
  const monitor = createAlarmMonitor(
    {
      registry,
      sinks: deps.sinks,
      logger: deps.logger,
      ...(deps.memory ? { memory: deps.memory } : {}),
    },
    config,
  );
  const producer: EventProducer = {
    name: 'alarms',
    listen(push, names) {
      const wants = (n: string): boolean => names === null || names.some((x) => x === n);
      return registry.onChange((change) => {
        const ev = alarmEvent(change, deps.node, deps.now());
        if (wants(ev.name)) push(ev);
      });
    },
  };
  return { registry, monitor, producer };
}

/** The configured sinks as the monitor sees them (buffer limit from each sink's config). */
export function monitoredSinks(
  sinks: ReadonlyMap<
    string,
    {
      readonly name: string;
      readonly type: string;
      readonly runner: { metrics(): ReturnType<MonitoredSink['metrics']> };
    }
  >,
  configs: Readonly<Record<string, Record<string, unknown>>>,
): MonitoredSink[] {
  return [...sinks.values()].map((s) => {
    const buffer = configs[s.name]?.['buffer'] as { max_records?: number } | undefined;
    return {
      name: s.name,
      type: s.type,
      maxRecords: buffer?.max_records ?? 100_000,
      metrics: () => s.runner.metrics(),
    };
  });
}
