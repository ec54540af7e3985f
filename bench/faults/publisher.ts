/**
 * The fault suite's publisher: QoS 1 or 2 over raw TCP sockets (framed by hand like
 * bench/throughput/raw-publisher.ts, so it costs little CPU), paced to a rate, with a
 * sequence number and a key in every payload (`{"key":"k3","seq":123}`). It remembers which
 * sequence numbers the broker acknowledged (PUBACK by packet id), so the suite can tell
 * records lost after their PUBACK from records that were never acknowledged. With QoS 2 a
 * record counts as acknowledged at its PUBREC (the broker has taken it over); the PUBREL /
 * PUBCOMP exchange then frees its slot in the window.
 *
 * When the broker goes away (Sluice SIGKILLed) every client reconnects every 200 ms; the
 * PUBLISHes that were unacknowledged at that moment are not sent again (clean sessions): they
 * count as published, not acknowledged.
 */
import net from 'node:net';

/** Unacknowledged PUBLISHes per client. */
const WINDOW = 200;
const KEYS = 8;

export interface PublisherStats {
  published: number;
  acked: ReadonlySet<number>;
}

export interface Publisher {
  readonly stats: PublisherStats;
  /** Stop publishing and close the sockets (after waiting up to `ms` for PUBACKs). */
  stop(ms?: number): Promise<void>;
}

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
    Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x02, 0, 60]),
    Buffer.from([id.length >> 8, id.length & 0xff]),
    id,
  ]);
  return Buffer.concat([Buffer.from([0x10, ...remainingLength(body.length)]), body]);
}

function publishPacket(topic: Buffer, packetId: number, payload: Buffer, qos: 1 | 2): Buffer {
  const len = 2 + topic.length + 2 + payload.length;
  return Buffer.concat([
    Buffer.from([
      qos === 2 ? 0x34 : 0x32,
      ...remainingLength(len),
      topic.length >> 8,
      topic.length & 0xff,
    ]),
    topic,
    Buffer.from([packetId >> 8, packetId & 0xff]),
    payload,
  ]);
}

/** `clients` connections to 127.0.0.1:port publishing `rate` messages/s in total. */
export function startPublisher(port: number, rate: number, qos: 1 | 2 = 1, clients = 4): Publisher {
  const acked = new Set<number>();
  const stats = { published: 0, acked };
  let seq = 0;
  let stopping = false;
  const conns: { sock?: net.Socket; ready: boolean; pending: Map<number, number>; pid: number }[] =
    [];

  const open = (i: number): void => {
    const c = conns[i]!;
    c.ready = false;
    c.pending.clear();
    const sock = net.connect(port, '127.0.0.1');
    c.sock = sock;
    sock.setNoDelay(true);
    let carry = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => {
      const b = carry.length > 0 ? Buffer.concat([carry, d]) : d;
      let o = 0;
      for (; o + 4 <= b.length; o += 4) {
        const type = b[o]! >> 4;
        if (type === 2) c.ready = b[o + 3] === 0;
        else if (type === 4 || type === 5 || type === 7) {
          // PUBACK (QoS 1), PUBREC (QoS 2: acknowledged, answer PUBREL), PUBCOMP (slot free).
          const id = (b[o + 2]! << 8) | b[o + 3]!;
          const s = c.pending.get(id);
          if (type === 5) {
            if (s !== undefined) acked.add(s);
            sock.write(Buffer.from([0x62, 2, b[o + 2]!, b[o + 3]!]));
          } else if (s !== undefined) {
            c.pending.delete(id);
            acked.add(s);
          }
        }
      }
      carry = o < b.length ? Buffer.from(b.subarray(o)) : Buffer.alloc(0);
    });
    sock.on('error', () => {});
    sock.on('close', () => {
      c.ready = false;
      c.pending.clear();
      if (!stopping) setTimeout(() => open(i), 200);
    });
    sock.write(connectPacket(`fault-pub-${process.pid}-${i}`));
  };
  for (let i = 0; i < clients; i++) {
    conns.push({ ready: false, pending: new Map(), pid: 0 });
    open(i);
  }
  const topics = Array.from({ length: clients }, (_, i) => Buffer.from(`fault/c${i}`));

  // Paced: every 10 ms send what is due, round-robin over the ready clients.
  const t0 = Date.now();
  let sent = 0;
  const timer = setInterval(() => {
    const due = Math.floor(((Date.now() - t0) / 1000) * rate) - sent;
    for (let k = 0; k < due; k++) {
      sent++;
      const i = sent % clients;
      const c = conns[i]!;
      if (!c.ready || !c.sock || c.pending.size >= WINDOW) continue; // not offered: no seq used
      const s = seq++;
      c.pid = (c.pid % 65535) + 1;
      c.pending.set(c.pid, s);
      stats.published++;
      const payload = Buffer.from(`{"key":"k${s % KEYS}","seq":${s}}`);
      c.sock.write(publishPacket(topics[i]!, c.pid, payload, qos));
    }
  }, 10);

  return {
    stats,
    async stop(ms = 5000) {
      clearInterval(timer);
      const deadline = Date.now() + ms;
      while (conns.some((c) => c.pending.size > 0) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      stopping = true;
      for (const c of conns) c.sock?.end(Buffer.from([0xe0, 0]));
    },
  };
}
