/**
 * The engine end to end with real MQTT clients (mqtt.js) over TCP and WebSocket against the
 * embedded broker on 127.0.0.1, ephemeral ports: rule columns, events, exact metrics,
 * republish, hot reload without loss, reload errors, auth refusals.
 */
import { cpSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import mqtt from 'mqtt';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { hashPassword } from '../../src/broker/index.js';
import { silentLogger } from '../../src/core/index.js';
import type { SinkRecord } from '../../src/core/index.js';
import { createEngine } from '../../src/engine/index.js';
import type { Engine, ReloadReport } from '../../src/engine/index.js';
import { memorySinkType } from '../../src/sinks/memory/index.js';
import type { MemorySink } from '../../src/sinks/memory/index.js';

async function waitFor(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * The next reload report satisfying `until` (a late watcher event from an earlier edit may
 * cause an extra reload; it is skipped rather than mistaken for the one this edit causes).
 */
function nextReload(
  engine: Engine,
  until: (r: ReloadReport) => boolean,
  ms = 10_000,
): Promise<ReloadReport> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no matching reload')), ms);
    const off = engine.onReload((r) => {
      if (!until(r)) return;
      clearTimeout(t);
      off();
      resolve(r);
    });
  });
}

const BASE_YAML = `
broker:
  listeners:
    tcp: { type: tcp, bind: 127.0.0.1, port: 0 }
    ws: { type: ws, bind: 127.0.0.1, port: 0, path: /mqtt }
sinks:
  mem: { type: memory, linger: 0 }
  events: { type: memory, linger: 0 }
  other: { type: memory, linger: 0 }
  swap: { type: memory, linger: 0 }
  alerts: { type: republish, topic: 'alerts/\${clientid}', payload: '', qos: 1, retain: false }
  loopback: { type: republish, topic: loop/again, payload: '', qos: 1, retain: false }
rules:
  - id: hot
    sql: |
      SELECT payload.temp AS t, clientid, topic, qos
      FROM "sensors/+/temp"
      WHERE payload.temp > 30
    actions: [mem]
  - id: alert
    sql: SELECT clientid, payload.temp AS temp FROM "sensors/+/temp" WHERE payload.temp > 40
    actions: [alerts]
  - id: loopy
    sql: SELECT clientid, topic FROM "loop/#"
    actions: [loopback]
reload: { debounce: 50ms }
`;

