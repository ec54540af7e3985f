/**
 * The `schema_validation:` and `message_transformation:` sections of sluice.yaml (EMQX 5.7 /
 * 5.8 shapes; the engine hands them to src/config through ConfigParts).
 */
import { field } from '../../core/index.js';
import type { FieldSpec } from '../../core/index.js';

const NAME = '^[A-Za-z0-9_][A-Za-z0-9_.-]*$';
const LEVELS = ['error', 'warning', 'notice', 'info', 'debug', 'none'] as const;

const topics = field.array(field.string({ description: 'An MQTT topic filter.' }), {
  description: 'Topic filters; a PUBLISH whose topic matches any of them is checked.',
  minItems: 1,
  example: ['t/#'],
});
const logFailure = field.object(
  {
    level: field.string({
      description: 'Level of the log line written for a failure (`none`: no line).',
      enum: LEVELS,
      default: 'warning',
    }),
  },
  { description: 'Logging of failures.', default: { level: 'warning' } },
);
const failureAction = field.string({
  description:
    '`drop`: the message is discarded (not routed to subscribers or rules; a QoS 1/2 publisher still gets its PUBACK / PUBREC). `disconnect`: discarded, and the publisher’s connection is closed (MQTT 5: DISCONNECT 0x83 Implementation specific error). `ignore`: the failure is counted, logged and raised as an event, and the message goes on.',
  enum: ['drop', 'disconnect', 'ignore'],
  example: 'drop',
});

/** One validation (a `validations[]` item; also the body of `POST /api/v5/schema_validations`). */
export const validationEntrySpec: FieldSpec = field.object(
  {
    name: field.string({ description: 'Unique name.', pattern: NAME, example: 'temp' }),
    enable: field.boolean({ description: 'Off: skipped.', default: true }),
    description: field.string({ description: 'Free text.', default: '' }),
    topics,
    strategy: field.string({
      description: '`all_pass`: every check must pass; `any_pass`: one passing check is enough.',
      enum: ['all_pass', 'any_pass'],
      default: 'all_pass',
    }),
    failure_action: failureAction,
    log_failure: logFailure,
    checks: field.array(
      field.object(
        {
          type: field.string({
            description:
              '`sql`: a `SELECT … WHERE …` (no FROM) over the message columns passes when it yields a row; `json` / `avro` / `protobuf`: the payload must decode with the registered schema `schema` (schema_registry).',
            enum: ['sql', 'json', 'avro', 'protobuf'],
            example: 'sql',
          }),
          sql: field.string({
            description: 'type sql: the statement, e.g. `SELECT payload.t AS t WHERE t > 0`.',
            optional: true,
          }),
          schema: field.string({
            description: 'type json / avro / protobuf: the schema’s name in schema_registry.',
            optional: true,
          }),
          message_type: field.string({
            description: 'type protobuf: the message type to decode.',
            optional: true,
          }),
        },
        { description: 'One check.' },
      ),
      { description: 'The checks, run in order.', minItems: 1 },
    ),
  },
  { description: 'One validation.' },
);

export const schemaValidationSpec: FieldSpec = field.object(
  {
    validations: field.array(validationEntrySpec, {
      description:
        'Validations, applied in this order to every PUBLISH (clients, wills, republish) before it reaches subscribers and rules. Validations created over the API (`POST /api/v5/schema_validations`) follow these.',
      default: [],
    }),
    api_store: apiStore('schema_validations', 'data/schema_validations.json'),
  },
  {
    description: 'Schema validation at ingress (EMQX 5.7; docs/schema-validation.md).',
    default: { validations: [], api_store: 'data/schema_validations.json' },
  },
);

function apiStore(api: string, file: string): FieldSpec {
  return field.string({
    description: `File that keeps the entries created or changed over the API (\`/api/v5/${api}\`), so they survive a reload and a restart; relative to the directory of sluice.yaml. Entries listed here in sluice.yaml are read-only over the API.`,
    default: file,
    pattern: '^.+$',
    example: `/var/lib/sluice/${api}.json`,
  });
}

const codec = field.object(
  {
    type: field.string({
      description: 'Payload encoding.',
      enum: ['none', 'json', 'avro', 'protobuf'],
      default: 'none',
    }),
    schema: field.string({
      description: 'avro / protobuf: the registered schema.',
      optional: true,
    }),
    message_type: field.string({ description: 'protobuf: the message type.', optional: true }),
  },
  { description: 'Payload codec.', default: { type: 'none' } },
);

/** One transformation (a `transformations[]` item; also the body of `POST /api/v5/message_transformations`). */
export const transformationEntrySpec: FieldSpec = field.object(
  {
    name: field.string({ description: 'Unique name.', pattern: NAME, example: 'enrich' }),
    enable: field.boolean({ description: 'Off: skipped.', default: true }),
    description: field.string({ description: 'Free text.', default: '' }),
    topics,
    failure_action: failureAction,
    log_failure: logFailure,
    payload_decoder: codec,
    payload_encoder: codec,
    operations: field.array(
      field.object(
        {
          key: field.string({
            description:
              'What to set: `payload`, `payload.a.b`, `topic`, `qos`, `retain` or `user_property.<name>`.',
            pattern: '^(payload(\\.[^.]+)*|topic|qos|retain|user_property\\.[^.]+)$',
            example: 'payload.location',
          }),
          value: field.string({
            description:
              'A variform expression: function calls over the rule SQL functions, string literals, numbers, `[a, b]`, paths (`payload.a`, `clientid`, `username`, `topic`, `qos`, `user_property.k`, …).',
            example: "concat([clientid, '/', payload.site])",
          }),
        },
        { description: 'One operation.' },
      ),
      { description: 'Operations, applied in order.', default: [] },
    ),
  },
  { description: 'One transformation.' },
);

export const messageTransformationSpec: FieldSpec = field.object(
  {
    transformations: field.array(transformationEntrySpec, {
      description:
        'Transformations, applied in this order after schema validation, before routing. Transformations created over the API (`POST /api/v5/message_transformations`) follow these.',
      default: [],
    }),
    api_store: apiStore('message_transformations', 'data/message_transformations.json'),
  },
  {
    description: 'Message transformation at ingress (EMQX 5.8; docs/message-transformation.md).',
    default: { transformations: [], api_store: 'data/message_transformations.json' },
  },
);
