/**
 * Builds the config-driven security plug-ins of one broker (docs/security.md): the JWT
 * authenticator, the JWT `acl` claim authorizer and the rules-file authorizer, in EMQX order:
 *
 *   authentication  built-in users → jwt → BrokerDeps.authenticators
 *   authorization   $SYS guard → jwt acl claim → rules file → BrokerDeps.authorizers → no_match
 *
 * Construction validates everything (bad key, unreadable rules file → error at createBroker);
 * `start()` fetches the JWKS once and arms its refresh, `stop()` disarms it.
 */
import type { Logger } from '../core/index.js';
import type { Authenticator, Authorizer } from './auth.js';
import { createJwtAuthenticator, type JwtAuthenticator } from './authn-jwt.js';
import { createJwtAclAuthorizer } from './authz-jwt-acl.js';
import { createRulesFileAuthorizer } from './authz-rules.js';
import type { BrokerConfig } from './config.js';

export interface BrokerSecurity {
  readonly authenticators: readonly Authenticator[];
  readonly authorizers: readonly Authorizer[];
  readonly jwt: JwtAuthenticator | undefined;
  start(): Promise<void>;
  stop(): void;
}

/**
 * JWT is on when its section names key material (`secret`, `public_key` or `use_jwks: true`)
 * and `enable` is not false. The config spec fills an absent section with defaults, and the
 * engine hands the broker an already-resolved config, so presence alone cannot be the switch.
 */
export function jwtConfigured(config: BrokerConfig): boolean {
  const j = config.jwt;
  return (
    j !== undefined &&
    j.enable !== false &&
    (j.secret !== undefined || j.public_key !== undefined || j.use_jwks === true)
  );
}

export function createSecurity(
  config: BrokerConfig,
  deps: { logger: Logger; now: () => number },
): BrokerSecurity {
  const jwt = jwtConfigured(config) ? createJwtAuthenticator(config.jwt!, deps) : undefined;
  const authorizers: Authorizer[] = [];
  if (jwt) authorizers.push(createJwtAclAuthorizer(deps.now));
  if (config.authorization.rules_file)
    authorizers.push(createRulesFileAuthorizer(config.authorization.rules_file));
  return {
    authenticators: jwt ? [jwt] : [],
    authorizers,
    jwt,
    start: async () => jwt?.start(),
    stop: () => jwt?.stop(),
  };
}
