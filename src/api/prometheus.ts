/**
 * Prometheus text exposition format 0.0.4 for `GET /metrics`
 * (https://prometheus.io/docs/instrumenting/exposition_formats/): one `# HELP` and `# TYPE`
 * line per metric family, then its samples. Label values escape `\`, `"` and line feed
 * (`\\`, `\"`, `\n`); HELP text escapes `\` and line feed.
 *
 * Families: `sluice_rule_*` (label `rule`), `sluice_sink_*` (label `sink`, plus `reason` for
 * failed/dropped; latency as a histogram in seconds), `sluice_broker_*`, `sluice_uptime_seconds`,
 * `sluice_build_info`, and the usual `process_*` / `nodejs_*` runtime families. Rates are left
 * to PromQL (`rate(sluice_rule_matched_total[1m])`). Names pass `promtool check metrics`
 * (scripts/promlint, run by the API tests).
 */
import { LATENCY_BOUNDS_MS } from '../core/index.js';
import type { RuleMetricsSnapshot } from '../runtime/index.js';
import type { ProcessSnapshot } from './process-metrics.js';
import type {
  ApiBrokerMetrics,
  ApiGatewayMetrics,
  ApiExternalRegistryMetrics,
  ApiIngress,
  ApiMemoryReclaimMetrics,
  ApiMetrics,
  ApiSecurityMetrics,
  ApiSinkMetrics,
  ApiTlsListenerMetrics,
} from './types.js';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** A number as Prometheus writes it (`+Inf`, `-Inf`, `NaN`). */
function num(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}

type Labels = Readonly<Record<string, string>>;

