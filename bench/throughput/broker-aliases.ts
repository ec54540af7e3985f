/**
 * Outbound topic aliases at QoS 1 (issue #13): one MQTT.js v5 subscriber on `bench/#` at QoS 1,
 * with Topic Alias Maximum 0 (no aliases: what every QoS 1 copy got before aliases were used
 * at QoS 1) and 16 (aliases), against the embedded broker over TCP on 127.0.0.1. The broker
 * itself publishes (Broker.publish, 200 in flight), 100-byte payloads, to TOPICS topics of the
 * form `bench/site-0042/device-004217/telemetry` (41 bytes). Rounds interleave the two sides;
 * the median round is reported (the side that goes first alternates). msg/s = messages / (first publish → last copy received);
 * bytes/msg = bytes the subscriber's socket read / messages.
 *
 *   npx tsx bench/throughput/broker-aliases.ts [--messages=N] [--topics=N] [--rounds=N]
 */
import { cpus, loadavg } from 'node:os';
import mqtt from 'mqtt';
import { silentLogger } from '../../src/core/index.js';
import { createBroker } from '../../src/broker/index.js';

const arg = (name: string, d: number): number =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? d);
const MESSAGES = arg('messages', 20_000);
const TOPICS = arg('topics', 10);
const ROUNDS = arg('rounds', 3);
const payload = Buffer.alloc(100, 'x');
const topics = Array.from(
  { length: TOPICS },
  (_, i) =>
    `bench/site-${String(i % 100).padStart(4, '0')}/device-${String(i).padStart(6, '0')}/telemetry`,
);

async function run(aliasMax: number): Promise<{ rate: number; bytes: number }> {
  const broker = createBroker(
    { logger: silentLogger },
    { listeners: { tcp: { type: 'tcp', bind: '127.0.0.1', port: 0, max_inflight: 0 } } },
  );
  const [a] = await broker.start();
  const sub = await mqtt.connectAsync(`mqtt://127.0.0.1:${a!.port}`, {
    protocolVersion: 5,
    reconnectPeriod: 0,
    properties: { topicAliasMaximum: aliasMax },
  });
  await sub.subscribeAsync('bench/#', { qos: 1 });
  let got = 0;
  let done!: () => void;
  const all = new Promise<void>((r) => (done = r));
  sub.on('message', () => {
    if (++got === MESSAGES) done();
  });
  const read0 = (sub.stream as { bytesRead?: number }).bytesRead ?? 0;
  const t0 = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < MESSAGES) {
      const i = next++;
      await broker.publish({ topic: topics[i % TOPICS]!, payload, qos: 1 });
    }
  };
  await Promise.all(Array.from({ length: 200 }, worker));
  await all;
  const ms = performance.now() - t0;
  const bytes = ((sub.stream as { bytesRead?: number }).bytesRead ?? 0) - read0;
  await sub.endAsync();
  await broker.stop();
  return { rate: (MESSAGES / ms) * 1000, bytes: bytes / MESSAGES };
}

const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
const res: Record<string, { rate: number[]; bytes: number[] }> = {
  off: { rate: [], bytes: [] },
  on: { rate: [], bytes: [] },
};
await run(16); // warm-up, not reported
// The two sides alternate which goes first, so warm-up and drift do not favour one.
for (let r = 0; r < ROUNDS; r++)
  for (const [k, max] of r % 2 === 0
    ? ([
        ['off', 0],
        ['on', 16],
      ] as const)
    : ([
        ['on', 16],
        ['off', 0],
      ] as const)) {
    const x = await run(max);
    res[k]!.rate.push(x.rate);
    res[k]!.bytes.push(x.bytes);
  }
const off = median(res.off!.rate);
const on = median(res.on!.rate);
console.log(
  `${cpus()[0]?.model} ×${cpus().length}, Node ${process.version}, load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}; ${MESSAGES} msgs, ${TOPICS} topics, ${ROUNDS} rounds (median)`,
);
console.log('| Topic Alias Maximum | msg/s (rounds) | bytes read per message |');
console.log('| --- | --- | --- |');
console.log(
  `| 0 (no aliases) | ${off.toFixed(0)} (${res.off!.rate.map((x) => x.toFixed(0)).join(', ')}) | ${median(res.off!.bytes).toFixed(1)} |`,
);
console.log(
  `| 16 (aliases) | ${on.toFixed(0)} (${res.on!.rate.map((x) => x.toFixed(0)).join(', ')}) | ${median(res.on!.bytes).toFixed(1)} |`,
);
console.log(`ratio aliases / none: ${(on / off).toFixed(3)}`);
