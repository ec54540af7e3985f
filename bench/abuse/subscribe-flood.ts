/**
 * The SUBSCRIBE flood alone (issue #19, brief subs19b): one connection subscribes N filters in
 * SUBSCRIBE packets of `per` filters each, all written at once, then disconnects (Aedes removes
 * the N subscriptions). Meanwhile a second connection does QoS 1 round trips (PUBLISH to a topic
 * it subscribes to, PUBACK and the delivery back) every 10 ms. Reported per shape: the probe's
 * worst and p99 round trip during the flood, the event loop's worst delay (monitorEventLoopDelay,
 * 1 ms resolution), the longest turn in main-thread CPU time (less dependent on the load), the time to the last SUBACK, the time until the disconnect's clean-up is
 * done, and RSS / heap before, at peak and after gc.
 *
 * Broker only (createBroker on 127.0.0.1:0, max_subscriptions raised to N); the flood and the
 * probe are raw TCP clients in this process (packets generated before the clock starts).
 *
 *   node --expose-gc --import tsx bench/abuse/subscribe-flood.ts                # default shapes
 *   node --expose-gc --import tsx bench/abuse/subscribe-flood.ts 100000x1000 50000x50000
 *   node --cpu-prof --import tsx bench/abuse/subscribe-flood.ts 100000x1000     # profile
 *   npm run bench:subscribe-flood
 *   ... 100000x1000 --idle=15000 --smaps   # then idle 15 s, gc, and where the RSS is
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { loadavg } from 'node:os';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';

import { generate, parser, type Packet } from 'mqtt-packet';

import { silentLogger } from '../../src/core/index.js';
import { createBroker } from '../../src/broker/index.js';

const shapes = (
  process.argv.slice(2).filter((a) => /^\d+x\d+$/.test(a)).length
    ? process.argv.slice(2).filter((a) => /^\d+x\d+$/.test(a))
    : ['10000x1000', '100000x1000', '50000x50000']
).map((s) => s.split('x').map(Number) as [number, number]);
const gc = (globalThis as { gc?: () => void }).gc;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mb = (b: number) => `${(b / 1048576).toFixed(0)} MB`;

class Raw {
  readonly sock: net.Socket;
  private readonly waiters: ((p: Packet) => boolean)[] = [];
  constructor(port: number) {
    this.sock = net.connect(port, '127.0.0.1');
    this.sock.setNoDelay(true);
    const p = parser();
    p.on('packet', (pk: Packet) => {
      for (let i = 0; i < this.waiters.length; i++)
        if (this.waiters[i]!(pk)) {
          this.waiters.splice(i, 1);
          return;
        }
    });
    this.sock.on('data', (b) => p.parse(b));
  }
  /** Resolve with the first packet `pred` accepts. */
  wait(pred: (p: Packet) => boolean): Promise<Packet> {
    return new Promise((resolve) =>
      this.waiters.push((p) => {
        if (!pred(p)) return false;
        resolve(p);
        return true;
      }),
    );
  }
  async connect(id: string): Promise<void> {
    const connack = this.wait((p) => p.cmd === 'connack');
    this.sock.write(
      generate({
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 4,
        clientId: id,
        clean: true,
        keepalive: 0,
      }),
    );
    await connack;
  }
}

