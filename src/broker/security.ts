/**
 * Builds the config-driven security plug-ins of one broker (docs/security.md): the JWT
 * authenticator, the JWT `acl` claim authorizer and the rules-file authorizer, in EMQX order:
 *
 *   authentication  built-in users → jwt → BrokerDeps.authenticators
 *   authorization   $SYS guard → jwt acl claim → rules file → BrokerDeps.authorizers → no_match
 *
 * Construction validates everything (bad key, unreadable rules file → error at createBroker);
 * `start()` fetches the JWKS once and arms its refresh and starts watching the rules file
 * (`authorization.rules_file_watch`; a bad edit keeps the old rules); `stop()` disarms both.
 */
import type { Logger } from '../core/index.js';
import type { Authenticator, Authorizer } from './auth.js';
import { createJwtAuthenticator, type JwtAuthenticator } from './authn-jwt.js';
import { createJwtAclAuthorizer } from './authz-jwt-acl.js';
import { createScramServer, loadScramUsers, type ScramServer } from './authn-scram.js';
import { createRulesFileAuthorizer, type RulesFileAuthorizer } from './authz-rules.js';
import type { BrokerConfig } from './config.js';
import type { SecurityMetrics, TlsListenerSecurityMetrics } from './types.js';

export interface BrokerSecurity {
  readonly authenticators: readonly Authenticator[];
  readonly authorizers: readonly Authorizer[];
  readonly jwt: JwtAuthenticator | undefined;
  readonly rulesFile: RulesFileAuthorizer | undefined;
  /** SCRAM for MQTT 5 enhanced authentication (`broker.scram`); absent = no AUTH exchange. */
  readonly scram: ScramServer | undefined;
  /** JWT keys come from a JWKS endpoint (its refreshes are counted). */
  readonly usesJwks: boolean;
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
  const file = config.authorization.rules_file;
  const rulesFile = file ? createRulesFileAuthorizer(file) : undefined;
  if (rulesFile) authorizers.push(rulesFile);
  const log = deps.logger.child({ component: 'broker.authz', file });
  const scramUsers = config.scram.enable ? loadScramUsers(config.scram) : [];
  const scram = scramUsers.length > 0 ? createScramServer(scramUsers) : undefined;
  return {
    scram,
    authenticators: jwt ? [jwt] : [],
    authorizers,
    jwt,
    rulesFile,
    usesJwks: jwt !== undefined && config.jwt?.use_jwks === true,
    start: async () => {
      if (rulesFile && config.authorization.rules_file_watch)
        rulesFile.watch({
          debounceMs: 200,
          onReload: (rules) => log.info({ rules }, 'authorization rules file reloaded'),
          onError: (err) =>
            log.warn(
              { code: 'broker_acl_rules_invalid', err },
              'authorization rules file not reloaded; the previous rules stay in force',
            ),
        });
      await jwt?.start();
    },
    stop: () => {
      rulesFile?.close();
      jwt?.stop();
    },
  };
}

/** The security section of `Broker.metrics()`. */
export function securityMetrics(
  sec: BrokerSecurity,
  listeners: readonly { security(): TlsListenerSecurityMetrics | undefined }[],
): SecurityMetrics {
  const tls: TlsListenerSecurityMetrics[] = [];
  for (const l of listeners) {
    const m = l.security();
    if (m) tls.push(m);
  }
  const j = sec.jwt?.metrics;
  return {
    ...(sec.rulesFile ? { acl: { ...sec.rulesFile.metrics } } : {}),
    ...(j && sec.usesJwks
      ? {
          jwks: {
            refresh_ok: j.jwks_refresh_ok,
            refresh_failed: j.jwks_refresh_failed,
            keys: j.keys,
          },
        }
      : {}),
    tls,
  };
}
