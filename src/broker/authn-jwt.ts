/**
 * JWT authentication (EMQX `mechanism = jwt`, spec tls-auth.md §1.4) as an `Authenticator`.
 *
 * Contract:
 *  - The token is read from the CONNECT password (default) or user name. An empty field, or a
 *    value that is not a JWS compact serialisation at all, is `ignore` (the chain goes on, then
 *    `allow_anonymous`). A token that fails verification is `deny bad_username_or_password`
 *    (CONNACK 4). With JWKS and no keys at all (never fetched, or dropped after
 *    `max_fail_count` failures) it is `deny server_unavailable` (CONNACK 3).
 *  - The signature is checked with an algorithm allow-list per mode, never the header's word:
 *    HS256/384/512 for `hmac-based`, RS*, PS*, ES*, EdDSA for `public-key` and JWKS (§4.8), so
 *    an HS256 token "signed" with the public key PEM is refused (algorithm confusion).
 *  - `exp` and `nbf` are enforced when present (jose, with `clock_tolerance`); `require_exp`
 *    also refuses tokens without `exp`. `verify_claims` compares each claim exactly after
 *    substituting `${clientid}` / `${username}`; a missing claim fails; `aud` may be an array
 *    that contains the value.
 *  - JWKS: fetched at start and every `refresh_interval` by our own timer; a failed refresh
 *    keeps the last good keys (through outages) unless `max_fail_count` consecutive failures
 *    have happened (0 = keep them forever). A token whose `kid` is unknown triggers one
 *    refetch, at most once per cooldown (10 s), so rotated-in keys work before the next tick.
 *    Keys come only from the configured endpoint (never a token's `jku` / `x5u`).
 *  - On success the result carries `is_superuser` (claim), `client_attrs` (string map claim),
 *    `expires_at` (from `exp`, for `disconnect_after_expire` and ACL expiry) and the ACL claim
 *    compiled once here (authz-jwt-acl.ts); a malformed claim is a deny.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  createLocalJWKSet,
  errors as joseErrors,
  jwtVerify,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
} from 'jose';
import type { Logger } from '../core/index.js';
import type { Authenticator, AuthnRequest, AuthnResult } from './auth.js';
import { compileAclClaim, type CompiledAcl } from './authz-jwt-acl.js';
import { BrokerErrors } from './errors.js';

export const HMAC_ALGS = ['HS256', 'HS384', 'HS512'] as const;
export const PUBLIC_KEY_ALGS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;

export interface JwtAuthConfig {
  enable: boolean;
  from: 'password' | 'username';
  use_jwks: boolean;
  algorithm: 'hmac-based' | 'public-key';
  secret?: string;
  secret_base64_encoded: boolean;
  /** PEM text, or a path of a PEM file. */
  public_key?: string;
  endpoint?: string;
  headers: Record<string, string>;
  /** ms; raised to at least 10 s. */
  refresh_interval: number;
  http_timeout: number;
  max_fail_count: number;
  /** Narrows the mode's allow-list. */
  algorithms?: string[];
  verify_claims: Record<string, string>;
  require_exp: boolean;
  clock_tolerance: number;
  disconnect_after_expire: boolean;
  acl_claim_name: string;
}

export interface JwtAuthDeps {
  logger: Logger;
  now: () => number;
  fetch?: typeof globalThis.fetch;
  /** Minimum ms between two on-demand JWKS refetches (unknown kid). */
  jwksCooldown?: number;
}

export interface JwtAuthenticator extends Authenticator {
  /** Fetch the JWKS once (failure only logged) and arm the refresh timer. */
  start(): Promise<void>;
  stop(): void;
  /** Refetch the JWKS now; resolves true when the keys were replaced. */
  refresh(): Promise<boolean>;
  readonly metrics: { jwks_refresh_ok: number; jwks_refresh_failed: number; keys: number };
}

