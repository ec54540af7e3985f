/**
 * The management HTTP API against a real engine: embedded broker on 127.0.0.1 (ephemeral
 * port), memory sinks, real mqtt.js clients, and the API on port 0. Metrics are asserted
 * exactly through the JSON endpoints and the parsed Prometheus exposition; enable/disable
 * changes what fires; rule_test outputs and diagnostics; token refusals; 400/404/405/412/413.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest, Agent } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { execFile, spawn } from 'node:child_process';

import mqtt from 'mqtt';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createApiServer, escapeLabelValue, MAX_BODY_BYTES } from '../../src/api/index.js';
import type { ApiServer } from '../../src/api/index.js';
import { silentLogger } from '../../src/core/index.js';
import { createEngine } from '../../src/engine/index.js';
import type { Engine } from '../../src/engine/index.js';
import type { MemorySink } from '../../src/sinks/memory/index.js';

async function waitFor(cond: () => boolean | Promise<boolean>, what: string, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
}

/** One HTTP request with node:http (so oversized bodies and raw headers are under control). */
function call(
  base: string,
  method: string,
  p: string,
  opts: {
    body?: string | Buffer;
    token?: string;
    headers?: Record<string, string>;
    agent?: Agent;
  } = {},
): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${base}${p}`,
      {
        method,
        agent: opts.agent,
        headers: {
          ...(opts.body !== undefined ? { 'Content-Type': 'application/json' } : {}),
          ...(opts.token !== undefined ? { Authorization: `Bearer ${opts.token}` } : {}),
          ...opts.headers,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => {
          let json: unknown;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

/** Parse Prometheus text format 0.0.4 into `name{sorted labels}` → value, checking TYPE lines. */
function parseProm(text: string): { samples: Map<string, number>; types: Map<string, string> } {
  const samples = new Map<string, number>();
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ')) continue;
    const t = /^# TYPE (\S+) (counter|gauge|histogram)$/.exec(line);
    if (t) {
      types.set(t[1] as string, t[2] as string);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`bad exposition line: ${JSON.stringify(line)}`);
    const labels: [string, string][] = [];
    const body = m[2] ?? '';
    let i = 0;
    while (i < body.length) {
      const k = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(body.slice(i));
      if (!k) throw new Error(`bad labels: ${body}`);
      i += k[0].length;
      let v = '';
      for (;;) {
        const c = body[i++];
        if (c === undefined) throw new Error(`unterminated label value: ${body}`);
        if (c === '"') break;
        if (c === '\\') {
          const n = body[i++];
          v += n === 'n' ? '\n' : (n as string);
        } else v += c;
      }
      labels.push([k[1] as string, v]);
      if (body[i] === ',') i++;
    }
    const family = (m[1] as string).replace(/_(bucket|sum|count)$/, '');
    if (!types.has(m[1] as string) && types.get(family) !== 'histogram')
      throw new Error(`sample before its TYPE: ${line}`);
    const key = `${m[1]}${labels.length ? JSON.stringify(Object.fromEntries(labels.sort())) : ''}`;
    samples.set(key, Number(m[3]));
  }
  return { samples, types };
}

const key = (name: string, labels: Record<string, string> = {}): string =>
  `${name}${Object.keys(labels).length ? JSON.stringify(Object.fromEntries(Object.entries(labels).sort())) : ''}`;

const ODD_SINK = 'drop"y\\sink';

const YAML = `
broker:
  listeners:
    tcp: { type: tcp, bind: 127.0.0.1, port: 0 }
sinks:
  mem: { type: memory, linger: 0 }
  witness: { type: memory, linger: 0 }
  '${ODD_SINK}':
    type: memory
    linger: 0
    batch_size: 1
    max_inflight: 1
    delay: 300ms
    buffer: { max_records: 1, overflow: drop_newest }
rules:
  - id: hot
    description: readings above 30
    sql: SELECT payload.temp AS t, clientid FROM "api/+/temp" WHERE payload.temp > 30
    actions: [mem]
  - id: witness
    sql: SELECT payload.temp AS t FROM "api/+/temp"
    actions: [witness]
  - id: flood
    sql: SELECT payload AS p FROM "api/flood"
    actions: ['${ODD_SINK}']