describe('engine with real MQTT clients', () => {
  let dir: string;
  let engine: Engine;
  let tcpUrl: string;
  let wsUrl: string;
  const clients: MqttClient[] = [];
  const records = (sink: string): SinkRecord[] => (engine.sink(sink) as MemorySink).records;
  const connect = async (url: string, clientId: string): Promise<MqttClient> => {
    const c = await mqtt.connectAsync(url, { clientId, reconnectPeriod: 0 });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sluice-engine-'));
    mkdirSync(path.join(dir, 'rules'));
    writeFileSync(path.join(dir, 'sluice.yaml'), BASE_YAML);
    writeFileSync(
      path.join(dir, 'rules/conn.sql'),
      '-- actions: events\nSELECT event, clientid, username FROM "$events/client_connected", "$events/session/subscribed"\n',
    );
    writeFileSync(
      path.join(dir, 'rules/other.sql'),
      '-- actions: other\nSELECT payload.n AS n FROM "load/other"\n',
    );
    writeFileSync(
      path.join(dir, 'rules/swap.sql'),
      '-- actions: swap\nSELECT payload.n AS old FROM "load/swap"\n',
    );
    engine = createEngine(path.join(dir, 'sluice.yaml'), { logger: silentLogger, env: {} });
    expect(engine.startupIssues).toEqual([]);
    const addrs = await engine.start();
    const tcp = addrs.find((a) => a.type === 'tcp');
    const ws = addrs.find((a) => a.type === 'ws');
    expect(tcp?.port).toBeGreaterThan(0);
    expect(ws?.port).toBeGreaterThan(0);
    tcpUrl = `mqtt://127.0.0.1:${tcp?.port}`;
    wsUrl = `ws://127.0.0.1:${ws?.port}/mqtt`;
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
    await engine?.stop({ drainMs: 1000 });
    rmSync(dir, { recursive: true, force: true });
  });

  it('fires rules with the exact columns over TCP and WebSocket', async () => {
    const a = await connect(tcpUrl, 'dev-tcp');
    const b = await connect(wsUrl, 'dev-ws');
    await a.publishAsync('sensors/r1/temp', JSON.stringify({ temp: 31.5 }), { qos: 1 });
    await b.publishAsync('sensors/r2/temp', JSON.stringify({ temp: 35 }), { qos: 0 });
    await a.publishAsync('sensors/r1/temp', JSON.stringify({ temp: 20 }), { qos: 1 });
    await waitFor(() => records('mem').length >= 2, 'two outputs');
    expect(records('mem').map((r) => r.data)).toEqual([
      { t: 31.5, clientid: 'dev-tcp', topic: 'sensors/r1/temp', qos: 1 },
      { t: 35, clientid: 'dev-ws', topic: 'sensors/r2/temp', qos: 0 },
    ]);
    expect(records('mem').every((r) => r.ruleId === 'hot')).toBe(true);
  });

  it('delivers client events (legacy and 6.x event topic spellings)', async () => {
    const c = await connect(tcpUrl, 'evt-client');
    await c.subscribeAsync('nothing/here', { qos: 0 });
    await waitFor(
      () => records('events').filter((r) => r.data['clientid'] === 'evt-client').length >= 2,
      'connected + subscribed events',
    );
    const mine = records('events')
      .filter((r) => r.data['clientid'] === 'evt-client')
      .map((r) => r.data);
    expect(mine).toEqual([
      // username is undefined (no username given); JSON encoding turns it into null.
      { event: 'client.connected', clientid: 'evt-client', username: undefined },
      { event: 'session.subscribed', clientid: 'evt-client', username: undefined },
    ]);
  });

  it('counts metrics exactly (matched, passed, failed.exception, failed.no_result, actions)', async () => {
    const before = engine.metrics().rules['hot'];
    const c = await connect(tcpUrl, 'metrics-client');
    for (let i = 0; i < 7; i++)
      await c.publishAsync('sensors/m/temp', JSON.stringify({ temp: 100 + i }), { qos: 1 });
    for (let i = 0; i < 3; i++)
      await c.publishAsync('sensors/m/temp', JSON.stringify({ temp: 1 }), { qos: 1 });
    await c.publishAsync('sensors/m/temp', 'not json', { qos: 1 });
    await c.publishAsync('unrelated/topic', JSON.stringify({ temp: 100 }), { qos: 1 });
    await waitFor(
      () => engine.metrics().rules['hot']!.matched - before!.matched === 11,
      'matched 11',
    );
    const m = engine.metrics().rules['hot']!;
    expect({
      matched: m.matched - before!.matched,
      passed: m.passed - before!.passed,
      failed: m.failed - before!.failed,
      exception: m['failed.exception'] - before!['failed.exception'],
      noResult: m['failed.no_result'] - before!['failed.no_result'],
      total: m['actions.total'] - before!['actions.total'],
      success: m['actions.success'] - before!['actions.success'],
      failedActions: m['actions.failed'] - before!['actions.failed'],
    }).toEqual({
      matched: 11,
      passed: 7,
      failed: 4,
      exception: 1,
      noResult: 3,
      total: 7,
      success: 7,
      failedActions: 0,
    });
    const failures: string[] = [];
    const sub = engine.results$.subscribe((r) => {
      if (r.outcome.kind === 'failed') failures.push(`${r.ruleId}:${r.outcome.code}`);
    });
    await c.publishAsync('sensors/m/temp', '{bad', { qos: 1 });
    sub.unsubscribe();
    expect(failures).toEqual(['hot:decode_json_failed', 'alert:decode_json_failed']);
  });

  it('republishes end to end to a subscribed client', async () => {
    const sub = await connect(wsUrl, 'alert-listener');
    const got: { topic: string; payload: string; qos: number }[] = [];
    sub.on('message', (topic, payload, packet) =>
      got.push({ topic, payload: payload.toString(), qos: packet.qos }),
    );
    await sub.subscribeAsync('alerts/#', { qos: 1 });
    const dev = await connect(tcpUrl, 'boiler-7');
    await dev.publishAsync('sensors/b/temp', JSON.stringify({ temp: 45 }), { qos: 1 });
    await waitFor(() => got.length === 1, 'republished alert');
    expect(got[0]).toEqual({
      topic: 'alerts/boiler-7',
      payload: '{"clientid":"boiler-7","temp":45}',
      qos: 1,
    });
  });

  it("republishes a rule's own output at most once (recursive republish is refused)", async () => {
    const sub = await connect(tcpUrl, 'loop-listener');
    const got: { topic: string; payload: string }[] = [];
    sub.on('message', (topic, payload) => got.push({ topic, payload: payload.toString() }));
    await sub.subscribeAsync('loop/#', { qos: 1 });
    const dev = await connect(tcpUrl, 'looper');
    await dev.publishAsync('loop/start', 'x', { qos: 1 });
    await waitFor(
      () => (engine.metrics().sinks['loopback']?.failed ?? 0) === 1,
      'the refused second republish',
    );
    await new Promise((r) => setTimeout(r, 100));
    expect(got).toEqual([
      { topic: 'loop/start', payload: 'x' },
      // republished once; its clientid is the rule id (EMQX: from = RuleId)
      { topic: 'loop/again', payload: '{"clientid":"looper","topic":"loop/start"}' },
    ]);
    expect(engine.metrics().sinks['loopback']).toMatchObject({ success: 1, failed: 1 });
  });

  it('hot-reloads a rule file without losing messages for other rules; the new rule takes over', async () => {
    const pub = await connect(tcpUrl, 'loader');
    const otherStart = records('other').length;
    let sent = 0;
    let running = true;
    const loop = (async () => {
      while (running) {
        const n = sent++;
        await Promise.all([
          pub.publishAsync('load/other', JSON.stringify({ n }), { qos: 1 }),
          pub.publishAsync('load/swap', JSON.stringify({ n }), { qos: 1 }),
        ]);
      }
    })();
    await waitFor(() => records('swap').length > 20, 'traffic before the edit');
    const reloaded = nextReload(engine, (r) => r.updated.includes('swap'));
    writeFileSync(
      path.join(dir, 'rules/swap.sql'),
      '-- actions: swap\nSELECT payload.n AS new FROM "load/swap"\n',
    );
    const report = await reloaded;
    expect(report).toMatchObject({
      ok: true,
      updated: ['swap'],
      added: [],
      removed: [],
      issues: [],
    });
    const swapAt = records('swap').length;
    await waitFor(() => records('swap').length > swapAt + 20, 'traffic after the edit');
    running = false;
    await loop;
    await waitFor(
      () => records('other').length - otherStart === sent,
      `all ${sent} other-rule outputs`,
    );
    const ns = records('other')
      .slice(otherStart)
      .map((r) => r.data['n']);
    expect(ns).toEqual([...Array(sent).keys()]);
    // The swap rule: old shape, then only the new shape, every message exactly once.
    const shapes = records('swap').map((r) => Object.keys(r.data)[0]);
    const firstNew = shapes.indexOf('new');
    expect(firstNew).toBeGreaterThan(0);
    expect(shapes.slice(firstNew).every((k) => k === 'new')).toBe(true);
    await waitFor(() => records('swap').length === sent, 'every swap message');
    expect(records('swap').map((r) => r.data['old'] ?? r.data['new'])).toEqual([
      ...Array(sent).keys(),
    ]);
  });

  it('reports an invalid rule edit with file, line and caret and keeps the old version running', async () => {
    const reloaded = nextReload(engine, (r) => r.kept.includes('swap'));
    writeFileSync(
      path.join(dir, 'rules/swap.sql'),
      '-- actions: swap\nSELECT payload.n AS broken\nFORM "load/swap"\n',
    );
    const report = await reloaded;
    expect(report.ok).toBe(true);
    expect(report.kept).toEqual(['swap']);
    expect(report.issues).toHaveLength(1);
    expect(report.issues[0]).toMatchObject({
      file: expect.stringMatching(/rules\/swap\.sql$/),
      line: 3,
      column: 1,
    });
    expect(report.issues[0]!.snippet).toContain('FORM "load/swap"');
    const pub = await connect(tcpUrl, 'after-bad-edit');
    const n = records('swap').length;
    await pub.publishAsync('load/swap', JSON.stringify({ n: -1 }), { qos: 1 });
    await waitFor(() => records('swap').length === n + 1, 'old rule still running');
    expect(records('swap')[n]!.data).toEqual({ new: -1 });
  });

  it('reports a broken sluice.yaml (file, line, path, reason) and keeps running', async () => {
    const reloaded = nextReload(engine, (r) => !r.ok);
    writeFileSync(
      path.join(dir, 'sluice.yaml'),
      BASE_YAML.replace('linger: 0 }\n  events', 'linger: -5 }\n  events'),
    );
    const report = await reloaded;
    expect(report.ok).toBe(false);
    expect(report.issues.map((i) => [path.basename(i.file), i.line, i.path])).toEqual([
      ['sluice.yaml', 7, 'sinks.mem.linger'],
    ]);
    expect(report.issues[0]!.reason).toMatch(/duration/);
    const pub = await connect(tcpUrl, 'after-bad-config');
    const n = records('mem').length;
    await pub.publishAsync('sensors/x/temp', JSON.stringify({ temp: 99 }), { qos: 1 });
    await waitFor(() => records('mem').length === n + 1, 'rules still running');
    const fixed = nextReload(engine, (r) => r.ok);
    writeFileSync(path.join(dir, 'sluice.yaml'), BASE_YAML);
    expect((await fixed).ok).toBe(true);
  });

  it('hot-reloads an inline rule edited in sluice.yaml and reports sink changes as needing a restart', async () => {
    const reloaded = nextReload(engine, (r) => r.updated.includes('hot'));
    writeFileSync(
      path.join(dir, 'sluice.yaml'),
      BASE_YAML.replace('WHERE payload.temp > 30', 'WHERE payload.temp > 60').replace(
        'other: { type: memory, linger: 0 }',
        'other: { type: memory, linger: 1 }',
      ),
    );
    const report = await reloaded;
    expect(report).toMatchObject({
      ok: true,
      updated: ['hot'],
      added: [],
      removed: [],
      restartRequired: ['sinks'],
    });
    const pub = await connect(tcpUrl, 'inline-edit');
    const n = records('mem').length;
    await pub.publishAsync('sensors/i/temp', JSON.stringify({ temp: 50 }), { qos: 1 });
    await pub.publishAsync('sensors/i/temp', JSON.stringify({ temp: 70 }), { qos: 1 });
    await waitFor(() => records('mem').length === n + 1, 'one output under the new threshold');
    expect(records('mem')[n]!.data['t']).toBe(70);
    const back = nextReload(engine, (r) => r.updated.includes('hot'));
    writeFileSync(path.join(dir, 'sluice.yaml'), BASE_YAML);
    expect(await back).toMatchObject({ ok: true, updated: ['hot'] });
  });

  it('does not start a rule whose action is a sink that only exists after a restart', async () => {
    const reloaded = nextReload(engine, (r) =>
      r.issues.some((i) => i.file.endsWith('needs_later.sql')),
    );
    writeFileSync(
      path.join(dir, 'sluice.yaml'),
      BASE_YAML.replace(
        '  mem: { type: memory, linger: 0 }',
        '  mem: { type: memory, linger: 0 }\n  later: { type: memory }',
      ),
    );
    writeFileSync(
      path.join(dir, 'rules/needs_later.sql'),
      '-- actions: later\nSELECT 1 AS x FROM "later/t"\n',
    );
    const report = await reloaded;
    expect(report).toMatchObject({ ok: true, added: [], restartRequired: ['sinks'] });
    // (rules/swap.sql is still broken from the test above: its issue is reported again)
    expect(
      report.issues.filter((i) => i.file.endsWith('needs_later.sql')).map((i) => [i.code, i.line]),
    ).toEqual([['rule_unknown_action', 1]]);
    expect(engine.rules().some((r) => r.id === 'needs_later')).toBe(false);
    const back = nextReload(
      engine,
      (r) =>
        r.ok &&
        r.restartRequired.length === 0 &&
        !r.issues.some((i) => i.file.endsWith('needs_later.sql')),
    );
    rmSync(path.join(dir, 'rules/needs_later.sql'));
    writeFileSync(path.join(dir, 'sluice.yaml'), BASE_YAML);
    await back;
  });

  it('adds, disables, enables and removes rules through the API', async () => {
    engine.addRule({
      id: 'api',
      sql: 'SELECT payload AS p, metadata.rule_id AS rid FROM "api/t"',
      actions: ['mem'],
    });
    const pub = await connect(tcpUrl, 'api-client');
    const n = records('mem').length;
    await pub.publishAsync('api/t', 'x', { qos: 1 });
    await waitFor(() => records('mem').length === n + 1, 'api rule output');
    engine.disableRule('api');
    await pub.publishAsync('api/t', 'y', { qos: 1 });
    engine.enableRule('api');
    await pub.publishAsync('api/t', 'z', { qos: 1 });
    await waitFor(() => records('mem').length === n + 2, 'second api output');
    expect(
      records('mem')
        .slice(n)
        .map((r) => String(r.data['p'])),
    ).toEqual(['x', 'z']);
    expect(engine.metrics().rules['api']!.matched).toBe(2);
    expect(() => engine.addRule({ id: 'bad', sql: 'SELECT FROM', actions: [] })).toThrow(/sql/i);
    expect(() => engine.addRule({ id: 'x', sql: 'SELECT 1 FROM "a"', actions: ['nope'] })).toThrow(
      /not a configured sink/,
    );
    engine.removeRule('api');
    expect(engine.rules().some((r) => r.id === 'api')).toBe(false);
  });
});

