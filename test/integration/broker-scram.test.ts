/**
 * MQTT 5 enhanced authentication (SCRAM, decision 0016) with independent clients over TCP:
 *
 *   - an independent SCRAM client in Python (standard library: hashlib, hmac, hand-framed MQTT
 *     packets; fixtures/scram-client.py): RFC 7677's vector, SHA-256 and SHA-512 logins, a
 *     wrong password (0x87), re-authentication (AUTH 0x19 → 0x00);
 *   - MQTT.js v5 (`properties.authenticationMethod` + `handleAuth`): connects, publishes,
 *     and is refused with a wrong password; users come from a `users_file`.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger, type BrokerEvent } from '../../src/core/index.js';
import { createBroker, scramCredential, type Broker } from '../../src/broker/index.js';
import { scramClient } from '../../src/broker/authn-scram.js';

const run = promisify(execFile);
const SCRIPT = path.join(import.meta.dirname, 'fixtures/scram-client.py');
let broker: Broker;
let port: number;
let dir: string;
const events: BrokerEvent[] = [];

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'sluice-scram-'));
  const file = path.join(dir, 'scram-users.yaml');
  writeFileSync(
    file,
    `- username: js-dev\n  credential: "${scramCredential('js pw', { iterations: 4096 })}"\n`,
  );
  broker = createBroker(
    { logger: silentLogger, node: 'sluice@scram' },
    {
      listeners: { tcp: { type: 'tcp', bind: '127.0.0.1', port: 0 } },
      allow_anonymous: false,
      scram: {
        users: [
          { username: 'py-dev', credential: scramCredential('pencil') },
          { username: 'py-dev', credential: scramCredential('pencil', { algorithm: 'sha512' }) },
        ],
        users_file: file,
      },
    },
  );
  broker.onEvent((e) => events.push(e));
  const [a] = await broker.start();
  port = a!.port;
});

afterAll(async () => {
  await broker.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function python(...args: string[]): Promise<Record<string, unknown>> {
  const r = await run('python3', [SCRIPT, ...args], { timeout: 30_000 });
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout.trim()) as Record<string, unknown>;
}

describe('independent SCRAM client (Python hashlib / hmac, raw MQTT 5 packets)', () => {
  it("RFC 7677's client-final and server-final, computed by Python, are the RFC's", async () => {
    expect(await python('vector')).toEqual({
      client_final:
        'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
      server_final: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
    });
  });

  it.each(['SCRAM-SHA-256', 'SCRAM-SHA-512'])(
    '%s: AUTH 0x18, CONNACK 0x00 with a server signature Python verifies, then re-authentication',
    async (method) => {
      const out = await python(String(port), 'py-dev', 'pencil', method, 'reauth');
      expect(out).toEqual({
        auth_reason: 0x18,
        connack: 0,
        connack_method: method,
        server_signature_ok: true,
        reauth_reason: 0x00,
        reauth_signature_ok: true,
      });
    },
  );

  it('a wrong password is CONNACK 0x87 without a server signature', async () => {
    const out = await python(String(port), 'py-dev', 'pencil?', 'SCRAM-SHA-256');
    expect(out).toEqual({
      auth_reason: 0x18,
      connack: 0x87,
      connack_method: '',
      server_signature_ok: false,
    });
  });
});

describe('MQTT.js v5 (authenticationMethod + handleAuth)', () => {
  /** An MQTT.js v5 client (not yet connected) that answers AUTH 0x18 with client-final. */
  function scramMqttJs(user: string, password: string) {
    const scram = scramClient(user, password, 'sha256');
    const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
      protocolVersion: 5,
      reconnectPeriod: 0,
      connectTimeout: 5000,
      manualConnect: true,
      clientId: `mqttjs-${user}-${process.pid}`,
      properties: { authenticationMethod: 'SCRAM-SHA-256', authenticationData: scram.first() },
    });
    let auths = 0;
    client.handleAuth = (packet, cb) => {
      auths++;
      cb(undefined, {
        cmd: 'auth',
        reasonCode: 0x18,
        properties: {
          authenticationMethod: 'SCRAM-SHA-256',
          authenticationData: scram.final(packet.properties?.authenticationData as Buffer),
        },
      });
    };
    return { client, scram, auths: () => auths };
  }

  it('connects through the AUTH exchange, checks the server-final and publishes', async () => {
    const { client, scram, auths } = scramMqttJs('js-dev', 'js pw');
    const connack = new Promise<{ properties?: { authenticationData?: Buffer } }>((res, rej) => {
      client.once('connect', res);
      client.once('error', rej);
    });
    client.connect();
    const ack = await connack;
    expect(auths()).toBe(1);
    expect(scram.verify(ack.properties!.authenticationData!)).toBe(true);
    await client.publishAsync('scram/js', 'hello', { qos: 1 });
    await client.endAsync();
    const pub = events.find(
      (e) => e.name === 'message.publish' && e.columns['topic'] === 'scram/js',
    );
    expect(pub?.columns['username']).toBe('js-dev');
  });

  it('a wrong password is refused: CONNACK 0x87 (Not authorized)', async () => {
    const { client, auths } = scramMqttJs('js-dev', 'not it');
    const err = await new Promise<Error & { code?: number }>((res) => {
      client.once('error', res);
      client.connect();
    });
    client.end(true);
    expect(auths()).toBe(1);
    expect(err.code).toBe(0x87);
    expect(err.message).toMatch(/Not authorized/i);
  });
});
