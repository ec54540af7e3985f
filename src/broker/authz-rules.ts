/**
 * Authorization rules: EMQX 5.x rule objects (the JWT `acl` list form and our rules file share
 * one shape and one compiler), topic-filter matching with placeholders, and the rules-file
 * authorizer (`authorization.rules_file`).
 *
 * A rule: `{permission, action, topic | topics, qos?, retain?, username?, clientid?, ipaddr?,
 * username_re?, clientid_re?}` (spec tls-auth.md §1.5). Every condition present must match;
 * the first matching rule decides; no match is `ignore`, so the chain goes on and finally
 * `authorization.no_match` applies.
 *
 * Topics: a rule topic is an MQTT filter, `eq <filter>` matches that exact string only.
 * Placeholders `${clientid}` and `${username}` may appear anywhere; the EMQX 4.4 forms `%c` and
 * `%u` only as a whole level. A placeholder whose value is missing or contains `+`, `#` or `/`
 * cannot be used (it would widen the filter): an allow rule then does not match, a deny rule
 * does (fail closed). A subscribe request to a filter is matched by wildcard semantics on
 * both sides: the rule `a/#` covers a subscription to `a/+`, the rule `a/+` does not cover `a/#`.
 * `$share/<group>/` and `$queue/` prefixes are stripped before matching (the real topic is
 * what gets authorized). `#` and `+` never match a first level starting with `$`
 * [MQTT-4.7.2-1].
 *
 * `*_re` fields are JavaScript regular expressions from operator config or a signed token;
 * they are compiled once (at start, or once per CONNECT for a token).
 */
import { BlockList, isIP } from 'node:net';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { Authorizer, AuthzRequest, AuthzResult } from './auth.js';
import { BrokerErrors } from './errors.js';

export type RuleAction = 'publish' | 'subscribe' | 'all';

interface TopicPattern {
  readonly eq: boolean;
  readonly text: string;
  /** True when the text holds a placeholder (filled per request). */
  readonly templated: boolean;
}

export interface CompiledRule {
  readonly permission: 'allow' | 'deny';
  readonly action: RuleAction;
  readonly topics: readonly TopicPattern[];
  readonly qos: ReadonlySet<number> | undefined;
  readonly retain: boolean | undefined;
  readonly who: ((req: AuthzRequest) => boolean) | undefined;
}

const PLACEHOLDER = /\$\{(clientid|username)\}/g;
const UNSAFE_VALUE = /[+#/]/;

/** The filter being authorized, without a shared-subscription prefix. */
export function realTopic(action: 'publish' | 'subscribe', topic: string): string {
  if (action !== 'subscribe') return topic;
  if (topic.startsWith('$queue/')) return topic.slice(7);
  if (topic.startsWith('$share/')) {
    const i = topic.indexOf('/', 7);
    return i < 0 ? topic : topic.slice(i + 1);
  }
  return topic;
}

/**
 * Does `filter` cover `name`? `name` is a topic name (publish) or itself a filter (subscribe):
 * a wildcard level in `name` is covered only by `#`, or by `+` when it is `+`.
 */
export function topicMatch(filter: string, name: string): boolean {
  const f = filter.split('/');
  const n = name.split('/');
  if (n[0]!.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false;
  for (let i = 0; i < f.length; i++) {
    const fl = f[i]!;
    if (fl === '#') return true; // `a/#` also matches `a` [MQTT-4.7.1-2]
    if (i >= n.length) return false;
    const nl = n[i]!;
    if (fl === '+') {
      if (nl === '#') return false;
      continue;
    }
    if (nl === '+' || nl === '#' || fl !== nl) return false;
  }
  return f.length === n.length;
}

/** Fill placeholders; undefined when a value is missing or unsafe in a topic. */
export function fillTopic(text: string, req: AuthzRequest): string | undefined {
  let bad = false;
  const value = (name: string): string => {
    const v = name === 'clientid' ? req.clientid : req.username;
    if (v === undefined || v === '' || UNSAFE_VALUE.test(v)) bad = true;
    return v ?? '';
  };
  let out = text.replace(PLACEHOLDER, (_m, name: string) => value(name));
  if (out.includes('%')) {
    out = out
      .split('/')
      .map((l) => (l === '%c' ? value('clientid') : l === '%u' ? value('username') : l))
      .join('/');
  }
  return bad ? undefined : out;
}

function isTemplated(text: string): boolean {
  PLACEHOLDER.lastIndex = 0;
  return PLACEHOLDER.test(text) || text.split('/').some((l) => l === '%c' || l === '%u');
}

export function topicPattern(raw: string): TopicPattern {
  const eq = raw.startsWith('eq ');
  const text = eq ? raw.slice(3) : raw;
  return { eq, text, templated: isTemplated(text) };
}

/** Does the rule's topic list cover this request? `undefined` = a placeholder was unusable. */
function topicsCover(rule: CompiledRule, req: AuthzRequest, topic: string): boolean | 'unusable' {
  let unusable = false;
  for (const p of rule.topics) {
    const text = p.templated ? fillTopic(p.text, req) : p.text;
    if (text === undefined) {
      unusable = true;
      continue;
    }
    if (p.eq ? text === topic : topicMatch(text, topic)) return true;
  }
  return unusable ? 'unusable' : false;
}

/** Does this rule decide the request? */
export function ruleMatches(rule: CompiledRule, req: AuthzRequest): boolean {
  if (rule.action !== 'all' && rule.action !== req.action) return false;
  if (rule.qos && !rule.qos.has(req.qos)) return false;
  if (rule.retain !== undefined && req.action === 'publish' && rule.retain !== req.retain)
    return false;
  if (rule.who && !rule.who(req)) return false;
  const cover = topicsCover(rule, req, realTopic(req.action, req.topic));
  return cover === 'unusable' ? rule.permission === 'deny' : cover;
}

/** First matching rule's permission, or ignore. */
export function evaluateRules(rules: readonly CompiledRule[], req: AuthzRequest): AuthzResult {
  for (const r of rules) if (ruleMatches(r, req)) return r.permission;
  return 'ignore';
}

// ---- compiling rule objects ---------------------------------------------------------------

const ACTIONS: Record<string, RuleAction> = {
  publish: 'publish',
  pub: 'publish',
  subscribe: 'subscribe',
  sub: 'subscribe',
  all: 'all',
};
const RULE_KEYS = new Set([
  'permission',
  'action',
  'topic',
  'topics',
  'qos',
  'retain',
  'username',
  'clientid',
  'ipaddr',
  'username_re',
  'clientid_re',
]);

/** A rule object failed to compile; `path` names the offending field. */
export class RuleError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
  }
}

