/**
 * Error codes raised by the embedded broker (CONVENTIONS.md #7). Every code listed here is
 * reproduced in docs/errors.md; declare new codes here before raising them.
 */
import { defineErrors } from '../core/index.js';

export const BrokerErrors = defineErrors('broker', {
  broker_config_invalid: {
    description:
      'The broker configuration failed validation (unknown field, wrong type, missing TLS material); the message lists every field path.',
    retriable: false,
  },
  broker_listen_failed: {
    description:
      'A listener could not bind its address (e.g. EADDRINUSE: address already in use, EACCES: privileged port); context holds listener, host, port and the system code.',
    retriable: false,
  },
  broker_tls_material_invalid: {
    description:
      'A TLS listener could not load its certificate, key or CA (unreadable file or malformed PEM).',
    retriable: false,
  },
  broker_not_started: {
    description: 'publish/subscribe was called before broker.start() resolved or after stop().',
    retriable: true,
  },
  broker_publish_failed: {
    description:
      'broker.publish() was refused by Aedes (invalid topic, too many topic levels, broker closing).',
    retriable: false,
  },
  broker_password_hash_invalid: {
    description:
      'A configured password hash is not in a supported format (scrypt$N$r$p$salt$hash or pbkdf2$digest$iterations$salt$hash).',
    retriable: false,
  },
  broker_auth_backend_failed: {
    description:
      'An authenticator or authorizer in the chain threw or rejected; the client is refused (CONNACK 3 server unavailable) and the error is logged.',
    retriable: true,
  },
  broker_acl_rules_invalid: {
    description:
      'The authorization rules file (authorization.rules_file) cannot be read or holds a malformed rule; the message names the rule field.',
    retriable: false,
  },
});