const MIN_REFRESH = 10_000;
const MAX_TIMER = 2 ** 31 - 1;
const RESERVED_CLAIMS = new Set(['exp', 'iat', 'nbf']);
const DENY_BAD: AuthnResult = Object.freeze({
  result: 'deny',
  reason: 'bad_username_or_password',
});
const IGNORE: AuthnResult = Object.freeze({ result: 'ignore' });
const JWS_COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

function invalid(msg: string): Error {
  return BrokerErrors.broker_config_invalid(`invalid broker config: jwt.${msg}`);
}

/** Resolve the allow-list of a mode, narrowed by `algorithms` (which must be a subset). */
export function allowedAlgorithms(cfg: JwtAuthConfig): string[] {
  const base: readonly string[] =
    cfg.use_jwks || cfg.algorithm === 'public-key' ? PUBLIC_KEY_ALGS : HMAC_ALGS;
  if (!cfg.algorithms) return [...base];
  for (const a of cfg.algorithms)
    if (!base.includes(a))
      throw invalid(
        `algorithms: ${a} is not allowed for ${cfg.use_jwks ? 'JWKS' : cfg.algorithm} (allowed: ${base.join(', ')})`,
      );
  return [...cfg.algorithms];
}

function staticKey(cfg: JwtAuthConfig): Uint8Array | KeyObject {
  if (cfg.algorithm === 'hmac-based') {
    if (!cfg.secret) throw invalid('secret is required for algorithm hmac-based');
    const bytes = cfg.secret_base64_encoded
      ? Buffer.from(cfg.secret, 'base64')
      : Buffer.from(cfg.secret, 'utf8');
    if (bytes.length === 0) throw invalid('secret decodes to no bytes');
    return new Uint8Array(bytes);
  }
  if (!cfg.public_key) throw invalid('public_key is required for algorithm public-key');
  let pem = cfg.public_key;
  if (!pem.includes('-----BEGIN')) {
    try {
      pem = readFileSync(pem, 'utf8');
    } catch (cause) {
      throw BrokerErrors.broker_config_invalid(
        `invalid broker config: jwt.public_key: cannot read ${pem}: ${(cause as Error).message}`,
        { cause },
      );
    }
  }
  try {
    // createPublicKey would quietly derive the public half of a private key: refuse it, a
    // private key has no business in this config.
    if (pem.includes('PRIVATE KEY')) throw new Error('a private key was given');
    return createPublicKey(pem);
  } catch (cause) {
    throw BrokerErrors.broker_config_invalid(
      `invalid broker config: jwt.public_key is not a PEM public key: ${(cause as Error).message}`,
      { cause },
    );
  }
}

/** `${clientid}` / `${username}` substitution; undefined when a used value is missing. */
export function fillPlaceholders(
  template: string,
  vars: { clientid: string; username: string | undefined },
): string | undefined {
  let missing = false;
  const out = template.replace(/\$\{(clientid|username)\}/g, (_m, name: string) => {
    const v = name === 'clientid' ? vars.clientid : vars.username;
    if (v === undefined || v === '') missing = true;
    return v ?? '';
  });
  return missing ? undefined : out;
}

/** verify_claims (EMQX semantics): exact match, missing fails, `aud` may be an array. */
export function claimsMatch(
  payload: JWTPayload,
  expected: Readonly<Record<string, string>>,
  vars: { clientid: string; username: string | undefined },
): string | undefined {
  for (const [name, tpl] of Object.entries(expected)) {
    const want = fillPlaceholders(tpl, vars);
    if (want === undefined) return `${name}: placeholder has no value`;
    const got = payload[name];
    if (got === undefined || got === null) return `${name}: missing`;
    if (Array.isArray(got)) {
      if (name === 'aud' && got.includes(want)) continue;
      return `${name}: not matched`;
    }
    if (typeof got === 'object' || String(got) !== want) return `${name}: not matched`;
  }
  return undefined;
}

function stringMap(v: unknown): Record<string, string> | undefined {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
}