function parseQos(v: unknown, path: string): Set<number> | undefined {
  if (v === undefined) return undefined;
  const items =
    typeof v === 'number'
      ? [v]
      : typeof v === 'string'
        ? v.split(',').map((s) => Number(s.trim()))
        : Array.isArray(v)
          ? v.map(Number)
          : null;
  if (!items || items.some((q) => q !== 0 && q !== 1 && q !== 2))
    throw new RuleError(`${path}.qos`, 'must be 0, 1, 2, a list of them or a string like "0,1"');
  return new Set(items);
}

function parseRetain(v: unknown, path: string): boolean | undefined {
  if (v === undefined || v === 'all') return undefined;
  if (v === true || v === 1 || v === '1' || v === 'true') return true;
  if (v === false || v === 0 || v === '0' || v === 'false') return false;
  throw new RuleError(`${path}.retain`, 'must be true, false, 0, 1 or "all"');
}

function regex(v: unknown, path: string): RegExp | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new RuleError(path, 'must be a regular expression string');
  try {
    return new RegExp(v);
  } catch (e) {
    throw new RuleError(path, `invalid regular expression: ${(e as Error).message}`);
  }
}

function ipMatcher(v: unknown, path: string): ((ip: string | undefined) => boolean) | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new RuleError(path, 'must be an IP address or CIDR string');
  const [addr, bits] = v.split('/');
  const family = isIP(addr ?? '');
  if (!family) throw new RuleError(path, `not an IP address or CIDR: ${v}`);
  const type = family === 6 ? 'ipv6' : 'ipv4';
  const list = new BlockList();
  const prefix = bits === undefined ? (family === 6 ? 128 : 32) : Number(bits);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === 6 ? 128 : 32))
    throw new RuleError(path, `bad prefix length in ${v}`);
  list.addSubnet(addr!, prefix, type);
  return (ip) => {
    if (!ip) return false;
    const f = isIP(ip);
    return f !== 0 && list.check(ip, f === 6 ? 'ipv6' : 'ipv4');
  };
}

/** Compile one EMQX 5.x rule object; throws RuleError naming the bad field. */
export function compileRule(raw: unknown, path: string, allowWho = true): CompiledRule {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new RuleError(path, 'a rule must be an object');
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!RULE_KEYS.has(k)) throw new RuleError(`${path}.${k}`, 'unknown rule field');
  if (o['permission'] !== 'allow' && o['permission'] !== 'deny')
    throw new RuleError(`${path}.permission`, 'must be "allow" or "deny"');
  const action = ACTIONS[String(o['action'])];
  if (!action)
    throw new RuleError(`${path}.action`, 'must be publish, subscribe, all (or pub, sub)');
  const rawTopics =
    o['topics'] !== undefined ? o['topics'] : o['topic'] !== undefined ? [o['topic']] : undefined;
  if (
    !Array.isArray(rawTopics) ||
    rawTopics.length === 0 ||
    rawTopics.some((t) => typeof t !== 'string' || t === '')
  )
    throw new RuleError(`${path}.topics`, 'needs `topic` or a non-empty `topics` list of strings');
  const conds: Array<(req: AuthzRequest) => boolean> = [];
  const username = o['username'];
  const clientid = o['clientid'];
  if (username !== undefined || clientid !== undefined) {
    if (!allowWho) throw new RuleError(path, 'username / clientid are not allowed here');
    if (username !== undefined && typeof username !== 'string')
      throw new RuleError(`${path}.username`, 'must be a string');
    if (clientid !== undefined && typeof clientid !== 'string')
      throw new RuleError(`${path}.clientid`, 'must be a string');
  }
  if (typeof username === 'string') conds.push((r) => r.username === username);
  if (typeof clientid === 'string') conds.push((r) => r.clientid === clientid);
  const ure = regex(o['username_re'], `${path}.username_re`);
  if (ure) conds.push((r) => r.username !== undefined && ure.test(r.username));
  const cre = regex(o['clientid_re'], `${path}.clientid_re`);
  if (cre) conds.push((r) => cre.test(r.clientid));
  const ip = ipMatcher(o['ipaddr'], `${path}.ipaddr`);
  if (ip) conds.push((r) => ip(r.peerhost));
  return Object.freeze({
    permission: o['permission'],
    action,
    topics: Object.freeze((rawTopics as string[]).map(topicPattern)),
    qos: parseQos(o['qos'], path),
    retain: parseRetain(o['retain'], path),
    who: conds.length === 0 ? undefined : (r: AuthzRequest) => conds.every((c) => c(r)),
  });
}

