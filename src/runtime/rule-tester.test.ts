import { describe, expect, it } from 'vitest';

import { createDefaultServices } from './functions/index.js';
import { createParseWorker } from './parse-worker.js';
import { eventNameOf, runRuleTest, runRuleTestAsync } from './rule-tester.js';

const opts = { services: createDefaultServices({ node: 'n@h' }), now: 1_700_000_000_000 };

describe('runRuleTest (rule_test / sluice test-rule)', () => {
  it('maps EMQX event_type names to events', () => {
    expect(eventNameOf('message_publish')).toBe('message.publish');
    expect(eventNameOf('client_check_authz_complete')).toBe('client.check_authz_complete');
    expect(eventNameOf('delivery_dropped')).toBe('delivery.dropped');
    expect(eventNameOf('client.connected')).toBe('client.connected');
    expect(eventNameOf('client_exploded')).toBeUndefined();
  });

  it('fills sample columns and runs SELECT and FOREACH', () => {
    expect(runRuleTest('SELECT clientid, topic, qos FROM "a/b"', {}, opts)).toEqual({
      kind: 'passed',
      outputs: [{ clientid: 'c_sluice', topic: 'a/b', qos: 1 }],
      foreach: false,
    });
    const r = runRuleTest('FOREACH payload.xs AS x FROM "t/#"', { payload: { xs: [1, 2] } }, opts);
    expect(r).toMatchObject({ kind: 'passed', foreach: true });
  });

  it('needs the event to match FROM', () => {
    expect(runRuleTest('SELECT 1 AS x FROM "t/#"', { topic: 'u/1' }, opts).kind).toBe('no_match');
    expect(
      runRuleTest('SELECT 1 AS x FROM "t/#"', { event_type: 'client_connected' }, opts).kind,
    ).toBe('no_match');
    expect(
      runRuleTest(
        'SELECT clientid FROM "$events/client/connected"',
        { event_type: 'client_connected', clientid: 'z' },
        opts,
      ),
    ).toMatchObject({ kind: 'passed', outputs: [{ clientid: 'z' }] });
    expect(runRuleTest('SELECT 1 AS x FROM "t/#"', { event_type: 7 }, opts).kind).toBe(
      'bad_context',
    );
  });

  it('reports no result, evaluation failures and SQL diagnostics', () => {
    expect(runRuleTest('SELECT 1 AS x FROM "t/1" WHERE 1 = 2', {}, opts)).toEqual({
      kind: 'no_result',
    });
    expect(runRuleTest('SELECT payload.a FROM "t/1"', { payload: '{' }, opts)).toMatchObject({
      kind: 'failed',
      code: 'decode_json_failed',
    });
    const bad = runRuleTest('SELECT FROM "t/1"', {}, opts);
    expect(bad.kind).toBe('sql_error');
    if (bad.kind === 'sql_error') expect(bad.diagnostics[0]).toMatchObject({ line: 1 });
  });
});

describe('rule test budget', () => {
  it('a looping jq program fails fast under the budget instead of waiting for jq’s 10 s timeout', async () => {
    const clock = { deadline: Infinity };
    const services = createDefaultServices({ node: 'n', deadline: () => clock.deadline });
    try {
      // Load jq's WebAssembly first (not part of the budget question).
      runRuleTest(
        `SELECT jq('.', payload) AS x FROM "t"`,
        { topic: 't', payload: '1' },
        {
          services,
          now: 0,
        },
      );
      const t0 = Date.now();
      const r = runRuleTest(
        `SELECT jq('def f: f; f', payload) AS x FROM "t"`,
        { topic: 't', payload: '1' },
        { services, now: 0, budgetMs: 100, clock },
      );
      expect(Date.now() - t0).toBeLessThan(2_000);
      expect(r.kind).toBe('failed');
      expect(clock.deadline).toBe(Infinity);
    } finally {
      await services.close?.();
    }
  });
});

describe('runRuleTestAsync (jq without blocking)', () => {
  it('evaluates jq in passes; a looping program leaves the event loop free until its timeout', async () => {
    const services = createDefaultServices();
    try {
      const ok = await runRuleTestAsync(
        `SELECT jq('.a * 2', payload) AS x, kv_store_put('k', 1) AS p FROM "t/#"`,
        { payload: { a: 21 } },
        { services, now: 0 },
      );
      expect(ok).toEqual({ kind: 'passed', outputs: [{ x: [42], p: true }], foreach: false });
      let done = false;
      const looping = runRuleTestAsync(
        `SELECT jq('def f: f; f', payload, 1000) AS x FROM "t/#"`,
        { payload: {} },
        { services, now: 0 },
      ).finally(() => (done = true));
      // A timer fires while the program runs: the event loop is not held.
      await new Promise((r) => setTimeout(r, 20));
      expect(done).toBe(false);
      const r = await looping;
      expect(r).toMatchObject({ kind: 'failed' });
      expect((r as { reason: string }).reason).toMatch(/timeout/);
    } finally {
      await services.close?.();
    }
  });
});

describe('runRuleTestAsync with the parse worker (decision 0022)', () => {
  const caseRule = (n: number, tail = '') =>
    `SELECT CASE ${Array.from({ length: n }, (_, i) => `WHEN payload.v = ${i} THEN 'b${i}'`).join(' ')} ELSE 'none' END AS c FROM "t"${tail}`;

  it('answers as the synchronous test does: outputs, diagnostics, no_match, limits', async () => {
    const worker = createParseWorker({ minChars: 0 });
    try {
      const cases: [string, Record<string, unknown>, object?][] = [
        [caseRule(300), { topic: 't', payload: '{"v":299}' }],
        [caseRule(300, ' WHERE'), { topic: 't' }],
        [caseRule(300), { topic: 'u' }],
        [caseRule(300), { topic: 't', payload: '{"v":1}' }, { limits: { maxTokens: 100 } }],
        ['SELECT nope(1) AS x FROM "t"', { topic: 't' }], // a planner diagnostic
      ];
      for (const [sql, context, extra] of cases) {
        const o = { ...opts, ...extra };
        const want = runRuleTest(sql, context, o);
        expect(await runRuleTestAsync(sql, context, { ...o, parse: worker.parse })).toEqual(want);
      }
      expect(worker.stats().offThread).toBe(cases.length);
    } finally {
      await worker.close();
    }
  });

  it('a dead parse worker rejects with sql_parse_worker_failed', async () => {
    const worker = createParseWorker({ minChars: 0, timeoutMs: 1 });
    try {
      await expect(
        runRuleTestAsync(caseRule(50), { topic: 't' }, { ...opts, parse: worker.parse }),
      ).rejects.toMatchObject({ code: 'sql_parse_worker_failed' });
    } finally {
      await worker.close();
    }
  });
});
