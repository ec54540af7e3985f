/**
 * Abuse suite (issue #19 item 5). Not a timed test: a script that prints figures, recorded in
 * bench/RESULTS.md.
 *
 * Three processes: the server under test (server.ts: the whole engine + API, `--expose-gc`),
 * the probe (probe.ts: a QoS 1 round trip through a rule every 100 ms) and this orchestrator,
 * which throws one attack per phase at the server while the probe runs:
 *
 *   baseline        nothing
 *   redos           `^([a-zA-Z0-9]+\s?)*$` on the issue's 43-byte payload and on 100,000 chars
 *   redos_dynamic   `regex_replace` with `^(a+)+$` taken from the message; rule_test over HTTP
 *   jq_loop         `jq('def f: f; f', payload)`, one message every 300 ms (jq runs off the event loop; each timeout is a strike)
 *   case_5000       a 5,000-branch CASE rule over the API (refused: rule_limits), then the
 *                   largest allowed one (480 branches) created, then messages to it
 *   deep_json       100,000-deep `{"a":…}` and `[[…]]` payloads to rules reading the payload
 *   string_build    `pad('', 100000000, 'trailing', 'x')` (100 MB strings) from the payload
 *   subs_100k       one connection subscribing 100,000 filters (1,000 per SUBSCRIBE)
 *   non_json        64 KB random binary and truncated JSON to rules reading payload fields
 *   proto_keys      `__proto__` / `constructor.prototype` keys through field access, map_put,
 *                   json_decode and the sinks
 *   protocol        bad UTF-8 topics, U+0000, protocol level 7, half-sent packets
 *   after           idle 15 s (memory_reclaim gives V8's page pool back meanwhile, decision
 *                   0023); then the RSS as it is, the RSS after gc() in the server, and after a
 *                   last-resort gc
 *
 * Per phase: the probe's p50 / p99 / max round trip and lost probes, the server's worst
 * event-loop delay, its longest turn in main-thread CPU time (less dependent on the machine's
 * load), the CPU time of the server's threads (event loop, V8's GC helpers, worker threads: what
 * competes with the event loop for the cores), peak RSS, warnings (with the lag watch's culprit
 * rule) and suspended rules.
 * Prints a markdown table and the JSON; `--write` also writes bench/results/abuse.md.
 *
 *   npm run bench:abuse               # ~60 s
 *   npm run bench:abuse -- --write
 *   npm run bench:abuse -- --only=redos,deep_json
 *   npm run bench:abuse -- --dist          # the tsc build (npm run build first), as `sluice run`
 *   npm run bench:abuse -- --cpu-prof      # server CPU profile in /tmp/sluice-abuse-prof
 *   npm run bench:abuse -- --server-flags=--max-semi-space-size=4,--trace-gc   # Node/V8 flags
 *   npm run bench:abuse -- --after=110000  # idle 110 s before the final figures (default 15 s)
 *   npm run bench:abuse -- --no-reclaim    # memory_reclaim off in the server (V8's own reducer
 *                                          # gives the page pool back only after ~100 s)
 *   ABUSE_TIMELINE=/tmp/tl.json npm run bench:abuse -- --dist   # then: npx tsx
 *                                          # bench/abuse/timeline.ts /tmp/tl.json (slow probes)
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { cpus, loadavg, totalmem } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import mqtt, { type MqttClient } from 'mqtt';
import { generate, parser, type Packet } from 'mqtt-packet';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const write = args.includes('--write');
const only = args
  .find((a) => a.startsWith('--only='))
  ?.slice(7)
  .split(',');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mb = (b: number) => `${(b / 1048576).toFixed(0)} MB`;

interface ServerStats {
  rss: number;
  peakRss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  lagMaxMs: number;
  lagP99Ms: number;
  turnCpuMaxMs?: number;
  /** CPU ms per server thread name since the phase began (Linux; {} elsewhere). */
  threadCpuMs?: Record<string, number>;
  /** ms the event loop's thread waited for a core since the phase began (Linux). */
  mainWaitMs?: number;
  warnings: { code: string; rule?: string; msg: string }[];
  /** `memory_reclaimed` info lines since the previous stats (decision 0023). */
  reclaims: {
    outcome: string;
    rss_before: number;
    rss_after: number;
    major_gcs: number;
    max_pause_ms: number;
    duration_ms: number;
  }[];
  reclaim: {
    reclaims: Record<string, number>;
    reclaimedBytes: number;
    lastPauseMs: number;
    active: boolean;
  };
  polluted: string[];
  suspended: string[];
  rules: Record<string, { matched: number; passed: number; exception: number }>;
  gc?: boolean;
  trimMs?: number;
}

