/**
 * Issue #20 items 1 and 3 across the engine: the real process logger in JSON mode, writing to
 * a buffer, through an engine start, MQTT clients connecting and disconnecting, a failing sink
 * (non-retriable write, retries exhausted, a dropped connection with failed reconnects), a bad
 * rule reload and a stop. Every line must parse with a strict parser that rejects duplicate
 * keys, carry exactly one `component`, and every warn/error line a documented `code` plus the
 * id of the rule or sink it concerns.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadAllErrorModules } from '../../scripts/errors-catalog.js';
import { allErrorCodes, createProcessLogger } from '../../src/core/index.js';
import { createEngine } from '../../src/engine/index.js';
import type { Engine } from '../../src/engine/index.js';
import type { MemorySink } from '../../src/sinks/memory/index.js';
import { parseStrictJson } from '../strict-json.js';

async function waitFor(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const YAML = `
broker:
  listeners:
    tcp: { type: tcp, bind: 127.0.0.1, port: 0 }
sinks:
  mem: { type: memory, linger: 0, retry: { initial_backoff: 1ms, max_backoff: 5ms, max_attempts: 2 } }
reload: { enabled: false }
`;

type Line = Record<string, unknown>;

describe('log lines of a running engine (JSON format)', () => {
  let dir: string;
  let engine: Engine | undefined;
  const chunks: string[] = [];
  const lines: Line[] = [];
  /** Lines the strict parser refused, with its reason. */
  const rejected: string[] = [];
  const mem = (): MemorySink => engine!.sink('mem') as MemorySink;
  const text = (): string => chunks.join('');

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sluice-log-lines-'));
    mkdirSync(path.join(dir, 'rules'));
    writeFileSync(path.join(dir, 'sluice.yaml'), YAML);
    writeFileSync(
      path.join(dir, 'rules/hot.sql'),
      '-- actions: mem\nSELECT payload.n AS n FROM "t/#"\n',
    );
    const logger = createProcessLogger({
      level: 'debug',
      format: 'json',
      stream: { write: (s: string) => chunks.push(s) },
      repeatWindowMs: 0,
    });
    engine = createEngine(path.join(dir, 'sluice.yaml'), { logger, env: {}, watch: false });
    const [tcp] = await engine.start();
    const url = `mqtt://127.0.0.1:${tcp!.port}`;

    const c = await mqtt.connectAsync(url, { clientId: 'log-dev', reconnectPeriod: 0 });
    // A non-retriable write failure: the batch fails (sink_write_failed).
    mem().failNext(1, { retriable: false });
    await c.publishAsync('t/1', '{"n":1}', { qos: 1 });
    await waitFor(() => engine!.metrics().sinks['mem']!.failed >= 1, 'a failed batch');
    // Retriable failures until max_attempts: sink_retries_exhausted.
    mem().failNext(2);
    await c.publishAsync('t/2', '{"n":2}', { qos: 1 });
    await waitFor(() => engine!.metrics().sinks['mem']!.failed >= 2, 'an exhausted batch');
    // A dropped connection with two failed reconnects, then a delivered record.
    mem().disconnect();
    mem().failConnect(2);
    await c.publishAsync('t/3', '{"n":3}', { qos: 1 });
    await waitFor(() => mem().records.length >= 1, 'the record after reconnecting');
    await waitFor(() => text().includes('"sink connected"'), 'the reconnect line');
    // A bad rule edit: the reload keeps the old version and logs rule_not_loaded.
    writeFileSync(
      path.join(dir, 'rules/hot.sql'),
      '-- actions: mem\nSELECT payload.n FORM "t/#"\n',
    );
    writeFileSync(path.join(dir, 'rules/cold.sql'), '-- actions: nosuch\nSELECT 1 FROM "c/#"\n');
    expect(engine.reload().kept).toEqual(['hot']);
    // A refused SUBSCRIBE is logged with the client id (the connection stays).
    await expect(c.subscribeAsync('$share/g')).rejects.toThrow(/Subscribe error/);
    await c.endAsync();
    await engine.stop({ drainMs: 1000 });
    engine = undefined;
    for (const l of text().split('\n').slice(0, -1)) {
      try {
        lines.push(parseStrictJson(l) as Line);
      } catch (err) {
        rejected.push(`${(err as Error).message}: ${l}`);
      }
    }
  });

  afterAll(async () => {
    await engine?.stop({ drainMs: 1000 });
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes one strict JSON object per line: no key twice, at any depth', () => {
    expect(text().endsWith('\n')).toBe(true);
    expect(rejected).toEqual([]);
    expect(lines.length).toBeGreaterThan(10);
  });

  it('gives every line exactly one component, a dotted path from the root', () => {
    const bad = lines.filter(
      (l) =>
        typeof l['component'] !== 'string' || !/^[a-z_]+(\.[a-z_0-9-]+)*$/.test(l['component']),
    );
    expect(bad).toEqual([]);
    const components = new Set(lines.map((l) => l['component']));
    for (const c of ['engine', 'broker', 'sink', 'rules']) expect(components).toContain(c);
  });

  it('gives every warning and error a documented code', async () => {
    await loadAllErrorModules();
    const declared = allErrorCodes();
    const warned = lines.filter((l) => (l['level'] as number) >= 40);
    expect(warned.length).toBeGreaterThanOrEqual(5);
    expect(warned.filter((l) => typeof l['code'] !== 'string' || !declared.has(l['code']))).toEqual(
      [],
    );
  });

  it('names the sink, rule and client each line concerns', () => {
    const by = (code: string): Line[] => lines.filter((l) => l['code'] === code);
    expect(by('sink_write_failed')).toEqual([
      expect.objectContaining({ level: 40, component: 'sink', sink: 'mem', records: 1 }),
    ]);
    expect(by('sink_retries_exhausted')).toEqual([
      expect.objectContaining({
        sink: 'mem',
        last_code: 'memory_injected_failure',
        attempts: 2,
      }),
    ]);
    expect(by('sink_not_connected')).toEqual([expect.objectContaining({ sink: 'mem' })]);
    const connects = by('sink_connect_failed');
    expect(connects).toHaveLength(2);
    for (const l of connects)
      expect(l).toMatchObject({ level: 40, sink: 'mem', attempt: expect.any(Number) });
    expect(by('rule_not_loaded')).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          level: 50,
          component: 'engine',
          rule: 'hot',
          cause: 'sql_syntax_error',
          issue: expect.stringContaining('hot.sql:2:'),
        }),
        expect.objectContaining({ rule: 'cold', cause: 'rule_unknown_action' }),
      ]),
    );
    expect(by('rule_not_loaded')).toHaveLength(2);
    expect(lines.filter((l) => l['clientid'] === 'log-dev')).toEqual([
      expect.objectContaining({ component: 'broker', filter: '$share/g' }),
    ]);
  });
});