async function run(total: number, per: number) {
  const broker = createBroker(
    { logger: silentLogger },
    {
      listeners: {
        tcp: { type: 'tcp', bind: '127.0.0.1', port: 0, max_subscriptions: total },
      },
    },
  );
  const [addr] = await broker.start();
  const port = addr!.port;

  const probe = new Raw(port);
  await probe.connect('probe');
  const suback = probe.wait((p) => p.cmd === 'suback');
  probe.sock.write(
    generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'probe', qos: 1 }] }),
  );
  await suback;

  const packets = Buffer.concat(
    Array.from({ length: Math.ceil(total / per) }, (_, b) =>
      generate({
        cmd: 'subscribe',
        messageId: b + 1,
        subscriptions: Array.from({ length: Math.min(per, total - b * per) }, (_, i) => ({
          topic: `subs/${b}/${i}/+`,
          qos: 1 as const,
        })),
      }),
    ),
  );
  const flood = new Raw(port);
  await flood.connect('flood');

  gc?.();
  gc?.();
  const before = process.memoryUsage();
  let peakRss = before.rss;
  const rtts: number[] = [];
  let stop = false;
  let seq = 1;
  const probing = (async () => {
    while (!stop) {
      const id = (seq = (seq % 60000) + 1);
      const t0 = performance.now();
      const back = probe.wait((p) => p.cmd === 'publish' && p.messageId !== undefined);
      const ack = probe.wait((p) => p.cmd === 'puback' && p.messageId === id);
      probe.sock.write(
        generate({
          cmd: 'publish',
          topic: 'probe',
          qos: 1,
          messageId: id,
          payload: 'x',
          dup: false,
          retain: false,
        }),
      );
      const got = (await back) as Extract<Packet, { cmd: 'publish' }>;
      probe.sock.write(generate({ cmd: 'puback', messageId: got.messageId! }));
      await ack;
      rtts.push(performance.now() - t0);
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
      await sleep(10);
    }
  })();
  await sleep(200);
  const eld = monitorEventLoopDelay({ resolution: 1 });
  eld.enable();
  // The longest turn in main-thread CPU time (time waiting for a core on a loaded machine does
  // not count; GC on the main thread does): CPU spent between two firings of a 1 ms timer.
  let cpuMaxUs = 0;
  let lastCpu = process.threadCpuUsage();
  const cpuWatch = setInterval(() => {
    const now = process.threadCpuUsage();
    cpuMaxUs = Math.max(cpuMaxUs, now.user - lastCpu.user + (now.system - lastCpu.system));
    lastCpu = now;
  }, 1);
  let gcMax = 0;
  // The bench's own gc() after the last SUBACK is not the broker's pause: left out.
  const forced: [number, number] = [Infinity, Infinity];
  const gcObs = new PerformanceObserver((l) => {
    for (const e of l.getEntries())
      if (e.startTime < forced[0] || e.startTime > forced[1]) gcMax = Math.max(gcMax, e.duration);
  });
  gcObs.observe({ entryTypes: ['gc'] });
  rtts.length = 0;

  const t0 = performance.now();
  const cpu0 = process.threadCpuUsage();
  let granted = 0;
  let refused = 0;
  let subacks = 0;
  const expected = Math.ceil(total / per);
  const allAcked = new Promise<void>((resolve) => {
    const onAck = (p: Packet): boolean => {
      if (p.cmd !== 'suback') return false;
      for (const g of p.granted)
        if (g === 128) refused++;
        else granted++;
      if (++subacks === expected) resolve();
      else void flood.wait(onAck);
      return true;
    };
    void flood.wait(onAck);
  });
  flood.sock.write(packets);
  await allAcked;
  const tAcked = performance.now() - t0;
  // Main-thread CPU from the flood's write to its last SUBACK, per filter (the broker's work,
  // plus this process's SUBACK parsing and the 1 ms watchers: small next to it).
  const cpu1 = process.threadCpuUsage(cpu0);
  const cpuPerFilterUs = (cpu1.user + cpu1.system) / total;
  const lagSubscribe = eld.max / 1e6;
  const cpuSubscribe = cpuMaxUs / 1000;
  const heldRaw = process.memoryUsage().rss;
  forced[0] = performance.now();
  gc?.(); // what the subscriptions themselves hold
  forced[1] = performance.now();
  const held = process.memoryUsage();
  eld.reset();
  cpuMaxUs = 0;
  lastCpu = process.threadCpuUsage();
  const heldRss = Math.max(heldRaw, held.rss);
  const heldHeap = held.heapUsed;
  flood.sock.destroy();
  // The clean-up of the flood's subscriptions is done when its last filter has no subscriber
  // (removals run in filter order).
  const nb = Math.ceil(total / per) - 1;
  const lastTopic = `subs/${nb}/${total - nb * per - 1}/x`;
  const t1 = performance.now();
  for (;;) {
    await broker.publish({ topic: lastTopic, payload: Buffer.alloc(0), qos: 0 });
    if (broker.metrics().messages_dropped > 0) break;
    await sleep(5);
  }
  const tClean = performance.now() - t1;
  await sleep(100);
  eld.disable();
  clearInterval(cpuWatch);
  const cpuCleanUp = cpuMaxUs / 1000;
  gcObs.disconnect();
  stop = true;
  await probing;
  const during = [...rtts].sort((a, b) => a - b);
  // Freed after the disconnect? Measured with the broker (and the probe client) still up.
  gc?.();
  await sleep(50);
  gc?.();
  const upAfter = process.memoryUsage();
  probe.sock.destroy();
  await broker.stop();
  gc?.();
  gc?.();
  await sleep(200);
  gc?.();
  const after = process.memoryUsage();
  const pct = (p: number) => during[Math.min(during.length - 1, Math.floor(p * during.length))]!;
  return {
    shape: `${total} × ${per}`,
    granted,
    refused,
    probes: during.length,
    p50: pct(0.5),
    p99: pct(0.99),
    max: during[during.length - 1]!,
    gcMax,
    lagSubscribe,
    lagCleanUp: eld.max / 1e6,
    cpuSubscribe,
    cpuCleanUp,
    tAcked,
    tClean,
    rss: `${mb(before.rss)} → ${mb(Math.max(peakRss, heldRss))} → ${mb(after.rss)}`,
    heap: `${mb(before.heapUsed)} → ${mb(heldHeap)} → ${mb(upAfter.heapUsed)} → ${mb(after.heapUsed)}`,
    other: `${mb(after.heapTotal)} / ${mb(after.external)} / ${mb(after.arrayBuffers)}`,
    cpuPerFilterUs,
    heapPerFilter: (heldHeap - before.heapUsed) / total,
  };
}

const load0 = loadavg()
  .map((l) => l.toFixed(2))
  .join(' ');
