/**
 * JSON Schemas (draft 2020-12, as OpenAPI 3.1 uses) of the API's request and response bodies,
 * referenced from the route table (routes.ts `docs`) and published in the OpenAPI document
 * (openapi.ts) under `components/schemas`. test/integration/openapi.test.ts validates real
 * answers of every GET route against them with ajv, so they describe what the handlers send.
 */
export type JsonSchema = Readonly<Record<string, unknown>>;

const str = { type: 'string' } as const;
const int = { type: 'integer', minimum: 0 } as const;
const num = { type: 'number' } as const;
const bool = { type: 'boolean' } as const;
const time = { type: 'string', format: 'date-time' } as const;
const strMap = { type: 'object', additionalProperties: { type: 'string' } } as const;
const intMap = { type: 'object', additionalProperties: { type: 'integer', minimum: 0 } } as const;

/** `$ref` to a component schema. */
export const ref = (name: keyof typeof SCHEMAS): JsonSchema => ({
  $ref: `#/components/schemas/${name}`,
});

function obj(
  properties: Record<string, unknown>,
  required: readonly string[] = Object.keys(properties),
  extra = false,
): JsonSchema {
  return { type: 'object', properties, required, additionalProperties: extra };
}

const diagnostic = obj(
  {
    code: str,
    message: str,
    line: int,
    column: int,
    end_line: int,
    end_column: int,
    expected: { type: 'array', items: str },
    snippet: str,
  },
  ['code', 'message', 'line', 'column', 'snippet'],
);

const ruleMetrics = obj({
  matched: int,
  passed: int,
  failed: int,
  'failed.exception': int,
  'failed.no_result': int,
  'actions.total': int,
  'actions.success': int,
  'actions.failed': int,
  'matched.rate': num,
  'matched.rate.max': num,
  'matched.rate.last5m': num,
});

const sinkMetrics = obj(
  {
    status: str,
    last_error: obj({ code: str, message: str }),
    matched: int,
    queued: int,
    queued_bytes: int,
    pressure: bool,
    pressure_events: int,
    paused_clients: int,
    inflight: int,
    inflight_records: int,
    success: int,
    failed: int,
    failed_by: intMap,
    dropped: int,
    dropped_by: intMap,
    retried: int,
    latency_ms: obj({ count: int, p50: num, p99: num, max: num }),
  },
  [
    'matched',
    'queued',
    'queued_bytes',
    'pressure',
    'pressure_events',
    'paused_clients',
    'inflight',
    'inflight_records',
    'success',
    'failed',
    'failed_by',
    'dropped',
    'dropped_by',
    'retried',
    'latency_ms',
  ],
);

const traceFilter = obj(
  {
    clientid: { type: 'string', minLength: 1 },
    topic: { type: 'string', minLength: 1 },
    rule_id: { type: 'string', minLength: 1 },
  },
  [],
);

const traceSummary = obj(
  {
    id: str,
    name: str,
    filter: traceFilter,
    state: { enum: ['running', 'stopped'] },
    started_at: time,
    ends_at: time,
    max_messages: int,
    messages: int,
    steps_total: int,
    steps_dropped: int,
    ring_size: int,
    stopped_at: time,
    stop_reason: { enum: ['duration', 'max_messages', 'deleted', 'shutdown'] },
  },
  [
    'id',
    'name',
    'filter',
    'state',
    'started_at',
    'ends_at',
    'max_messages',
    'messages',
    'steps_total',
    'steps_dropped',
    'ring_size',
  ],
);

const traceStep = obj(
  {
    trace_id: str,
    seq: { type: 'integer', minimum: 1 },
    msg_id: str,
    ts: int,
    step: {
      enum: [
        'received',
        'rule_matched',
        'where',
        'select',
        'action_render',
        'buffered',
        'send_attempt',
        'ack',
        'drop',
        'fallback',
      ],
    },
    rule_id: str,
    action: str,
    clientid: str,
    topic: str,
    detail: { type: 'object' },
  },
  ['trace_id', 'seq', 'msg_id', 'ts', 'step', 'topic', 'detail'],
);

const schema = obj(
  {
    name: str,
    type: { enum: ['avro', 'protobuf', 'json'] },
    source: str,
    description: str,
    imports: strMap,
    file: str,
    origin: str,
    created_at: time,
  },
  ['name', 'type', 'source', 'description', 'origin', 'created_at'],
);