export function createJwtAuthenticator(cfg: JwtAuthConfig, deps: JwtAuthDeps): JwtAuthenticator {
  const logger = deps.logger.child({ component: 'broker.authn.jwt' });
  const doFetch = deps.fetch ?? globalThis.fetch;
  const algorithms = allowedAlgorithms(cfg);
  for (const name of Object.keys(cfg.verify_claims))
    if (RESERVED_CLAIMS.has(name))
      throw invalid(`verify_claims.${name}: exp, iat and nbf are checked by the verifier itself`);
  const refreshEvery = Math.max(cfg.refresh_interval, MIN_REFRESH);
  const cooldown = deps.jwksCooldown ?? MIN_REFRESH;
  const metrics = { jwks_refresh_ok: 0, jwks_refresh_failed: 0, keys: 0 };

  let key: Uint8Array | KeyObject | undefined;
  let jwks: JWTVerifyGetKey | undefined;
  if (cfg.use_jwks) {
    if (!cfg.endpoint) throw invalid('endpoint is required when use_jwks is true');
    try {
      new URL(cfg.endpoint);
    } catch {
      throw invalid(`endpoint: not a URL: ${cfg.endpoint}`);
    }
  } else key = staticKey(cfg);

  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let failures = 0;
  let lastFetch = -Infinity;
  let inflight: Promise<boolean> | undefined;

  async function fetchJwks(): Promise<JSONWebKeySet> {
    const res = await doFetch(cfg.endpoint!, {
      headers: { accept: 'application/json', ...cfg.headers },
      signal: AbortSignal.timeout(cfg.http_timeout),
      redirect: 'error',
    });
    if (!res.ok) throw new Error(`JWKS endpoint answered HTTP ${res.status}`);
    const body = (await res.json()) as { keys?: unknown };
    if (!body || !Array.isArray(body.keys)) throw new Error('JWKS has no "keys" array');
    // Symmetric keys never belong in a public JWKS; keys marked for encryption are not ours.
    const keys = (body.keys as Array<Record<string, unknown>>).filter(
      (k) => k && typeof k === 'object' && k['kty'] !== 'oct' && (k['use'] ?? 'sig') === 'sig',
    );
    if (keys.length === 0) throw new Error('JWKS holds no usable signing key');
    return { keys } as JSONWebKeySet;
  }

  function refresh(): Promise<boolean> {
    inflight ??= (async () => {
      lastFetch = deps.now();
      try {
        const set = await fetchJwks();
        jwks = createLocalJWKSet(set);
        failures = 0;
        metrics.jwks_refresh_ok++;
        if (metrics.keys !== set.keys.length)
          logger.info({ keys: set.keys.length, endpoint: cfg.endpoint }, 'JWKS keys loaded');
        metrics.keys = set.keys.length;
        return true;
      } catch (err) {
        failures++;
        metrics.jwks_refresh_failed++;
        const drop = cfg.max_fail_count > 0 && failures >= cfg.max_fail_count && jwks;
        if (drop) {
          jwks = undefined;
          metrics.keys = 0;
        }
        logger.warn(
          {
            code: 'broker_jwks_refresh_failed',
            endpoint: cfg.endpoint,
            failures,
            reason: (err as Error).message,
            keeping_keys: jwks !== undefined,
          },
          drop ? 'JWKS refresh failed; cached keys dropped' : 'JWKS refresh failed',
        );
        return false;
      } finally {
        inflight = undefined;
      }
    })();
    return inflight;
  }

  function schedule(ms: number): void {
    if (stopped) return;
    timer = setTimeout(() => {
      void refresh().then((ok) => schedule(ok ? refreshEvery : Math.min(refreshEvery, 5000)));
    }, ms);
    timer.unref();
  }

  const options: JWTVerifyOptions = {
    algorithms,
    clockTolerance: Math.floor(cfg.clock_tolerance / 1000),
    currentDate: undefined,
    ...(cfg.require_exp ? { requiredClaims: ['exp'] } : {}),
  };

  async function verifyWith(
    token: string,
    k: Uint8Array | KeyObject | JWTVerifyGetKey,
  ): Promise<JWTPayload> {
    const opts = { ...options, currentDate: new Date(deps.now()) };
    try {
      return typeof k === 'function'
        ? (await jwtVerify(token, k, opts)).payload
        : (await jwtVerify(token, k, opts)).payload;
    } catch (err) {
      // Several JWKS keys match (no kid): try each in turn, as EMQX does.
      if (err instanceof joseErrors.JWKSMultipleMatchingKeys) {
        for await (const candidate of err as unknown as AsyncIterable<KeyObject>) {
          try {
            return (await jwtVerify(token, candidate, opts)).payload;
          } catch (inner) {
            if (inner instanceof joseErrors.JWSSignatureVerificationFailed) continue;
            throw inner;
          }
        }
        throw new joseErrors.JWSSignatureVerificationFailed();
      }
      throw err;
    }
  }

  async function authenticate(req: AuthnRequest): Promise<AuthnResult> {
    const raw = cfg.from === 'password' ? req.password?.toString('utf8') : req.username;
    if (!raw) return IGNORE;
    if (!JWS_COMPACT.test(raw)) return IGNORE;
    let payload: JWTPayload;
    try {
      if (cfg.use_jwks) {
        if (!jwks && deps.now() - lastFetch >= cooldown) await refresh();
        if (!jwks) {
          logger.warn(
            { code: 'broker_jwks_unavailable', clientid: req.clientid },
            'JWT refused: no JWKS keys available',
          );
          return { result: 'deny', reason: 'server_unavailable' };
        }
        try {
          payload = await verifyWith(raw, jwks);
        } catch (err) {
          if (!(err instanceof joseErrors.JWKSNoMatchingKey) || deps.now() - lastFetch < cooldown)
            throw err;
          // An unknown kid: the key may have been rotated in since the last fetch.
          await refresh();
          payload = await verifyWith(raw, jwks);
        }
      } else payload = await verifyWith(raw, key!);
    } catch (err) {
      logger.info(
        {
          clientid: req.clientid,
          reason: (err as { code?: string }).code ?? (err as Error).message,
        },
        'JWT refused',
      );
      return DENY_BAD;
    }
    const claimError = claimsMatch(payload, cfg.verify_claims, {
      clientid: req.clientid,
      username: req.username,
    });
    if (claimError !== undefined) {
      logger.info({ clientid: req.clientid, reason: claimError }, 'JWT refused: verify_claims');
      return DENY_BAD;
    }
    const attrs = stringMap(payload['client_attrs']);
    const claim = payload[cfg.acl_claim_name];
    let acl: CompiledAcl | undefined;
    if (claim !== undefined) {
      try {
        acl = compileAclClaim(claim);
      } catch (err) {
        logger.info(
          { clientid: req.clientid, reason: (err as Error).message },
          'JWT refused: malformed ACL claim',
        );
        return DENY_BAD;
      }
    }
    return {
      result: 'allow',
      is_superuser: payload['is_superuser'] === true || payload['is_superuser'] === 'true',
      ...(attrs ? { client_attrs: attrs } : {}),
      ...(typeof payload.exp === 'number' ? { expires_at: payload.exp * 1000 } : {}),
      ...(acl ? { acl } : {}),
      disconnect_after_expire: cfg.disconnect_after_expire,
    };
  }

  return {
    name: 'jwt',
    metrics,
    authenticate,
    refresh,
    async start() {
      stopped = false;
      if (!cfg.use_jwks) return;
      const ok = await refresh();
      schedule(ok ? refreshEvery : Math.min(refreshEvery, 5000));
    },
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
  };
}

/** setTimeout that also works for delays past 2^31-1 ms (re-arms until `at`). */
export function timerAt(at: number, now: () => number, fn: () => void): () => void {
  let t: NodeJS.Timeout | undefined;
  const arm = (): void => {
    // Always asynchronous, so an already-passed `at` never fires inside the caller.
    t = setTimeout(
      () => (now() >= at ? fn() : arm()),
      Math.max(0, Math.min(at - now(), MAX_TIMER)),
    );
    t.unref();
  };
  arm();
  return () => {
    if (t) clearTimeout(t);
  };
}
