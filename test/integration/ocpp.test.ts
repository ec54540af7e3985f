/**
 * The OCPP gateway inside the engine, against independent software: ocpp-rpc's RPCClient in
 * strict mode as the charge point (full 1.6 session), MQTT.js as the back end over the embedded
 * broker, ocpp-ts's OcppClient as a second charge point implementation. Basic auth goes through
 * the broker's user list; connect/disconnect events reach rules with protocol `ocpp`.
 */
import mqtt from 'mqtt';
import type { MqttClient } from 'mqtt';
import { RPCClient } from 'ocpp-rpc';
import { OcppClient } from 'ocpp-ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { hashPassword } from '../../src/broker/index.js';
import { silentLogger } from '../../src/core/index.js';
import { createEngine } from '../../src/engine/index.js';
import type { Engine } from '../../src/engine/index.js';
import type { MemorySink } from '../../src/sinks/memory/index.js';
import { refusal, sleep, waitFor } from './ocpp-helpers.js';

const CID = 'ACME-000481';

type RpcOptions = ConstructorParameters<typeof RPCClient>[0];
/** RPCClient with the options a test names (the typings list every option as required). */
const rpcClient = (o: Record<string, unknown>) => new RPCClient(o as unknown as RpcOptions);
const PASSWORD = 'A1:b2:c3-authorization-key';

let engine: Engine;
let backend: MqttClient;
let ocppUrl: string;
const replies: Record<string, unknown>[] = [];
const calls: { topic: string; body: Record<string, unknown> }[] = [];

/** The back end: answers CP CALLs from MQTT, like a CSMS service would. */
function answer(action: string, payload: Record<string, unknown>): Record<string, unknown> {
  const now = new Date().toISOString();
  switch (action) {
    case 'BootNotification':
      return { status: 'Accepted', currentTime: now, interval: 300 };
    case 'Heartbeat':
      return { currentTime: now };
    case 'Authorize':
      return { idTagInfo: { status: 'Accepted', parentIdTag: 'FLEET-01' } };
    case 'StartTransaction':
      return { transactionId: 58213, idTagInfo: { status: 'Accepted' } };
    case 'StopTransaction':
      return { idTagInfo: { status: 'Accepted' } };
    case 'DataTransfer':
      return { status: 'UnknownVendorId' };
    default:
      void payload;
      return {};
  }
}

beforeAll(async () => {
  engine = createEngine(
    {
      broker: {
        listeners: { tcp: { type: 'tcp', bind: '127.0.0.1', port: 0 } },
        allow_anonymous: false,
        users: [
          { username: 'backend', password_hash: hashPassword('backend-pw') },
          { username: CID, password_hash: hashPassword(PASSWORD) },
          { username: 'TS-0001', password_hash: hashPassword('ts-pw') },
        ],
      },
      gateway: {
        ocpp: {
          enable: true,
          message_format_checking: 'all',
          username_must_equal_cid: true,
          listeners: { default: { type: 'ws', bind: '127.0.0.1', port: 0 } },
        },
      },
      sinks: { events: { type: 'memory', linger: 0 } },
      rules: [
        {
          id: 'ocpp_connected',
          sql: 'SELECT event, clientid, username, protocol, proto_name, proto_ver FROM "$events/client/connected" WHERE protocol = \'ocpp\'',
          actions: ['events'],
        },
        {
          id: 'ocpp_disconnected',
          sql: 'SELECT event, clientid, reason, protocol FROM "$events/client/disconnected" WHERE protocol = \'ocpp\'',
          actions: ['events'],
        },
      ],
      reload: { enabled: false },
    },
    { logger: silentLogger },
  );
  const [tcp] = await engine.start();
  const a = engine.ocpp!.addresses[0]!;
  ocppUrl = `ws://127.0.0.1:${a.port}${a.path}`;
  backend = mqtt.connect(`mqtt://127.0.0.1:${tcp!.port}`, {
    username: 'backend',
    password: 'backend-pw',
    clientId: 'csms',
    reconnectPeriod: 0,
  });
  await new Promise<void>((res, rej) => {
    backend.once('connect', () => res());
    backend.once('error', rej);
  });
  await backend.subscribeAsync('ocpp/cp/#', { qos: 1 });
  backend.on('message', (topic, buf) => {
    const body = JSON.parse(buf.toString()) as Record<string, unknown>;
    const cid = topic.split('/')[2] as string;
    if (topic.endsWith('/Reply')) return void replies.push(body);
    calls.push({ topic, body });
    if (body['MessageTypeId'] === 2)
      void backend.publishAsync(
        `ocpp/cs/${cid}`,
        JSON.stringify({
          MessageTypeId: 3,
          UniqueId: body['UniqueId'],
          Payload: answer(body['Action'] as string, body['Payload'] as Record<string, unknown>),
        }),
        { qos: 1 },
      );
  });
});

