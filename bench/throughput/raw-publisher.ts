/**
 * A lean MQTT 3.1.1 load generator (the role emqtt-bench plays for EMQX): raw TCP sockets,
 * PUBLISH packets framed by hand into one buffer per socket write, PUBACKs counted by a
 * four-byte scanner. It costs well under a microsecond per message, so on a 2-core machine
 * the CPU goes to the system under test rather than to the client library (mqtt.js spends
 * ~7 µs per QoS 0 publish, which alone caps a 2-core end-to-end run below 100k msg/s).
 * bench/throughput/broker-publisher.ts is the mqtt.js generator; both print the same line.
 *
 *   tsx raw-publisher.ts <port> <qos> <total> <clients> <topics> [rate/s, 0 = flat out] [protocol]
 *       [client id prefix]
 *
 * `protocol` 5 speaks MQTT 5.0 (level 5, an empty property block on CONNECT and each PUBLISH);
 * the default 4 is MQTT 3.1.1. Client `i` is `<prefix>-<i>` (default prefix
 * `bench-raw-<pid>`; the Kafka e2e bench passes one whose ids spread over the partitions).
 *
 * Connects every client (CONNECT, waits for CONNACK 0), publishes, then prints
 * `{"sent": n, "t0": first publish (ms since the epoch), "ms": duration}`.
 * QoS 1 keeps at most WINDOW unacknowledged PUBLISHes per client and finishes when every
 * PUBACK is in; QoS 0 finishes when every byte is handed to the kernel. Each payload carries
 * `ts` (send time, ms since the epoch, sub-ms precision) and `seq`, padded to 100 bytes.
 */
import net from 'node:net';

const [port, qosArg, totalArg, clientsArg, topicsArg, rateArg, protocolArg, prefixArg] =
  process.argv.slice(2);
const v5 = protocolArg === '5';
const qos = Number(qosArg) as 0 | 1;
const total = Number(totalArg);
const clients = Number(clientsArg);
const topics = Number(topicsArg);
const rate = Number(rateArg ?? 0);
const idPrefix = prefixArg || `bench-raw-${process.pid}`;
/** Unacknowledged QoS 1 PUBLISHes per client (as broker-publisher.ts). */
const WINDOW = 500;
/** Messages framed into one socket write. */
const CHUNK = 64;
const PAYLOAD = 100;

const now = (): number => performance.timeOrigin + performance.now();

