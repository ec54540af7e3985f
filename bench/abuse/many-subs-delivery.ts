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
 * `--case=` picks what the copies need:
 *
 *   grant      (default) the subscription a copy is delivered for grants the message's QoS
 *   below      the messages are QoS 2: each copy's own grant (1) is below, so the best grant
 *              among the client's matching filters is looked for
 *   ids        MQTT 5, one Subscription Identifier per SUBSCRIBE: each copy carries the
 *              identifiers of all the client's matching subscriptions [MQTT-3.3.4-4]
 *   qos0-first the N filters at QoS 0 and `subs/#` at QoS 1: the first matching subscription
 *              grants 0, a later one 1 — delivered at QoS 1 [MQTT-3.3.5-1]
 *
 * Broker only (createBroker on 127.0.0.1:0, in this process; packets generated first).
 *
 *   node --import tsx bench/abuse/many-subs-delivery.ts                 # N = 1k, 10k, 100k
 *   node --import tsx bench/abuse/many-subs-delivery.ts 100000 --messages=200 --case=below
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
const which = argv.find((a) => a.startsWith('--case='))?.slice(7) ?? 'grant';
if (!['grant', 'below', 'ids', 'qos0-first'].includes(which)) {
  process.stderr.write(`unknown --case=${which} (grant, below, ids, qos0-first)\n`);
  process.exit(2);
}
const v5 = which === 'ids';
const protocolVersion: 4 | 5 = v5 ? 5 : 4;
const opts = { protocolVersion };
const PER = 1000;

async function run(total: number): Promise<Record<string, number | string>> {
  const broker = createBroker(
    { logger: silentLogger },
    {
      // --case=below writes all its QoS 2 publishes at once: more than 100 await PUBREL.
      max_awaiting_rel: 0,
      listeners: {
        tcp: { type: 'tcp', bind: '127.0.0.1', port: 0, max_subscriptions: total + 1 },
      },
    },
  );
  const [addr] = await broker.start();
  const sock = net.connect(addr!.port, '127.0.0.1');
  sock.setNoDelay(true);
  await new Promise((r) => sock.once('connect', r));
  const p = parser(opts);
  let subacks = 0;
  let delivered = 0;
  let atQos1 = 0;
  let withIds = 0;
  let onSubacks: () => void = () => {};
  let onDelivered: () => void = () => {};
  const batches = Math.ceil(total / PER) + (which === 'qos0-first' ? 1 : 0);
  p.on('packet', (pk: Packet) => {
    if (pk.cmd === 'suback' && ++subacks === batches) onSubacks();
    // Our own QoS 2 publishes (--case=below).
    if (pk.cmd === 'pubrec')
      sock.write(generate({ cmd: 'pubrel', messageId: pk.messageId! }, opts));
    if (pk.cmd === 'publish') {
      if (pk.qos === 1) {
        atQos1++;
        sock.write(generate({ cmd: 'puback', messageId: pk.messageId! }, opts));
      }
      if (pk.properties?.subscriptionIdentifier !== undefined) withIds++;
      if (++delivered === messages) onDelivered();
    }
  });
  sock.on('data', (b) => p.parse(b));
  sock.write(
    generate({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion,
      clientId: 'many-subs',
      clean: true,
      keepalive: 0,
    }),
  );
  const subscribed = new Promise<void>((r) => (onSubacks = r));
  const filterQos = which === 'qos0-first' ? 0 : 1;
  for (let b = 0; b * PER < total; b++)
    sock.write(
      generate(
        {
          cmd: 'subscribe',
          messageId: b + 1,
          subscriptions: Array.from({ length: Math.min(PER, total - b * PER) }, (_, i) => ({
            topic: `subs/${b}/${i}/+`,
            qos: filterQos as 0 | 1,
          })),
          ...(v5 ? { properties: { subscriptionIdentifier: b + 1 } } : {}),
        },
        opts,
      ),
    );
  if (which === 'qos0-first')
    sock.write(
      generate(
        { cmd: 'subscribe', messageId: 60000, subscriptions: [{ topic: 'subs/#', qos: 1 }] },
        opts,
      ),
    );
  await subscribed;
  await new Promise((r) => setTimeout(r, 200)); // retained lookups and $SYS done
  const pubs = Buffer.concat(
    Array.from({ length: messages }, (_, m) => {
      const k = Math.floor((m * total) / messages); // spread over the filters
      return generate(
        {
          cmd: 'publish',
          topic: `subs/${Math.floor(k / PER)}/${k % PER}/x`,
          qos: which === 'below' ? 2 : 1,
          messageId: (m % 60000) + 1,
          payload: 'x',
          dup: false,
          retain: false,
        },
        opts,
      );
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
    case: which,
    subscriptions: total,
    messages,
    'delivered at QoS 1': atQos1,
    ...(v5 ? { 'with identifiers': withIds } : {}),
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
