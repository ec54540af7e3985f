/**
 * The `schema_registry:` section of sluice.yaml (CONVENTIONS.md #6; the engine hands it to
 * src/config through `ConfigParts`, so config never imports this module). EMQX's
 * `schema_registry { schemas {…}, external {…} }` shape.
 */
import { field } from '../core/index.js';
import type { FieldSpec } from '../core/index.js';

export const SCHEMA_NAME_PATTERN = '^[A-Za-z0-9_][A-Za-z0-9_.-]*$';

export const schemaDefSpec: FieldSpec = field.object(
  {
    type: field.string({
      description: 'Schema type.',
      enum: ['avro', 'protobuf', 'json'],
      example: 'avro',
    }),
    source: field.string({
      description:
        'The schema text: Avro JSON, a .proto file (proto2 or proto3), or a JSON Schema (the draft is chosen by `$schema`: draft-04, -06, -07, 2019-09, 2020-12). Exactly one of `source` and `file`.',
      optional: true,
      example: '{"type":"record","name":"Reading","fields":[{"name":"temp","type":"double"}]}',
    }),
    file: field.string({
      description:
        'Path of the schema file instead of `source`, relative to the directory of sluice.yaml. Protobuf imports are resolved relative to this file.',
      optional: true,
      pattern: '^.+$',
      example: 'schemas/reading.proto',
    }),
    imports: field.map(field.string({ description: 'The imported .proto text.' }), {
      description:
        'Protobuf only: the text of imported files by their import path (`import "common/units.proto";`). Imports not listed here are read as files relative to `file` (or to the directory of sluice.yaml).',
      default: {},
      example: { 'common/units.proto': 'syntax = "proto3"; message Unit { string name = 1; }' },
    }),
    description: field.string({ description: 'Free text.', default: '' }),
  },
  { description: 'One schema.' },
);

export const externalRegistrySpec: FieldSpec = field.object(
  {
    type: field.string({
      description: 'Registry protocol.',
      enum: ['confluent'],
      example: 'confluent',
    }),
    url: field.string({
      description: 'Base URL of the Confluent-compatible registry REST API.',
      pattern: '^https?://.+$',
      example: 'http://127.0.0.1:8081',
    }),
    auth: field.object(
      {
        username: field.string({ description: 'HTTP Basic user name.', example: 'sluice' }),
        password: field.string({
          description: 'HTTP Basic password. Keep it in the environment.',
          secret: true,
          example: '${SCHEMA_REGISTRY_PASSWORD}',
        }),
      },
      { description: 'HTTP Basic credentials (EMQX `auth.mechanism = basic`).', optional: true },
    ),
    request_timeout: field.duration({
      description:
        'Longest wait for one registry request on a cache miss. A rule message waits for it without blocking the event loop (its rule evaluates again when the answer is in); a one-off evaluation (rule_test, a validation SQL check) blocks, capped at `rule_limits.eval_budget`.',
      default: 5000,
      example: '5s',
    }),
    cache_size: field.integer({
      description:
        'Schemas kept by id (ids are immutable in the registry; least recently used evicted).',
      default: 1000,
      min: 1,
      example: 1000,
    }),
    failure_cache_ttl: field.duration({
      description:
        'How long a failed fetch (registry unreachable, timeout, 404, 401/403, not an Avro schema) is remembered: messages needing that schema id or subject fail at once with the same code until then, and the next one after it fetches again. 0: every message tries again.',
      default: 5000,
      example: '5s',
    }),
    subject_cache_ttl: field.duration({
      description: 'How long the latest schema id of a subject (avro_encode by subject) is reused.',
      default: 300_000,
      example: '5m',
    }),
  },
  { description: 'An external schema registry.' },
);

export const schemaRegistrySpec: FieldSpec = field.object(
  {
    schemas: field.map(schemaDefSpec, {
      description:
        'Schemas by name (rule functions name them: `schema_decode(Name, …)`). Names: letters, digits, `_`, `.`, `-`; names starting with `__` are reserved (`__CiscoSparkplugB` is built in).',
      default: {},
      example: { reading: { type: 'json', source: '{"type":"object","required":["temp"]}' } },
    }),
    external: field.map(externalRegistrySpec, {
      description:
        'External (Confluent-compatible) registries by name, for `avro_decode`/`avro_encode`.',
      default: {},
    }),
    api_store: field.string({
      description:
        'File that keeps the schemas created over the API (`POST /api/v5/schema_registry`), so they survive a restart; relative to the directory of sluice.yaml. Schemas in `schemas` here are read-only over the API.',
      default: 'data/schema_registry.json',
      pattern: '^.+$',
      example: '/var/lib/sluice/schema_registry.json',
    }),
  },
  {
    description:
      'Schema registry: Avro, Protobuf and JSON Schema for rule functions (docs/schema-registry.md).',
  },
);