describe('the quickstart example', () => {
  it('runs its rules end to end (console outputs, overheat republished to alerts/<clientid>)', async () => {
    const d = mkdtempSync(path.join(tmpdir(), 'sluice-quickstart-'));
    const qs = path.resolve(import.meta.dirname, '../../examples/quickstart');
    cpSync(path.join(qs, 'rules'), path.join(d, 'rules'), { recursive: true });
    // Same file with ephemeral ports (the quickstart binds loopback only: anonymous broker).
    const original = readFileSync(path.join(qs, 'sluice.yaml'), 'utf8');
    expect(original).toContain('bind: 127.0.0.1, port: 1883');
    expect(original).toContain('bind: 127.0.0.1, port: 8083');
    expect(original).not.toContain('0.0.0.0');
    writeFileSync(
      path.join(d, 'sluice.yaml'),
      original
        .replace('bind: 127.0.0.1, port: 1883', 'bind: 127.0.0.1, port: 0')
        .replace('bind: 127.0.0.1, port: 8083', 'bind: 127.0.0.1, port: 0'),
    );
    // The console sink is swapped for a collecting one (same config: no fields).
    const engine = createEngine(path.join(d, 'sluice.yaml'), {
      logger: silentLogger,
      env: {},
      watch: false,
      sinkTypes: [{ ...memorySinkType, type: 'console' } as never],
    });
    try {
      expect(engine.startupIssues).toEqual([]);
      const addrs = await engine.start();
      const ws = addrs.find((a) => a.type === 'ws');
      const listener = await mqtt.connectAsync(`ws://127.0.0.1:${ws?.port}/mqtt`, {
        reconnectPeriod: 0,
      });
      const alerts: string[] = [];
      listener.on('message', (t, p) => alerts.push(`${t} ${p.toString()}`));
      await listener.subscribeAsync('alerts/#', { qos: 1 });
      const tcp = addrs.find((a) => a.type === 'tcp');
      const dev = await mqtt.connectAsync(`mqtt://127.0.0.1:${tcp?.port}`, {
        clientId: 'room1',
        reconnectPeriod: 0,
      });
      await dev.publishAsync('sensors/room1/temperature', JSON.stringify({ temp: 25 }), { qos: 1 });
      await dev.publishAsync('sensors/room1/temperature', JSON.stringify({ temp: 42.5 }), {
        qos: 1,
      });
      await waitFor(() => alerts.length === 1, 'overheat alert');
      expect(alerts).toEqual([
        'alerts/room1 {"clientid":"room1","temp":42.5,"source_topic":"sensors/room1/temperature","alert":"overheat"}',
      ]);
      const printed = engine.sink('console') as MemorySink;
      await waitFor(
        () => printed.records.some((r) => r.ruleId === 'high_temp'),
        'high_temp output',
      );
      const hot = printed.records.filter((r) => r.ruleId === 'high_temp').map((r) => r.data);
      expect(hot).toEqual([
        {
          clientid: 'room1',
          topic: 'sensors/room1/temperature',
          temp: 42.5,
          timestamp: expect.any(Number),
        },
      ]);
      expect(
        printed.records
          .filter((r) => r.ruleId === 'client_events')
          .map((r) => [r.data['event'], r.data['clientid']]),
      ).toEqual(expect.arrayContaining([['client.connected', 'room1']]));
      await Promise.all([listener.endAsync(), dev.endAsync()]);
    } finally {
      await engine.stop({ drainMs: 500 });
      rmSync(d, { recursive: true, force: true });
    }
  });
});

