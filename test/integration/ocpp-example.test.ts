/**
 * examples/ocpp runs as shipped (ports made ephemeral, the console sink swapped for a memory
 * sink): a strict ocpp-rpc charge point is accepted end to end by the SQL rules alone —
 * BootNotification, Heartbeat and StatusNotification answered, results valid against 1.6.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { RPCClient } from 'ocpp-rpc';
import { afterAll, beforeAll, expect, it } from 'vitest';

import { silentLogger } from '../../src/core/index.js';
import { createEngine } from '../../src/engine/index.js';
import type { Engine } from '../../src/engine/index.js';
import type { MemorySink } from '../../src/sinks/memory/index.js';
import { waitFor } from './ocpp-helpers.js';

let dir: string;
let engine: Engine;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'ocpp-example-'));
  cpSync(path.resolve(import.meta.dirname, '../../examples/ocpp'), dir, { recursive: true });
  const file = path.join(dir, 'sluice.yaml');
  writeFileSync(
    file,
    readFileSync(file, 'utf8')
      .replace('port: 1883', 'port: 0')
      .replace('port: 33033', 'port: 0')
      .replace('type: console', 'type: memory'),
  );
  engine = createEngine(file, { logger: silentLogger, watch: false });
  await engine.start();
});
afterAll(async () => {
  await engine?.stop({ drainMs: 0 });
  rmSync(dir, { recursive: true, force: true });
});

it('a strict charge point is accepted by the example rules without any service', async () => {
  const a = engine.ocpp!.addresses[0]!;
  const cp = new RPCClient({
    endpoint: `ws://127.0.0.1:${a.port}${a.path}`,
    identity: 'CP001',
    protocols: ['ocpp1.6'],
    strictMode: true,
    reconnect: false,
    callTimeoutMs: 10_000,
  } as unknown as ConstructorParameters<typeof RPCClient>[0]);
  const failures: unknown[] = [];
  cp.on('strictValidationFailure', (e: unknown) => failures.push(e));
  await cp.connect();
  const boot = (await cp.call('BootNotification', {
    chargePointVendor: 'ACME',
    chargePointModel: 'Wallbox-22',
  })) as { status: string; interval: number; currentTime: string };
  expect(boot.status).toBe('Accepted');
  expect(boot.interval).toBe(300);
  expect(Math.abs(Date.parse(boot.currentTime) - Date.now())).toBeLessThan(60_000);
  expect(await cp.call('Heartbeat', {})).toHaveProperty('currentTime');
  expect(
    await cp.call('StatusNotification', {
      connectorId: 1,
      errorCode: 'NoError',
      status: 'Available',
    }),
  ).toEqual({});
  expect(failures).toEqual([]);
  expect(engine.ocpp!.clients()[0]!.keepalive).toBe(300);
  await cp.close();
  const events = engine.sink('console') as MemorySink;
  await waitFor(() => events.records.length === 2, 'connect and disconnect printed');
  expect(
    events.records.map((r) => [r.data['event'], r.data['clientid'], r.data['protocol']]),
  ).toEqual([
    ['client.connected', 'CP001', 'ocpp'],
    ['client.disconnected', 'CP001', 'ocpp'],
  ]);
});