`;

describe('management API with a real engine and MQTT clients', () => {
  let dir: string;
  let engine: Engine;
  let api: ApiServer;
  let secured: ApiServer;
  let base: string;
  let securedBase: string;
  let mqttUrl: string;
  const clients: MqttClient[] = [];
  const mem = (name: string) => engine.sink(name) as MemorySink;
  const publish = async (topic: string, payloads: string[]) => {
    const c = await mqtt.connectAsync(mqttUrl, {
      clientId: `api-${process.pid}-${clients.length}`,
      reconnectPeriod: 0,
    });
    clients.push(c);
    for (const p of payloads) await c.publishAsync(topic, p, { qos: 1 });
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sluice-api-'));
    writeFileSync(path.join(dir, 'sluice.yaml'), YAML);
    engine = createEngine(path.join(dir, 'sluice.yaml'), {
      logger: silentLogger,
      env: {},
      watch: false,
    });
    expect(engine.startupIssues).toEqual([]);
    const addrs = await engine.start();
    mqttUrl = `mqtt://127.0.0.1:${addrs[0]?.port}`;
    api = createApiServer(
      { engine, logger: silentLogger, version: '9.9.9-test' },
      { bind: '127.0.0.1', port: 0 },
    );
    secured = createApiServer(
      { engine, logger: silentLogger },
      { bind: '127.0.0.1', port: 0, token: 's3cret-token' },
    );
    base = (await api.start()).url;
    securedBase = (await secured.start()).url;
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
    await api?.stop();
    await secured?.stop();
    await engine?.stop({ drainMs: 1000 });
    rmSync(dir, { recursive: true, force: true });
  });

  it('status: running, listeners, version, uptime', async () => {
    const r = await call(base, 'GET', '/api/v5/status');
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({
      status: 'running',
      rel_vsn: '9.9.9-test',
      broker: { running: true, listeners: [{ name: 'tcp', type: 'tcp', host: '127.0.0.1' }] },
      rules: 3,
      sinks: 3,
    });
    expect(r.json.uptime).toBeGreaterThanOrEqual(0);
    expect(r.json.broker.listeners[0].port).toBe(Number(new URL(mqttUrl).port));
  });

  it('lists and gets rules with EMQX field names', async () => {
    const list = await call(base, 'GET', '/api/v5/rules');
    expect(list.status).toBe(200);
    expect(list.json.data.map((r: { id: string }) => r.id)).toEqual(['hot', 'witness', 'flood']);
    expect(list.json.meta).toMatchObject({ count: 3, hasnext: false });
    const one = await call(base, 'GET', '/api/v5/rules/hot');
    expect(one.json).toMatchObject({
      id: 'hot',
      sql: 'SELECT payload.temp AS t, clientid FROM "api/+/temp" WHERE payload.temp > 30',
      enable: true,
      enabled: true,
      actions: ['mem'],
      description: 'readings above 30',
      from: ['api/+/temp'],
    });
    const paged = await call(base, 'GET', '/api/v5/rules?page=1&limit=100');
    expect(paged.json.meta.count).toBe(3);
    const badPath = await call(base, 'GET', '/api/v5/rules/%E0%A4%A');
    expect(badPath.status).toBe(400);
    expect(badPath.json.code).toBe('api_bad_request');
    const missing = await call(base, 'GET', '/api/v5/rules/nope');
    expect(missing.status).toBe(404);
    expect(missing.json.code).toBe('rule_not_found');
  });

  it('rule metrics and Prometheus counters are exact after real publishes', async () => {
    // 31 and 35 pass, 20 is filtered (failed.no_result), "oops" is not JSON (failed.exception).
    await publish('api/d1/temp', ['{"temp": 31}', '{"temp": 20}', '{"temp": 35}', 'oops']);
    await waitFor(() => mem('witness').records.length === 3, 'witness outputs');
    await waitFor(
      async () => (await call(base, 'GET', '/api/v5/sinks/mem/metrics')).json.metrics.success === 2,
      'mem acknowledged',
    );
    const r = await call(base, 'GET', '/api/v5/rules/hot/metrics');
    expect(r.status).toBe(200);
    expect(r.json.id).toBe('hot');
    expect(r.json.metrics).toMatchObject({
      matched: 4,
      passed: 2,
      failed: 2,
      'failed.exception': 1,
      'failed.no_result': 1,
      'actions.total': 2,
      'actions.success': 2,
      'actions.failed': 0,
    });
    for (const k of ['matched.rate', 'matched.rate.max', 'matched.rate.last5m'])
      expect(typeof r.json.metrics[k]).toBe('number');
    expect(r.json.node_metrics[0].metrics).toEqual(r.json.metrics);

    const prom = await call(base, 'GET', '/metrics');
    expect(prom.status).toBe(200);
    expect(prom.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    const { samples, types } = parseProm(prom.text);
    expect(types.get('sluice_rule_matched_total')).toBe('counter');
    expect(types.get('sluice_broker_connections')).toBe('gauge');
    expect(samples.get(key('sluice_rule_matched_total', { rule: 'hot' }))).toBe(4);
    expect(samples.get(key('sluice_rule_passed_total', { rule: 'hot' }))).toBe(2);
    expect(samples.get(key('sluice_rule_failed_exception_total', { rule: 'hot' }))).toBe(1);
    expect(samples.get(key('sluice_rule_failed_no_result_total', { rule: 'hot' }))).toBe(1);
    expect(samples.get(key('sluice_rule_actions_success_total', { rule: 'hot' }))).toBe(2);
    expect(samples.get(key('sluice_rule_matched_total', { rule: 'witness' }))).toBe(4);
    expect(samples.get(key('sluice_rule_enabled', { rule: 'hot' }))).toBe(1);
    expect(samples.get(key('sluice_sink_success_total', { sink: 'mem' }))).toBe(2);
    expect(samples.get(key('sluice_sink_matched_total', { sink: 'mem' }))).toBe(2);
    expect(samples.get(key('sluice_broker_messages_in_total'))).toBe(
      engine.metrics().broker.messages_in,
    );
    expect(samples.get(key('sluice_broker_connections'))).toBe(engine.metrics().broker.connections);
    expect(samples.get(key('sluice_broker_connections'))).toBeGreaterThanOrEqual(1);
    expect(types.get('sluice_sink_latency_seconds')).toBe('histogram');
    expect(samples.get(key('sluice_sink_latency_seconds_count', { sink: 'mem' }))).toBe(2);
    expect(
      samples.get(key('sluice_sink_latency_seconds_bucket', { sink: 'mem', le: '+Inf' })),
    ).toBe(2);
    expect(samples.get(key('process_resident_memory_bytes'))).toBeGreaterThan(1_000_000);
    expect(samples.get(key('nodejs_eventloop_lag_p99_seconds'))).toBeGreaterThanOrEqual(0);
    // The naming and type rules of `promtool check metrics` (client_golang's promlint).
    const lint = await promlint(prom.text);
    expect(lint).toEqual({ code: 0, out: '' });
  });

  it('PUT {enable} disables and re-enables a running rule', async () => {
    const before = mem('mem').records.length;
    const off = await call(base, 'PUT', '/api/v5/rules/hot', { body: '{"enable": false}' });
    expect(off.status).toBe(200);
    expect(off.json).toMatchObject({ id: 'hot', enable: false });
    await publish('api/d2/temp', ['{"temp": 50}', '{"temp": 51}']);
    await waitFor(() => mem('witness').records.length === 5, 'witness saw the two');
    expect(mem('mem').records.length).toBe(before);
    expect((await call(base, 'GET', '/api/v5/rules/hot/metrics')).json.metrics.matched).toBe(4);
    const { samples } = parseProm((await call(base, 'GET', '/metrics')).text);
    expect(samples.get(key('sluice_rule_enabled', { rule: 'hot' }))).toBe(0);

    const on = await call(base, 'PUT', '/api/v5/rules/hot', { body: '{"enable": true}' });
    expect(on.json.enable).toBe(true);
    await publish('api/d3/temp', ['{"temp": 52}']);
    await waitFor(() => mem('mem').records.length === before + 1, 'hot fires again');
    expect((await call(base, 'GET', '/api/v5/rules/hot/metrics')).json.metrics.matched).toBe(5);
  });

  it('POST creates a rule that fires, PUT updates its SQL, DELETE removes it', async () => {
    const bad = await call(base, 'POST', '/api/v5/rules', {
      body: JSON.stringify({ id: 'made', sql: 'SELECT x FORM "t"', actions: ['mem'] }),
    });
    expect(bad.status).toBe(400);
    expect(bad.json.code).toBe('rule_sql_invalid');
    expect(bad.json.diagnostics[0]).toMatchObject({
      code: 'sql_syntax_error',
      line: 1,
      column: 15,
    });
    expect(bad.json.diagnostics[0].message).toMatch(/did you mean FROM/);
    const noSink = await call(base, 'POST', '/api/v5/rules', {
      body: JSON.stringify({ id: 'made', sql: 'SELECT 1 AS one FROM "t"', actions: ['nope'] }),
    });
    expect(noSink.status).toBe(400);
    expect(noSink.json.code).toBe('rule_unknown_action');

    const made = await call(base, 'POST', '/api/v5/rules', {
      body: JSON.stringify({
        id: 'made',
        sql: 'SELECT payload.v AS v FROM "api/made"',
        actions: ['mem'],
        description: 'via API',
      }),
    });
    expect(made.status).toBe(201);
    expect(made.json).toMatchObject({ id: 'made', enable: true, from: ['api/made'] });
    const dup = await call(base, 'POST', '/api/v5/rules', {
      body: JSON.stringify({ id: 'made', sql: 'SELECT 1 AS one FROM "t"' }),
    });
    expect(dup.status).toBe(409);
    expect(dup.json.code).toBe('rule_already_exists');

    const n = mem('mem').records.length;
    await publish('api/made', ['{"v": 7}']);
    await waitFor(() => mem('mem').records.length === n + 1, 'made fires');
    const upd = await call(base, 'PUT', '/api/v5/rules/made', {
      body: JSON.stringify({ sql: 'SELECT payload.v * 2 AS v2 FROM "api/made"' }),
    });
    expect(upd.status).toBe(200);
    expect(upd.json.sql).toBe('SELECT payload.v * 2 AS v2 FROM "api/made"');
    await publish('api/made', ['{"v": 8}']);
    await waitFor(() => mem('mem').records.length === n + 2, 'updated made fires');
    expect(mem('mem').records.at(-1)?.data).toEqual({ v2: 16 });
    expect((await call(base, 'GET', '/api/v5/rules/made/metrics')).json.metrics.matched).toBe(2);

    const del = await call(base, 'DELETE', '/api/v5/rules/made');
    expect(del.status).toBe(204);
    expect(del.text).toBe('');
    expect((await call(base, 'GET', '/api/v5/rules/made')).status).toBe(404);
    expect((await call(base, 'DELETE', '/api/v5/rules/made')).status).toBe(404);
  });

  it('rule_test: outputs, FOREACH lists, no result, diagnostics, evaluation errors', async () => {
    const ok = await call(base, 'POST', '/api/v5/rule_test', {
      body: JSON.stringify({
        sql: 'SELECT payload.temp AS t, clientid FROM "s/#" WHERE payload.temp > 30',
        context: { topic: 's/a', clientid: 'dev1', payload: '{"temp": 31.5}' },
      }),
    });
    expect(ok.status).toBe(200);
    expect(ok.json).toEqual({ t: 31.5, clientid: 'dev1' });

    const each = await call(base, 'POST', '/api/v5/rule_test', {
      body: JSON.stringify({
        sql: 'FOREACH payload.xs AS x DO x.v AS v FROM "s/#"',
        context: { topic: 's/b', payload: { xs: [{ v: 1 }, { v: 2 }] } },
      }),
    });
    expect(each.status).toBe(200);
    expect(each.json).toEqual([{ v: 1 }, { v: 2 }]);

    const ev = await call(base, 'POST', '/api/v5/rule_test', {
      body: JSON.stringify({
        sql: 'SELECT clientid, event FROM "$events/client_connected"',
        context: { event_type: 'client_connected', clientid: 'c9' },
      }),
    });
    expect(ev.json).toEqual({ clientid: 'c9', event: 'client.connected' });

    const none = await call(base, 'POST', '/api/v5/rule_test', {
      body: JSON.stringify({
        sql: 'SELECT 1 AS x FROM "s/#" WHERE payload.temp > 30',
        context: { topic: 's/a', payload: '{"temp": 1}' },
      }),
    });
    expect(none.status).toBe(412);
    expect(none.json.code).toBe('api_rule_test_no_result');
    const wrongTopic = await call(base, 'POST', '/api/v5/rule_test', {
      body: JSON.stringify({ sql: 'SELECT 1 AS x FROM "s/#"', context: { topic: 'other/a' } }),
    });
    expect(wrongTopic.status).toBe(412);
    expect(wrongTopic.json.message).toMatch(/does not match FROM/);

    const syntax = await call(base, 'POST', '/api/v5/rule_test', {
      body: JSON.stringify({ sql: 'SELECT a\nFORM "t/#"', context: {} }),
    });
    expect(syntax.status).toBe(400);
    expect(syntax.json.code).toBe('rule_sql_invalid');
    expect(syntax.json.diagnostics[0]).toMatchObject({
      code: 'sql_syntax_error',
      line: 2,
      column: 6,
      end_line: 2,
    });
    expect(syntax.json.diagnostics[0].message).toMatch(/`FORM` was read as an alias/);
    expect(syntax.json.diagnostics[0].snippet).toContain('FORM "t/#"');

    const evalErr = await call(base, 'POST', '/api/v5/rule_test', {
      body: JSON.stringify({
        sql: 'SELECT payload.x AS x FROM "t/1"',
        context: { payload: 'not json' },
      }),
    });
    expect(evalErr.status).toBe(400);
    expect(evalErr.json.code).toBe('decode_json_failed');

    const noSql = await call(base, 'POST', '/api/v5/rule_test', { body: '{"context": {}}' });
    expect(noSql.status).toBe(400);
    expect(noSql.json.code).toBe('api_bad_request');
  });

  it('sinks: list and metrics, dropped by reason, escaped Prometheus labels', async () => {
    await publish(
      'api/flood',
      Array.from({ length: 10 }, (_, i) => String(i)),
    );
    const enc = encodeURIComponent(ODD_SINK);
    let m: Res | undefined;
    await waitFor(async () => {
      m = await call(base, 'GET', `/api/v5/sinks/${enc}/metrics`);
      const x = m.json.metrics;
      return x.queued === 0 && x.inflight === 0 && x.success + x.dropped === 10;
    }, 'flood settled');
    const metrics = m?.json.metrics;
    expect(m?.json).toMatchObject({ name: ODD_SINK, type: 'memory' });
    // A 300 ms write with one batch in flight and room for one waiting record: most are refused.
    expect(metrics.dropped_by.queue_full).toBeGreaterThan(0);
    expect(metrics.dropped).toBe(metrics.dropped_by.queue_full);
    expect(metrics.success).toBe(mem(ODD_SINK).records.length);
    expect(metrics.latency_ms.count).toBe(metrics.success);
    expect(metrics.latency_ms.p50).toBeGreaterThanOrEqual(300);
    expect(metrics.latency_ms.p99).toBeGreaterThanOrEqual(metrics.latency_ms.p50);
    // Refused enqueues are the rule's failed actions.
    const rule = (await call(base, 'GET', '/api/v5/rules/flood/metrics')).json.metrics;
    expect(rule['actions.failed']).toBe(metrics.dropped_by.queue_full);
    expect(rule['actions.success']).toBe(metrics.success);

    const list = await call(base, 'GET', '/api/v5/sinks');
    expect(list.json.map((s: { name: string; type: string }) => [s.name, s.type])).toEqual([
      ['mem', 'memory'],
      ['witness', 'memory'],
      [ODD_SINK, 'memory'],
    ]);

    const prom = await call(base, 'GET', '/metrics');
    expect(prom.text).toContain(`sink="drop\\"y\\\\sink"`);
    const { samples } = parseProm(prom.text);
    expect(
      samples.get(key('sluice_sink_dropped_total', { sink: ODD_SINK, reason: 'queue_full' })),
    ).toBe(metrics.dropped_by.queue_full);
    expect(samples.get(key('sluice_sink_success_total', { sink: ODD_SINK }))).toBe(metrics.success);
    expect(samples.get(key('sluice_sink_latency_seconds_count', { sink: ODD_SINK }))).toBe(
      metrics.latency_ms.count,
    );
    // The histogram agrees with the API's p99: the +Inf bucket holds everything, and the
    // smallest bound at or above p99 (in seconds) holds at least 99 % of the records.
    const bound = [
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
    ].find((b) => b * 1000 >= metrics.latency_ms.p99 * (1 + 1 / 16));
    if (bound !== undefined)
      expect(
        samples.get(
          key('sluice_sink_latency_seconds_bucket', { sink: ODD_SINK, le: String(bound) }),
        ),
      ).toBeGreaterThanOrEqual(Math.floor(metrics.latency_ms.count * 0.99));
    expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');

    const missing = await call(base, 'GET', '/api/v5/sinks/nope/metrics');
    expect(missing.status).toBe(404);
    expect(missing.json.code).toBe('api_not_found');
  });

  it('bearer token: 401 without or with a wrong token, 200 with the right one', async () => {
    const none = await call(securedBase, 'GET', '/api/v5/rules');
    expect(none.status).toBe(401);
    expect(none.json.code).toBe('api_unauthorized');
    expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
    expect((await call(securedBase, 'GET', '/metrics', { token: 's3cret-tokeN' })).status).toBe(
      401,
    );
    expect((await call(securedBase, 'GET', '/metrics', { token: 's3cret' })).status).toBe(401);
    expect(
      (
        await call(securedBase, 'GET', '/api/v5/status', {
          headers: { Authorization: 'Basic czNjcmV0LXRva2Vu' },
        })
      ).status,
    ).toBe(401);
    // Paths are not discoverable without the token.
    expect((await call(securedBase, 'GET', '/api/v5/nothing')).status).toBe(401);
    // A refused request changes nothing.
    const put = await call(securedBase, 'PUT', '/api/v5/rules/hot', { body: '{"enable": false}' });
    expect(put.status).toBe(401);
    expect(engine.rules().find((r) => r.id === 'hot')?.enabled).toBe(true);
    const ok = await call(securedBase, 'GET', '/api/v5/rules', { token: 's3cret-token' });
    expect(ok.status).toBe(200);
    expect(ok.json.data).toHaveLength(3);
  });

  it('404, 405, 400 and 413 are JSON errors', async () => {
    const nf = await call(base, 'GET', '/api/v5/nothing');
    expect(nf.status).toBe(404);
    expect(nf.json.code).toBe('api_not_found');
    const na = await call(base, 'DELETE', '/api/v5/rules/hot/metrics');
    expect(na.status).toBe(405);
    expect(na.json.code).toBe('api_method_not_allowed');
    expect(na.headers['allow']).toBe('GET');
    const badJson = await call(base, 'PUT', '/api/v5/rules/hot', { body: '{"enable": tru' });
    expect(badJson.status).toBe(400);
    expect(badJson.json.code).toBe('api_bad_request');
    const badType = await call(base, 'PUT', '/api/v5/rules/hot', { body: '{"enable": "no"}' });
    expect(badType.status).toBe(400);
    const typo = await call(base, 'PUT', '/api/v5/rules/hot', { body: '{"enabel": false}' });
    expect(typo.status).toBe(400);
    expect(typo.json.message).toMatch(/unknown field "enabel"/);
    // A GET answer can be sent back as is (read-only fields are ignored).
    const got = (await call(base, 'GET', '/api/v5/rules/hot')).json;
    const back = await call(base, 'PUT', '/api/v5/rules/hot', { body: JSON.stringify(got) });
    expect(back.status).toBe(200);
    expect(back.json.sql).toBe(got.sql);
    expect(engine.rules().find((r) => r.id === 'hot')?.enabled).toBe(true);

    const big = Buffer.alloc(MAX_BODY_BYTES + 1, 0x20);
    const tooBig = await call(base, 'POST', '/api/v5/rule_test', { body: big });
    expect(tooBig.status).toBe(413);
    expect(tooBig.json.code).toBe('api_body_too_large');
    // Exactly the limit is accepted (whitespace + a JSON object at the end).
    const atLimit = Buffer.alloc(MAX_BODY_BYTES, 0x20);
    atLimit.write('{"sql": "SELECT 1 AS one FROM \\"t/1\\""}', MAX_BODY_BYTES - 40);
    const fits = await call(base, 'POST', '/api/v5/rule_test', { body: atLimit });
    expect(fits.status).toBe(200);
    expect(fits.json).toEqual({ one: 1 });
    // The server still answers after a refused body.
    expect((await call(base, 'GET', '/api/v5/status')).status).toBe(200);
  });

  it('stop() closes idle keep-alive connections and the port', async () => {
    const extra = createApiServer({ engine, logger: silentLogger }, { bind: '127.0.0.1', port: 0 });
    const { url } = await extra.start();
    const agent = new Agent({ keepAlive: true });
    expect((await call(url, 'GET', '/api/v5/status', { agent })).status).toBe(200);
    await extra.stop(); // would hang on the idle keep-alive socket if it were not closed
    await expect(call(url, 'GET', '/api/v5/status')).rejects.toThrow(/ECONNREFUSED/);
    agent.destroy();
  });
});