// ---- the rules file -----------------------------------------------------------------------

/** Parse a rules file text (YAML or JSON): `{rules: [...]}` or a bare list of rules. */
export function parseRulesText(text: string, file: string): CompiledRule[] {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (cause) {
    throw BrokerErrors.broker_acl_rules_invalid(
      `authorization rules file ${file}: not YAML/JSON: ${(cause as Error).message}`,
      { cause, context: { file } },
    );
  }
  const list = Array.isArray(doc)
    ? doc
    : doc && typeof doc === 'object'
      ? (doc as { rules?: unknown }).rules
      : undefined;
  if (!Array.isArray(list))
    throw BrokerErrors.broker_acl_rules_invalid(
      `authorization rules file ${file}: expected a list of rules or {rules: [...]}`,
      { context: { file } },
    );
  try {
    return list.map((r, i) => compileRule(r, `rules[${i}]`));
  } catch (err) {
    if (!(err instanceof RuleError)) throw err;
    throw BrokerErrors.broker_acl_rules_invalid(
      `authorization rules file ${file}: ${err.message}`,
      { cause: err, context: { file, path: err.path } },
    );
  }
}

export interface RulesFileAuthorizer extends Authorizer {
  /**
   * Read and compile the file again. A good file replaces the rules at once (the next request
   * sees them); a bad one throws `broker_acl_rules_invalid` and the old rules stay in force.
   */
  reload(): { rules: number };
  /** Watch the file's directory and reload on change (debounced); errors go to `onError`. */
  watch(opts: RulesFileWatchOptions): void;
  close(): void;
  readonly metrics: { rules: number; reloads_ok: number; reloads_failed: number };
}

export interface RulesFileWatchOptions {
  readonly debounceMs: number;
  readonly onReload: (rules: number) => void;
  readonly onError: (err: unknown) => void;
}

function readRules(file: string): CompiledRule[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw BrokerErrors.broker_acl_rules_invalid(
      `authorization rules file ${file}: cannot read: ${(cause as Error).message}`,
      { cause, context: { file } },
    );
  }
  return parseRulesText(text, file);
}

/**
 * The `file` authorizer. The rules are read at broker construction (an unreadable or malformed
 * file is a start error) and again whenever the file changes while the broker runs: the
 * directory is watched (editors save by renaming a temp file over the original, which a watch
 * on the file itself would lose). A reload that fails is logged and leaves the old rules in
 * force — a half-written file never opens or closes the broker by accident.
 */
export function createRulesFileAuthorizer(file: string): RulesFileAuthorizer {
  let rules = readRules(file);
  const metrics = { rules: rules.length, reloads_ok: 0, reloads_failed: 0 };
  let watcher: FSWatcher | undefined;
  let timer: NodeJS.Timeout | undefined;
  const self: RulesFileAuthorizer = {
    name: 'file',
    authorize: (req) => evaluateRules(rules, req),
    metrics,
    reload() {
      try {
        rules = readRules(file);
      } catch (err) {
        metrics.reloads_failed++;
        throw err;
      }
      metrics.rules = rules.length;
      metrics.reloads_ok++;
      return { rules: rules.length };
    },
    watch({ debounceMs, onReload, onError }) {
      if (watcher) return;
      const name = basename(file);
      const fire = () => {
        if (timer) clearTimeout(timer);
        timer = setTimeout(() => {
          timer = undefined;
          try {
            onReload(self.reload().rules);
          } catch (err) {
            onError(err);
          }
        }, debounceMs);
        timer.unref();
      };
      try {
        watcher = watch(dirname(file), { persistent: false }, (_event, changed) => {
          if (changed === null || String(changed) === name) fire();
        });
        watcher.on('error', onError);
      } catch (err) {
        onError(err);
      }
    },
    close() {
      if (timer) clearTimeout(timer);
      timer = undefined;
      watcher?.close();
      watcher = undefined;
    },
  };
  return self;
}
