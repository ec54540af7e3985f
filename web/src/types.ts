/** The API's JSON shapes the dashboard reads (docs/api.md). */

export interface Rule {
  id: string;
  sql: string;
  enable: boolean;
  actions: string[];
  description: string;
  status: 'enabled' | 'disabled' | 'suspended';
  suspended_reason?: string;
}

export interface RuleMetrics {
  id: string;
  metrics: {
    matched: number;
    passed: number;
    failed: number;
    'actions.success': number;
    'actions.failed': number;
    'matched.rate': number;
  };
}

export interface SinkMetrics {
  status?: string;
  last_error?: { code: string; message: string };
  matched: number;
  queued: number;
  queued_bytes: number;
  pressure: boolean;
  inflight: number;
  inflight_records: number;
  success: number;
  failed: number;
  dropped: number;
  dropped_by: Record<string, number>;
  retried: number;
  latency_ms: { count: number; p50: number; p99: number; max: number };
}

export interface Sink {
  name: string;
  type: string;
  metrics?: SinkMetrics;
}

export interface Status {
  node_name: string;
  rel_vsn: string;
  status: string;
  uptime: number;
  broker: { running: boolean; connections: number };
  rules: number;
  sinks: number;
}

export interface Totals {
  node: string;
  'connections.count': number;
  'messages.received': number;
  'messages.sent': number;
  'messages.dropped': number;
  'rules.matched': number;
  'actions.success': number;
}

export interface Client {
  clientid: string;
  username: string | null;
  ip_address: string | null;
  listener: string;
  proto_ver: number;
  keepalive: number;
  connected_at: string;
  subscriptions_cnt: number;
  paused: boolean;
}

export interface List<T> {
  data: T[];
}
