/**
 * Error codes raised by the OCPP gateway (CONVENTIONS.md #7). Every code listed here is
 * reproduced in docs/errors.md; declare new codes here before raising them.
 */
import { defineErrors } from '../core/index.js';

export const OcppErrors = defineErrors('ocpp', {
  ocpp_config_invalid: {
    description:
      'The gateway.ocpp configuration failed validation (unknown field, wrong type, wss listener without a certificate); the message lists every field path.',
    retriable: false,
  },
  ocpp_listen_failed: {
    description:
      'An OCPP listener could not bind its address (EADDRINUSE, EACCES) or load its TLS material; context holds listener, host and port.',
    retriable: false,
  },
  ocpp_schema_invalid: {
    description:
      'The OCPP 1.6 JSON schemas could not be loaded or compiled: a file of json_schema_dir is unreadable or not a valid draft-04 schema (or the bundled typed-ocpp install is broken); raised at gateway start.',
    retriable: false,
  },
});