afterAll(async () => {
  await backend?.endAsync();
  await engine?.stop({ drainMs: 0 });
});

const send = (cid: string, body: unknown) =>
  backend.publishAsync(`ocpp/cs/${cid}`, JSON.stringify(body), { qos: 1 });

describe('ocpp-rpc RPCClient (strict mode) as the charge point, MQTT.js as the back end', () => {
  it('runs a full session both ways with no overlapping downstream CALLs and one message per frame', async () => {
    const cp = rpcClient({
      endpoint: ocppUrl,
      identity: CID,
      password: PASSWORD,
      protocols: ['ocpp1.6'],
      strictMode: true,
      reconnect: false,
      callTimeoutMs: 10_000,
      pingIntervalMs: 0,
    });
    const frames: string[] = [];
    cp.on('message', ({ message, outbound }: { message: string; outbound: boolean }) => {
      if (!outbound) frames.push(String(message));
    });
    const failures: unknown[] = [];
    cp.on('strictValidationFailure', (e: unknown) => failures.push(e));
    let active = 0;
    let maxActive = 0;
    const handled: string[] = [];
    const slow =
      (result: Record<string, unknown>) =>
      async ({ method }: { method?: string }) => {
        active++;
        maxActive = Math.max(maxActive, active);
        handled.push(method ?? '');
        await sleep(60);
        active--;
        return result;
      };
    cp.handle('RemoteStartTransaction', slow({ status: 'Accepted' }));
    cp.handle('ChangeConfiguration', slow({ status: 'Accepted' }));
    cp.handle('Reset', slow({ status: 'Accepted' }));
    await cp.connect();
    expect(cp.protocol).toBe('ocpp1.6');

    const boot = await cp.call('BootNotification', {
      chargePointVendor: 'ACME',
      chargePointModel: 'Wallbox-22',
      chargePointSerialNumber: 'ACM22-000481',
      firmwareVersion: '4.2.1',
    });
    expect(boot).toMatchObject({ status: 'Accepted', interval: 300 });
    await waitFor(() => engine.ocpp!.clients()[0]?.keepalive === 300, 'keep-alive re-armed');
    expect(await cp.call('Heartbeat', {})).toHaveProperty('currentTime');
    await cp.call('StatusNotification', {
      connectorId: 1,
      errorCode: 'NoError',
      status: 'Available',
      timestamp: '2024-05-14T08:00:01Z',
    });
    expect(await cp.call('Authorize', { idTag: '04E91C2A5B3F80' })).toMatchObject({
      idTagInfo: { status: 'Accepted' },
    });
    const start = await cp.call('StartTransaction', {
      connectorId: 1,
      idTag: '04E91C2A5B3F80',
      meterStart: 1523400,
      timestamp: '2024-05-14T08:10:05Z',
    });
    expect(start).toMatchObject({ transactionId: 58213 });
    await cp.call('MeterValues', {
      connectorId: 1,
      transactionId: 58213,
      meterValue: [
        {
          timestamp: '2024-05-14T08:11:05Z',
          sampledValue: [
            { value: '1523590', measurand: 'Energy.Active.Import.Register', unit: 'Wh' },
            { value: '16.02', measurand: 'Current.Import', phase: 'L1', unit: 'A' },
          ],
        },
      ],
    });
    await cp.call('StopTransaction', {
      transactionId: 58213,
      idTag: '04E91C2A5B3F80',
      meterStop: 1541020,
      timestamp: '2024-05-14T09:45:12Z',
      reason: 'EVDisconnected',
    });
    expect(calls.filter((c) => c.topic === `ocpp/cp/${CID}`).map((c) => c.body['Action'])).toEqual([
      'BootNotification',
      'Heartbeat',
      'StatusNotification',
      'Authorize',
      'StartTransaction',
      'MeterValues',
      'StopTransaction',
    ]);

    // Three back-end CALLs published back to back: the CP must see them one at a time.
    const before = replies.length;
    await send(CID, {
      MessageTypeId: 2,
      UniqueId: 'cs-1',
      Action: 'RemoteStartTransaction',
      Payload: { connectorId: 1, idTag: '04E91C2A5B3F80' },
    });
    await send(CID, {
      MessageTypeId: 2,
      UniqueId: 'cs-2',
      Action: 'ChangeConfiguration',
      Payload: { key: 'MeterValueSampleInterval', value: '60' },
    });
    await send(CID, {
      MessageTypeId: 2,
      UniqueId: 'cs-3',
      Action: 'Reset',
      Payload: { type: 'Soft' },
    });
    await waitFor(() => replies.length === before + 3, 'three replies', 15_000);
    expect(handled).toEqual(['RemoteStartTransaction', 'ChangeConfiguration', 'Reset']);
    expect(maxActive).toBe(1);
    expect(replies.slice(before)).toEqual([
      {
        MessageTypeId: 3,
        UniqueId: 'cs-1',
        Action: 'RemoteStartTransaction',
        Payload: { status: 'Accepted' },
      },
      {
        MessageTypeId: 3,
        UniqueId: 'cs-2',
        Action: 'ChangeConfiguration',
        Payload: { status: 'Accepted' },
      },
      { MessageTypeId: 3, UniqueId: 'cs-3', Action: 'Reset', Payload: { status: 'Accepted' } },
    ]);
    // Every inbound WebSocket message held exactly one OCPP message.
    expect(frames.length).toBe(10);
    for (const f of frames) expect(JSON.parse(f)).toEqual(expect.any(Array));
    expect(failures).toEqual([]);
    await cp.close();
    await waitFor(
      () => (engine.sink('events') as MemorySink).records.length >= 2,
      'connect and disconnect events',
    );
    const events = (engine.sink('events') as MemorySink).records.map((r) => r.data);
    expect(events[0]).toMatchObject({
      event: 'client.connected',
      clientid: CID,
      username: CID,
      protocol: 'ocpp',
      proto_name: 'OCPP',
      proto_ver: '1.6',
    });
    expect(events[1]).toMatchObject({
      event: 'client.disconnected',
      clientid: CID,
      reason: 'normal',
      protocol: 'ocpp',
    });
  });

  it('authenticates through the broker users: wrong password 401, other username 401', async () => {
    const auth = (user: string, pw: string) => ({
      headers: { Authorization: `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}` },
    });
    expect((await refusal(`${ocppUrl}/${CID}`, ['ocpp1.6'], auth(CID, 'wrong'))).status).toBe(401);
    expect((await refusal(`${ocppUrl}/${CID}`, ['ocpp1.6'])).status).toBe(401);
    expect(
      (await refusal(`${ocppUrl}/${CID}`, ['ocpp1.6'], auth('backend', 'backend-pw'))).status,
    ).toBe(401);
    const cp = rpcClient({
      endpoint: ocppUrl,
      identity: CID,
      password: 'wrong',
      protocols: ['ocpp1.6'],
      reconnect: false,
    });
    await expect(cp.connect()).rejects.toThrow(/Unauthorized/);
  });
});

