/**
 * Process and Node.js runtime metrics for `/metrics`, named as Prometheus client libraries name
 * them (`process_*`, `nodejs_*`), so standard dashboards and alerts work unchanged. Event-loop
 * delay comes from `perf_hooks.monitorEventLoopDelay` (10 ms resolution), sampled while the API
 * server runs: a stalled loop (a runaway rule, a huge payload) shows in
 * `nodejs_eventloop_lag_*_seconds`.
 */
import { readdirSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
type IntervalHistogram = ReturnType<typeof monitorEventLoopDelay>;

export interface ProcessSnapshot {
  readonly cpuUserSeconds: number;
  readonly cpuSystemSeconds: number;
  readonly residentMemoryBytes: number;
  readonly heapTotalBytes: number;
  readonly heapUsedBytes: number;
  readonly externalMemoryBytes: number;
  readonly startTimeSeconds: number;
  /** Open file descriptors (Linux /proc/self/fd); undefined where unknown. */
  readonly openFds: number | undefined;
  readonly eventLoopLag: {
    readonly meanSeconds: number;
    readonly p50Seconds: number;
    readonly p99Seconds: number;
    readonly maxSeconds: number;
  };
  readonly nodeVersion: string;
}

export interface ProcessMetrics {
  snapshot(): ProcessSnapshot;
  stop(): void;
}

export function createProcessMetrics(): ProcessMetrics {
  const startTimeSeconds = Math.round(Date.now() / 1000 - process.uptime());
  let loop: IntervalHistogram | undefined = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const ns = (v: number): number => (Number.isFinite(v) ? v / 1e9 : 0);
  return {
    snapshot() {
      const cpu = process.cpuUsage();
      const mem = process.memoryUsage();
      let openFds: number | undefined;
      try {
        openFds = readdirSync('/proc/self/fd').length;
      } catch {
        openFds = undefined;
      }
      const h = loop;
      return {
        cpuUserSeconds: cpu.user / 1e6,
        cpuSystemSeconds: cpu.system / 1e6,
        residentMemoryBytes: mem.rss,
        heapTotalBytes: mem.heapTotal,
        heapUsedBytes: mem.heapUsed,
        externalMemoryBytes: mem.external,
        startTimeSeconds,
        openFds,
        eventLoopLag: {
          meanSeconds: h && h.count > 0 ? ns(h.mean) : 0,
          p50Seconds: h && h.count > 0 ? ns(h.percentile(50)) : 0,
          p99Seconds: h && h.count > 0 ? ns(h.percentile(99)) : 0,
          maxSeconds: h && h.count > 0 ? ns(h.max) : 0,
        },
        nodeVersion: process.version,
      };
    },
    stop() {
      loop?.disable();
      loop = undefined;
    },
  };
}
