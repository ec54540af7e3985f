/**
 * The OpenAPI document (GET /api/v5/openapi.json, src/api/openapi.ts) against the route table
 * and real answers: every route of `ROUTES` is in the document with exactly its methods, and the
 * real response of every GET route (a running engine with rules, sinks, a trace and the OCPP
 * gateway with one charge point connected) validates, with ajv, against the schema the document
 * gives for that status and content type.
 */
import { request as httpRequest } from 'node:http';

import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';

import { createApiServer } from '../../src/api/index.js';
import type { ApiServer } from '../../src/api/index.js';
import { ROUTES } from '../../src/api/routes.js';
import { silentLogger } from '../../src/core/index.js';
import { createEngine } from '../../src/engine/index.js';
import type { Engine } from '../../src/engine/index.js';

interface Res {
  status: number;
  type: string;
  text: string;
}

/** GET (or another method) returning at most the first chunk of a streamed body. */
function call(url: string, method = 'GET', body?: unknown, auth?: string): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        method,
        headers: {
          ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
          ...(auth ? { Authorization: `Bearer ${auth}` } : {}),
        },
      },
      (res) => {
        let text = '';
        const type = String(res.headers['content-type'] ?? '');
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          text += d;
          if (type.startsWith('text/event-stream')) {
            res.destroy();
            resolve({ status: res.statusCode ?? 0, type, text });
          }
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type, text }));
      },
    );
    req.on('error', reject);
    if (body !== undefined) req.write(JSON.stringify(body));
    req.end();
  });
}

const pointer = (...parts: string[]): string =>
  parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

