/**
 * Scale-out bench (issue #17): aggregate throughput of 1, 2 and 3 Sluice workers in `mqtt`
 * source mode on one Mosquitto 2 (shared subscription, QoS 1, PUBACK after the sink
 * acknowledged), and one worker in `embedded` mode (the same rule and sink, the publisher
 * talking to the embedded broker) for the per-worker cost.
 *
 *   npx tsx bench/throughput/scale-out.ts [--messages 30000] [--workers 1,2,3]
 *
 * Every worker is a child process (test/integration/fixtures/source-worker.ts) with one rule
 * `SELECT payload.seq AS seq FROM "in/#"` → a memory sink. One mqtt.js publisher sends QoS 1
 * with a window of 1,000 unacknowledged messages; the rate is messages ÷ (last rule
 * acknowledgement − first publish); CPU is the workers' user+system time (/proc) per message.
 * All processes share this machine's 2 cores with Mosquitto and the publisher.
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';

import mqtt from 'mqtt';

import { startMosquitto } from '../../test/integration/mosquitto.js';
import { freePort } from '../../test/integration/mosquitto.js';
import { startWorker } from '../../test/integration/source-workers.js';
import type { Worker } from '../../test/integration/source-workers.js';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? dflt) : dflt;
};
const N = Number(arg('messages', '30000'));
const counts = arg('workers', '1,2,3').split(',').map(Number);
const TICK = 100; // clock ticks per second (Linux USER_HZ)

function cpuMs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const parts = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return ((Number(parts[11]) + Number(parts[12])) * 1000) / TICK;
}

const RULE = [{ id: 'r', sql: 'SELECT payload.seq AS seq FROM "in/#"', actions: ['m'] }];
const SINKS = { m: { type: 'memory', batch_size: 500, linger: 1 } };

async function publish(
  url: string,
  from: number,
  to: number,
  protocolVersion: 4 | 5,
): Promise<void> {
  const pub = await mqtt.connectAsync(url, { clientId: `bench-pub-${from}`, protocolVersion });
  const window = 1000;
  let next = from;
  await new Promise<void>((resolve, reject) => {
    let inflight = 0;
    const pump = (): void => {
      while (inflight < window && next < to) {
        const seq = next++;
        inflight++;
        pub.publish(`in/dev${seq % 64}`, `{"seq":${seq},"v":${seq * 7}}`, { qos: 1 }, (err) => {
          inflight--;
          if (err) reject(err);
          else if (next >= to && inflight === 0) resolve();
          else pump();
        });
      }
    };
    pump();
  });
  await pub.endAsync();
}

async function acked(workers: Worker[], key: 'acked' | 'rules'): Promise<number> {
  let n = 0;
  for (const w of workers) {
    const m = (await w.metrics()) as {
      source?: { acked: number };
      rules?: Record<string, { matched: number }>;
    };
    n += key === 'acked' ? (m.source?.acked ?? 0) : (m.rules?.['r']?.matched ?? 0);
  }
  return n;
}

async function run(
  label: string,
  url: string,
  workers: Worker[],
  key: 'acked' | 'rules',
): Promise<{ label: string; rate: number; cpuUsPerMsg: number }> {
  const cpu0 = workers.reduce((a, w) => a + cpuMs(w.child.pid!), 0);
  const t0 = performance.now();
  // The embedded broker (Aedes 1.2) speaks 3.1.1; Mosquitto gets MQTT 5.
  await publish(url, 0, N, key === 'rules' ? 4 : 5);
  let done = await acked(workers, key);
  while (done < N) {
    await new Promise((r) => setTimeout(r, 20));
    done = await acked(workers, key);
  }
  const secs = (performance.now() - t0) / 1000;
  const cpu = workers.reduce((a, w) => a + cpuMs(w.child.pid!), 0) - cpu0;
  const r = { label, rate: Math.round(N / secs), cpuUsPerMsg: Math.round((cpu * 1000) / N) };
  console.log(`${label}: ${r.rate} msg/s, worker CPU ${r.cpuUsPerMsg} µs/msg (${done} done)`);
  return r;
}

const results: { label: string; rate: number; cpuUsPerMsg: number }[] = [];
console.log(
  `scale-out bench: ${N} messages, load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
{
  // Embedded mode: one worker with its own broker on a free port.
  const port = await freePort();
  const w = await startWorker('embedded', {
    node: 'embedded',
    log: { level: 'warn', format: 'json' },
    broker: { listeners: { tcp: { type: 'tcp', bind: '127.0.0.1', port } } },
    sinks: SINKS,
    rules: RULE,
  });
  try {
    results.push(await run('embedded, 1 worker', `mqtt://127.0.0.1:${port}`, [w], 'rules'));
  } finally {
    await w.stop();
  }
}
for (const k of counts) {
  const broker = await startMosquitto();
  const workers = await Promise.all(
    Array.from({ length: k }, (_, i) =>
      startWorker(`w${i + 1}`, {
        node: `w${i + 1}`,
        log: { level: 'warn', format: 'json' },
        sources: {
          mode: 'mqtt',
          mqtt: { url: broker.url, client_id: `bench-w${i + 1}`, share_group: 'bench' },
        },
        sinks: SINKS,
        rules: RULE,
      }),
    ),
  );
  try {
    results.push(await run(`mqtt source, ${k} worker(s)`, broker.url, workers, 'acked'));
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await broker.stop();
  }
}
const one = results.find((r) => r.label.startsWith('mqtt source, 1 '));
console.log('\n| setup | msg/s | vs 1 worker | worker CPU µs/msg |\n| --- | --- | --- | --- |');
for (const r of results)
  console.log(
    `| ${r.label} | ${r.rate} | ${one ? (r.rate / one.rate).toFixed(2) + '×' : '—'} | ${r.cpuUsPerMsg} |`,
  );
console.log(
  `load average after: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