export const SCHEMAS = {
  Error: obj({ code: str, message: str, diagnostics: { type: 'array', items: diagnostic } }, [
    'code',
    'message',
  ]),
  Diagnostic: diagnostic,
  Status: obj({
    node_name: str,
    rel_vsn: str,
    status: { enum: ['running', 'stopped'] },
    uptime: int,
    broker: obj({
      running: bool,
      listeners: {
        type: 'array',
        items: obj({ name: str, type: str, host: str, port: { type: 'integer' } }),
      },
      connections: int,
    }),
    rules: int,
    sinks: int,
  }),
  Ready: obj(
    {
      ready: bool,
      checks: { type: 'object', additionalProperties: bool },
      failing: { type: 'array', items: str },
    },
    ['ready'],
  ),
  Rule: obj(
    {
      id: str,
      sql: str,
      enable: bool,
      enabled: bool,
      actions: { type: 'array', items: str },
      description: str,
      from: { type: 'array', items: str },
      created_at: time,
      updated_at: time,
      status: { enum: ['enabled', 'disabled', 'suspended'] },
      suspended_at: time,
      suspended_reason: str,
    },
    [
      'id',
      'sql',
      'enable',
      'enabled',
      'actions',
      'description',
      'from',
      'created_at',
      'updated_at',
      'status',
    ],
  ),
  RuleInput: obj(
    {
      id: { type: 'string', pattern: '^[A-Za-z0-9_][A-Za-z0-9_.:-]*$' },
      sql: str,
      actions: { type: 'array', items: str },
      enable: bool,
      enabled: bool,
      description: str,
    },
    [],
    true,
  ),
  RuleList: obj({
    data: { type: 'array', items: { $ref: '#/components/schemas/Rule' } },
    meta: obj({ page: int, limit: int, count: int, hasnext: bool }),
  }),
  RuleMetrics: obj({
    id: str,
    metrics: ruleMetrics,
    node_metrics: { type: 'array', items: obj({ node: str, metrics: ruleMetrics }) },
  }),
  RuleTestInput: obj({ sql: str, context: { type: 'object' } }, ['sql']),
  RuleTestOutput: {
    description: 'The SELECT output object, or the list of FOREACH outputs.',
    type: ['object', 'array'],
  },
  SinkMetrics: sinkMetrics,
  Sink: obj({ name: str, type: str, metrics: sinkMetrics }, ['name', 'type']),
  SinkList: { type: 'array', items: { $ref: '#/components/schemas/Sink' } },
  LogLevels: strMap,
  LogLevelInput: obj({
    component: str,
    level: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
  }),
  OcppClientList: {
    type: 'array',
    items: obj(
      {
        clientid: str,
        username: { type: ['string', 'null'] },
        listener: str,
        peername: str,
        subprotocol: str,
        connected_at: int,
        keepalive: int,
        mqueue_len: int,
        inflight: { oneOf: [{ type: 'null' }, obj({ id: str, action: str })] },
        recv_msg: int,
        send_msg: int,
        dropped: int,
      },
      [
        'clientid',
        'listener',
        'peername',
        'subprotocol',
        'connected_at',
        'keepalive',
        'mqueue_len',
        'inflight',
        'recv_msg',
        'send_msg',
        'dropped',
      ],
    ),
  },
  TraceInput: obj(
    {
      name: { type: 'string', maxLength: 200 },
      filter: { ...traceFilter, minProperties: 1 },
      duration_s: { type: 'number', minimum: 1, maximum: 3600, default: 60 },
      max_messages: { type: 'integer', minimum: 1, maximum: 100_000, default: 1000 },
    },
    ['filter'],
  ),
  TraceSummary: traceSummary,
  TraceList: obj({ data: { type: 'array', items: { $ref: '#/components/schemas/TraceSummary' } } }),
  TraceStep: traceStep,
  Trace: obj(
    {
      ...(traceSummary['properties'] as Record<string, unknown>),
      steps: { type: 'array', items: { $ref: '#/components/schemas/TraceStep' } },
    },
    [...(traceSummary['required'] as string[]), 'steps'],
  ),
  AlarmList: obj({
    data: {
      type: 'array',
      items: obj({
        node: str,
        name: str,
        message: str,
        details: { type: 'object' },
        duration: int,
        activate_at: time,
        deactivate_at: { anyOf: [time, { const: 'infinity' }] },
        activated: bool,
      }),
    },
    meta: obj({ page: int, limit: int, count: int, hasnext: bool }),
  }),
  RunningConfig: obj(
    {
      node: str,
      rules: {
        type: 'array',
        items: obj(
          {
            id: str,
            sql: str,
            actions: { type: 'array', items: str },
            enabled: bool,
            description: str,
            file: str,
          },
          ['id', 'sql', 'actions', 'enabled'],
          true,
        ),
      },
      sections: { type: 'object', additionalProperties: str },
      sinks: {
        type: 'object',
        additionalProperties: obj({ type: str, digest: str }, ['type', 'digest'], true),
      },
    },
    ['node', 'rules', 'sections', 'sinks'],
  ),
  Schema: schema,
  SchemaList: { type: 'array', items: { $ref: '#/components/schemas/Schema' } },
  SchemaInput: obj(
    {
      name: str,
      type: { enum: ['avro', 'protobuf', 'json'] },
      source: str,
      description: str,
      imports: strMap,
    },
    ['type', 'source'],
  ),
} as const satisfies Record<string, JsonSchema>;
