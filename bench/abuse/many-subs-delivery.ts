/**
 * Delivering to a client that holds many subscriptions (issue #19). Every QoS 1/2 copy is
 * downgraded to min(published, granted) where "granted" is the best grant among ALL of the
 * client's matching filters [MQTT-3.3.5-1] (src/broker/granted-qos.ts). Computed by scanning
 * the client's filters, that cost grows with the number of filters the client holds: one
 * client with 100,000 filters made each copy to it a 15–33 ms turn.
 *
 * One connection subscribes N filters (`subs/<b>/<i>/+`, QoS 1, in SUBSCRIBEs of 1,000) and
 * then publishes M QoS 1 messages to topics its own filters match (`subs/<b>/<i>/x`, spread
 * over the filters); it receives each back at QoS 1. Reported per N: the time from the first
 * PUBLISH to the last delivery, the server's main-thread CPU per delivered copy and the
 * event loop's worst delay (monitorEventLoopDelay) while the messages flow.
 *
 * Broker only (createBroker on 127.0.0.1:0, in this process; packets generated first).
 *
 *   node --import tsx bench/abuse/many-subs-delivery.ts                 # N = 1k, 10k, 100k
 *   node --import tsx bench/abuse/many-subs-delivery.ts 100000 --messages=200
 */
import net from 'node:net';
import { loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';

import { generate, parser, type Packet } from 'mqtt-packet';

import { silentLogger } from '../../src/core/index.js';
import { createBroker } from '../../src/broker/index.js';

const argv = process.argv.slice(2);
const sizes = argv.filter((a) => /^\d+$/.test(a)).map(Number);
const messages = Number(argv.find((a) => a.startsWith('--messages='))?.slice(11) ?? 500);
const PER = 1000;

async function run(total: number): Promise<Record<string, number | string>> {
  const broker = createBroker(
    { logger: silentLogger },
    { listeners: { tcp: { type: 'tcp', bind: '127.0.0.1', port: 0, max_subscriptions: total } } },
  );
  const [addr] = await broker.start();
  const sock = net.connect(addr!.port, '127.0.0.1');
  sock.setNoDelay(true);
  await new Promise((r) => sock.once('connect', r));
  const p = parser();
  let subacks = 0;
  let delivered = 0;
  let atQos1 = 0;
  let onSubacks: () => void = () => {};
  let onDelivered: () => void = () => {};
  const batches = Math.ceil(total / PER);
  p.on('packet', (pk: Packet) => {
    if (pk.cmd === 'suback' && ++subacks === batches) onSubacks();
    if (pk.cmd === 'publish') {
      if (pk.qos === 1) {
        atQos1++;
        sock.write(generate({ cmd: 'puback', messageId: pk.messageId! }));
      }
      if (++delivered === messages) onDelivered();
    }
  });
  sock.on('data', (b) => p.parse(b));
  sock.write(
    generate({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clientId: 'many-subs',
      clean: true,
      keepalive: 0,
    }),
  );
  const subscribed = new Promise<void>((r) => (onSubacks = r));
  for (let b = 0; b < batches; b++)
    sock.write(
      generate({
        cmd: 'subscribe',
        messageId: b + 1,
        subscriptions: Array.from({ length: Math.min(PER, total - b * PER) }, (_, i) => ({
          topic: `subs/${b}/${i}/+`,
          qos: 1 as const,
        })),
      }),
    );
  await subscribed;
  await new Promise((r) => setTimeout(r, 200)); // retained lookups and $SYS done
  const pubs = Buffer.concat(
    Array.from({ length: messages }, (_, m) => {
      const k = Math.floor((m * total) / messages); // spread over the filters
      return generate({
        cmd: 'publish',
        topic: `subs/${Math.floor(k / PER)}/${k % PER}/x`,
        qos: 1,
        messageId: (m % 60000) + 1,
        payload: 'x',
        dup: false,
        retain: false,
      });
    }),
  );
  const lag = monitorEventLoopDelay({ resolution: 1 });
  const done = new Promise<void>((r) => (onDelivered = r));
  lag.enable();
  const cpu0 = process.threadCpuUsage();
  const t0 = performance.now();
  sock.write(pubs);
  await done;
  const ms = performance.now() - t0;
  const cpu = process.threadCpuUsage(cpu0);
  lag.disable();
  sock.destroy();
  await broker.stop();
  return {
    subscriptions: total,
    messages,
    'delivered at QoS 1': atQos1,
    'wall ms': Number(ms.toFixed(1)),
    // The client and broker share this thread: CPU per copy is both sides' (the client's part
    // is the same at every N).
    'CPU µs per copy': Number(((cpu.user + cpu.system) / messages).toFixed(1)),
    'loop lag max ms': Number((lag.max / 1e6).toFixed(1)),
  };
}

const rows = [];
for (const n of sizes.length ? sizes : [1000, 10000, 100000]) rows.push(await run(n));
const cols = Object.keys(rows[0]!);
process.stdout.write(
  `| ${cols.join(' | ')} |\n| ${cols.map(() => '---:').join(' | ')} |\n` +
    rows.map((r) => `| ${cols.map((c) => r[c]).join(' | ')} |`).join('\n') +
    `\n\nload average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}, Node ${process.version}\n`,
);