describe('log levels over the API', () => {
  it('GET shows the levels, PUT changes one component at run time, bad input is a 400', async () => {
    // The engine's own logger (no deps.logger), kept silent so the test output stays clean.
    const own = createEngine({
      broker: { listeners: {} },
      log: { level: 'silent', levels: { rules: 'silent' } },
    });
    const srv = createApiServer(
      { engine: own, logger: silentLogger },
      { bind: '127.0.0.1', port: 0 },
    );
    const { url } = await srv.start();
    try {
      const got = await call(url, 'GET', '/api/v5/log_levels');
      expect(got.json).toEqual({ '': 'silent', rules: 'silent' });
      const put = await call(url, 'PUT', '/api/v5/log_levels', {
        body: JSON.stringify({ component: 'broker', level: 'error' }),
      });
      expect(put.status).toBe(200);
      expect(put.json).toEqual({ '': 'silent', rules: 'silent', broker: 'error' });
      expect(own.logLevels!()).toMatchObject({ broker: 'error' });
      const bad = await call(url, 'PUT', '/api/v5/log_levels', {
        body: JSON.stringify({ component: 'broker', level: 'loud' }),
      });
      expect(bad.status).toBe(400);
      expect(bad.json.message).toMatch(/level must be one of/);
    } finally {
      await srv.stop();
      await own.stop({ drainMs: 0 });
    }
  });

  it('an engine with an injected logger has no managed levels: 404', async () => {
    const ext = createEngine({ broker: { listeners: {} } }, { logger: silentLogger });
    const srv = createApiServer(
      { engine: ext, logger: silentLogger },
      { bind: '127.0.0.1', port: 0 },
    );
    const { url } = await srv.start();
    try {
      expect((await call(url, 'GET', '/api/v5/log_levels')).status).toBe(404);
    } finally {
      await srv.stop();
      await ext.stop({ drainMs: 0 });
    }
  });
});

/**
 * Run scripts/promlint (Go; `promtool check metrics`' rules) over an exposition. Built once into
 * .cache/promlint with the machine's Go toolchain and modules from the Go module proxy.
 */
async function promlint(text: string): Promise<{ code: number | null; out: string }> {
  const root = path.resolve(import.meta.dirname, '../..');
  const bin = path.join(root, '.cache/promlint/promlint');
  await new Promise<void>((resolve, reject) =>
    execFile(
      'go',
      ['build', '-o', bin, '.'],
      { cwd: path.join(root, 'scripts/promlint'), timeout: 300_000 },
      (err, _o, stderr) =>
        err
          ? reject(
              new Error(
                (err as NodeJS.ErrnoException).code === 'ENOENT'
                  ? 'the /metrics naming check needs a Go toolchain (go >= 1.21) on PATH to build scripts/promlint (promtool check metrics rules); install Go, then npm test'
                  : `building scripts/promlint failed: ${err.message}\n${stderr}`,
              ),
            )
          : resolve(),
    ),
  );
  return new Promise((resolve, reject) => {
    const child = spawn(bin, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
    child.stdin.end(text);
  });
}
