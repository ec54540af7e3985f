import { describe, expect, it } from 'vitest';

import { createAuthLimiter, isLoopbackHost } from './guard.js';

describe('isLoopbackHost', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.10.20.30', true],
    ['localhost', true],
    ['LOCALHOST', true],
    ['::1', true],
    ['[::1]', true],
    ['0:0:0:0:0:0:0:1', true],
    ['::ffff:127.0.0.1', true],
    ['0.0.0.0', false],
    ['::', false],
    ['192.168.1.10', false],
    ['10.0.0.1', false],
    ['128.0.0.1', false],
    ['::ffff:10.0.0.1', false],
    ['fe80::1', false],
    ['sluice.example.com', false],
    ['localhost.example.com', false],
  ])('%s → %s', (host, want) => {
    expect(isLoopbackHost(host)).toBe(want);
  });
});

describe('auth failure limiter', () => {
  it('blocks an address after `limit` failures until the window ends; others are unaffected', () => {
    let t = 1_000;
    const l = createAuthLimiter(3, 60_000, () => t);
    for (let i = 0; i < 3; i++) {
      expect(l.blockedFor('a')).toBe(0);
      l.attempt('a');
    }
    expect(l.blockedFor('a')).toBe(60_000);
    expect(l.blockedFor('b')).toBe(0);
    t += 59_000;
    expect(l.blockedFor('a')).toBe(1_000);
    t += 1_000;
    expect(l.blockedFor('a')).toBe(0);
    l.attempt('a');
    expect(l.blockedFor('a')).toBe(0); // a new window with one failure
  });

  it('a success takes back its attempt, so good clients are never blocked', () => {
    const l = createAuthLimiter(2, 60_000, () => 0);
    for (let i = 0; i < 10; i++) {
      l.attempt('a');
      l.succeeded('a');
    }
    expect(l.blockedFor('a')).toBe(0);
    l.attempt('a');
    l.attempt('a');
    expect(l.blockedFor('a')).toBeGreaterThan(0);
  });

  it('in-flight attempts count: parallel guesses stop at the limit', () => {
    const l = createAuthLimiter(2, 60_000, () => 0);
    l.attempt('a');
    l.attempt('a'); // neither finished yet
    expect(l.blockedFor('a')).toBeGreaterThan(0);
  });

  it('limit 0 disables it', () => {
    const l = createAuthLimiter(0, 60_000, () => 0);
    for (let i = 0; i < 100; i++) l.attempt('a');
    expect(l.blockedFor('a')).toBe(0);
    expect(l.size).toBe(0);
  });

  it('tracks at most maxAddresses (expired first, then the oldest)', () => {
    let t = 0;
    const l = createAuthLimiter(1, 1_000, () => t, 3);
    l.attempt('a');
    l.attempt('b');
    l.attempt('c');
    expect(l.size).toBe(3);
    l.attempt('d'); // full: the oldest (a) goes
    expect(l.size).toBe(3);
    expect(l.blockedFor('a')).toBe(0);
    expect(l.blockedFor('d')).toBeGreaterThan(0);
    t = 5_000; // all expired
    l.attempt('e');
    expect(l.size).toBe(1);
  });
});