function child(file: string, argv: string[], execArgv: string[] = []): ChildProcess {
  return fork(path.join(here, file), argv, {
    execArgv: ['--import', 'tsx', ...execArgv],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}
function next<T>(c: ChildProcess, op: string): Promise<T> {
  return new Promise((resolve) => {
    const on = (m: { op: string }) => {
      if (m.op !== op) return;
      c.off('message', on);
      resolve(m as T);
    };
    c.on('message', on);
  });
}
async function ask(c: ChildProcess, op: 'stats' | 'gc' | 'mark' | 'trim'): Promise<ServerStats> {
  const reply = next<ServerStats>(c, op === 'mark' ? 'marked' : 'stats');
  c.send({ op });
  return reply;
}

// ---- attack helpers -------------------------------------------------------------------------

async function client(port: number, id: string): Promise<MqttClient> {
  return mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
    clientId: id,
    reconnectPeriod: 0,
    connectTimeout: 30_000,
  });
}
async function http(api: number, method: string, p: string, body?: unknown) {
  const t0 = performance.now();
  const res = await fetch(`http://127.0.0.1:${api}${p}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, ms: performance.now() - t0, text };
}
/** Raw TCP: write `bytes`, resolve when the server closes (or after `ms`). */
function rawSend(
  port: number,
  bytes: Buffer,
  ms = 3000,
): Promise<{ closed: boolean; got: Buffer }> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    const got: Buffer[] = [];
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ closed: false, got: Buffer.concat(got) });
    }, ms);
    s.on('data', (b) => got.push(b));
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ closed: true, got: Buffer.concat(got) });
    });
    s.on('connect', () => s.write(bytes));
  });
}
const str = (b: Buffer) => Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
const pkt = (first: number, body: Buffer) =>
  Buffer.concat([Buffer.from([first, body.length]), body]);
const connectPkt = (level: number, id: string) =>
  pkt(
    0x10,
    Buffer.concat([str(Buffer.from('MQTT')), Buffer.from([level, 2, 0, 0]), str(Buffer.from(id))]),
  );

type Attack = (ctx: { port: number; api: number; notes: string[] }) => Promise<void>;

/**
 * subs_100k's 100 SUBSCRIBE packets × 1,000 filters, built before any phase runs: an attacker
 * builds them on its own machine, and here the ~100 ms of CPU that takes would otherwise compete
 * with the server for the two cores during the phase.
 */
const subscribeFlood = Array.from({ length: 100 }, (_, b) =>
  generate({
    cmd: 'subscribe',
    messageId: b + 1,
    subscriptions: Array.from({ length: 1000 }, (_, i) => ({
      topic: `subs/${b}/${i}/+`,
      qos: 1 as const,
    })),
  }),
);

const attacks: Record<string, Attack> = {
  async baseline() {
    await sleep(3000);
  },
  async redos({ port, notes }) {
    const c = await client(port, 'att-redos');
    const issue = '{"name":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!"}';
    for (let i = 0; i < 20; i++) {
      await c.publishAsync('abuse/regex', issue, { qos: 1 });
      await sleep(50);
    }
    const long = JSON.stringify({ name: 'a'.repeat(100_000) + '!' });
    for (let i = 0; i < 5; i++) await c.publishAsync('abuse/regex', long, { qos: 1 });
    notes.push('20 × 43-byte payload, 5 × 100,000 chars');
    await c.endAsync();
    await sleep(1000);
  },
  async redos_dynamic({ port, api, notes }) {
    const c = await client(port, 'att-redos2');
    for (let i = 0; i < 10; i++)
      await c.publishAsync(
        'abuse/regex2',
        JSON.stringify({ s: 'a'.repeat(5000) + '!', p: '^(a+)+$' }),
        { qos: 1 },
      );
    await c.endAsync();
    let worst = 0;
    for (let i = 0; i < 5; i++) {
      const r = await http(api, 'POST', '/api/v5/rule_test', {
        sql: `SELECT regex_match(payload.s, '^(a+)+$') AS m FROM "t"`,
        context: { topic: 't', payload: JSON.stringify({ s: 'a'.repeat(30) + '!' }) },
      });
      worst = Math.max(worst, r.ms);
    }
    notes.push(`rule_test × 5: worst ${worst.toFixed(0)} ms`);
    await sleep(1000);
  },
  async jq_loop({ port, notes }) {
    const c = await client(port, 'att-jq');
    for (let i = 0; i < 10; i++) {
      await c.publishAsync('abuse/jq', '{"a":1}', { qos: 1 });
      await sleep(300);
    }
    notes.push('10 messages, one per 300 ms');
    await c.endAsync();
    await sleep(1000);
  },
  async case_5000({ port, api, notes }) {
    const caseSql = (n: number): string =>
      `SELECT CASE ${Array.from({ length: n }, (_, i) => `WHEN payload.v = ${i} THEN 'b${i}'`).join(' ')} ELSE 'none' END AS c FROM "abuse/case"`;
    // 5,000 branches (169 KB, 40,000 tokens): over rule_limits.max_sql_bytes, refused unparsed.
    const sql = caseSql(5000);
    const test = await http(api, 'POST', '/api/v5/rule_test', {
      sql,
      context: { topic: 'abuse/case', payload: '{"v":4999}' },
    });
    const created = await http(api, 'POST', '/api/v5/rules', {
      id: 'case_5000',
      sql,
      actions: ['sink'],
    });
    notes.push(
      `SQL ${(sql.length / 1024).toFixed(0)} KB; rule_test ${test.status} in ${test.ms.toFixed(0)} ms; create ${created.status} in ${created.ms.toFixed(0)} ms`,
    );
    // The largest CASE the default limits allow: 480 branches (3,849 tokens, 16 KB).
    const allowed = caseSql(480);
    const test2 = await http(api, 'POST', '/api/v5/rule_test', {
      sql: allowed,
      context: { topic: 'abuse/case', payload: '{"v":479}' },
    });
    const created2 = await http(api, 'POST', '/api/v5/rules', {
      id: 'case_480',
      sql: allowed,
      actions: ['sink'],
    });
    notes.push(
      `480 branches (${(allowed.length / 1024).toFixed(0)} KB): rule_test ${test2.status} in ${test2.ms.toFixed(0)} ms; create ${created2.status} in ${created2.ms.toFixed(0)} ms`,
    );
    const c = await client(port, 'att-case');
    for (let i = 0; i < 50; i++)
      await c.publishAsync('abuse/case', JSON.stringify({ v: 1199 - i }), { qos: 1 });
    await c.endAsync();
    await http(api, 'DELETE', '/api/v5/rules/case_5000');
    await http(api, 'DELETE', '/api/v5/rules/case_480');
    await sleep(1000);
  },
  async deep_json({ port, notes }) {
    const c = await client(port, 'att-deep');
    const depth = 100_000;
    const obj = '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
    const arr = '['.repeat(depth) + ']'.repeat(depth);
    for (let i = 0; i < 5; i++) {
      await c.publishAsync('abuse/json', obj, { qos: 1 });
      await c.publishAsync('abuse/json', arr, { qos: 1 });
      await c.publishAsync('abuse/proto', JSON.stringify({ s: obj }), { qos: 1 });
    }
    notes.push(`depth ${depth}: ${(obj.length / 1024).toFixed(0)} KB objects, arrays, json_decode`);
    await c.endAsync();
    await sleep(1000);
  },
  async string_build({ port, notes }) {
    const c = await client(port, 'att-str');
    for (let i = 0; i < 3; i++) {
      await c.publishAsync('abuse/string', '{"n":100000000,"c":"x"}', { qos: 1 });
      await sleep(300);
    }
    notes.push('3 × pad to 100,000,000 chars');
    await c.endAsync();
    await sleep(1000);
  },
  async subs_100k({ port, notes }) {
    // Raw packets: mqtt.js rejects a SUBACK holding 0x80, which is the expected answer here.
    const s = net.connect(port, '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    const p = parser();
    let granted = 0;
    let refused = 0;
    let subacks = 0;
    const done = new Promise<void>((resolve) =>
      p.on('packet', (pk: Packet) => {
        if (pk.cmd !== 'suback') return;
        for (const g of pk.granted)
          if (g === 128) refused++;
          else granted++;
        if (++subacks === 100) resolve();
      }),
    );
    s.on('data', (b) => p.parse(b));
    s.write(
      generate({
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 4,
        clientId: 'att-subs',
        clean: true,
        keepalive: 0,
      }),
    );
    for (const packet of subscribeFlood) s.write(packet);
    await done;
    notes.push(`100 SUBSCRIBEs × 1,000 filters: granted ${granted}, refused (0x80) ${refused}`);
    s.destroy();
    await sleep(1000);
  },
  async non_json({ port, notes }) {
    const c = await client(port, 'att-bin');
    for (let i = 0; i < 50; i++) {
      await c.publishAsync('abuse/json', randomBytes(64 * 1024), { qos: 1 });
      await c.publishAsync('abuse/json', '{"a":{"b":', { qos: 1 });
    }
    notes.push('50 × 64 KB random, 50 × truncated JSON');
    await c.endAsync();
    await sleep(1000);
  },
  async proto_keys({ port, notes }) {
    const c = await client(port, 'att-proto');
    const payloads = [
      '{"__proto__":{"polluted":true},"x":{"polluted":true},"s":"{\\"__proto__\\":{\\"polluted\\":1}}"}',
      '{"constructor":{"prototype":{"polluted":true}},"x":1,"s":"{\\"constructor\\":{\\"prototype\\":{\\"polluted\\":1}}}"}',
      '{"a":{"__proto__":{"polluted":true}},"b":{"__proto__":[1,2]},"x":{"__proto__":{"polluted":1}}}',
    ];
    for (let i = 0; i < 20; i++)
      for (const p of payloads) {
        await c.publishAsync('abuse/proto', p, { qos: 1 });
        await c.publishAsync('abuse/json', p, { qos: 1 });
      }
    notes.push('60 × 3 shapes to field access, map_put, json_decode, json_encode, sinks');
    await c.endAsync();
    await sleep(1000);
  },
  async protocol({ port, notes }) {
    const bad = [
      Buffer.concat([
        connectPkt(4, 'p1'),
        pkt(0x30, Buffer.concat([str(Buffer.from([0x61, 0xff])), Buffer.from('x')])),
      ]),
      Buffer.concat([
        connectPkt(4, 'p2'),
        pkt(0x30, Buffer.concat([str(Buffer.from([0x61, 0x00])), Buffer.from('x')])),
      ]),
      connectPkt(7, 'p3'),
    ];
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => rawSend(port, bad[i % bad.length]!)),
    );
    const closed = results.filter((r) => r.closed).length;
    const connack1 = results.filter((r) => r.got.equals(Buffer.from([0x20, 2, 0, 1]))).length;
    notes.push(`${closed}/20 closed; ${connack1} CONNACK 0x01 for level 7`);
    await sleep(500);
  },
  async after() {
    // `--after=<ms>`: the idle time before the final figures (memory_reclaim needs ~3 s idle,
    // then V8's reducer starts within ~8 s; without it V8 gives the pool back after ~100 s).
    await sleep(Number(args.find((a) => a.startsWith('--after='))?.slice(8) ?? 15_000));
  },
};

// ---- run ------------------------------------------------------------------------------------

const startLoad = loadavg().map((l) => l.toFixed(2));
const fromDist = args.includes('--dist');
const serverFlags =
  args
    .find((a) => a.startsWith('--server-flags='))
    ?.slice(15)
    .split(',')
    .filter(Boolean) ?? [];
const server = fork(path.join(here, 'server.ts'), [], {
  execArgv: [
    '--import',
    'tsx',
    '--expose-gc',
    // `--cpu-prof`: profile the server (written to /tmp/sluice-abuse-prof on exit).
    ...(args.includes('--cpu-prof') ? ['--cpu-prof', '--cpu-prof-dir=/tmp/sluice-abuse-prof'] : []),
    // As the `sluice` command starts Node (decision 0026); a --server-flags value comes later and wins.
    '--max-semi-space-size=8',
    ...serverFlags,
  ],
  env: {
    ...process.env,
    ABUSE_FROM_DIST: fromDist ? '1' : '0',
    ABUSE_RECLAIM: args.includes('--no-reclaim') ? '0' : '1',
  },
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
const ready = await next<{ mqtt: number; api: number }>(server, 'ready');
const probe = child('probe.ts', [String(ready.mqtt)]);
await next(probe, 'ready');
await sleep(1000); // probe connected and warm
// Baseline RSS as it is (the headline compares RSS without a forced GC), then after gc().
const firstIdle = await ask(server, 'stats');
const first = await ask(server, 'gc');

interface Phase {
  name: string;
  start: number;
  end: number;
  stats: ServerStats;
  notes: string[];
}
const phases: Phase[] = [];
for (const [name, attack] of Object.entries(attacks)) {
  if (only && !only.includes(name) && name !== 'baseline' && name !== 'after') continue;
  await ask(server, 'mark');
  const start = Date.now();
  const notes: string[] = [];
  try {
    await attack({ port: ready.mqtt, api: ready.api, notes });
  } catch (err) {
    notes.push(`attack failed: ${(err as Error).message}`);
  }
  const end = Date.now();
  const stats = await ask(server, 'stats');
  for (const r of stats.reclaims)
    notes.push(
      `memory reclaim ${r.outcome}: RSS ${mb(r.rss_before)} → ${mb(r.rss_after)}, ${r.major_gcs} reducing GC(s), longest pause ${r.max_pause_ms} ms, saver mode on ${(r.duration_ms / 1000).toFixed(1)} s`,
    );
  phases.push({ name, start, end, stats, notes });
  process.stderr.write(`${name}: done (${((end - start) / 1000).toFixed(1)} s)\n`);
}
// The headline RSS: as the idle server has it, no forced GC (memory_reclaim's doing, if any).
const lastIdle = await ask(server, 'stats');
const last = await ask(server, 'gc');
const smapsReply = next<{ byName: [string, number][]; largestAnon: number[]; anonCount: number }>(
  server,
  'smaps',
);
server.send({ op: 'smaps' });
const smaps = await smapsReply;
// What of the RSS left after gc() is V8's page pool (freed heap pages it keeps committed): a
// "last resort" gc gives it back (decision 0017). Asked last, so the figures above are without.
const trimmed = await ask(server, 'trim');
probe.send({ op: 'stop' });
const { samples } = await next<{ samples: { t: number; rtt: number | null }[] }>(probe, 'samples');
server.send({ op: 'stop' });
// ABUSE_TIMELINE: the probes and phase bounds beside the server's timeline (bench/abuse/timeline.ts).
if (process.env['ABUSE_TIMELINE'])
  writeFileSync(
    `${process.env['ABUSE_TIMELINE']}.probe.json`,
    JSON.stringify({ samples, phases: phases.map((p) => [p.name, p.start, p.end]) }),
  );

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const rows = phases.map((ph) => {
  const mine = samples.filter((s) => s.t >= ph.start && s.t < ph.end);
  const rtts = mine.filter((s) => s.rtt !== null).map((s) => s.rtt as number);
  const lost = mine.length - rtts.length;
  const culprits = [
    ...new Set(
      ph.stats.warnings.filter((w) => w.code === 'event_loop_lag').map((w) => w.rule ?? '(none)'),
    ),
  ];
  const codes = [
    ...new Set(ph.stats.warnings.map((w) => w.code).filter((c) => c !== 'event_loop_lag')),
  ];
  return {
    phase: ph.name,
    probes: mine.length,
    p50: pct(rtts, 50),
    p99: pct(rtts, 99),
    max: rtts.length ? Math.max(...rtts) : NaN,
    lost,
    stalls: mine.filter((s) => s.rtt === null || s.rtt > 1000).length,
    lagMaxMs: ph.stats.lagMaxMs,
    turnCpuMaxMs: ph.stats.turnCpuMaxMs ?? NaN,
    threadCpuMs: ph.stats.threadCpuMs ?? {},
    mainWaitMs: ph.stats.mainWaitMs ?? NaN,
    peakRss: ph.stats.peakRss,
    culprits,
    codes,
    suspended: ph.stats.suspended,
    polluted: ph.stats.polluted,
    notes: ph.notes,
  };
});
const all = samples.filter((s) => s.rtt !== null).map((s) => s.rtt as number);
const summary = {
  date: new Date().toISOString(),
  machine: `${cpus().length} vCPU ${cpus()[0]?.model ?? ''}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`,
  loadavg: loadavg().map((l) => l.toFixed(2)),
  probe: {
    samples: samples.length,
    p50: pct(all, 50),
    p99: pct(all, 99),
    max: Math.max(...all),
    lost: samples.length - all.length,
    over1s: samples.filter((s) => s.rtt === null || s.rtt > 1000).length,
  },
  code: `${fromDist ? 'dist (tsc build)' : 'src (tsx)'}${serverFlags.length ? `, server flags ${serverFlags.join(' ')}` : ''}`,
  heapUsed: { baseline: first.heapUsed, afterGc: last.heapUsed },
  heapTotal: { baseline: first.heapTotal, afterGc: last.heapTotal },
  external: { baseline: first.external, afterGc: last.external },
  rules: last.rules,
  rss: {
    baseline: firstIdle.rss,
    baselineAfterGc: first.rss,
    peak: Math.max(...phases.map((p) => p.stats.peakRss)),
    afterIdle: lastIdle.rss,
    afterGc: last.rss,
    gc: last.gc,
    afterLastResortGc: trimmed.rss,
    lastResortGcMs: trimmed.trimMs ?? NaN,
  },
  reclaim: { enabled: !args.includes('--no-reclaim'), ...lastIdle.reclaim },
  polluted: last.polluted,
  smapsAfterGc: smaps,
  target: { p99Ms: 50 },
};

const f = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '–');
/** The server's CPU by thread kind: the event loop, V8's helpers (GC), worker_threads. */
const threads = (t: Record<string, number>) =>
  Object.keys(t).length === 0
    ? '–'
    : [t['MainThread'] ?? 0, t['V8Worker'] ?? 0, t['WorkerThread'] ?? 0].join(' / ');
const table = [
  '| phase | probes | p50 ms | p99 ms | max ms | lost | > 1 s | server lag max ms | longest turn, CPU ms | server CPU ms: main / V8 helpers / worker threads | event loop waited for a core, ms | peak RSS | lag culprit | other codes | notes |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | --- |',
  ...rows.map(
    (r) =>
      `| ${r.phase} | ${r.probes} | ${f(r.p50)} | ${f(r.p99)} | ${f(r.max)} | ${r.lost} | ${r.stalls} | ${f(r.lagMaxMs)} | ${f(r.turnCpuMaxMs)} | ${threads(r.threadCpuMs)} | ${f(r.mainWaitMs)} | ${mb(r.peakRss)} | ${r.culprits.join(', ') || '–'} | ${[...r.codes, ...r.suspended.map((s) => `suspended:${s}`)].join(', ') || '–'} | ${r.notes.join('; ')} |`,
  ),
].join('\n');
const overall = [
  `probe overall: ${summary.probe.samples} round trips, p50 ${f(summary.probe.p50)} ms, p99 ${f(summary.probe.p99)} ms, max ${f(summary.probe.max)} ms, lost ${summary.probe.lost}, over 1 s ${summary.probe.over1s} (target p99 < 50 ms: ${summary.probe.p99 < 50 ? 'met' : 'NOT met'})`,
  `RSS (no forced GC): baseline ${mb(summary.rss.baseline)}, peak ${mb(summary.rss.peak)}, after the idle phase **${mb(summary.rss.afterIdle)} = ${(summary.rss.afterIdle / summary.rss.baseline).toFixed(2)} × baseline** (memory_reclaim ${
    summary.reclaim.enabled
      ? `on: ${
          Object.entries(summary.reclaim.reclaims)
            .filter(([, n]) => n > 0)
            .map(([k, n]) => `${n} ${k}`)
            .join(', ') || 'no reclaim'
        }, ${mb(summary.reclaim.reclaimedBytes)} given back, last pause ${f(summary.reclaim.lastPauseMs)} ms`
      : 'off'
  })`,
  `RSS after the harness's gc(): baseline ${mb(summary.rss.baselineAfterGc)}, after ${mb(summary.rss.afterGc)} (${summary.rss.gc ? '' : 'gc unavailable; '}${(summary.rss.afterGc / summary.rss.baselineAfterGc).toFixed(2)} × baseline); V8 heap used ${mb(summary.heapUsed.baseline)} → ${mb(summary.heapUsed.afterGc)}, heap total ${mb(summary.heapTotal.baseline)} → ${mb(summary.heapTotal.afterGc)}, external ${mb(summary.external.baseline)} → ${mb(summary.external.afterGc)}; after a last-resort gc (V8's page pool given back) ${mb(summary.rss.afterLastResortGc)} = ${(summary.rss.afterLastResortGc / summary.rss.baselineAfterGc).toFixed(2)} × baseline (that gc took ${f(summary.rss.lastResortGcMs)} ms)`,
  `pollution: ${summary.polluted.length ? summary.polluted.join(', ') : 'none (Object/Array/Function prototypes unchanged, ({}).polluted undefined)'}`,
  `machine: ${summary.machine}; load average at the end ${summary.loadavg.join(' ')}; server code: ${summary.code}`,
].join('\n');
const json = JSON.stringify({ summary, phases: rows }, null, 2);
process.stdout.write(`${table}\n\n${overall}\n\n${json}\n`);
if (write)
  writeFileSync(
    path.join(here, '../results/abuse.md'),
    `# Abuse suite (issue #19 item 5)\n\nGenerated by \`npm run bench:abuse -- ${args.join(' ')}\`, ${summary.date}, load average at the start ${startLoad.join(' ')}. Findings and what they mean: bench/RESULTS.md.\n\n${table}\n\n${overall
      .split('\n')
      .map((l) => `- ${l}`)
      .join(
        '\n',
      )}\n\n<details><summary>JSON</summary>\n\n\`\`\`json\n${json}\n\`\`\`\n\n</details>\n`,
  );
