/**
 * Validations and transformations over the management API (EMQX 5.7/5.8
 * `/api/v5/schema_validations`, `/api/v5/message_transformations`): every route and its errors,
 * the effect on the next message, the sluice.yaml entries read-only, persistence in the
 * `api_store` files across a hot reload and a restart, and a store that cannot be written.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createApiServer } from '../../src/api/index.js';
import type { ApiServer } from '../../src/api/index.js';
import { silentLogger } from '../../src/core/index.js';
import { createEngine } from '../../src/engine/index.js';
import type { Engine } from '../../src/engine/index.js';
import type { MemorySink } from '../../src/sinks/memory/index.js';

const YAML = `
broker:
  listeners: {}
sinks:
  out: { type: memory, linger: 0 }
schema_registry:
  schemas:
    reading:
      type: json
      source: '{"type":"object","required":["temp"],"properties":{"temp":{"type":"number"}}}'
schema_validation:
  validations:
    - name: from_yaml
      topics: ['y/#']
      failure_action: drop
      checks: [{ type: sql, sql: 'SELECT * WHERE payload.ok = true' }]
rules:
  - id: all
    sql: SELECT topic, payload FROM "#"
    actions: [out]
`;

const V1 = {
  name: 'temp_json',
  topics: ['v/#'],
  failure_action: 'drop',
  checks: [{ type: 'json', schema: 'reading' }],
};

async function waitFor(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('ingress validations / transformations over the API', () => {
  let dir: string;
  let engine: Engine;
  let api: ApiServer;
  let base: string;
  const out = () => engine.sink('out') as MemorySink;
  const call = async (method: string, p: string, body?: unknown) => {
    const r = await fetch(`${base}${p}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await r.text();
    return { status: r.status, json: text ? JSON.parse(text) : undefined };
  };
  /** Publish, then a marker on an unchecked topic: when the marker arrives, the first was routed or not. */
  let seq = 0;
  const routed = async (topic: string, payload: string): Promise<string[]> => {
    const marker = `mark/${++seq}`;
    const before = out().records.length;
    await engine.broker.publish({ topic, payload: Buffer.from(payload), qos: 0 });
    await engine.broker.publish({ topic: marker, payload: Buffer.from('{}'), qos: 0 });
    await waitFor(
      () => out().records.some((r) => (r.data as { topic: string }).topic === marker),
      marker,
    );
    return out()
      .records.slice(before)
      .map((r) => (r.data as { topic: string }).topic)
      .filter((t) => t !== marker);
  };
  const V = '/api/v5/schema_validations';
  const T = '/api/v5/message_transformations';

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sluice-ingress-api-'));
    writeFileSync(path.join(dir, 'sluice.yaml'), YAML);
    engine = createEngine(path.join(dir, 'sluice.yaml'), {
      logger: silentLogger,
      env: {},
      watch: false,
    });
    expect(engine.startupIssues).toEqual([]);
    await engine.start();
    api = createApiServer({ engine, logger: silentLogger }, { bind: '127.0.0.1', port: 0 });
    base = (await api.start()).url;
  });

  afterAll(async () => {
    await api?.stop();
    await engine?.stop({ drainMs: 1000 });
    rmSync(dir, { recursive: true, force: true });
  });

  it('POST appends a validation that applies to the next message; GET lists both owners', async () => {
    expect(await routed('v/1', '{"hum":1}')).toEqual(['v/1']); // nothing checks v/# yet
    const created = await call('POST', V, V1);
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      ...V1,
      enable: true,
      strategy: 'all_pass',
      log_failure: { level: 'warning' },
      origin: 'api',
    });
    expect(await routed('v/2', '{"hum":1}')).toEqual([]); // dropped
    expect(await routed('v/3', '{"temp":1}')).toEqual(['v/3']);

    const list = await call('GET', V);
    expect(list.status).toBe(200);
    expect(list.json.map((e: { name: string; origin: string }) => [e.name, e.origin])).toEqual([
      ['from_yaml', 'config'],
      ['temp_json', 'api'],
    ]);
    const one = await call('GET', `${V}/validation/temp_json`);
    expect(one).toMatchObject({ status: 200, json: { name: 'temp_json', origin: 'api' } });
    const m = await call('GET', `${V}/validation/temp_json/metrics`);
    expect(m.json.metrics).toEqual({ matched: 2, succeeded: 1, failed: 1 });

    const store = JSON.parse(
      readFileSync(path.join(dir, 'data', 'schema_validations.json'), 'utf8'),
    );
    expect(store.validations.map((e: { name: string }) => e.name)).toEqual(['temp_json']);
  });

  it('POST errors: a taken name is 409, a bad field or check is 400 with field paths; nothing changes', async () => {
    expect(await call('POST', V, V1)).toMatchObject({
      status: 409,
      json: { code: 'ingress_entry_exists' },
    });
    expect(await call('POST', V, { ...V1, name: 'from_yaml' })).toMatchObject({
      status: 409,
      json: { code: 'ingress_entry_exists' },
    });
    const badField = await call('POST', V, { ...V1, name: 'x', failure_action: 'explode' });
    expect(badField.status).toBe(400);
    expect(badField.json.code).toBe('ingress_entry_invalid');
    expect(badField.json.issues).toEqual([{ path: 'failure_action', reason: expect.any(String) }]);
    const unknown = await call('POST', V, { ...V1, name: 'x', colour: 'red' });
    expect(unknown.json.issues[0].path).toBe('colour');
    const badSql = await call('POST', V, {
      ...V1,
      name: 'x',
      checks: [
        { type: 'json', schema: 'reading' },
        { type: 'sql', sql: 'SELECT * WHERE (' },
      ],
    });
    expect(badSql.status).toBe(400);
    expect(badSql.json.issues[0].path).toBe('checks[1].sql');
    const badTopic = await call('POST', V, { ...V1, name: 'x', topics: ['a/#/b'] });
    expect(badTopic.json.issues[0].path).toBe('topics[0]');
    expect((await call('POST', V, 'not an object')).status).toBe(400);
    expect((await call('GET', V)).json).toHaveLength(2);
  });

  it('PUT replaces an API validation; sluice.yaml entries and unknown names are refused', async () => {
    const put = await call('PUT', V, { ...V1, failure_action: 'ignore', origin: 'api' });
    expect(put).toMatchObject({ status: 200, json: { failure_action: 'ignore' } });
    expect(await routed('v/4', '{"hum":1}')).toEqual(['v/4']); // ignore: routed
    expect(await call('PUT', V, { ...V1, name: 'from_yaml' })).toMatchObject({
      status: 409,
      json: { code: 'ingress_config_owned' },
    });
    expect(await call('PUT', V, { ...V1, name: 'nope' })).toMatchObject({
      status: 404,
      json: { code: 'ingress_entry_not_found' },
    });
    const bad = await call('PUT', V, { ...V1, strategy: 'most_pass' });
    expect(bad.status).toBe(400);
    expect(bad.json.issues[0].path).toBe('strategy');
    expect((await call('GET', `${V}/validation/temp_json`)).json.failure_action).toBe('ignore');
    expect((await call('PUT', V, { topics: ['a'] })).status).toBe(400);
  });

  it('enable/{bool} switches an API validation; bad flag 400, config 409, unknown 404', async () => {
    await call('PUT', V, V1); // back to drop
    expect(await routed('v/5', '{"hum":1}')).toEqual([]);
    expect((await call('POST', `${V}/validation/temp_json/enable/false`)).status).toBe(204);
    expect(await routed('v/6', '{"hum":1}')).toEqual(['v/6']);
    expect((await call('GET', `${V}/validation/temp_json`)).json.enable).toBe(false);
    expect((await call('POST', `${V}/validation/temp_json/enable/true`)).status).toBe(204);
    expect(await routed('v/7', '{"hum":1}')).toEqual([]);
    expect((await call('POST', `${V}/validation/temp_json/enable/maybe`)).status).toBe(400);
    expect((await call('POST', `${V}/validation/from_yaml/enable/false`)).json.code).toBe(
      'ingress_config_owned',
    );
    expect((await call('POST', `${V}/validation/nope/enable/false`)).status).toBe(404);
  });

  it('reorder moves API entries; missing / unknown / duplicated names and config-first violations are refused', async () => {
    const second = { ...V1, name: 'second', topics: ['w/#'] };
    expect((await call('POST', V, second)).status).toBe(201);
    const names = async () =>
      ((await call('GET', V)).json as { name: string }[]).map((e) => e.name);
    expect(await names()).toEqual(['from_yaml', 'temp_json', 'second']);

    const bad = await call('POST', `${V}/reorder`, {
      order: ['from_yaml', 'second', 'ghost', 'ghost'],
    });
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({
      code: 'ingress_reorder_invalid',
      not_found: ['ghost'],
      duplicated: ['ghost'],
      not_reordered: ['temp_json'],
    });
    const configLast = await call('POST', `${V}/reorder`, {
      order: ['second', 'temp_json', 'from_yaml'],
    });
    expect(configLast).toMatchObject({ status: 409, json: { code: 'ingress_config_owned' } });
    expect((await call('POST', `${V}/reorder`, { order: 'second' })).status).toBe(400);
    expect(await names()).toEqual(['from_yaml', 'temp_json', 'second']);

    const ok = await call('POST', `${V}/reorder`, { order: ['from_yaml', 'second', 'temp_json'] });
    expect(ok.status).toBe(204);
    expect(await names()).toEqual(['from_yaml', 'second', 'temp_json']);
    const store = JSON.parse(
      readFileSync(path.join(dir, 'data', 'schema_validations.json'), 'utf8'),
    );
    expect(store.validations.map((e: { name: string }) => e.name)).toEqual(['second', 'temp_json']);
  });

  it('transformations: create, apply, metrics, delete', async () => {
    const tr = {
      name: 'retopic',
      topics: ['t/#'],
      failure_action: 'drop',
      payload_decoder: { type: 'json' },
      payload_encoder: { type: 'json' },
      operations: [{ key: 'topic', value: "concat(['moved/', topic])" }],
    };
    const created = await call('POST', T, tr);
    expect(created).toMatchObject({ status: 201, json: { name: 'retopic', origin: 'api' } });
    expect(await routed('t/1', '{"a":1}')).toEqual(['moved/t/1']);
    const m = await call('GET', `${T}/transformation/retopic/metrics`);
    expect(m.json.metrics).toEqual({ matched: 1, succeeded: 1, failed: 0 });
    const badVar = await call('POST', T, {
      ...tr,
      name: 'bad',
      operations: [{ key: 'topic', value: 'concat([topic' }],
    });
    expect(badVar.status).toBe(400);
    expect(badVar.json.issues[0].path).toBe('operations[0].value');
    expect((await call('DELETE', `${T}/transformation/retopic`)).status).toBe(204);
    expect(await routed('t/2', '{"a":1}')).toEqual(['t/2']);
    expect((await call('DELETE', `${T}/transformation/retopic`)).status).toBe(404);
    expect((await call('GET', `${T}/transformation/retopic`)).status).toBe(404);
  });

  it('API entries survive a hot reload (which replaces the sluice.yaml ones) and a restart', async () => {
    const file = path.join(dir, 'sluice.yaml');
    writeFileSync(file, YAML.replace('name: from_yaml', 'name: from_yaml_2'));
    const report = engine.reload();
    expect(report.issues).toEqual([]);
    const names = ((await call('GET', V)).json as { name: string; origin: string }[]).map(
      (e) => `${e.name}:${e.origin}`,
    );
    expect(names).toEqual(['from_yaml_2:config', 'second:api', 'temp_json:api']);
    expect(await routed('v/8', '{"hum":1}')).toEqual([]); // temp_json still drops

    const again = createEngine(file, { logger: silentLogger, env: {}, watch: false });
    expect(again.startupIssues).toEqual([]);
    expect(again.ingress.list('validation').map((e) => `${e.name}:${e.origin}`)).toEqual(names);
    await again.stop();

    expect((await call('DELETE', `${V}/validation/from_yaml_2`)).json.code).toBe(
      'ingress_config_owned',
    );
    expect((await call('DELETE', `${V}/validation/second`)).status).toBe(204);
    const store = JSON.parse(
      readFileSync(path.join(dir, 'data', 'schema_validations.json'), 'utf8'),
    );
    expect(store.validations.map((e: { name: string }) => e.name)).toEqual(['temp_json']);
  });

  it('a store that cannot be written answers 503 and changes nothing', async () => {
    const d2 = mkdtempSync(path.join(tmpdir(), 'sluice-ingress-api-ro-'));
    writeFileSync(path.join(d2, 'blocker'), 'a file, not a directory');
    writeFileSync(
      path.join(d2, 'sluice.yaml'),
      YAML.replace('schema_validation:\n', 'schema_validation:\n  api_store: blocker/v.json\n'),
    );
    const e2 = createEngine(path.join(d2, 'sluice.yaml'), {
      logger: silentLogger,
      env: {},
      watch: false,
    });
    const a2 = createApiServer(
      { engine: e2, logger: silentLogger },
      { bind: '127.0.0.1', port: 0 },
    );
    try {
      expect(e2.startupIssues).toEqual([]);
      const url = (await a2.start()).url;
      const r = await fetch(`${url}${V}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(V1),
      });
      expect(r.status).toBe(503);
      expect(((await r.json()) as { code: string }).code).toBe('ingress_store_failed');
      expect(e2.ingress.list('validation').map((e) => e.name)).toEqual(['from_yaml']);
    } finally {
      await a2.stop();
      await e2.stop();
      rmSync(d2, { recursive: true, force: true });
    }
  });
});
