/**
 * Load generator for bench/throughput/broker.ts, run as a separate process so publishing does
 * not share the event loop with the server under test. Publishes `total` 100-byte JSON
 * messages over `clients` mqtt.js connections, at most `window` unacknowledged (QoS 1) or
 * unflushed (QoS 0) per client. Each payload carries its send time (`ts`, ms since the epoch
 * with sub-ms precision: performance.timeOrigin + performance.now(), comparable across
 * processes on one machine).
 *
 *   tsx broker-publisher.ts <port> <qos> <total> <clients> <topics> [protocol]
 *
 * `protocol` is the MQTT protocol level of the connections: 4 (3.1.1, the default) or 5.
 *
 * `topics` = 1 publishes everything to bench/r0/x; N spreads messages over bench/r<i % N>/x.
 * Prints one JSON line `{"sent": n, "t0": start (ms since the epoch), "ms": publish duration}`
 * when done.
 */
import mqtt from 'mqtt';

const [port, qosArg, totalArg, clientsArg, topicsArg, protocolArg] = process.argv.slice(2);
const protocolVersion = (Number(protocolArg) || 4) as 4 | 5;
const qos = Number(qosArg) as 0 | 1;
const total = Number(totalArg);
const clients = Number(clientsArg);
const topics = Number(topicsArg);
const WINDOW = 500;

const now = (): number => performance.timeOrigin + performance.now();

function payload(seq: number): Buffer {
  const head = `{"ts":${now().toFixed(3)},"seq":${seq},"pad":"`;
  return Buffer.from(head + 'x'.repeat(Math.max(0, 100 - head.length - 2)) + '"}');
}

async function run(id: number, count: number, offset: number): Promise<void> {
  const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
    clientId: `bench-pub-${process.pid}-${id}`,
    reconnectPeriod: 0,
    protocolVersion,
  });
  let next = 0;
  let done = 0;
  await new Promise<void>((resolve, reject) => {
    const pump = (): void => {
      while (next < count && next - done < WINDOW) {
        const seq = offset + next++;
        c.publish(`bench/r${seq % topics}/x`, payload(seq), { qos }, (err) => {
          if (err) return reject(err);
          if (++done === count) resolve();
          else pump();
        });
      }
    };
    pump();
  });
  await c.endAsync();
}

const t0 = now();
const per = Math.ceil(total / clients);
await Promise.all(
  Array.from({ length: clients }, (_, i) => run(i, Math.min(per, total - i * per), i * per)),
);
process.stdout.write(JSON.stringify({ sent: total, t0, ms: now() - t0 }) + '\n');