function remainingLength(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

function connectPacket(clientId: string): Buffer {
  const id = Buffer.from(clientId);
  const body = Buffer.concat([
    // "MQTT", level 4 (or 5 + an empty property block), clean, keepalive 60
    Buffer.from(
      v5
        ? [0, 4, 0x4d, 0x51, 0x54, 0x54, 5, 0x02, 0, 60, 0]
        : [0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x02, 0, 60],
    ),
    Buffer.from([id.length >> 8, id.length & 0xff]),
    id,
  ]);
  return Buffer.concat([Buffer.from([0x10, ...remainingLength(body.length)]), body]);
}

const topicBytes = Array.from({ length: topics }, (_, i) => Buffer.from(`bench/r${i}/x`));

/** Writes one PUBLISH for `seq` into `buf` at `off`; returns the new offset. */
function framePublish(buf: Buffer, off: number, seq: number, packetId: number): number {
  const topic = topicBytes[seq % topics]!;
  const head = `{"ts":${now().toFixed(3)},"seq":${seq},"pad":"`;
  const padLen = Math.max(0, PAYLOAD - head.length - 2);
  const len = 2 + topic.length + (qos > 0 ? 2 : 0) + (v5 ? 1 : 0) + head.length + padLen + 2;
  buf[off++] = qos > 0 ? 0x32 : 0x30;
  for (const b of remainingLength(len)) buf[off++] = b;
  buf[off++] = topic.length >> 8;
  buf[off++] = topic.length & 0xff;
  off += topic.copy(buf, off);
  if (qos > 0) {
    buf[off++] = packetId >> 8;
    buf[off++] = packetId & 0xff;
  }
  if (v5) buf[off++] = 0; // property length
  off += buf.write(head, off, 'latin1');
  buf.fill(0x78, off, off + padLen);
  off += padLen;
  buf[off++] = 0x22; // "
  buf[off++] = 0x7d; // }
  return off;
}

interface Client {
  sock: net.Socket;
  acked: number;
  onAck: () => void;
}

function connect(i: number): Promise<Client> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(port), '127.0.0.1');
    sock.setNoDelay(true);
    const client: Client = { sock, acked: 0, onAck: () => {} };
    let connacked = false;
    let carry = Buffer.alloc(0);
    sock.on('error', reject);
    sock.on('data', (d: Buffer) => {
      const b = carry.length > 0 ? Buffer.concat([carry, d]) : d;
      let o = 0;
      // The broker sends us CONNACK (3.1.1: 0x20 2 x x; 5.0: with properties, < 128 bytes) and
      // PUBACK (0x40 2 id id): one remaining-length byte each.
      for (; o + 2 <= b.length && o + 2 + b[o + 1]! <= b.length; o += 2 + b[o + 1]!) {
        const type = b[o]! >> 4;
        if (type === 2) {
          if (b[o + 3] !== 0) return reject(new Error(`CONNACK ${b[o + 3]}`));
          connacked = true;
          resolve(client);
        } else if (type === 4) {
          client.acked++;
          client.onAck();
        } else return reject(new Error(`unexpected packet type ${type}`));
      }
      carry = o < b.length ? Buffer.from(b.subarray(o)) : Buffer.alloc(0);
    });
    sock.on('close', () => {
      if (!connacked) reject(new Error('closed before CONNACK'));
    });
    sock.write(connectPacket(`${idPrefix}-${i}`));
  });
}

async function run(c: Client, count: number, offset: number, perClientRate: number): Promise<void> {
  const buf = Buffer.allocUnsafe(CHUNK * 256);
  let next = 0;
  const start = performance.now();
  await new Promise<void>((resolve) => {
    /** Why the pump is not running: the QoS 1 window, socket drain, or the pacing timer. */
    let stalled: 'window' | 'drain' | 'timer' | null = null;
    const finishIfDone = (): void => {
      if (next >= count && (qos === 0 || c.acked >= count)) resolve();
    };
    const pump = (): void => {
      stalled = null;
      while (next < count) {
        if (qos > 0 && next - c.acked >= WINDOW) {
          stalled = 'window'; // resumed by onAck
          return;
        }
        let allowed = count - next;
        if (perClientRate > 0) {
          const due = Math.floor(((performance.now() - start) / 1000) * perClientRate) - next;
          if (due <= 0) {
            stalled = 'timer';
            setTimeout(pump, 1);
            return;
          }
          allowed = Math.min(allowed, due);
        }
        if (qos > 0) allowed = Math.min(allowed, WINDOW - (next - c.acked));
        const n = Math.min(CHUNK, allowed);
        let off = 0;
        for (let k = 0; k < n; k++) {
          const seq = offset + next++;
          off = framePublish(buf, off, seq, (next % 65535) + 1);
        }
        if (!c.sock.write(Buffer.from(buf.subarray(0, off)))) {
          stalled = 'drain';
          c.sock.once('drain', pump);
          return;
        }
      }
      finishIfDone();
    };
    c.onAck = () => {
      if (next >= count) finishIfDone();
      else if (stalled === 'window') pump();
    };
    pump();
  });
  // QoS 0: wait until the kernel has every byte, then say goodbye (DISCONNECT).
  await new Promise<void>((resolve) => c.sock.end(Buffer.from([0xe0, 0]), resolve));
}

const conns = await Promise.all(Array.from({ length: clients }, (_, i) => connect(i)));
const t0 = now();
const per = Math.ceil(total / clients);
await Promise.all(
  conns.map((c, i) =>
    run(c, Math.min(per, total - i * per), i * per, rate > 0 ? rate / clients : 0),
  ),
);
process.stdout.write(JSON.stringify({ sent: total, t0, ms: now() - t0 }) + '\n');
