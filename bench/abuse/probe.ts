/**
 * The well-behaved client of the abuse suite, in its own process so the attackers' CPU does
 * not delay its clock: every 100 ms it publishes a QoS 1 message to `probe/in`; the `probe`
 * rule republishes it to `probe/out` (QoS 1), which this client subscribes to. One sample per
 * message: send time and round-trip ms (publish → delivery back through the rule), or lost.
 *
 *   node --import tsx bench/abuse/probe.ts <mqtt port>
 *   ← { op: 'ready' }   → { op: 'stop' }   ← { op: 'samples', samples: [{ t, rtt }] }
 *   (rtt null = no delivery by the time the probe stopped)
 */
import mqtt from 'mqtt';

const port = Number(process.argv[2]);
const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
  clientId: 'probe',
  reconnectPeriod: 0,
  keepalive: 30,
});
await c.subscribeAsync('probe/out', { qos: 1 });

const sent = new Map<number, number>();
const samples: { t: number; rtt: number | null }[] = [];
const bySeq = new Map<number, { t: number; rtt: number | null }>();
c.on('message', (_topic, payload) => {
  const seq = Number(payload.toString());
  const t0 = sent.get(seq);
  if (t0 === undefined) return;
  sent.delete(seq);
  const s = bySeq.get(seq);
  if (s) s.rtt = performance.now() - t0;
});

let seq = 0;
const tick = setInterval(() => {
  const n = ++seq;
  const s = { t: Date.now(), rtt: null };
  samples.push(s);
  bySeq.set(n, s);
  sent.set(n, performance.now());
  c.publish('probe/in', String(n), { qos: 1 });
}, 100);

process.send!({ op: 'ready' });
process.on('message', (m: { op: string }) => {
  if (m.op !== 'stop') return;
  clearInterval(tick);
  // Give the last ones a moment to come back.
  setTimeout(() => {
    process.send!({ op: 'samples', samples }, () => {
      c.end(true, () => process.exit(0));
    });
  }, 1500);
});
