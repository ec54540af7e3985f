/**
 * Soak: many simultaneous charge points, hundreds of messages each, through the whole engine
 * (embedded broker, MQTT.js back end answering every CALL and sending its own CALLs). Guards
 * against EMQX-style long-connection failures (emqx#16522: connections died after ~10
 * messages): every connection stays up, every CALL is answered in order, no downstream CALLs
 * overlap, every WebSocket message holds one OCPP message.
 */
import mqtt from 'mqtt';
import type { MqttClient } from 'mqtt';
import WebSocket from 'ws';
import { afterAll, beforeAll, expect, it } from 'vitest';

import { silentLogger } from '../../src/core/index.js';
import { createEngine } from '../../src/engine/index.js';
import type { Engine } from '../../src/engine/index.js';
import { waitFor } from './ocpp-helpers.js';

const CPS = 100;
const CALLS_PER_CP = 200;
const BACKEND_CALLS_PER_CP = 20;

let engine: Engine;
let backend: MqttClient;
let url: string;

beforeAll(async () => {
  engine = createEngine(
    {
      broker: { listeners: { tcp: { type: 'tcp', bind: '127.0.0.1', port: 0 } } },
      gateway: {
        ocpp: {
          enable: true,
          message_format_checking: 'all',
          listeners: { default: { type: 'ws', bind: '127.0.0.1', port: 0 } },
        },
      },
      reload: { enabled: false },
    },
    { logger: silentLogger },
  );
  const [tcp] = await engine.start();
  const a = engine.ocpp!.addresses[0]!;
  url = `ws://127.0.0.1:${a.port}${a.path}`;
  backend = mqtt.connect(`mqtt://127.0.0.1:${tcp!.port}`, { clientId: 'csms', reconnectPeriod: 0 });
  await new Promise<void>((res) => backend.once('connect', () => res()));
  await backend.subscribeAsync('ocpp/cp/+', { qos: 1 });
  backend.on('message', (topic, buf) => {
    const m = JSON.parse(buf.toString()) as { UniqueId: string };
    backend.publish(
      `ocpp/cs/${topic.split('/')[2]}`,
      JSON.stringify({
        MessageTypeId: 3,
        UniqueId: m.UniqueId,
        Payload: { currentTime: new Date().toISOString() },
      }),
      { qos: 1 },
    );
  });
});
afterAll(async () => {
  await backend?.endAsync();
  await engine?.stop({ drainMs: 0 });
});

interface SoakCp {
  answered: number;
  backendCalls: number;
  overlaps: number;
  badFrames: number;
  closed: boolean;
  done: Promise<void>;
  ws: WebSocket;
}

function soakCp(i: number): Promise<SoakCp> {
  const ws = new WebSocket(`${url}/SOAK-${i}`, ['ocpp1.6']);
  return new Promise((resolve, reject) => {
    let finish: () => void;
    const cp: SoakCp = {
      answered: 0,
      backendCalls: 0,
      overlaps: 0,
      badFrames: 0,
      closed: false,
      done: new Promise((r) => (finish = r)),
      ws,
    };
    let inCall = false;
    const next = () => {
      if (cp.answered === CALLS_PER_CP) return finish();
      ws.send(JSON.stringify([2, `${i}-${cp.answered}`, 'Heartbeat', {}]));
    };
    ws.on('message', (d) => {
      const f = JSON.parse(d.toString()) as unknown[];
      if (!Array.isArray(f) || typeof f[0] !== 'number') return void cp.badFrames++;
      if (f[0] === 3) {
        if (f[1] !== `${i}-${cp.answered}`) cp.badFrames++;
        cp.answered++;
        next();
      } else if (f[0] === 2) {
        if (inCall) cp.overlaps++;
        inCall = true;
        cp.backendCalls++;
        // Answer a little later, while the CP's own CALLs keep flowing.
        setTimeout(() => {
          inCall = false;
          ws.send(JSON.stringify([3, f[1], { status: 'Accepted' }]));
        }, 2);
      }
    });
    ws.on('close', () => (cp.closed = true));
    ws.once('error', reject);
    ws.once('open', () => {
      resolve(cp);
      next();
    });
  });
}

it(`${CPS} charge points × ${CALLS_PER_CP} CALLs + ${BACKEND_CALLS_PER_CP} back-end CALLs each`, async () => {
  const cps = await Promise.all(Array.from({ length: CPS }, (_, i) => soakCp(i)));
  // Back-end CALLs to every CP, all published at once: the gateway serialises them.
  for (let k = 0; k < BACKEND_CALLS_PER_CP; k++)
    for (let i = 0; i < CPS; i++)
      backend.publish(
        `ocpp/cs/SOAK-${i}`,
        JSON.stringify({
          MessageTypeId: 2,
          UniqueId: `cs-${i}-${k}`,
          Action: 'ClearCache',
          Payload: {},
        }),
        { qos: 1 },
      );
  await Promise.all(cps.map((c) => c.done));
  await waitFor(
    () => cps.every((c) => c.backendCalls === BACKEND_CALLS_PER_CP),
    'back-end CALLs',
    60_000,
  );
  await waitFor(
    () => engine.ocpp!.clients().every((c) => c.inflight === null && c.mqueue_len === 0),
    'queues empty',
  );
  for (const c of cps) {
    expect({
      answered: c.answered,
      overlaps: c.overlaps,
      bad: c.badFrames,
      closed: c.closed,
    }).toEqual({
      answered: CALLS_PER_CP,
      overlaps: 0,
      bad: 0,
      closed: false,
    });
  }
  const m = engine.metrics().ocpp!;
  expect(m.connections).toBe(CPS);
  expect(
    m.invalid_frames + m.invalid_envelopes + m.validation_failed + m.dropped + m.call_timeouts,
  ).toBe(0);
  expect(m.frames_in).toBe(CPS * (CALLS_PER_CP + BACKEND_CALLS_PER_CP));
  expect(m.frames_out).toBe(CPS * (CALLS_PER_CP + BACKEND_CALLS_PER_CP));
  await Promise.all(
    cps.map(
      (c) =>
        new Promise<void>((r) => {
          c.ws.once('close', () => r());
          c.ws.close();
        }),
    ),
  );
});
