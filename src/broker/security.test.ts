import { describe, expect, it } from 'vitest';
import { silentLogger } from '../core/index.js';
import { resolveBrokerConfig } from './config.js';
import { createSecurity, jwtConfigured } from './security.js';

const deps = { logger: silentLogger, now: Date.now };

describe('createSecurity', () => {
  it('a resolved config without jwt settings (defaults filled in) builds no JWT authenticator', () => {
    // The engine validates sluice.yaml first and hands the broker the resolved config.
    const cfg = resolveBrokerConfig(resolveBrokerConfig({}));
    expect(jwtConfigured(cfg)).toBe(false);
    const s = createSecurity(cfg, deps);
    expect(s.authenticators).toEqual([]);
    expect(s.authorizers).toEqual([]);
  });

  it('a secret switches JWT on (authenticator + acl authorizer); enable: false switches it off', () => {
    const on = createSecurity(resolveBrokerConfig({ jwt: { secret: 's' } }), deps);
    expect(on.authenticators.map((a) => a.name)).toEqual(['jwt']);
    expect(on.authorizers.map((a) => a.name)).toEqual(['jwt']);
    const off = resolveBrokerConfig({ jwt: { secret: 's', enable: false } });
    expect(jwtConfigured(off)).toBe(false);
  });
});
