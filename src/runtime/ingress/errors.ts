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
});
