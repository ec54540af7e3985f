/**
 * broker.persistence.type disk (issue #11 item 5, decision 0008) with real mqtt.js clients over
 * TCP: a retained message and a clean=false subscriber's queued QoS 1 message survive stopping
 * the broker and starting a new one on the same directory.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/index.js';
import { createBroker, type Broker } from '../../src/broker/index.js';

const dirs: string[] = [];
const brokers: Broker[] = [];
const clients: MqttClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  await Promise.all(brokers.splice(0).map((b) => b.stop()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function start(dir: string, type: 'disk' | 'memory' = 'disk'): Promise<[Broker, string]> {
  const b = createBroker(
    { logger: silentLogger },
    {
      listeners: { tcp: { type: 'tcp', bind: '127.0.0.1', port: 0 } },
      persistence: { type, dir },
    },
  );
  brokers.push(b);
  const [addr] = await b.start();
  return [b, `mqtt://127.0.0.1:${addr!.port}`];
}

async function connect(url: string, clientId: string, clean: boolean): Promise<MqttClient> {
  const c = await mqtt.connectAsync(url, {
    clientId,
    clean,
    reconnectPeriod: 0,
    connectTimeout: 5000,
  });
  clients.push(c);
  return c;
}

async function stop(b: Broker): Promise<void> {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  await b.stop();
  brokers.splice(brokers.indexOf(b), 1);
}

function nextMessage(
  c: MqttClient,
): Promise<{ topic: string; payload: string; qos: number; retain: boolean }> {
  return new Promise((resolve) =>
    c.once('message', (topic, payload, packet) =>
      resolve({ topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain }),
    ),
  );
}

/** One scenario: retained + offline queued QoS 1 message, restart, both delivered. */
async function scenario(
  type: 'disk' | 'memory',
  crash = false,
): Promise<{
  retained: string | undefined;
  sessionPresent: boolean;
  queued: string | undefined;
}> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-persist-'));
  dirs.push(dir);
  const [b1, url1] = await start(dir, type);
  const sub = await connect(url1, 'persist-sub', false);
  await sub.subscribeAsync('p/queue', { qos: 1 });
  await sub.endAsync();
  clients.splice(clients.indexOf(sub), 1);
  const pub = await connect(url1, 'persist-pub', true);
  await pub.publishAsync('p/retained', 'kept', { qos: 1, retain: true });
  await pub.publishAsync('p/queue', 'queued-1', { qos: 1 });
  let dir2 = dir;
  if (crash) {
    // A crash: the first broker never closes (no final snapshot); a copy of its directory as
    // it is now (the journal only) is what a new broker starts from.
    await new Promise((r) => setTimeout(r, 50));
    dir2 = mkdtempSync(join(tmpdir(), 'sluice-persist-crash-'));
    dirs.push(dir2);
    cpSync(dir, dir2, { recursive: true });
    clients.splice(0).forEach((c) => c.end(true));
  } else await stop(b1);

  const [, url2] = await start(dir2, type);
  const fresh = await connect(url2, 'persist-fresh', true);
  const gotRetained = Promise.race([
    nextMessage(fresh),
    new Promise<undefined>((r) => setTimeout(() => r(undefined), 1500)),
  ]);
  await fresh.subscribeAsync('p/retained', { qos: 1 });
  const retained = await gotRetained;

  // Listen before CONNACK: the stored queue is sent right after it.
  const back = mqtt.connect(url2, {
    clientId: 'persist-sub',
    clean: false,
    reconnectPeriod: 0,
    connectTimeout: 5000,
  });
  clients.push(back);
  const queued = Promise.race([
    nextMessage(back),
    new Promise<undefined>((r) => setTimeout(() => r(undefined), 1500)),
  ]);
  const connack = await new Promise<{ sessionPresent: boolean }>((resolve, reject) => {
    back.once('connect', (p) => resolve(p));
    back.once('error', reject);
  });
  const q = await queued;
  return {
    retained: retained?.retain ? retained.payload : undefined,
    sessionPresent: connack.sessionPresent,
    queued: q?.payload,
  };
}

describe('broker persistence across restarts (mqtt.js)', () => {
  it('refuses a directory another broker holds (LOCK refreshed by another owner)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-persist-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'LOCK'), 'sluice-1.other-host:1\n');
    const b = createBroker(
      { logger: silentLogger },
      {
        listeners: { tcp: { type: 'tcp', bind: '127.0.0.1', port: 0 } },
        persistence: { type: 'disk', dir },
      },
    );
    await expect(b.start()).rejects.toMatchObject({ code: 'broker_persistence_locked' });
    expect(readFileSync(join(dir, 'LOCK'), 'utf8')).toBe('sluice-1.other-host:1\n');
  });

  it('disk: retained message and a persistent session with a queued QoS 1 message survive a restart', async () => {
    const r = await scenario('disk');
    expect(r).toEqual({ retained: 'kept', sessionPresent: true, queued: 'queued-1' });
  });

  it('disk, crash: the journal alone (no final snapshot) restores both', async () => {
    const r = await scenario('disk', true);
    expect(r).toEqual({ retained: 'kept', sessionPresent: true, queued: 'queued-1' });
  });

  it('memory (the default): the same restart loses both — the disk test is not vacuous', async () => {
    const r = await scenario('memory');
    expect(r).toEqual({ retained: undefined, sessionPresent: false, queued: undefined });
  });
});
