/** Codes of ingress schema validation / message transformation (decision 0013, docs/schema-validation.md). */
import { defineErrors } from '../../core/index.js';

export const IngressErrors = defineErrors('ingress', {
  ingress_config_invalid: {
    description:
      'A `schema_validation.validations[]` or `message_transformation.transformations[]` entry is invalid: duplicate name, bad topic filter, SQL check or variform expression that does not compile, a schema check without `schema`, a protobuf check without `message_type`. The diagnostic names the path.',
    retriable: false,
  },
  schema_validation_failed: {
    description:
      'A PUBLISH failed a schema validation (logged at the validation’s `log_failure.level`, at most once a second per validation): the message was dropped, its publisher disconnected, or (`ignore`) it went on. `$events/schema_validation_failed` fires for it.',
    retriable: false,
  },
  message_transformation_failed: {
    description:
      'A message transformation failed for a PUBLISH (payload decode/encode error, an operation that failed or rendered a bad `qos` / `retain` / `topic`, a final payload that is not binary). Logged at `log_failure.level`, at most once a second per transformation; `$events/message_transformation_failed` fires for it.',
    retriable: false,
  },
  ingress_entry_invalid: {
    description:
      'HTTP 400 (`/api/v5/schema_validations`, `/api/v5/message_transformations`): the body is not a valid validation / transformation — a field fails the config spec or the entry does not compile (SQL check, variform expression, topic filter). `issues` lists each problem with its field path.',
    retriable: false,
  },
  ingress_entry_exists: {
    description:
      'HTTP 409: `POST` of a validation / transformation whose name is already used (by an API entry or one in sluice.yaml).',
    retriable: false,
  },
  ingress_entry_not_found: {
    description: 'HTTP 404: no validation / transformation with that name.',
    retriable: false,
  },
  ingress_config_owned: {
    description:
      'HTTP 409: the validation / transformation is declared in sluice.yaml, which the API does not rewrite; edit the file and reload. Also logged (warning) when a sluice.yaml entry hides an API entry of the same name.',
    retriable: false,
  },
  ingress_reorder_invalid: {
    description:
      'HTTP 400 (`POST …/reorder`): `order` must name every validation / transformation exactly once, with the sluice.yaml entries first in their file order; the answer lists `not_found`, `duplicated` and `not_reordered` names (EMQX shape).',
    retriable: false,
  },
  ingress_store_failed: {
    description:
      'HTTP 503, or at start/reload: the `api_store` file of `schema_validation` / `message_transformation` cannot be written or read (the change is not applied; a file that does not parse keeps the running API entries).',
    retriable: true,
  },
});
