/**
 * Authentication and authorization as two small pluggable chains (EMQX's model:
 * authenticators are tried in order; each answers allow / deny / ignore).
 *
 * Authentication (on CONNECT): the first `allow` or `deny` wins. When every authenticator
 * ignores the client, `allow_anonymous` decides: allowed clients are marked `is_anonymous`,
 * refused ones get CONNACK 5 (not authorized) [MQTT-3.2.2-6]. A wrong password is CONNACK 4
 * (bad user name or password).
 *
 * Authorization (per PUBLISH / SUBSCRIBE): superusers skip it; otherwise the first `allow` or
 * `deny` wins and `no_match` applies when all ignore. Results may be synchronous (the hot
 * path: no promise is created) or a Promise (for a future JWKS / HTTP backend).
 *
 * Future backends plug in as further `Authenticator`s / `Authorizer`s: JWT (tls-auth.md §1.4:
 * token from the password field, is_superuser / client_attrs / acl claims returned through
 * `AuthnResult`), and the JWT ACL claim as an Authorizer reading `client.attrs`.
 */
import type { ParsedHash } from './password.js';
import { parsePasswordHash, verifyPassword } from './password.js';
import type { UserConfig } from './config.js';

/** What an authenticator sees of a connecting client. */
export interface AuthnRequest {
  readonly clientid: string;
  readonly username: string | undefined;
  readonly password: Buffer | undefined;
  readonly peerhost: string | undefined;
  readonly listener: string;
  /** Subject CN of a verified TLS client certificate, if any. */
  readonly peerCertCN: string | undefined;
}

/** EMQX reason names used in CONNACK text columns (client.connack / check_authn_complete). */
export type AuthnDenyReason = 'bad_username_or_password' | 'not_authorized' | 'server_unavailable';

export type AuthnResult =
  | {
      readonly result: 'allow';
      readonly is_superuser?: boolean;
      /** Attributes copied into every event's `client_attrs` column for this client. */
      readonly client_attrs?: Readonly<Record<string, string>>;
      /** Credential expiry (ms since the epoch, JWT `exp`): authorization denies after it. */
      readonly expires_at?: number;
      /** Close the connection at `expires_at` (JWT `disconnect_after_expire`). */
      readonly disconnect_after_expire?: boolean;
      /** Per-client ACL (the compiled JWT claim), handed to every AuthzRequest. */
      readonly acl?: unknown;
    }
  | { readonly result: 'deny'; readonly reason: AuthnDenyReason }
  | { readonly result: 'ignore' };

export interface Authenticator {
  /** Short source name (`built_in_database`, `jwt`, …) for logs. */
  readonly name: string;
  /** Called once per CONNECT. Must not throw for a bad password: return deny. */
  authenticate(req: AuthnRequest): AuthnResult | Promise<AuthnResult>;
}

/** Outcome of the whole chain, as reported in check_authn_complete. */
export interface AuthnOutcome {
  readonly ok: boolean;
  /** `success` or a deny reason. */
  readonly reason_code: 'success' | AuthnDenyReason;
  readonly is_superuser: boolean;
  readonly is_anonymous: boolean;
  readonly client_attrs: Readonly<Record<string, string>>;
  readonly expires_at?: number;
  readonly disconnect_after_expire?: boolean;
  readonly acl?: unknown;
}

const NO_ATTRS: Readonly<Record<string, string>> = Object.freeze({});

export async function runAuthnChain(
  chain: readonly Authenticator[],
  req: AuthnRequest,
  allowAnonymous: boolean,
): Promise<AuthnOutcome> {
  for (const a of chain) {
    const r = await a.authenticate(req);
    if (r.result === 'allow')
      return {
        ok: true,
        reason_code: 'success',
        is_superuser: r.is_superuser === true,
        is_anonymous: false,
        client_attrs: r.client_attrs ? Object.freeze({ ...r.client_attrs }) : NO_ATTRS,
        ...(r.expires_at !== undefined ? { expires_at: r.expires_at } : {}),
        ...(r.disconnect_after_expire ? { disconnect_after_expire: true } : {}),
        ...(r.acl !== undefined ? { acl: r.acl } : {}),
      };
    if (r.result === 'deny')
      return {
        ok: false,
        reason_code: r.reason,
        is_superuser: false,
        is_anonymous: false,
        client_attrs: NO_ATTRS,
      };
  }
  return allowAnonymous
    ? {
        ok: true,
        reason_code: 'success',
        is_superuser: false,
        is_anonymous: true,
        client_attrs: NO_ATTRS,
      }
    : {
        ok: false,
        reason_code: 'not_authorized',
        is_superuser: false,
        is_anonymous: false,
        client_attrs: NO_ATTRS,
      };
}

