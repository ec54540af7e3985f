/**
 * Shared subscriptions vs a normal subscription (issue #11 item 1): the cost of picking a member
 * per message. One Sluice broker (no rules), one mqtt.js publisher and mqtt.js subscribers in
 * this process over TCP on 127.0.0.1, 100-byte payloads, ≤ 500 publishes in flight:
 *
 *  - `normal, no window` one subscriber on `bench/t`, max_inflight 0 (Aedes' own behaviour)
 *  - `normal`          one subscriber on `bench/t`
 *  - `shared rr ×2`    `$share/g/bench/t`, two members, round_robin (the default)
 *  - `shared hash ×4`  `$share/g/bench/t`, four members, hash_topic
 *
 * The listener keeps the default max_inflight (32) with an unlimited client queue
 * (`max_mqueue_len: 0`), so a QoS 1 burst waits behind the window instead of being dropped.
 * Each scenario runs at QoS 0 and QoS 1 (subscription granted the same QoS); msg/s = messages
 * received by all subscribers ÷ time from the first publish to the last arrival. Scenarios are
 * interleaved over ROUNDS rounds; the median round is printed. Everything shares one process,
 * so the numbers compare the scenarios with each other, not with other benches.
 *
 *   npx tsx bench/throughput/broker-shared.ts [--messages=20000] [--rounds=3]
 */
import mqtt, { type MqttClient } from 'mqtt';
import { silentLogger } from '../../src/core/index.js';
import { createBroker, type BrokerConfigInput } from '../../src/broker/index.js';

const arg = (name: string, dflt: number): number => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.split('=')[1]) : dflt;
};
const MESSAGES = arg('messages', 20_000);
const ROUNDS = arg('rounds', 3);
const payload = Buffer.alloc(100, 'x');

interface Scenario {
  name: string;
  filter: string;
  members: number;
  config: Omit<BrokerConfigInput, 'listeners'>;
  /** max_inflight of the listener (default 32). */
  maxInflight?: number;
}
const scenarios: Scenario[] = [
  { name: 'normal, no window', filter: 'bench/t', members: 1, config: {}, maxInflight: 0 },
  { name: 'normal', filter: 'bench/t', members: 1, config: {} },
  { name: 'shared rr ×2', filter: '$share/g/bench/t', members: 2, config: {} },
  {
    name: 'shared hash ×4',
    filter: '$share/g/bench/t',
    members: 4,
    config: { shared_subscription_strategy: 'hash_topic' },
  },
];

async function run(s: Scenario, qos: 0 | 1): Promise<number> {
  const broker = createBroker(
    { logger: silentLogger },
    {
      ...s.config,
      // Unlimited client queue: a burst past the max_inflight window (32) is queued, not dropped.
      listeners: {
        tcp: {
          type: 'tcp',
          bind: '127.0.0.1',
          port: 0,
          max_mqueue_len: 0,
          max_inflight: s.maxInflight ?? 32,
        },
      },
    },
  );
  const [addr] = await broker.start();
  const url = `mqtt://127.0.0.1:${addr!.port}`;
  const clients: MqttClient[] = [];
  let received = 0;
  let last = 0;
  try {
    for (let i = 0; i < s.members; i++) {
      const c = await mqtt.connectAsync(url, { clientId: `sub-${i}`, reconnectPeriod: 0 });
      clients.push(c);
      c.on('message', () => {
        received++;
        last = performance.now();
      });
      await c.subscribeAsync(s.filter, { qos });
    }
    const pub = await mqtt.connectAsync(url, { clientId: 'pub', reconnectPeriod: 0 });
    clients.push(pub);
    const t0 = performance.now();
    let sent = 0;
    let inflight = 0;
    await new Promise<void>((resolve) => {
      const pump = (): void => {
        while (sent < MESSAGES && inflight < 500) {
          sent++;
          inflight++;
          pub.publish('bench/t', payload, { qos }, () => {
            inflight--;
            pump();
          });
        }
        if (sent >= MESSAGES && inflight === 0) resolve();
      };
      pump();
    });
    const deadline = Date.now() + 60_000;
    while (received < MESSAGES && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    if (received !== MESSAGES) throw new Error(`${s.name} q${qos}: received ${received}`);
    return MESSAGES / ((last - t0) / 1000);
  } finally {
    await Promise.all(clients.map((c) => c.endAsync(true)));
    await broker.stop();
  }
}

const results = new Map<string, number[]>();
for (let r = 0; r < ROUNDS; r++)
  for (const qos of [0, 1] as const)
    for (const s of scenarios) {
      const key = `${s.name} q${qos}`;
      const v = await run(s, qos);
      results.set(key, [...(results.get(key) ?? []), v]);
    }
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`| scenario | msg/s (median of ${ROUNDS}) | runs |`);
console.log('| --- | ---: | --- |');
for (const [k, v] of results)
  console.log(
    `| ${k} | ${Math.round(median(v)).toLocaleString('en')} | ${v.map((x) => Math.round(x)).join(', ')} |`,
  );