class Exposition {
  private readonly lines: string[] = [];
  family(
    name: string,
    type: 'counter' | 'gauge',
    help: string,
    samples: readonly (readonly [Labels, number])[],
  ): void {
    this.lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) {
      const l = Object.entries(labels)
        .map(([k, v]) => `${k}="${escapeLabelValue(v)}"`)
        .join(',');
      this.lines.push(`${name}${l ? `{${l}}` : ''} ${num(value)}`);
    }
  }
  histogram(
    name: string,
    help: string,
    series: readonly (readonly [
      Labels,
      { bounds: readonly number[]; cumulative: readonly number[]; sum: number; count: number },
    ])[],
  ): void {
    this.lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} histogram`);
    const fmt = (labels: Labels): string =>
      Object.entries(labels)
        .map(([k, v]) => `${k}="${escapeLabelValue(v)}"`)
        .join(',');
    for (const [labels, h] of series) {
      h.bounds.forEach((b, i) =>
        this.lines.push(
          `${name}_bucket{${fmt({ ...labels, le: num(b) })}} ${num(h.cumulative[i] ?? 0)}`,
        ),
      );
      this.lines.push(`${name}_bucket{${fmt({ ...labels, le: '+Inf' })}} ${num(h.count)}`);
      const l = fmt(labels);
      this.lines.push(`${name}_sum${l ? `{${l}}` : ''} ${num(h.sum)}`);
      this.lines.push(`${name}_count${l ? `{${l}}` : ''} ${num(h.count)}`);
    }
  }
  text(): string {
    return this.lines.join('\n') + '\n';
  }
}

export interface PrometheusInput {
  readonly rules: Readonly<Record<string, RuleMetricsSnapshot>>;
  /** Rule id → enabled. */
  readonly enabled: Readonly<Record<string, boolean>>;
  readonly sinks: Readonly<Record<string, ApiSinkMetrics>>;
  readonly broker: ApiBrokerMetrics;
  readonly uptimeSeconds: number;
  /** Sluice's version (`sluice_build_info`). */
  readonly version?: string;
  readonly process?: ProcessSnapshot;
  /** The API's own counters (auth failures, 403s, 413s). */
  readonly api?: ApiMetrics;
  /** The OCPP gateway's counters, when it is enabled. */
  readonly ocpp?: ApiGatewayMetrics | undefined;
  /** Active alarms and activation counts (docs/alarms.md). */
  readonly alarms?: {
    readonly active: readonly { readonly name: string }[];
    readonly counts: { readonly activated: number; readonly deactivated: number };
  };
  /** Memory reclaim when idle (decision 0023). */
  readonly memoryReclaim?: ApiMemoryReclaimMetrics;
  /** Ingress schema validation / message transformation counters (decision 0013). */
  readonly ingress?: ReturnType<ApiIngress['metrics']>;
  /** External schema registries' fetch / cache counters by registry name (decision 0014). */
  readonly externalRegistries?: Readonly<Record<string, ApiExternalRegistryMetrics>>;
}

/** Reasons `sluice_api_auth_failures_total` always lists (0 until one happens). */
export const AUTH_FAILURE_REASONS = ['missing', 'invalid', 'expired', 'disabled', 'rate_limited'];

/** One sample per entry of `counts`, labelled `<label>="<key>"`; an absent count is 0. */
const byLabel = (
  label: string,
  counts: Readonly<Record<string, number | undefined>>,
): (readonly [Labels, number])[] =>
  Object.entries(counts).map(([value, n]) => [{ [label]: value }, n ?? 0] as const);

export function renderPrometheus(m: PrometheusInput): string {
  const e = new Exposition();
  const rules = Object.entries(m.rules);
  const rule = (
    name: string,
    type: 'counter' | 'gauge',
    help: string,
    pick: (r: RuleMetricsSnapshot) => number,
  ): void =>
    e.family(
      name,
      type,
      help,
      rules.map(([id, r]) => [{ rule: id }, pick(r)] as const),
    );
  rule(
    'sluice_rule_matched_total',
    'counter',
    'Events whose topic matched the rule (the rule ran).',
    (r) => r.matched,
  );
  rule('sluice_rule_passed_total', 'counter', 'Events that produced output.', (r) => r.passed);
  rule(
    'sluice_rule_failed_total',
    'counter',
    'failed.exception + failed.no_result.',
    (r) => r.failed,
  );
  rule(
    'sluice_rule_failed_exception_total',
    'counter',
    'Evaluation errors.',
    (r) => r['failed.exception'],
  );
  rule(
    'sluice_rule_failed_no_result_total',
    'counter',
    'WHERE false or FOREACH empty.',
    (r) => r['failed.no_result'],
  );
  rule(
    'sluice_rule_actions_total',
    'counter',
    'Outputs x actions handed to sinks.',
    (r) => r['actions.total'],
  );
  rule(
    'sluice_rule_actions_success_total',
    'counter',
    'Actions accepted by the sink queue.',
    (r) => r['actions.success'],
  );
  rule(
    'sluice_rule_actions_failed_total',
    'counter',
    'Actions refused by the sink queue.',
    (r) => r['actions.failed'],
  );
  e.family(
    'sluice_rule_enabled',
    'gauge',
    '1 when the rule is enabled, 0 when disabled.',
    Object.entries(m.enabled).map(([id, on]) => [{ rule: id }, on ? 1 : 0] as const),
  );

  const sinks = Object.entries(m.sinks);
  const sink = (
    name: string,
    type: 'counter' | 'gauge',
    help: string,
    pick: (s: ApiSinkMetrics) => number,
  ): void =>
    e.family(
      name,
      type,
      help,
      sinks.map(([n, s]) => [{ sink: n }, pick(s)] as const),
    );
  const byReason = (
    name: string,
    help: string,
    pick: (s: ApiSinkMetrics) => Readonly<Record<string, number>>,
  ): void =>
    e.family(
      name,
      'counter',
      help,
      sinks.flatMap(([n, s]) =>
        Object.entries(pick(s)).map(([reason, v]) => [{ sink: n, reason }, v] as const),
      ),
    );
  sink(
    'sluice_sink_matched_total',
    'counter',
    'Records handed to the sink runner.',
    (s) => s.matched,
  );
  sink(
    'sluice_sink_success_total',
    'counter',
    'Records the external system acknowledged.',
    (s) => s.success,
  );
  byReason('sluice_sink_failed_total', 'Records refused for good, by reason.', (s) => s.failedBy);
  byReason(
    'sluice_sink_dropped_total',
    'Records never written (queue_full, expired, shutdown), by reason.',
    (s) => s.droppedBy,
  );
  sink(
    'sluice_sink_retried_total',
    'counter',
    'Record re-sends after a retriable error or reconnect.',
    (s) => s.retried,
  );
  sink('sluice_sink_queued', 'gauge', 'Records waiting in the buffer.', (s) => s.queued);
  sink('sluice_sink_connected', 'gauge', '1 while the sink is connected to its system.', (s) =>
    s.status === 'connected' ? 1 : 0,
  );
  sink(
    'sluice_sink_given_up',
    'gauge',
    '1 when connect failed with a non-retriable error and the sink is no longer retried.',
    (s) => (s.status === 'failed' ? 1 : 0),
  );
  sink(
    'sluice_sink_pressure',
    'gauge',
    '1 while the buffer is full and the publishers feeding it are paused (overflow block).',
    (s) => (s.pressure ? 1 : 0),
  );
  sink(
    'sluice_sink_pressure_events_total',
    'counter',
    'Times the buffer filled up and back-pressure was raised.',
    (s) => s.pressureEvents,
  );
  sink(
    'sluice_sink_paused_clients',
    'gauge',
    'MQTT clients whose reading is paused because this sink is full.',
    (s) => s.pausedClients ?? 0,
  );
  sink(
    'sluice_sink_queued_bytes',
    'gauge',
    'Encoded bytes waiting in the buffer.',
    (s) => s.queuedBytes,
  );
  sink(
    'sluice_sink_inflight',
    'gauge',
    'Batches being written, backing off or awaiting reconnect.',
    (s) => s.inflight,
  );
  sink(
    'sluice_sink_inflight_records',
    'gauge',
    'Records in in-flight batches.',
    (s) => s.inflightRecords,
  );
  sink(
    'sluice_sink_buffer_disk_bytes',
    'gauge',
    'Bytes of segment files of a disk or hybrid buffer.',
    (s) => s.diskBytes ?? 0,
  );
  sink(
    'sluice_sink_buffer_replayed_total',
    'counter',
    'Records a disk or hybrid buffer found unacknowledged at start and queued again.',
    (s) => s.replayed ?? 0,
  );
  sink(
    'sluice_sink_buffer_corrupt_records_total',
    'counter',
    'Damaged frames (torn tail, bad checksum) a disk buffer skipped.',
    (s) => s.corruptRecords ?? 0,
  );
  sink(
    'sluice_sink_fallback_total',
    'counter',
    'Records given up on (failed or dropped) and handed to the fallback actions.',
    (s) => s.fallback ?? 0,
  );
  sink(
    'sluice_sink_stalls_total',
    'counter',
    'Times the sink was connected with writes in flight and nothing acknowledged for health.stall_after.',
    (s) => s.stalls ?? 0,
  );
  e.histogram(
    'sluice_sink_latency_seconds',
    'Ingest to acknowledgement latency of successful records.',
    sinks.map(
      ([n, s]) =>
        [
          { sink: n },
          {
            bounds: LATENCY_BOUNDS_MS.map((ms) => ms / 1000),
            cumulative: s.latency.buckets ?? LATENCY_BOUNDS_MS.map(() => 0),
            sum: (s.latency.sum ?? 0) / 1000,
            count: s.latency.count,
          },
        ] as const,
    ),
  );

  if (m.alarms) {
    e.family('sluice_alarms_active', 'gauge', 'Alarms active now (GET /api/v5/alarms).', [
      [{}, m.alarms.active.length],
    ]);
    e.family(
      'sluice_alarm_active',
      'gauge',
      'One series per active alarm, value 1 (docs/alarms.md).',
      m.alarms.active.map((a) => [{ name: a.name }, 1] as const),
    );
    e.family('sluice_alarms_activated_total', 'counter', 'Alarms raised since start.', [
      [{}, m.alarms.counts.activated],
    ]);
    e.family('sluice_alarms_deactivated_total', 'counter', 'Alarms cleared since start.', [
      [{}, m.alarms.counts.deactivated],
    ]);
  }

  if (m.memoryReclaim) {
    const r = m.memoryReclaim;
    e.family(
      'sluice_memory_reclaims_total',
      'counter',
      'Memory reclaims (V8 memory-saver mode while idle, decision 0023) by how they ended: done (V8 ran its reducing GC), timeout, busy (load returned), stopped.',
      byLabel('outcome', r.reclaims),
    );
    e.family(
      'sluice_memory_reclaimed_bytes_total',
      'counter',
      'RSS given back by memory reclaims (sum of RSS before - after, gains only).',
      [[{}, r.reclaimedBytes]],
    );
    e.family(
      'sluice_memory_reclaim_last_pause_seconds',
      'gauge',
      'Longest GC pause seen during the last memory reclaim.',
      [[{}, r.lastPauseMs / 1000]],
    );
    e.family(
      'sluice_memory_reclaim_active',
      'gauge',
      '1 while a memory reclaim has V8 memory-saver mode on.',
      [[{}, r.active ? 1 : 0]],
    );
    e.family(
      'sluice_memory_reclaim_low_water_bytes',
      'gauge',
      'RSS low-water mark a reclaim is measured against.',
      [[{}, r.lowWaterBytes]],
    );
  }

  if (m.ingress) {
    const ing = m.ingress;
    for (const [kind, list] of [
      ['validation', ing.validations],
      ['transformation', ing.transformations],
    ] as const) {
      const fam =
        kind === 'validation' ? 'sluice_schema_validation' : 'sluice_message_transformation';
      for (const c of ['matched', 'succeeded', 'failed'] as const)
        e.family(
          `${fam}_${c}_total`,
          'counter',
          `Messages a ${kind} ${c === 'matched' ? 'matched by topic' : c} (GET /api/v5/${kind === 'validation' ? 'schema_validations' : 'message_transformations'}).`,
          list.map((x) => [{ [kind]: x.name }, x[c]] as const),
        );
    }
    e.family(
      'sluice_ingress_dropped_total',
      'counter',
      'Messages not routed because a validation or transformation failed with drop or disconnect.',
      [[{}, ing.dropped]],
    );
  }

  if (m.externalRegistries) {
    const regs = Object.entries(m.externalRegistries);
    const fam = (
      key: keyof ApiExternalRegistryMetrics,
      name: string,
      type: 'counter' | 'gauge',
      help: string,
    ): void =>
      e.family(
        name,
        type,
        help,
        regs.map(([registry, x]) => [{ registry }, x[key]] as const),
      );
    const p = 'sluice_schema_registry_external';
    fam(
      'fetches',
      `${p}_fetches_total`,
      'counter',
      'Registry requests for a missing schema id or subject (one per miss in flight, shared by the messages waiting).',
    );
    fam(
      'fetch_failures',
      `${p}_fetch_failures_total`,
      'counter',
      'Registry requests that failed (unreachable, timeout, 404, 401/403, not Avro).',
    );
    fam(
      'cache_hits',
      `${p}_cache_hits_total`,
      'counter',
      'Schema-id lookups answered from the cache.',
    );
    fam(
      'cache_misses',
      `${p}_cache_misses_total`,
      'counter',
      'Schema-id lookups the cache could not answer.',
    );
    fam(
      'failure_cache_hits',
      `${p}_failure_cache_hits_total`,
      'counter',
      'Messages failed at once by a remembered failure (failure_cache_ttl).',
    );
    fam(
      'waits',
      `${p}_waits_total`,
      'counter',
      'Rule evaluations suspended to wait for a fetch (the event loop went on).',
    );
    fam('inflight', `${p}_inflight`, 'gauge', 'Registry requests in flight now.');
    fam('cached_ids', `${p}_cached_ids`, 'gauge', 'Schema ids in the cache now.');
  }

  const b = m.broker;
  e.family('sluice_broker_connections', 'gauge', 'MQTT clients connected now.', [
    [{}, b.connections],
  ]);
  e.family('sluice_broker_connections_total', 'counter', 'MQTT connections accepted.', [
    [{}, b.connections_total],
  ]);
  e.family('sluice_broker_connections_refused_total', 'counter', 'CONNECTs refused.', [
    [{}, b.connections_refused],
  ]);
  e.family('sluice_broker_messages_in_total', 'counter', 'Messages published into the broker.', [
    [{}, b.messages_in],
  ]);
  e.family('sluice_broker_messages_out_total', 'counter', 'Copies forwarded to subscribers.', [
    [{}, b.messages_out],
  ]);
  e.family(
    'sluice_broker_messages_dropped_total',
    'counter',
    'Messages that reached no subscriber.',
    [[{}, b.messages_dropped]],
  );
  e.family(
    'sluice_broker_messages_acked_total',
    'counter',
    'PUBACK/PUBCOMP received for forwarded QoS 1/2 copies.',
    [[{}, b.messages_acked]],
  );
  e.family(
    'sluice_broker_limit_refusals_total',
    'counter',
    'Connections, packets and subscriptions refused by a listener limit, by limit.',
    byLabel('limit', {
      max_packet_size: b.refused_packet_too_large,
      max_connections: b.refused_max_connections,
      max_topic_levels: b.refused_topic_levels,
      max_subscriptions: b.refused_max_subscriptions,
      idle_timeout: b.refused_idle_timeout,
      packet_timeout: b.refused_packet_timeout,
    }),
  );
  e.family(
    'sluice_broker_throttled_total',
    'counter',
    'Times a listener rate limit held a client (messages_rate) or a new socket (max_conn_rate) back, by limit.',
    byLabel('limit', {
      messages_rate: b.limited_messages_rate,
      max_conn_rate: b.limited_conn_rate,
    }),
  );
  e.family(
    'sluice_broker_delivery_dropped_queue_full_total',
    'counter',
    'QoS 1/2 copies dropped because a session queue (max_mqueue_len) was full.',
    [[{}, b.dropped_queue_full ?? 0]],
  );
  e.family(
    'sluice_broker_delivery_dropped_total',
    'counter',
    "Copies the broker did not send to a subscriber, by EMQX's delivery.dropped reason.",
    byLabel('reason', {
      queue_full: b.dropped_queue_full,
      expired: b.dropped_expired,
      no_local: b.dropped_no_local,
      too_large: b.dropped_too_large,
    }),
  );
  e.family(
    'sluice_broker_shared_redispatched_total',
    'counter',
    'Shared-subscription copies sent on to another group member after theirs disconnected.',
    [[{}, b.shared_redispatched ?? 0]],
  );
  e.family(
    'sluice_broker_protocol_errors_total',
    'counter',
    'Connections closed (or CONNECTs refused) for an MQTT protocol violation, by reason.',
    byLabel('reason', {
      malformed_utf8: b.protocol_malformed_utf8,
      null_character: b.protocol_null_character,
      unsupported_protocol_level: b.protocol_unsupported_level,
      unknown_protocol_name: b.protocol_unknown_name,
      ws_text_frame: b.protocol_ws_text_frame,
    }),
  );
  e.family(
    'sluice_broker_quota_exceeded_total',
    'counter',
    "PUBLISH packets refused by a listener's messages_quota (MQTT 5: 0x97 / QoS 0 dropped; 3.1.1: disconnected).",
    [[{}, b.quota_exceeded ?? 0]],
  );
  e.family(
    'sluice_broker_enhanced_auth_total',
    'counter',
    'MQTT 5 enhanced authentications (SCRAM AUTH exchanges), by stage (connect, reauth) and result.',
    [
      [{ stage: 'connect', result: 'success' }, b.enhanced_auth_success ?? 0],
      [{ stage: 'connect', result: 'failure' }, b.enhanced_auth_failed ?? 0],
      [{ stage: 'reauth', result: 'success' }, b.reauth_success ?? 0],
      [{ stage: 'reauth', result: 'failure' }, b.reauth_failed ?? 0],
    ],
  );
  e.family(
    'sluice_broker_clients_paused',
    'gauge',
    'MQTT connections not being read because a sink they feed is full (back-pressure).',
    [[{}, b.clients_paused ?? 0]],
  );
  e.family('sluice_broker_publishes_held', 'gauge', 'PUBLISH packets held by paused connections.', [
    [{}, b.publishes_held ?? 0],
  ]);
  const acks = b.acks;
  e.family(
    'sluice_broker_acks_pending',
    'gauge',
    'PUBACKs / PUBRECs held now until their records are buffered or acknowledged (listener ack_after).',
    [[{}, acks?.pending ?? 0]],
  );
  e.family(
    'sluice_broker_acks_held_total',
    'counter',
    'Held PUBACKs / PUBRECs sent (listener ack_after buffered / remote).',
    [[{}, acks?.held_total ?? 0]],
  );
  e.family(
    'sluice_broker_acks_timed_out_total',
    'counter',
    'Held acknowledgements sent after ack_timeout without their records buffered / acknowledged.',
    [[{}, acks?.timed_out ?? 0]],
  );
  e.family(
    'sluice_broker_acks_abandoned_total',
    'counter',
    'Held acknowledgements never sent because the connection closed first (the client resends).',
    [[{}, acks?.abandoned ?? 0]],
  );
  e.family(
    'sluice_broker_acks_window_full_total',
    'counter',
    'Times a client was not read because it had max_awaiting_ack held acknowledgements.',
    [[{}, acks?.window_full ?? 0]],
  );
  e.histogram(
    'sluice_broker_ack_wait_seconds',
    'Time a held acknowledgement waited, from receipt to sending.',
    [
      [
        {},
        {
          bounds: LATENCY_BOUNDS_MS.map((ms) => ms / 1000),
          cumulative: acks?.waits.buckets ?? LATENCY_BOUNDS_MS.map(() => 0),
          sum: (acks?.waits.sum ?? 0) / 1000,
          count: acks?.waits.count ?? 0,
        },
      ],
    ],
  );
  renderSecurity(e, b.security, m.ocpp?.tls);
  const api = m.api;
  if (api) {
    const reasons = [
      ...AUTH_FAILURE_REASONS,
      ...Object.keys(api.authFailures).filter((r) => !AUTH_FAILURE_REASONS.includes(r)),
    ];
    e.family(
      'sluice_api_auth_failures_total',
      'counter',
      'Management API requests refused with 401 or 429, by reason (missing, invalid, expired, disabled, rate_limited).',
      reasons.map((reason) => [{ reason }, api.authFailures[reason] ?? 0] as const),
    );
    e.family(
      'sluice_api_forbidden_total',
      'counter',
      "Management API requests refused with 403 (the key's role does not allow them).",
      [[{}, api.forbidden]],
    );
    e.family(
      'sluice_api_body_too_large_total',
      'counter',
      'Management API requests refused with 413 (body over api.max_body_size).',
      [[{}, api.bodyTooLarge]],
    );
  }
  const g = m.ocpp;
  if (g) {
    e.family('sluice_ocpp_connections', 'gauge', 'OCPP charge points connected now.', [
      [{}, g.connections],
    ]);
    const counters: [string, string, number][] = [
      ['connections_total', 'OCPP WebSocket connections accepted.', g.connections_total],
      [
        'takeovers_total',
        'Older connections closed because the same charge point connected again.',
        g.takeovers,
      ],
      ['frames_in_total', 'OCPP frames received from charge points.', g.frames_in],
      ['frames_out_total', 'OCPP frames sent to charge points.', g.frames_out],
      ['published_total', 'MQTT messages the gateway published.', g.published],
      ['publish_failed_total', 'MQTT publishes of the gateway that failed.', g.publish_failed],
      ['invalid_frames_total', 'Frames that were not valid OCPP-J.', g.invalid_frames],
      [
        'invalid_envelopes_total',
        'Downstream MQTT messages that were not a valid envelope.',
        g.invalid_envelopes,
      ],
      [
        'validation_failed_total',
        'OCPP schema check failures (both directions).',
        g.validation_failed,
      ],
      [
        'dropped_total',
        'Messages the gateway dropped (invalid frames and envelopes, full queues, refused CALLs).',
        g.dropped,
      ],
      [
        'call_timeouts_total',
        'Backend CALLs a charge point did not answer within await_timeout.',
        g.call_timeouts,
      ],
      [
        'unmatched_replies_total',
        'Charge point replies that matched no CALL in flight.',
        g.unmatched_replies,
      ],
      [
        'keepalive_timeouts_total',
        'Silent charge point connections closed by the keep-alive.',
        g.keepalive_timeouts,
      ],
    ];
    for (const [name, help, v] of counters)
      e.family(`sluice_ocpp_${name}`, 'counter', help, [[{}, v]]);
    e.family(
      'sluice_ocpp_refused_total',
      'counter',
      'WebSocket upgrades refused, by reason.',
      Object.entries(g.refused).map(([reason, n]) => [{ reason }, n] as const),
    );
  }
  e.family('sluice_uptime_seconds', 'gauge', 'Seconds since the API started with the engine.', [
    [{}, m.uptimeSeconds],
  ]);
  e.family('sluice_build_info', 'gauge', 'Always 1; labels carry the build facts.', [
    [{ version: m.version ?? 'unknown', nodejs: process.version }, 1],
  ]);
  const p = m.process;
  if (p) {
    e.family('process_cpu_user_seconds_total', 'counter', 'User CPU time spent in seconds.', [
      [{}, p.cpuUserSeconds],
    ]);
    e.family('process_cpu_system_seconds_total', 'counter', 'System CPU time spent in seconds.', [
      [{}, p.cpuSystemSeconds],
    ]);
    e.family('process_cpu_seconds_total', 'counter', 'Total user and system CPU time in seconds.', [
      [{}, p.cpuUserSeconds + p.cpuSystemSeconds],
    ]);
    e.family('process_resident_memory_bytes', 'gauge', 'Resident memory size in bytes.', [
      [{}, p.residentMemoryBytes],
    ]);
    e.family(
      'process_start_time_seconds',
      'gauge',
      'Start time of the process since unix epoch in seconds.',
      [[{}, p.startTimeSeconds]],
    );
    if (p.openFds !== undefined)
      e.family('process_open_fds', 'gauge', 'Number of open file descriptors.', [[{}, p.openFds]]);
    e.family('nodejs_heap_size_total_bytes', 'gauge', 'Process heap size from Node.js in bytes.', [
      [{}, p.heapTotalBytes],
    ]);
    e.family(
      'nodejs_heap_size_used_bytes',
      'gauge',
      'Process heap size used from Node.js in bytes.',
      [[{}, p.heapUsedBytes]],
    );
    e.family('nodejs_external_memory_bytes', 'gauge', 'Node.js external memory size in bytes.', [
      [{}, p.externalMemoryBytes],
    ]);
    const lag = p.eventLoopLag;
    e.family(
      'nodejs_eventloop_lag_mean_seconds',
      'gauge',
      'The mean of the recorded event loop delays.',
      [[{}, lag.meanSeconds]],
    );
    e.family(
      'nodejs_eventloop_lag_p50_seconds',
      'gauge',
      'The 50th percentile of the recorded event loop delays.',
      [[{}, lag.p50Seconds]],
    );
    e.family(
      'nodejs_eventloop_lag_p99_seconds',
      'gauge',
      'The 99th percentile of the recorded event loop delays.',
      [[{}, lag.p99Seconds]],
    );
    e.family(
      'nodejs_eventloop_lag_max_seconds',
      'gauge',
      'The maximum recorded event loop delay.',
      [[{}, lag.maxSeconds]],
    );
    e.family('nodejs_version_info', 'gauge', 'Node.js version info.', [
      [{ version: p.nodeVersion }, 1],
    ]);
  }
  return e.text();
}

/**
 * TLS revocation (CRL, OCSP stapling, rejected client certificates), JWKS refreshes and the
 * authorization rules file. OCPP wss listeners appear with the listener label `ocpp:<name>`.
 */
function renderSecurity(
  e: Exposition,
  sec: ApiSecurityMetrics | undefined,
  ocppTls: readonly ApiTlsListenerMetrics[] | undefined,
): void {
  const tls = [
    ...(sec?.tls ?? []),
    ...(ocppTls ?? []).map((l) => ({ ...l, listener: `ocpp:${l.listener}` })),
  ];
  const crl = tls.filter((l) => l.crl);
  if (crl.length > 0) {
    e.family(
      'sluice_tls_crl_refresh_total',
      'counter',
      'CRL fetches of a tls/wss listener, by result (ok: verified and installed).',
      crl.flatMap((l) => [
        [{ listener: l.listener, result: 'ok' }, l.crl!.refresh_ok] as const,
        [{ listener: l.listener, result: 'failed' }, l.crl!.refresh_failed] as const,
      ]),
    );
    e.family(
      'sluice_tls_crls',
      'gauge',
      'CRLs installed on the listener now.',
      crl.map((l) => [{ listener: l.listener }, l.crl!.crls] as const),
    );
    e.family(
      'sluice_tls_crl_dropped_connections_total',
      'counter',
      'Open connections closed because a newly fetched CRL revoked their certificate (crl_drop_revoked).',
      crl.map((l) => [{ listener: l.listener }, l.crl!.dropped] as const),
    );
  }
  const ocsp = tls.filter((l) => l.ocsp);
  if (ocsp.length > 0) {
    e.family(
      'sluice_tls_ocsp_refresh_total',
      'counter',
      'OCSP fetches for the stapled response, by result (ok: verified and cached).',
      ocsp.flatMap((l) => [
        [{ listener: l.listener, result: 'ok' }, l.ocsp!.refresh_ok] as const,
        [{ listener: l.listener, result: 'failed' }, l.ocsp!.refresh_failed] as const,
      ]),
    );
    e.family(
      'sluice_tls_ocsp_staples_total',
      'counter',
      'TLS handshakes that asked for an OCSP staple, by result (stapled, not_stapled).',
      ocsp.flatMap((l) => [
        [{ listener: l.listener, result: 'stapled' }, l.ocsp!.stapled] as const,
        [{ listener: l.listener, result: 'not_stapled' }, l.ocsp!.not_stapled] as const,
      ]),
    );
    e.family(
      'sluice_tls_ocsp_staple_state',
      'gauge',
      'State of the cached OCSP response (1 for the current state: empty, good, revoked, unknown, expired).',
      ocsp.flatMap((l) =>
        STAPLE_STATES.map(
          (state) => [{ listener: l.listener, state }, l.ocsp!.state === state ? 1 : 0] as const,
        ),
      ),
    );
  }
  if (tls.length > 0)
    e.family(
      'sluice_tls_client_cert_rejected_total',
      'counter',
      'Client certificates rejected on a tls/wss listener, by reason (verification error or OCSP/CRL answer).',
      tls.flatMap((l) =>
        Object.entries(l.rejected).map(
          ([reason, n]) => [{ listener: l.listener, reason }, n] as const,
        ),
      ),
    );
  const j = sec?.jwks;
  if (j) {
    e.family('sluice_jwt_jwks_refresh_total', 'counter', 'JWKS fetches, by result.', [
      [{ result: 'ok' }, j.refresh_ok],
      [{ result: 'failed' }, j.refresh_failed],
    ]);
    e.family('sluice_jwt_jwks_keys', 'gauge', 'Keys in the JWKS in use now.', [[{}, j.keys]]);
  }
  const acl = sec?.acl;
  if (acl) {
    e.family('sluice_authz_file_rules', 'gauge', 'Rules of authorization.rules_file in force.', [
      [{}, acl.rules],
    ]);
    e.family(
      'sluice_authz_file_reloads_total',
      'counter',
      'Reloads of authorization.rules_file after it changed, by result (failed: the old rules stayed).',
      [
        [{ result: 'ok' }, acl.reloads_ok],
        [{ result: 'failed' }, acl.reloads_failed],
      ],
    );
  }
}

const STAPLE_STATES = ['empty', 'good', 'revoked', 'unknown', 'expired'];
