import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AuthzRequest } from './auth.js';
import { compileAclClaim, evaluateAcl } from './authz-jwt-acl.js';
import {
  compileRule,
  createRulesFileAuthorizer,
  evaluateRules,
  parseRulesText,
  topicMatch,
} from './authz-rules.js';

const r = (
  action: 'publish' | 'subscribe',
  topic: string,
  over: Partial<AuthzRequest> = {},
): AuthzRequest => ({
  clientid: 'dev-1',
  username: 'alice',
  peerhost: '10.1.2.3',
  client_attrs: {},
  action,
  topic,
  qos: 0,
  retain: false,
  ...over,
});

describe('topicMatch', () => {
  it.each([
    ['a/#', 'a', true],
    ['a/#', 'a/b/c', true],
    ['a/+', 'a/b', true],
    ['a/+', 'a/b/c', false],
    ['a/b', 'a/b', true],
    ['a/b', 'a/c', false],
    ['#', '$SYS/x', false],
    ['+/x', '$SYS/x', false],
    ['$SYS/#', '$SYS/x', true],
    // subscribe requests are filters: a wildcard is covered only by a wider wildcard
    ['a/#', 'a/+', true],
    ['a/+', 'a/+', true],
    ['a/+', 'a/#', false],
    ['a/b', 'a/+', false],
    ['#', '#', true],
  ])('%s covers %s: %s', (f, n, want) => expect(topicMatch(f, n)).toBe(want));
});

