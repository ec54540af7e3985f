/**
 * Error codes of the management HTTP API. Each is sent as the JSON body `{ code, message }`
 * with the HTTP status named in its description. Errors raised by the engine keep their own
 * codes (`rule_not_found` 404, `rule_already_exists` 409, `rule_unknown_action` and
 * `rule_sql_invalid` 400; SQL diagnostics and evaluation failures in `rule_test` keep theirs).
 */
import { defineErrors } from '../core/index.js';

export const ApiErrors = defineErrors('api', {
  api_bad_request: {
    description:
      'HTTP 400: the request body is not valid JSON, or a field is missing or has the wrong type.',
    retriable: false,
  },
  api_unauthorized: {
    description:
      'HTTP 401: `api.token` is configured and the request has no `Authorization: Bearer` header or the wrong token.',
    retriable: false,
  },
  api_not_found: {
    description: 'HTTP 404: no such endpoint, or no sink with that name.',
    retriable: false,
  },
  api_method_not_allowed: {
    description: 'HTTP 405: the endpoint exists but not for this method (see the `Allow` header).',
    retriable: false,
  },
  api_body_too_large: {
    description: 'HTTP 413: the request body is larger than 1 MiB.',
    retriable: false,
  },
  api_rule_test_no_result: {
    description:
      'HTTP 412 from `rule_test` (EMQX `NOT_MATCH`): the context topic or event does not match FROM, WHERE was false, or FOREACH produced nothing.',
    retriable: false,
  },
  api_internal_error: {
    description: 'HTTP 500: an unexpected failure while handling a request (logged with details).',
    retriable: false,
  },
  api_listen_failed: {
    description:
      'The API could not listen on its address (port in use, address not available, permission denied).',
    retriable: false,
  },
});
