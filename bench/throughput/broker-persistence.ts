/**
 * Cost of `broker.persistence.type: disk` (issue #11 item 5): QoS 1 through the embedded broker
 * with memory vs disk persistence. One mqtt.js publisher (publishes in windows of 100
 * unacknowledged) → broker → one clean=false subscriber at QoS 1 (so every copy goes through
 * the persistence's outgoing queue and journal). Also one retained publish per 100 messages.
 * Reports msg/s received by the subscriber. Publisher and subscriber run in this process.
 *
 *   npx tsx bench/throughput/broker-persistence.ts [--messages=N]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { silentLogger } from '../../src/core/index.js';
import { createBroker } from '../../src/broker/index.js';

const N = Number(process.argv.find((a) => a.startsWith('--messages='))?.slice(11)) || 20_000;
const payload = Buffer.alloc(100, 'x');

async function run(type: 'memory' | 'disk'): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-persist-'));
  const b = createBroker(
    { logger: silentLogger },
    {
      listeners: { tcp: { type: 'tcp', bind: '127.0.0.1', port: 0, max_inflight: 0 } },
      persistence: { type, dir },
    },
  );
  const [addr] = await b.start();
  const url = `mqtt://127.0.0.1:${addr!.port}`;
  const sub = await mqtt.connectAsync(url, { clientId: 'bench-sub', clean: false });
  await sub.subscribeAsync('bench/p', { qos: 1 });
  const pub = await mqtt.connectAsync(url, { clientId: 'bench-pub' });
  let got = 0;
  const done = new Promise<void>((r) => sub.on('message', () => ++got === N && r()));
  const t0 = performance.now();
  for (let i = 0; i < N; i += 100) {
    const w: Promise<unknown>[] = [];
    for (let j = i; j < Math.min(N, i + 100); j++)
      w.push(pub.publishAsync('bench/p', payload, { qos: 1 }));
    w.push(pub.publishAsync(`bench/r/${i % 1000}`, payload, { qos: 1, retain: true }));
    await Promise.all(w);
  }
  await done;
  const rate = N / ((performance.now() - t0) / 1000);
  await Promise.all([sub.endAsync(true), pub.endAsync(true)]);
  await b.stop();
  rmSync(dir, { recursive: true, force: true });
  return rate;
}

const results: Record<string, number[]> = { memory: [], disk: [] };
for (let round = 0; round < 3; round++)
  for (const t of ['memory', 'disk'] as const) results[t]!.push(await run(t));
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[1]!;
console.log(
  `${cpus().length} × ${cpus()[0]?.model}, node ${process.version}, ${N} QoS 1 msgs, median of 3`,
);
for (const [t, xs] of Object.entries(results))
  console.log(
    `${t.padEnd(7)} ${Math.round(median(xs))} msg/s  (rounds: ${xs.map(Math.round).join(', ')})`,
  );