describe('rules', () => {
  const rules = [
    { permission: 'allow', action: 'subscribe', username: 'admin', topics: ['$SYS/#'] },
    { permission: 'deny', action: 'all', ipaddr: '10.9.0.0/16', topic: '#' },
    {
      permission: 'allow',
      action: 'publish',
      topics: ['up/${clientid}/#'],
      qos: '0,1',
      retain: false,
    },
    { permission: 'allow', action: 'subscribe', topics: ['down/%u/+', 'eq cmd/#'] },
    { permission: 'deny', action: 'all', clientid_re: '^bad-', topic: '#' },
  ].map((x, i) => compileRule(x, `rules[${i}]`));
  const ev = (req: AuthzRequest) => evaluateRules(rules, req);

  it('matches by user, ip, placeholders, qos, retain, eq; no match is ignore', () => {
    expect(ev(r('subscribe', '$SYS/brokers', { username: 'admin' }))).toBe('allow');
    expect(ev(r('subscribe', '$SYS/brokers'))).toBe('ignore');
    expect(ev(r('publish', 'up/dev-1/t', { peerhost: '10.9.4.4' }))).toBe('deny');
    expect(ev(r('publish', 'up/dev-1/t'))).toBe('allow');
    expect(ev(r('publish', 'up/dev-2/t'))).toBe('ignore');
    expect(ev(r('publish', 'up/dev-1/t', { qos: 2 }))).toBe('ignore');
    expect(ev(r('publish', 'up/dev-1/t', { retain: true }))).toBe('ignore');
    expect(ev(r('subscribe', 'down/alice/x'))).toBe('allow');
    expect(ev(r('subscribe', 'down/alice/+'))).toBe('allow');
    expect(ev(r('subscribe', 'down/alice/#'))).toBe('ignore');
    expect(ev(r('subscribe', 'cmd/#'))).toBe('allow');
    expect(ev(r('subscribe', 'cmd/x'))).toBe('ignore');
    expect(ev(r('subscribe', '$share/g/down/alice/x'))).toBe('allow');
    expect(ev(r('publish', 'x', { clientid: 'bad-1' }))).toBe('deny');
  });

  it('an unusable placeholder value never widens an allow, and still triggers a deny', () => {
    // client id "#" would turn up/${clientid}/# into up/#/#
    expect(ev(r('publish', 'up/x/t', { clientid: '#' }))).toBe('ignore');
    expect(ev(r('subscribe', 'down/x/y', { username: undefined }))).toBe('ignore');
    const deny = [
      compileRule({ permission: 'deny', action: 'all', topic: 'priv/${username}' }, 'd'),
    ];
    expect(evaluateRules(deny, r('publish', 'priv/x', { username: 'a/b' }))).toBe('deny');
  });

  it('names the bad field of a malformed rule', () => {
    expect(() =>
      compileRule({ permission: 'maybe', action: 'all', topic: 'x' }, 'rules[0]'),
    ).toThrow('rules[0].permission');
    expect(() =>
      compileRule({ permission: 'allow', action: 'all', topic: 'x', qos: 3 }, 'r'),
    ).toThrow('r.qos');
    expect(() =>
      compileRule({ permission: 'allow', action: 'all', topic: 'x', who: 1 }, 'r'),
    ).toThrow('r.who');
    expect(() => parseRulesText('rules: [{permission: allow, action: all}]', 'f.yaml')).toThrow(
      /rules\[0\]\.topics/,
    );
  });

  it('reads a YAML rules file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-acl-'));
    try {
      const f = join(dir, 'acl.yaml');
      writeFileSync(f, 'rules:\n  - {permission: deny, action: publish, topic: "x/#"}\n');
      const a = createRulesFileAuthorizer(f);
      expect(a.authorize(r('publish', 'x/1'))).toBe('deny');
      expect(a.authorize(r('subscribe', 'x/1'))).toBe('ignore');
      expect(() => createRulesFileAuthorizer(join(dir, 'missing.yaml'))).toThrow(/cannot read/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('rules file reload', () => {
  it('a good edit replaces the rules; a bad one throws and keeps the old rules', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-acl-'));
    try {
      const f = join(dir, 'acl.yaml');
      writeFileSync(f, 'rules:\n  - {permission: deny, action: publish, topic: "x/#"}\n');
      const a = createRulesFileAuthorizer(f);
      expect(a.authorize(r('publish', 'x/1'))).toBe('deny');
      writeFileSync(
        f,
        'rules:\n  - {permission: allow, action: publish, topic: "x/#"}\n  - {permission: deny, action: all, topic: "#"}\n',
      );
      expect(a.reload()).toEqual({ rules: 2 });
      expect(a.authorize(r('publish', 'x/1'))).toBe('allow');
      expect(a.authorize(r('subscribe', 'y'))).toBe('deny');
      writeFileSync(f, 'rules:\n  - {permission: allow, action: publish}\n');
      expect(() => a.reload()).toThrow(/rules\[0\]\.topics/);
      expect(a.authorize(r('publish', 'x/1'))).toBe('allow');
      rmSync(f);
      expect(() => a.reload()).toThrow(/cannot read/);
      expect(a.authorize(r('subscribe', 'y'))).toBe('deny');
      expect(a.metrics).toEqual({ rules: 2, reloads_ok: 1, reloads_failed: 2 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('watch() reloads after a rename over the file and reports a broken edit', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-acl-'));
    const a = createRulesFileAuthorizer(
      (() => {
        const f = join(dir, 'acl.yaml');
        writeFileSync(f, 'rules:\n  - {permission: deny, action: publish, topic: "x/#"}\n');
        return f;
      })(),
    );
    const reloads: number[] = [];
    const errors: unknown[] = [];
    try {
      a.watch({ debounceMs: 20, onReload: (n) => reloads.push(n), onError: (e) => errors.push(e) });
      // Editors save by writing a temp file and renaming it over the original.
      writeFileSync(
        join(dir, 'acl.yaml.tmp'),
        'rules:\n  - {permission: allow, action: publish, topic: "x/#"}\n',
      );
      renameSync(join(dir, 'acl.yaml.tmp'), join(dir, 'acl.yaml'));
      await until(() => a.authorize(r('publish', 'x/1')) === 'allow');
      expect(reloads.at(-1)).toBe(1);
      writeFileSync(join(dir, 'other.txt'), 'not ours');
      writeFileSync(join(dir, 'acl.yaml'), 'rules: [');
      await until(() => errors.length > 0);
      expect(String(errors[0])).toMatch(/not YAML\/JSON/);
      expect(a.authorize(r('publish', 'x/1'))).toBe('allow');
    } finally {
      a.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

async function until(ok: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((res) => setTimeout(res, 10));
  }
}

describe('JWT acl claim', () => {
  const now = 1_000_000;
  it('4.4 object form: allow-lists, no match denies', () => {
    const acl = compileAclClaim({
      pub: ['stats/%c'],
      sub: ['cmd/${username}/#'],
      all: ['shared/#'],
    });
    const ev = (req: AuthzRequest) => evaluateAcl(acl, undefined, now, req);
    expect(ev(r('publish', 'stats/dev-1'))).toBe('allow');
    expect(ev(r('publish', 'stats/dev-2'))).toBe('deny');
    expect(ev(r('subscribe', 'stats/dev-1'))).toBe('deny');
    expect(ev(r('subscribe', 'cmd/alice/reboot'))).toBe('allow');
    expect(ev(r('publish', 'shared/x'))).toBe('allow');
    expect(ev(r('subscribe', 'shared/x'))).toBe('allow');
  });

  it('5.x list form: first match wins, no match falls through', () => {
    const acl = compileAclClaim([
      { permission: 'deny', action: 'publish', topic: 't/secret' },
      { permission: 'allow', action: 'all', topics: ['t/#'] },
    ]);
    const ev = (req: AuthzRequest) => evaluateAcl(acl, undefined, now, req);
    expect(ev(r('publish', 't/secret'))).toBe('deny');
    expect(ev(r('publish', 't/ok'))).toBe('allow');
    expect(ev(r('publish', 'other'))).toBe('ignore');
  });

  it('denies everything once the token has expired; no claim is ignore', () => {
    const acl = compileAclClaim({ all: ['#'] });
    expect(evaluateAcl(acl, now, now, r('publish', 'a'))).toBe('deny');
    expect(evaluateAcl(undefined, now + 1, now, r('publish', 'a'))).toBe('ignore');
    expect(evaluateAcl(undefined, now, now, r('publish', 'a'))).toBe('deny');
  });

  it('list rules may not name username/clientid (the token is for one client)', () => {
    expect(() =>
      compileAclClaim([{ permission: 'allow', action: 'all', topic: '#', username: 'x' }]),
    ).toThrow(/not allowed/);
    expect(() => compileAclClaim({ pub: ['a'], admin: true })).toThrow('acl.admin');
  });
});