describe('ocpp-ts OcppClient as a second, independent charge point', () => {
  it('boots through the back end and answers a Reset sent over MQTT', async () => {
    const cp = new OcppClient('TS-0001');
    const errors: Error[] = [];
    cp.on('error', (e: Error) => errors.push(e));
    cp.on('Reset', (_req, cb) => cb({ status: 'Accepted' }));
    const connected = new Promise<void>((res) => cp.on('connect', () => res()));
    cp.connect(`${ocppUrl}/`, {
      Authorization: `Basic ${Buffer.from('TS-0001:ts-pw').toString('base64')}`,
    });
    await connected;
    const boot = await cp.callRequest('BootNotification', {
      chargePointVendor: 'eParking',
      chargePointModel: 'NECU-T2',
    });
    expect(boot.status).toBe('Accepted');
    const before = replies.length;
    await send('TS-0001', {
      MessageTypeId: 2,
      UniqueId: 'ts-r1',
      Action: 'Reset',
      Payload: { type: 'Hard' },
    });
    await waitFor(() => replies.length === before + 1, 'reset reply');
    expect(replies[before]).toEqual({
      MessageTypeId: 3,
      UniqueId: 'ts-r1',
      Action: 'Reset',
      Payload: { status: 'Accepted' },
    });
    expect(errors).toEqual([]);
    const ws = (cp as unknown as { connection: { socket: { close(): void } } }).connection.socket;
    const closed = new Promise<void>((res) => cp.on('close', () => res()));
    ws.close();
    await closed;
  });
});
