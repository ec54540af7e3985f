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
  ocpp_publish_failed: {
    description:
      'A frame from a charge point could not be published into the broker (the broker refused it or is stopping); counted as publish_failed. Context: clientid.',
    retriable: false,
  },
  ocpp_auth_backend_failed: {
    description:
      'An authentication backend threw while checking a charge point; the upgrade is refused with HTTP 503. Context: clientid.',
    retriable: true,
  },
  ocpp_subscribe_failed: {
    description:
      'The downstream topic of a charge point could not be subscribed; the upgrade is refused with HTTP 503. Context: clientid.',
    retriable: true,
  },
  ocpp_upgrade_failed: {
    description:
      'An unexpected error while handling a WebSocket upgrade; the connection is refused with HTTP 500 (a bug: please report it).',
    retriable: false,
  },
  ocpp_event_listener_failed: {
    description:
      "A listener of the gateway's connect/disconnect events threw; the event still reached the other listeners.",
    retriable: false,
  },
  ocpp_schema_invalid: {
    description:
      'The OCPP 1.6 JSON schemas could not be loaded or compiled: a file of json_schema_dir is unreadable or not a valid draft-04 schema (or the bundled typed-ocpp install is broken); raised at gateway start.',
    retriable: false,
  },
});
