/**
 * Error codes of the schema registry (CONVENTIONS.md #7). Codes raised while a rule runs
 * (`serde_not_found`, `schema_decode_error`, …) become that rule's failure code for the message
 * (counted in `failed.exception`); the others are raised when a schema is created or loaded.
 * Names follow EMQX's error terms where it has one (`{serde_not_found, Name}`,
 * `{schema_decode_error, …}`, `registry_not_found`, `bad_registry_credentials`, …).
 */
import { defineErrors } from '../core/index.js';

export const SchemaErrors = defineErrors('schema-registry', {
  serde_not_found: {
    description:
      'A rule named a schema that is not in the registry (EMQX `{serde_not_found, Name}`): check `schema_registry.schemas` or `GET /api/v5/schema_registry`. The message fails.',
    retriable: false,
  },
  schema_decode_error: {
    description:
      'The data could not be decoded with the schema (truncated or foreign bytes, a JSON document that does not validate, an unknown protobuf message type); the reason names the schema and the message type. The message fails.',
    retriable: false,
  },
  schema_encode_error: {
    description:
      'The map could not be encoded with the schema (a missing required field, a value of the wrong type, an unknown protobuf message type); the reason names the field. The message fails.',
    retriable: false,
  },
  schema_invalid: {
    description:
      'A schema source does not compile (Avro JSON that is not a schema, a .proto syntax error or missing import, a JSON Schema that fails its meta-schema, an unreadable file); raised at config load or by the API (400), naming the schema.',
    retriable: false,
  },
  schema_already_exists: {
    description: '`POST /api/v5/schema_registry` with the name of an existing schema (409).',
    retriable: false,
  },
  schema_config_owned: {
    description:
      'The API tried to change or delete a schema declared in sluice.yaml (409): edit the file instead; only schemas created over the API are changed over the API.',
    retriable: false,
  },
  schema_store_failed: {
    description:
      'The file that keeps the schemas created over the API (`schema_registry.api_store`) could not be read or written; the change is not applied.',
    retriable: true,
  },
  registry_not_found: {
    description:
      'avro_decode/avro_encode named an external registry that is not configured under `schema_registry.external` (EMQX `registry_not_found`). The message fails.',
    retriable: false,
  },
  external_schema_not_found: {
    description:
      'The external registry answered 404 for the schema id (EMQX `schema_not_found`). The message fails; the miss is remembered for `failure_cache_ttl` (later messages needing that id fail at once).',
    retriable: false,
  },
  bad_registry_credentials: {
    description:
      'The external registry answered 401 or 403 (EMQX `bad_registry_credentials`): check `auth` of the registry. The message fails.',
    retriable: false,
  },
  external_registry_unavailable: {
    description:
      'The external registry could not be reached, timed out (`request_timeout`; a blocking fetch is also capped at the rule budget) or answered 5xx or something that is not a schema. The messages waiting for it fail; the failure is remembered for `failure_cache_ttl`, then the next message tries again. Also: a message whose schema was still not cached after 16 fetches (`cache_size` too small).',
    retriable: true,
  },
  bad_input: {
    description:
      'avro_decode got data that is not in the Confluent wire format (magic byte 0 and a 4-byte schema id), or avro_encode got a schema id that is not an integer (EMQX `bad_input` / `bad_schema_id`). The message fails.',
    retriable: false,
  },
});
