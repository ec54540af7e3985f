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
      'HTTP 401: the API needs a credential (`api.token`, an API key, or a non-loopback bind) and the request has none, a wrong one, or an expired or disabled key (`WWW-Authenticate` names Basic and Bearer).',
    retriable: false,
  },
  api_forbidden: {
    description:
      "HTTP 403: the API key's role does not allow the request (a `viewer` key may only GET).",
    retriable: false,
  },
  api_auth_rate_limited: {
    description:
      'HTTP 429: too many failed authentications from this address (`api.auth_failure_limit` within `api.auth_failure_window`); `Retry-After` says when to try again.',
    retriable: true,
  },
  api_auth_required: {
    description:
      'The API is set to listen on a non-loopback address (`api.bind`) with no credential configured (`api.token`, a key in `api.keys_file`, or `api.bootstrap_file`); `sluice run` exits 1 instead of exposing it.',
    retriable: false,
  },
  api_key_file_invalid: {
    description:
      'The API key file (`api.keys_file`) is not the JSON `sluice api-key` writes, or cannot be read. At start this is fatal; a later bad edit keeps the keys read before.',
    retriable: false,
  },
  api_bootstrap_file_invalid: {
    description:
      'A line of `api.bootstrap_file` is not `key:secret` or `key:secret:role` with role administrator or viewer (file:line named).',
    retriable: false,
  },
  api_key_exists: {
    description: '`sluice api-key create`: a key with that `--name` exists.',
    retriable: false,
  },
  api_key_not_found: {
    description: '`sluice api-key delete`: no key with that name.',
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
    description: 'HTTP 413: the request body is larger than `api.max_body_size` (default 1 MiB).',
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
  api_server_error: {
    description:
      'The API HTTP server reported an error after it started listening (logged with `err`).',
    retriable: false,
  },
  api_audit_file_failed: {
    description:
      'The audit log file (`api.audit_log`) cannot be written; audit lines go to the process log only from then on. Check the path and permissions.',
    retriable: false,
  },
  api_dashboard_missing: {
    description:
      'Warning at start: `api.dashboard` is on but the built dashboard (`dist/web/index.html`) is missing; the API runs without it. Build it with `npm run build` (docs/dashboard.md).',
    retriable: false,
  },
  api_listen_failed: {
    description:
      'The API could not listen on its address (port in use, address not available, permission denied).',
    retriable: false,
  },
});