console.log(`load average at start: ${load0}; node ${process.version}; gc ${gc ? 'yes' : 'no'}`);
console.log(
  '| filters × per SUBSCRIBE | granted | probes | probe p50 ms | p99 ms | max ms | loop lag max ms: subscribing / clean-up | longest turn, CPU ms: subscribing / clean-up | longest GC pause ms | last SUBACK ms | clean-up ms | RSS before → peak → after gc | heap used before → subscribed → after clean-up, broker up → after stop | after: heap total / external / arrayBuffers | CPU µs per filter (main thread, to last SUBACK) | heap held B per filter |',
);
console.log(
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | --- | ---: | ---: |',
);
for (const [total, per] of shapes) {
  const r = await run(total, per);
  console.log(
    `| ${r.shape} | ${r.granted}${r.refused ? ` (+${r.refused} refused)` : ''} | ${r.probes} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.max.toFixed(1)} | ${r.lagSubscribe.toFixed(0)} / ${r.lagCleanUp.toFixed(0)} | ${r.cpuSubscribe.toFixed(1)} / ${r.cpuCleanUp.toFixed(1)} | ${r.gcMax.toFixed(0)} | ${r.tAcked.toFixed(0)} | ${r.tClean.toFixed(0)} | ${r.rss} | ${r.heap} | ${r.other} | ${r.cpuPerFilterUs.toFixed(2)} | ${r.heapPerFilter.toFixed(0)} |`,
  );
}
const idle = Number(process.argv.find((a) => a.startsWith('--idle='))?.slice(7) ?? 0);
if (idle > 0) {
  // V8's memory reducer shrinks the heap once the process has been idle a while.
  await sleep(idle);
  gc?.();
  const m = process.memoryUsage();
  console.log(
    `after ${idle} ms idle + gc: RSS ${mb(m.rss)}, heap used ${mb(m.heapUsed)}, heap total ${mb(m.heapTotal)}`,
  );
  if (process.argv.includes('--minor')) {
    // A scavenge only (young generation): does it give pooled pages back?
    const t = performance.now();
    (gc as unknown as (o: object) => void)({ type: 'minor' });
    const ms = performance.now() - t;
    const l = process.memoryUsage();
    console.log(
      `after a minor gc (${ms.toFixed(1)} ms): RSS ${mb(l.rss)}, heap used ${mb(l.heapUsed)}`,
    );
  }
  if (process.argv.includes('--last-resort')) {
    // V8's "collect all available garbage" (what it runs before an out-of-memory) also gives
    // its page pool back to the system.
    const t = performance.now();
    (gc as unknown as (o: object) => void)({
      type: 'major',
      execution: 'sync',
      flavor: 'last-resort',
    });
    const l = process.memoryUsage();
    console.log(
      `after a last-resort gc (${(performance.now() - t).toFixed(0)} ms): RSS ${mb(l.rss)}, heap used ${mb(l.heapUsed)}`,
    );
  }
}
if (process.argv.includes('--smaps')) {
  // Where the resident memory is: smaps_rollup (LazyFree = pages given back with MADV_FREE,
  // still counted in RSS until the kernel needs them) and V8's committed spaces.
  const rollup = readFileSync('/proc/self/smaps_rollup', 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(rollup)?.[1] ?? 0);
  console.log(
    `smaps_rollup: ${['Rss', 'Anonymous', 'LazyFree', 'Private_Dirty'].map((k) => `${k} ${(kb(k) / 1024).toFixed(0)} MB`).join(', ')}`,
  );
  // Anonymous mappings by size: V8 allocates its heap pages as separate 256 KB mappings; glibc's
  // main heap is [heap], its thread arenas 64 MB reservations; the rest are big mmaps.
  const groups = new Map<string, { n: number; rss: number }>();
  let head: { name: string; size: number } | undefined;
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const m = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \d+\s*(.*)$/.exec(line);
    const range = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line);
    if (m && range) {
      head = {
        name: m[1]!,
        size: (parseInt(range[2]!, 16) - parseInt(range[1]!, 16)) / 1024,
      };
      continue;
    }
    const r = /^Rss:\s+(\d+)/.exec(line);
    if (!r || !head || r[1] === '0') continue;
    const key =
      head.name !== ''
        ? head.name.startsWith('/')
          ? 'files'
          : head.name
        : head.size === 256
          ? 'anon 256 KB (V8 pages)'
          : head.size >= 65536 && head.size <= 131072
            ? 'anon 64-128 MB (malloc arenas, V8 cage)'
            : head.size < 256
              ? 'anon < 256 KB'
              : 'anon other';
    const g = groups.get(key) ?? { n: 0, rss: 0 };
    g.n++;
    g.rss += Number(r[1]);
    groups.set(key, g);
  }
  console.log(
    `smaps by mapping: ${[...groups]
      .sort((a, b) => b[1].rss - a[1].rss)
      .map(([k, g]) => `${k} ×${g.n} ${(g.rss / 1024).toFixed(0)} MB`)
      .join(', ')}`,
  );
  console.log(
    `V8 committed: ${getHeapSpaceStatistics()
      .filter((s) => s.space_size > 0)
      .map((s) => `${s.space_name} ${mb(s.space_size)}`)
      .join(', ')}`,
  );
}
console.log(
  `load average at end: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