describe('engine startup with a broken rule', () => {
  it('reports the rule with file, line and caret and runs the others', async () => {
    const d = mkdtempSync(path.join(tmpdir(), 'sluice-engine-bad-'));
    try {
      mkdirSync(path.join(d, 'rules'));
      writeFileSync(
        path.join(d, 'sluice.yaml'),
        'broker:\n  listeners:\n    tcp: { type: tcp, bind: 127.0.0.1, port: 0 }\nsinks:\n  mem: { type: memory, linger: 0 }\n',
      );
      writeFileSync(
        path.join(d, 'rules/good.sql'),
        '-- actions: mem\nSELECT payload AS p FROM "good"\n',
      );
      writeFileSync(
        path.join(d, 'rules/bad.sql'),
        '-- actions: mem\nSELECT nosuchfn(payload) FROM "bad"\n',
      );
      const engine = createEngine(path.join(d, 'sluice.yaml'), {
        logger: silentLogger,
        env: {},
        watch: false,
      });
      expect(
        engine.startupIssues.map((i) => [path.basename(i.file), i.line, i.column, i.code]),
      ).toEqual([['bad.sql', 2, 8, 'sql_function_not_supported']]);
      expect(engine.rules().map((r) => r.id)).toEqual(['good']);
      const [a] = await engine.start();
      const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${a?.port}`, { reconnectPeriod: 0 });
      await c.publishAsync('good', 'x', { qos: 1 });
      await c.endAsync();
      await waitFor(
        () => (engine.sink('mem') as MemorySink).records.length === 1,
        'good rule output',
      );
      await engine.stop({ drainMs: 500 });
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});

describe('engine authentication', () => {
  let engine: Engine;
  let url: string;

  beforeAll(async () => {
    engine = createEngine(
      {
        broker: {
          listeners: { tcp: { type: 'tcp', bind: '127.0.0.1', port: 0 } },
          allow_anonymous: false,
          users: [{ username: 'dev', password_hash: hashPassword('s3cret') }],
        },
        sinks: { mem: { type: 'memory', linger: 0 } },
        rules: [
          {
            id: 'authn',
            sql: 'SELECT clientid, reason_code FROM "$events/client/connack"',
            actions: ['mem'],
          },
        ],
      },
      { logger: silentLogger, env: {} },
    );
    const [a] = await engine.start();
    url = `mqtt://127.0.0.1:${a?.port}`;
  });

  afterAll(async () => {
    await engine?.stop({ drainMs: 500 });
  });

  it('refuses a wrong password and anonymous clients, accepts the right one', async () => {
    const opts = { reconnectPeriod: 0, protocolVersion: 4 as const };
    await expect(
      mqtt.connectAsync(url, { ...opts, clientId: 'w', username: 'dev', password: 'nope' }),
    ).rejects.toThrow(/Bad username or password|Not authorized/);
    await expect(mqtt.connectAsync(url, { ...opts, clientId: 'anon' })).rejects.toThrow(
      /Not authorized/,
    );
    const ok = await mqtt.connectAsync(url, {
      ...opts,
      clientId: 'good',
      username: 'dev',
      password: 's3cret',
    });
    await ok.endAsync();
    const mem = engine.sink('mem') as MemorySink;
    await waitFor(() => mem.records.length === 3, 'three connack events');
    expect(mem.records.map((r) => r.data)).toEqual([
      {
        clientid: 'w',
        reason_code: expect.stringMatching(/bad_username_or_password|not_authorized/),
      },
      { clientid: 'anon', reason_code: 'not_authorized' },
      { clientid: 'good', reason_code: 'success' },
    ]);
  });
});
