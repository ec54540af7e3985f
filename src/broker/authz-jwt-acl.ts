/**
 * The JWT `acl` claim as an Authorizer (spec tls-auth.md §1.5), in both EMQX formats:
 *
 *  - 4.4 / 5.x legacy object `{pub: [...], sub: [...], all: [...]}`: allow-lists. A publish is
 *    checked against `all` + `pub`, a subscribe against `all` + `sub`. No match is **deny**
 *    (the JWT ACL decides, later sources are not consulted).
 *  - 5.x list `[{permission, action, topic(s), qos?, retain?, clientid_re?, username_re?,
 *    ipaddr?}]`: first match wins; no match is **ignore** (falls through to the other sources
 *    and finally `authorization.no_match`).
 *
 * Either way, once the token's `exp` has passed every publish and subscribe is denied (even
 * with `disconnect_after_expire = false`). A client without the claim is ignored. The claim is
 * compiled once, at CONNECT (`compileAclClaim`, called by the JWT authenticator); a malformed
 * claim fails authentication (EMQX: bad_username_or_password).
 */
import type { Authorizer, AuthzRequest, AuthzResult } from './auth.js';
import { compileRule, evaluateRules, realTopic, topicMatch, fillTopic } from './authz-rules.js';
import type { CompiledRule } from './authz-rules.js';
import { RuleError, topicPattern } from './authz-rules.js';

export type CompiledAcl =
  | {
      readonly format: 'object';
      readonly pub: ReturnType<typeof topicPattern>[];
      readonly sub: ReturnType<typeof topicPattern>[];
    }
  | { readonly format: 'list'; readonly rules: readonly CompiledRule[] };

function topicList(v: unknown, path: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((t) => typeof t !== 'string' || t === ''))
    throw new RuleError(path, 'must be a list of topic filters');
  return v as string[];
}

/** Compile the claim; throws RuleError for a malformed one. */
export function compileAclClaim(claim: unknown): CompiledAcl {
  if (Array.isArray(claim))
    return { format: 'list', rules: claim.map((r, i) => compileRule(r, `acl[${i}]`, false)) };
  if (claim === null || typeof claim !== 'object')
    throw new RuleError('acl', 'must be an object {pub, sub, all} or a list of rules');
  const o = claim as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (k !== 'pub' && k !== 'sub' && k !== 'all' && k !== 'publish' && k !== 'subscribe')
      throw new RuleError(`acl.${k}`, 'unknown key (expected pub, sub, all)');
  const all = topicList(o['all'], 'acl.all');
  const pub = [...all, ...topicList(o['pub'] ?? o['publish'], 'acl.pub')].map(topicPattern);
  const sub = [...all, ...topicList(o['sub'] ?? o['subscribe'], 'acl.sub')].map(topicPattern);
  return { format: 'object', pub, sub };
}

function objectAllows(patterns: ReturnType<typeof topicPattern>[], req: AuthzRequest): boolean {
  const topic = realTopic(req.action, req.topic);
  for (const p of patterns) {
    const text = p.templated ? fillTopic(p.text, req) : p.text;
    if (text !== undefined && (p.eq ? text === topic : topicMatch(text, topic))) return true;
  }
  return false;
}

/** Decide one request by the client's compiled claim. */
export function evaluateAcl(
  acl: CompiledAcl | undefined,
  expiresAt: number | undefined,
  now: number,
  req: AuthzRequest,
): AuthzResult {
  if (expiresAt !== undefined && now >= expiresAt) return 'deny';
  if (!acl) return 'ignore';
  if (acl.format === 'list') return evaluateRules(acl.rules, req);
  return objectAllows(req.action === 'publish' ? acl.pub : acl.sub, req) ? 'allow' : 'deny';
}

/** The `jwt` authorizer: reads what the JWT authenticator stored for the client. */
export function createJwtAclAuthorizer(now: () => number): Authorizer {
  return {
    name: 'jwt',
    authorize: (req) => evaluateAcl(req.acl as CompiledAcl | undefined, req.expires_at, now(), req),
  };
}
