/**
 * Issue #19 item 5 (decision 0022): creating a huge rule over the API does not hold the event
 * loop. Long SQL is lexed and parsed on the engine's parse worker; only the plan and the
 * closures are built on the event loop. Here the size limits are off, so a 5,000-branch CASE
 * (169 KB, 40,000 tokens: ~0.2 s of parsing on a quiet machine, seconds under load) is really
 * created while an in-process MQTT client keeps doing QoS 1 round trips through a rule: they
 * must go on completing while the request is in flight. With the parse on the event loop none
 * can complete until it is over.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createApiServer } from '../../src/api/index.js';
import type { ApiServer } from '../../src/api/index.js';
import { silentLogger } from '../../src/core/index.js';
import { createEngine } from '../../src/engine/index.js';
import type { Engine } from '../../src/engine/index.js';
import { parseRule } from '../../src/sql-parser/index.js';

let engine: Engine;
let api: ApiServer;
let base = '';
let client: MqttClient;

const caseRule = (n: number, tail = ''): string =>
  `SELECT CASE ${Array.from({ length: n }, (_, i) => `WHEN payload.v = ${i} THEN 'b${i}'`).join(' ')} ELSE 'none' END AS c FROM "abuse/case"${tail}`;

async function call(method: string, p: string, body: unknown) {
  const r = await fetch(`${base}${p}`, {
    method,
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
}

beforeAll(async () => {
  engine = createEngine(
    {
      broker: { listeners: { tcp: { type: 'tcp', bind: '127.0.0.1', port: 0 } } },
      sinks: {
        out: { type: 'republish', topic: 'probe/out', qos: 1, payload: '${payload}' },
        mem: { type: 'memory', linger: 0 },
      },
      // Off, so that the 5,000-branch CASE is created rather than refused unparsed.
      rule_limits: { max_sql_bytes: 0, max_sql_tokens: 0 },
      rules: [{ id: 'probe', sql: 'SELECT payload FROM "probe/in"', actions: ['out'] }],
    },
    { logger: silentLogger },
  );
  const [addr] = await engine.start();
  api = createApiServer({ engine, logger: silentLogger }, { bind: '127.0.0.1', port: 0 });
  base = (await api.start()).url;
  client = await mqtt.connectAsync(`mqtt://127.0.0.1:${addr!.port}`, { reconnectPeriod: 0 });
  await client.subscribeAsync('probe/out', { qos: 1 });
});
afterAll(async () => {
  await client?.endAsync();
  await api?.stop();
  await engine?.stop({ drainMs: 100 });
});

/** QoS 1 round trips (publish → rule → republish → back), one after the other, until stopped. */
function roundTrips(): { stop(): Promise<number[]> } {
  const done: number[] = [];
  let running = true;
  let seq = 0;
  const loop = (async () => {
    while (running) {
      const n = ++seq;
      const back = new Promise<void>((resolve) => {
        const on = (_t: string, payload: Buffer) => {
          if (payload.toString() !== String(n)) return;
          client.off('message', on);
          resolve();
        };
        client.on('message', on);
      });
      await client.publishAsync('probe/in', String(n), { qos: 1 });
      await back;
      done.push(performance.now());
      await new Promise((r) => setTimeout(r, 2));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return done;
    },
  };
}

describe('creating a huge rule over the API (issue #19, decision 0022)', () => {
  it('QoS 1 round trips go on completing while a 5,000-branch CASE rule is created', async () => {
    const sql = caseRule(5000);
    const trips = roundTrips();
    await new Promise((r) => setTimeout(r, 100)); // round trips flowing
    const lag = monitorEventLoopDelay({ resolution: 5 });
    lag.enable();
    const t0 = performance.now();
    const created = await call('POST', '/api/v5/rules', { id: 'case_5000', sql, actions: ['mem'] });
    const t1 = performance.now();
    await new Promise((r) => setTimeout(r, 20)); // the histogram records the last turn late
    lag.disable();
    const done = await trips.stop();
    expect(created.status).toBe(201);
    expect((created.body as { sql: string }).sql).toBe(sql);
    const during = done.filter((t) => t > t0 && t < t1).length;
    // The parse alone takes ≥ 150 ms even on a quiet machine; the round trips take a few ms.
    expect(during).toBeGreaterThanOrEqual(5);
    // No single turn held the loop for most of the request (the parse would be all of it).
    expect(lag.max / 1e6).toBeLessThan((t1 - t0) * 0.75);

    // The rule runs: the last branch matches.
    const t = await call('POST', '/api/v5/rule_test', {
      sql,
      context: { topic: 'abuse/case', payload: '{"v":4999}' },
    });
    expect(t).toEqual({ status: 200, body: { c: 'b4999' } });
  });

  it('rule_test and create answer a long invalid rule with the synchronous parser’s diagnostics', async () => {
    const sql = caseRule(300, ' WHERE');
    const want = parseRule(sql, { maxBytes: 0, maxTokens: 0 }).diagnostics!.map((d) => ({
      code: d.code,
      message: d.message,
      line: d.line,
      column: d.column,
      snippet: d.snippet,
    }));
    expect(want[0]!.code).toBe('sql_syntax_error');
    for (const [p, body] of [
      ['/api/v5/rule_test', { sql, context: { topic: 'abuse/case', payload: '{}' } }],
      ['/api/v5/rules', { id: 'bad_case', sql, actions: ['mem'] }],
    ] as const) {
      const r = await call('POST', p, body);
      expect(r.status, p).toBe(400);
      expect((r.body as { diagnostics: unknown[] }).diagnostics, p).toEqual(
        want.map((w) => expect.objectContaining(w)),
      );
    }
    expect(engine.rules().some((r) => r.id === 'bad_case')).toBe(false);
  });

  it('PUT replaces a rule with long SQL through the worker; a bad one keeps the old rule', async () => {
    const first = caseRule(400);
    expect(
      (await call('POST', '/api/v5/rules', { id: 'upd', sql: first, actions: ['mem'] })).status,
    ).toBe(201);
    const next = caseRule(410);
    const put = await call('PUT', '/api/v5/rules/upd', { sql: next });
    expect(put.status).toBe(200);
    expect(engine.rules().find((r) => r.id === 'upd')?.sql).toBe(next);
    const bad = await call('PUT', '/api/v5/rules/upd', { sql: caseRule(410, ' WHERE') });
    expect(bad.status).toBe(400);
    expect(engine.rules().find((r) => r.id === 'upd')?.sql).toBe(next);
    // Two creates of one id racing through the worker: one wins, the other is told it exists.
    const race = await Promise.all(
      [1, 2].map(() => call('POST', '/api/v5/rules', { id: 'race', sql: first, actions: ['mem'] })),
    );
    expect(race.map((r) => r.status).sort()).toEqual([201, 409]);
  });
});