describe('OpenAPI document', () => {
  let engine: Engine;
  let api: ApiServer;
  let secured: ApiServer;
  let base: string;
  let ws: WebSocket | undefined;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let doc: any;
  let traceId = '';

  beforeAll(async () => {
    engine = createEngine(
      {
        log: { level: 'silent' },
        broker: { listeners: { tcp: { type: 'tcp', bind: '127.0.0.1', port: 0 } } },
        gateway: {
          ocpp: {
            enable: true,
            listeners: { default: { type: 'ws', bind: '127.0.0.1', port: 0 } },
          },
        },
        sinks: { mem: { type: 'memory', linger: 0 } },
        schema_registry: {
          schemas: {
            mem: { type: 'json', source: '{"type":"object"}', description: 'for GET /{name}' },
          },
        },
        // named `mem` too, for GET /schema_validations/validation/{name}/metrics and the like
        schema_validation: {
          validations: [
            {
              name: 'mem',
              topics: ['v/#'],
              failure_action: 'drop',
              checks: [{ type: 'json', schema: 'mem' }],
            },
          ],
        },
        message_transformation: {
          transformations: [
            {
              name: 'mem',
              topics: ['m/#'],
              failure_action: 'drop',
              operations: [{ key: 'retain', value: 'false' }],
            },
          ],
        },
        rules: [
          {
            id: 'hot',
            sql: 'SELECT payload.t AS t FROM "o/#" WHERE payload.t > 1',
            actions: ['mem'],
          },
        ],
      },
      { env: {}, watch: false },
    );
    const addrs = await engine.start();
    api = createApiServer(
      { engine, logger: silentLogger, version: '1.2.3-test' },
      { bind: '127.0.0.1', port: 0 },
    );
    secured = createApiServer(
      { engine, logger: silentLogger },
      { bind: '127.0.0.1', port: 0, token: 'tok-openapi' },
    );
    base = (await api.start()).url;
    await secured.start();
    ws = new WebSocket(`ws://127.0.0.1:${engine.ocpp!.addresses[0]!.port}/ocpp/CP-1`, ['ocpp1.6']);
    await new Promise((resolve, reject) => {
      ws!.once('open', resolve);
      ws!.once('error', reject);
    });
    const created = await call(`${base}/api/v5/traces`, 'POST', { filter: { topic: 'o/#' } });
    traceId = JSON.parse(created.text).id;
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${addrs[0]?.port}`, { reconnectPeriod: 0 });
    await c.publishAsync('o/1', JSON.stringify({ t: 5 }), { qos: 1 });
    await c.endAsync();
    const deadline = Date.now() + 10_000;
    while (
      !JSON.parse((await call(`${base}/api/v5/traces/${traceId}`)).text).steps.some(
        (s: { step: string }) => s.step === 'ack',
      )
    ) {
      if (Date.now() > deadline) throw new Error('no ack traced');
      await new Promise((r) => setTimeout(r, 20));
    }
    doc = JSON.parse((await call(`${base}/api/v5/openapi.json`)).text);
  });

  afterAll(async () => {
    ws?.close();
    await api?.stop();
    await secured?.stop();
    await engine?.stop({ drainMs: 1000 });
  });

  it('is OpenAPI 3.1 and is served without credentials', async () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.version).toBe('1.2.3-test');
    const url = secured.address!.url;
    const open = await call(`${url}/api/v5/openapi.json`);
    expect(open.status).toBe(200);
    expect(JSON.parse(open.text).paths).toEqual(
      expect.objectContaining({ '/api/v5/rules': expect.any(Object) }),
    );
    expect((await call(`${url}/api/v5/rules`)).status).toBe(401);
  });

  it('lists every route of the table with exactly its methods', () => {
    const seen = new Set<string>();
    for (const r of ROUTES) {
      let i = 0;
      const p = '/' + r.path.map((s) => (s === '*' ? `{${r.params?.[i++]?.name}}` : s)).join('/');
      seen.add(p);
      expect(doc.paths[p], p).toBeDefined();
      expect(Object.keys(doc.paths[p]).sort(), p).toEqual(
        Object.keys(r.methods)
          .map((m) => m.toLowerCase())
          .sort(),
      );
      for (const [m, op] of Object.entries(doc.paths[p]) as [string, Record<string, unknown>][]) {
        expect(op['summary'], `${m} ${p}`).toEqual(expect.any(String));
        expect(Object.keys(op['responses'] as object).length, `${m} ${p}`).toBeGreaterThan(1);
        for (const param of (p.match(/\{(\w+)\}/g) ?? []).map((x) => x.slice(1, -1)))
          expect(
            (op['parameters'] as { name: string; in: string }[]).some(
              (q) => q.name === param && q.in === 'path',
            ),
          ).toBe(true);
      }
    }
    expect(Object.keys(doc.paths).sort()).toEqual([...seen].sort());
  });

  it('describes the real answer of every GET route', async () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats.default(ajv);
    ajv.addSchema(doc, 'openapi');
    const values: Record<string, string> = { id: 'hot', name: 'mem', clientid: 'CP-1' };
    let checked = 0;
    for (const r of ROUTES) {
      if (!r.methods.GET) continue;
      let i = 0;
      const concrete = r.path.map((s) => {
        if (s !== '*') return s;
        const name = r.params?.[i++]?.name as string;
        return encodeURIComponent(r.path[2] === 'traces' ? traceId : (values[name] as string));
      });
      let k = 0;
      const templ =
        '/' + r.path.map((s) => (s === '*' ? `{${r.params?.[k++]?.name}}` : s)).join('/');
      const res = await call(`${base}/${concrete.join('/')}`);
      const documented = doc.paths[templ].get.responses[String(res.status)];
      expect(
        documented,
        `GET ${templ} answered ${res.status}: ${res.text.slice(0, 200)}`,
      ).toBeDefined();
      // Every GET route answers its success status here (the engine has what each one reads).
      expect(res.status, `GET ${templ}`).toBeLessThan(300);
      const [type] = Object.keys(documented.content);
      expect(
        res.type.startsWith((type as string).split(';')[0] as string),
        `GET ${templ} ${res.type}`,
      ).toBe(true);
      const body = type === 'application/json' ? JSON.parse(res.text) : res.text;
      const validate = ajv.getSchema(
        `openapi#/${pointer('paths', templ, 'get', 'responses', String(res.status), 'content', type as string, 'schema')}`,
      );
      expect(validate, templ).toBeDefined();
      const ok = validate!(body);
      expect(ok ? [] : validate!.errors, `GET ${templ}`).toEqual([]);
      checked++;
    }
    expect(checked).toBe(ROUTES.filter((r) => r.methods.GET).length);
  });

  it('describes error answers with the Error schema', async () => {
    const ajv = new Ajv2020({ strict: false });
    addFormats.default(ajv);
    ajv.addSchema(doc, 'openapi');
    const res = await call(`${base}/api/v5/rules/nope`);
    expect(res.status).toBe(404);
    const validate = ajv.getSchema(
      `openapi#/${pointer('paths', '/api/v5/rules/{id}', 'get', 'responses', '404', 'content', 'application/json', 'schema')}`,
    );
    expect(validate!(JSON.parse(res.text))).toBe(true);
    const bad = await call(`${base}/api/v5/traces`, 'POST', { filter: { topic: 'a/#/b' } });
    expect(bad.status).toBe(400);
    expect(doc.paths['/api/v5/traces'].post.responses['400']).toBeDefined();
  });
});
