/**
 * OCPP gateway throughput (issue #14 item 9): N simulated charge points (raw `ws`, in a child
 * process: ocpp-cps.ts) each send MeterValues CALLs through the gateway of a whole engine
 * (embedded broker, gateway.ocpp with default settings, validation off and on) to an
 * in-process MQTT subscription on `ocpp/cp/#`. frames/s = steady-state arrival rate (between
 * the 10th and 90th percentile arrival); latency = arrival − the send time in the UniqueId.
 *
 *   npx tsx bench/throughput/ocpp.ts                  # 2,000 CPs; appends to bench/results/ocpp.md
 *   npx tsx bench/throughput/ocpp.ts --quick          # 200 CPs, prints only
 */
import { spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';

import { silentLogger } from '../../src/core/index.js';
import { createEngine } from '../../src/engine/index.js';

const quick = process.argv.includes('--quick');
const N = quick ? 200 : 2000;
const here = import.meta.dirname;

interface Row {
  scenario: string;
  cps: number;
  frames: number;
  fps: number;
  p50: number;
  p99: number;
  cpuUs: number;
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;

async function run(scenario: string, perCp: number, rate: number, checking: string): Promise<Row> {
  const engine = createEngine(
    {
      broker: { listeners: { tcp: { type: 'tcp', bind: '127.0.0.1', port: 0 } } },
      gateway: {
        ocpp: {
          enable: true,
          message_format_checking: checking,
          listeners: { default: { type: 'ws', bind: '127.0.0.1', port: 0 } },
        },
      },
      reload: { enabled: false },
    },
    { logger: silentLogger },
  );
  await engine.start();
  const a = engine.ocpp!.addresses[0]!;
  const total = N * perCp;
  const arrivals: number[] = [];
  const latencies: number[] = [];
  let done: () => void;
  const finished = new Promise<void>((r) => (done = r));
  await engine.broker.subscribe('ocpp/cp/#', (m) => {
    const now = Date.now();
    // The send time leads the UniqueId: read it without decoding the whole envelope (the
    // bench's own cost would otherwise count as server CPU).
    const text = m.payload.toString('latin1', 0, 64);
    const at = text.indexOf('"UniqueId":"') + 12;
    const id = text.slice(at, text.indexOf('.', at)) + '.';
    arrivals.push(now);
    latencies.push(now - Number(id.slice(0, id.indexOf('.'))));
    if (arrivals.length === total) done();
  });
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(here, 'ocpp-cps.ts'),
      `ws://127.0.0.1:${a.port}${a.path}`,
      String(N),
      String(perCp),
      String(rate),
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  await new Promise<void>((r) => child.stdout.once('data', () => r()));
  const cpu0 = process.cpuUsage();
  child.stdin.write('go\n');
  const timeout = setTimeout(() => done(), 120_000);
  await finished;
  clearTimeout(timeout);
  const cpu = process.cpuUsage(cpu0);
  child.stdin.end();
  await engine.stop({ drainMs: 0 });
  const lo = arrivals[Math.floor(arrivals.length * 0.1)]!;
  const hi = arrivals[Math.floor(arrivals.length * 0.9)]!;
  const fps = hi > lo ? (arrivals.length * 0.8) / ((hi - lo) / 1000) : NaN;
  latencies.sort((x, y) => x - y);
  return {
    scenario,
    cps: N,
    frames: arrivals.length,
    fps: Math.round(fps),
    p50: pct(latencies, 50),
    p99: pct(latencies, 99),
    cpuUs: Math.round(((cpu.user + cpu.system) / arrivals.length) * 10) / 10,
  };
}

const rows: Row[] = [];
const perCp = quick ? 50 : 50;
rows.push(await run('burst, validation off', perCp, 0, 'disable'));
rows.push(await run('burst, validation all', perCp, 0, 'all'));
rows.push(await run('paced 10,000/s, validation off', quick ? 20 : 10, 10_000, 'disable'));
rows.push(await run('paced 10,000/s, validation all', quick ? 20 : 10, 10_000, 'all'));

const table = [
  '| scenario | charge points | frames | frames/s | p50 ms | p99 ms | server CPU µs/frame |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...rows.map(
    (r) =>
      `| ${r.scenario} | ${r.cps} | ${r.frames} | ${r.fps.toLocaleString('en')} | ${r.p50} | ${r.p99} | ${r.cpuUs} |`,
  ),
].join('\n');
console.log(table);
if (!quick) {
  // Appended, so the notes and earlier runs in the file are kept.
  const file = path.join(here, '../results/ocpp.md');
  const run = [
    '',
    `## Run ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `Command: \`npx tsx bench/throughput/ocpp.ts\`. Machine: ${cpus().length} vCPUs (${cpus()[0]?.model ?? '?'}), Node ${process.version}; load average before the run ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' / ')}.`,
    '',
    table,
    '',
  ].join('\n');
  appendFileSync(file, run);
}
