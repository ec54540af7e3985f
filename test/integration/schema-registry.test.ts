/**
 * The schema registry in a real engine: schemas from sluice.yaml (inline and a file beside
 * it), rule functions on published messages (outputs reach a memory sink; bad data fails the
 * message with the registry's code, counted in `failed.exception`), the EMQX-shaped
 * `/api/v5/schema_registry` endpoints (create/update/delete apply to the next message; the
 * store file brings API schemas back after a restart), and rule_test with schema functions.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createApiServer } from '../../src/api/index.js';
import type { ApiServer } from '../../src/api/index.js';
import { silentLogger } from '../../src/core/index.js';
import type { RuleOutcome } from '../../src/core/index.js';
import { createEngine } from '../../src/engine/index.js';
import type { Engine } from '../../src/engine/index.js';
import type { MemorySink } from '../../src/sinks/memory/index.js';

const PROTO = `syntax = "proto3";
package plant;
message Reading { message Site { string name = 1; } string device = 1; double temp = 2; Site site = 3; }`;

const YAML = `
broker:
  listeners: {}
sinks:
  out: { type: memory, linger: 0 }
schema_registry:
  schemas:
    reading_pb: { type: protobuf, file: schemas/reading.proto, description: from a file }
    reading_json:
      type: json
      source: '{"type":"object","required":["temp"],"properties":{"temp":{"type":"number"}}}'
rules:
  - id: pb
    sql: SELECT schema_decode('reading_pb', payload, 'plant.Reading') AS r FROM "pb/#"
    actions: [out]
  - id: live
    sql: SELECT schema_check('live', payload) AS ok FROM "live/#"
    actions: [out]
`;

async function waitFor(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('schema registry in the engine and the API', () => {
  let dir: string;
  let engine: Engine;
  let api: ApiServer;
  let base: string;
  const outcomes: { rule: string; outcome: RuleOutcome }[] = [];
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
  const publish = (topic: string, payload: Buffer | string) =>
    engine.broker.publish({ topic, payload, qos: 0 });
  const lastOutcome = async (rule: string, n: number): Promise<RuleOutcome> => {
    await waitFor(
      () => outcomes.filter((o) => o.rule === rule).length >= n,
      `${n} outcomes of ${rule}`,
    );
    return outcomes.filter((o) => o.rule === rule)[n - 1]!.outcome;
  };

  const Reading = protobuf.parse(PROTO).root.lookupType('plant.Reading');

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sluice-schema-it-'));
    writeFileSync(path.join(dir, 'sluice.yaml'), YAML);
    mkdirSync(path.join(dir, 'schemas'));
    writeFileSync(path.join(dir, 'schemas', 'reading.proto'), PROTO);
    engine = createEngine(path.join(dir, 'sluice.yaml'), {
      logger: silentLogger,
      env: {},
      watch: false,
    });
    expect(engine.startupIssues).toEqual([]);
    engine.results$.subscribe((r) => outcomes.push({ rule: r.ruleId, outcome: r.outcome }));
    await engine.start();
    api = createApiServer({ engine, logger: silentLogger }, { bind: '127.0.0.1', port: 0 });
    base = (await api.start()).url;
  });

  afterAll(async () => {
    await api?.stop();
    await engine?.stop({ drainMs: 1000 });
    rmSync(dir, { recursive: true, force: true });
  });

  it('decodes a protobuf payload with a schema from a file; bad bytes fail the message with schema_decode_error', async () => {
    const bin = Buffer.from(
      Reading.encode(
        Reading.fromObject({ device: 'd1', temp: 21.5, site: { name: 'north' } }),
      ).finish(),
    );
    await publish('pb/1', bin);
    await waitFor(() => out().records.length >= 1, 'decoded record');
    expect(out().records[0]?.data).toMatchObject({
      r: { device: 'd1', temp: 21.5, site: { name: 'north' } },
    });

    await publish('pb/2', Buffer.from([0x0a, 0x09, 0x41]));
    const failed = await lastOutcome('pb', 2);
    expect(failed).toMatchObject({ kind: 'failed', code: 'schema_decode_error' });
    expect((failed as { reason: string }).reason).toContain('reading_pb');
    const m = engine.metrics().rules['pb'] as unknown as Record<string, number>;
    expect(m['failed.exception']).toBe(1);
    expect(m['passed']).toBe(1);
  });

  it('API: list/get show config schemas; config schemas are read-only (409)', async () => {
    const list = await call('GET', '/api/v5/schema_registry');
    expect(list.status).toBe(200);
    expect(list.json.map((s: { name: string; origin: string }) => [s.name, s.origin])).toEqual([
      ['reading_json', 'config'],
      ['reading_pb', 'config'],
    ]);
    const one = await call('GET', '/api/v5/schema_registry/reading_pb');
    expect(one.json).toMatchObject({
      name: 'reading_pb',
      type: 'protobuf',
      source: PROTO,
      file: 'schemas/reading.proto',
    });
    expect((await call('GET', '/api/v5/schema_registry/nope')).status).toBe(404);
    const put = await call('PUT', '/api/v5/schema_registry/reading_json', {
      type: 'json',
      source: '{}',
    });
    expect(put).toMatchObject({ status: 409, json: { code: 'schema_config_owned' } });
    expect((await call('DELETE', '/api/v5/schema_registry/reading_pb')).status).toBe(409);
  });

  it('API create/update/delete apply to the next message; the store file keeps API schemas', async () => {
    // before it exists: serde_not_found fails the message
    await publish('live/1', '{"temp":1}');
    expect(await lastOutcome('live', 1)).toMatchObject({ kind: 'failed', code: 'serde_not_found' });

    const bad = await call('POST', '/api/v5/schema_registry', {
      name: 'live',
      type: 'json',
      source: '{',
    });
    expect(bad).toMatchObject({ status: 400, json: { code: 'schema_invalid' } });
    const created = await call('POST', '/api/v5/schema_registry', {
      name: 'live',
      type: 'json',
      source: '{"type":"object","required":["temp"]}',
      description: 'v1',
    });
    expect(created).toMatchObject({
      status: 201,
      json: { name: 'live', origin: 'api', description: 'v1' },
    });
    expect(
      (await call('POST', '/api/v5/schema_registry', { name: 'live', type: 'json', source: '{}' }))
        .status,
    ).toBe(409);

    await publish('live/2', '{"temp":1}');
    await publish('live/3', '{"hum":1}');
    expect(await lastOutcome('live', 2)).toMatchObject({ kind: 'passed', outputs: [{ ok: true }] });
    expect(await lastOutcome('live', 3)).toMatchObject({
      kind: 'passed',
      outputs: [{ ok: false }],
    });

    const updated = await call('PUT', '/api/v5/schema_registry/live', {
      type: 'json',
      source: '{"type":"object","required":["hum"]}',
    });
    expect(updated.status).toBe(200);
    await publish('live/4', '{"hum":1}');
    expect(await lastOutcome('live', 4)).toMatchObject({ kind: 'passed', outputs: [{ ok: true }] });

    const store = JSON.parse(readFileSync(path.join(dir, 'data', 'schema_registry.json'), 'utf8'));
    expect(store.schemas.live).toMatchObject({
      type: 'json',
      source: '{"type":"object","required":["hum"]}',
    });

    // a second engine on the same directory reads the API schema back
    const again = createEngine(path.join(dir, 'sluice.yaml'), {
      logger: silentLogger,
      env: {},
      watch: false,
    });
    expect(again.schemas.get('live')).toMatchObject({ origin: 'api' });
    await again.stop();

    expect((await call('DELETE', '/api/v5/schema_registry/live')).status).toBe(204);
    await publish('live/5', '{"hum":1}');
    expect(await lastOutcome('live', 5)).toMatchObject({ kind: 'failed', code: 'serde_not_found' });
    expect(
      (engine.metrics().rules['live'] as unknown as Record<string, number>)['failed.exception'],
    ).toBe(2);
  });

  it('rule_test evaluates schema functions with the engine registry', async () => {
    const r = await call('POST', '/api/v5/rule_test', {
      sql: "SELECT schema_check('reading_json', payload) AS ok, schema_decode('reading_json', payload) AS d FROM \"t/#\"",
      context: { topic: 't/1', payload: '{"temp":3.5}' },
    });
    expect(r).toMatchObject({ status: 200, json: { ok: true, d: { temp: 3.5 } } });
  });

  it('hot reload applies edited schemas; a schema that does not compile keeps the running ones', () => {
    const file = path.join(dir, 'sluice.yaml');
    writeFileSync(file, YAML.replace('"required":["temp"]', '"required":["hum"]'));
    engine.reload();
    expect(engine.schemas.check('reading_json', '{"hum":1}', [])).toBe(true);
    expect(engine.schemas.check('reading_json', '{"temp":1}', [])).toBe(false);

    writeFileSync(file, YAML.replace('"type":"object"', '"type":"no-such-type"'));
    engine.reload();
    expect(engine.schemas.get('reading_json')?.source).toContain('"required":["hum"]');
    expect(engine.schemas.check('reading_json', '{"hum":1}', [])).toBe(true);
  });
});