/**
 * The built-in user list (EMQX `built_in_database`): an unknown user name is ignored (the
 * chain goes on), a known one with a wrong or missing password is denied with
 * bad_username_or_password. Hashes are parsed once, at construction (config errors surface at
 * start, not at the first CONNECT).
 */
export function createBuiltinAuthenticator(users: readonly UserConfig[]): Authenticator {
  const table = new Map<string, { hash: ParsedHash; is_superuser: boolean }>();
  for (const u of users)
    table.set(u.username, {
      hash: parsePasswordHash(u.password_hash),
      is_superuser: u.is_superuser,
    });
  return {
    name: 'built_in_database',
    async authenticate(req) {
      if (req.username === undefined) return { result: 'ignore' };
      const entry = table.get(req.username);
      if (!entry) return { result: 'ignore' };
      if (req.password === undefined) return { result: 'deny', reason: 'bad_username_or_password' };
      const ok = await verifyPassword(req.password, entry.hash);
      return ok
        ? { result: 'allow', is_superuser: entry.is_superuser }
        : { result: 'deny', reason: 'bad_username_or_password' };
    },
  };
}

/** What an authorizer sees of one publish / subscribe. */
export interface AuthzRequest {
  readonly clientid: string;
  readonly username: string | undefined;
  readonly peerhost: string | undefined;
  readonly client_attrs: Readonly<Record<string, string>>;
  readonly action: 'publish' | 'subscribe';
  /** Topic name (publish) or topic filter (subscribe). */
  readonly topic: string;
  readonly qos: number;
  readonly retain: boolean;
  /** The client's ACL from authentication (AuthnResult.acl), if any. */
  readonly acl?: unknown;
  /** The client's credential expiry (AuthnResult.expires_at), if any. */
  readonly expires_at?: number;
}

export type AuthzResult = 'allow' | 'deny' | 'ignore';

export interface Authorizer {
  /** Reported as `authz_source` in check_authz_complete. */
  readonly name: string;
  authorize(req: AuthzRequest): AuthzResult | Promise<AuthzResult>;
}

export interface AuthzOutcome {
  readonly allow: boolean;
  /** Name of the deciding authorizer, or `default` when `no_match` applied. */
  readonly source: string;
}

const DEFAULT_ALLOW: AuthzOutcome = Object.freeze({ allow: true, source: 'default' });
const DEFAULT_DENY: AuthzOutcome = Object.freeze({ allow: false, source: 'default' });

/**
 * Run the authorization chain. Calls `done` synchronously when every authorizer answered
 * synchronously (no promise on the hot path), otherwise after the first async answer settles.
 * A throwing / rejecting authorizer denies (and is reported through `onError`).
 */
export function runAuthzChain(
  chain: readonly Authorizer[],
  req: AuthzRequest,
  noMatchAllow: boolean,
  done: (outcome: AuthzOutcome) => void,
  onError: (err: unknown, source: string) => void,
): void {
  const step = (i: number): void => {
    for (; i < chain.length; i++) {
      const a = chain[i]!;
      let r: AuthzResult | Promise<AuthzResult>;
      try {
        r = a.authorize(req);
      } catch (err) {
        onError(err, a.name);
        return done({ allow: false, source: a.name });
      }
      if (typeof r !== 'string') {
        const next = i + 1;
        r.then(
          (v) => (v === 'ignore' ? step(next) : done({ allow: v === 'allow', source: a.name })),
          (err: unknown) => {
            onError(err, a.name);
            done({ allow: false, source: a.name });
          },
        );
        return;
      }
      if (r !== 'ignore') return done({ allow: r === 'allow', source: a.name });
    }
    done(noMatchAllow ? DEFAULT_ALLOW : DEFAULT_DENY);
  };
  step(0);
}

/** Denies client publishes to `$SYS/…` (reserved for the broker, as Aedes does by default). */
export const sysPublishAuthorizer: Authorizer = {
  name: 'sys_topics',
  authorize: (req) =>
    req.action === 'publish' && req.topic.startsWith('$SYS/') ? 'deny' : 'ignore',
};
