import { describe, expect, it } from 'vitest';

import { escapeLabelValue, renderPrometheus } from './prometheus.js';

const rule = {
  matched: 3,
  passed: 2,
  failed: 1,
  'failed.exception': 0,
  'failed.no_result': 1,
  'actions.total': 2,
  'actions.success': 2,
  'actions.failed': 0,
  rate: { current: 0.5, max: 1, last5m: 0.01 },
};
const broker = {
  connections: 1,
  connections_total: 2,
  connections_refused: 0,
  messages_in: 3,
  messages_out: 0,
  messages_dropped: 0,
  messages_acked: 0,
};

describe('Prometheus exposition', () => {
  it('escapes backslash, double quote and line feed in label values', () => {
    expect(escapeLabelValue('plain')).toBe('plain');
    expect(escapeLabelValue('a\\b')).toBe('a\\\\b');
    expect(escapeLabelValue('say "hi"')).toBe('say \\"hi\\"');
    expect(escapeLabelValue('two\nlines')).toBe('two\\nlines');
  });

  it('writes HELP and TYPE before the samples of each family, one line per sample', () => {
    const text = renderPrometheus({
      rules: { 'r.1': rule },
      enabled: { 'r.1': true },
      sinks: {
        's"1': {
          matched: 5,
          queued: 1,
          queuedBytes: 10,
          pressure: false,
          pressureEvents: 0,
          inflight: 1,
          inflightRecords: 2,
          success: 2,
          failed: 1,
          failedBy: { bad_record: 1 },
          dropped: 1,
          droppedBy: { expired: 1 },
          retried: 4,
          fallback: 3,
          stalls: 2,
          latency: {
            count: 2,
            p50: 3,
            p99: 9,
            max: 9,
            sum: 12,
            buckets: [0, 0, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2],
          },
        },
      },
      broker,
      uptimeSeconds: 12,
      version: '1.2.3',
      process: {
        cpuUserSeconds: 1.5,
        cpuSystemSeconds: 0.5,
        residentMemoryBytes: 1000,
        heapTotalBytes: 500,
        heapUsedBytes: 400,
        externalMemoryBytes: 10,
        startTimeSeconds: 1_700_000_000,
        openFds: 12,
        eventLoopLag: { meanSeconds: 0.011, p50Seconds: 0.01, p99Seconds: 0.02, maxSeconds: 0.05 },
        nodeVersion: 'v24.0.0',
      },
    });
    expect(text.endsWith('\n')).toBe(true);
    const lines = text.trimEnd().split('\n');
    expect(lines).toContain('sluice_rule_matched_total{rule="r.1"} 3');
    // Rates are PromQL's job: no metric is named after one (label values such as the
    // messages_rate limit are fine).
    const names = lines.filter((l) => !l.startsWith('#')).map((l) => l.split(/[{ ]/)[0]!);
    expect(names.some((n) => n.includes('_rate'))).toBe(false);
    expect(names).toContain('sluice_broker_throttled_total');
    expect(names).toContain('sluice_broker_enhanced_auth_total');
    expect(lines).toContain('sluice_sink_failed_total{sink="s\\"1",reason="bad_record"} 1');
    expect(lines).toContain('sluice_sink_dropped_total{sink="s\\"1",reason="expired"} 1');
    expect(lines).toContain('# TYPE sluice_sink_fallback_total counter');
    expect(lines).toContain('sluice_sink_fallback_total{sink="s\\"1"} 3');
    expect(lines).toContain('# TYPE sluice_sink_stalls_total counter');
    expect(lines).toContain('sluice_sink_stalls_total{sink="s\\"1"} 2');
    expect(lines).toContain('# TYPE sluice_sink_latency_seconds histogram');
    expect(lines).toContain('sluice_sink_latency_seconds_bucket{sink="s\\"1",le="0.005"} 1');
    expect(lines).toContain('sluice_sink_latency_seconds_bucket{sink="s\\"1",le="0.01"} 2');
    expect(lines).toContain('sluice_sink_latency_seconds_bucket{sink="s\\"1",le="+Inf"} 2');
    expect(lines).toContain('sluice_sink_latency_seconds_sum{sink="s\\"1"} 0.012');
    expect(lines).toContain('sluice_sink_latency_seconds_count{sink="s\\"1"} 2');
    expect(lines).toContain(
      'sluice_build_info{version="1.2.3",nodejs="' + process.version + '"} 1',
    );
    expect(lines).toContain('process_cpu_seconds_total 2');
    expect(lines).toContain('process_open_fds 12');
    expect(lines).toContain('nodejs_eventloop_lag_p99_seconds 0.02');
    expect(lines).toContain('nodejs_version_info{version="v24.0.0"} 1');
    expect(lines).toContain('sluice_broker_connections 1');
    expect(lines).toContain('sluice_uptime_seconds 12');
    // Every sample's family was declared just before (HELP, TYPE, then samples).
    let family = '';
    for (const l of lines) {
      const t = /^# TYPE (\S+) (counter|gauge|histogram)$/.exec(l);
      if (t) family = t[1] as string;
      else if (!l.startsWith('# HELP '))
        expect(l.split(/[{ ]/)[0]!.replace(/_(bucket|sum|count)$/, '')).toBe(family);
    }
  });

  it("exports the broker's undelivered copies by EMQX's delivery.dropped reason", () => {
    const text = renderPrometheus({
      rules: {},
      enabled: {},
      sinks: {},
      broker: {
        ...broker,
        dropped_queue_full: 4,
        dropped_expired: 3,
        dropped_no_local: 2,
        dropped_too_large: 1,
      },
      uptimeSeconds: 1,
      version: '1.2.3',
    });
    const lines = text.trimEnd().split('\n');
    expect(lines).toContain('# TYPE sluice_broker_delivery_dropped_total counter');
    expect(lines).toContain('sluice_broker_delivery_dropped_total{reason="queue_full"} 4');
    expect(lines).toContain('sluice_broker_delivery_dropped_total{reason="expired"} 3');
    expect(lines).toContain('sluice_broker_delivery_dropped_total{reason="no_local"} 2');
    expect(lines).toContain('sluice_broker_delivery_dropped_total{reason="too_large"} 1');
    // The older single-reason family stays for existing dashboards.
    expect(lines).toContain('sluice_broker_delivery_dropped_queue_full_total 4');
  });

  it('exports memory reclaims by outcome, bytes given back and the last pause (decision 0023)', () => {
    const text = renderPrometheus({
      rules: {},
      enabled: {},
      sinks: {},
      broker,
      uptimeSeconds: 1,
      memoryReclaim: {
        reclaims: { done: 2, timeout: 0, busy: 1, stopped: 0 },
        reclaimedBytes: 300 * 1024 * 1024,
        lastPauseMs: 31.5,
        active: false,
        lowWaterBytes: 130 * 1024 * 1024,
      },
    });
    const lines = text.trimEnd().split('\n');
    expect(lines).toContain('# TYPE sluice_memory_reclaims_total counter');
    expect(lines).toContain('sluice_memory_reclaims_total{outcome="done"} 2');
    expect(lines).toContain('sluice_memory_reclaims_total{outcome="busy"} 1');
    expect(lines).toContain('sluice_memory_reclaimed_bytes_total 314572800');
    expect(lines).toContain('sluice_memory_reclaim_last_pause_seconds 0.0315');
    expect(lines).toContain('sluice_memory_reclaim_active 0');
    expect(lines).toContain('sluice_memory_reclaim_low_water_bytes 136314880');
  });

  it('exports MQTT 5 enhanced authentications by stage and result, and quota refusals', () => {
    const text = renderPrometheus({
      rules: {},
      enabled: {},
      sinks: {},
      broker: {
        ...broker,
        enhanced_auth_success: 5,
        enhanced_auth_failed: 2,
        reauth_success: 1,
        reauth_failed: 3,
        quota_exceeded: 7,
      },
      uptimeSeconds: 1,
      version: '1.2.3',
    });
    const lines = text.trimEnd().split('\n');
    expect(lines).toContain('# TYPE sluice_broker_enhanced_auth_total counter');
    expect(lines).toContain(
      'sluice_broker_enhanced_auth_total{stage="connect",result="success"} 5',
    );
    expect(lines).toContain(
      'sluice_broker_enhanced_auth_total{stage="connect",result="failure"} 2',
    );
    expect(lines).toContain('sluice_broker_enhanced_auth_total{stage="reauth",result="success"} 1');
    expect(lines).toContain('sluice_broker_enhanced_auth_total{stage="reauth",result="failure"} 3');
    expect(lines).toContain('sluice_broker_quota_exceeded_total 7');
  });
});
