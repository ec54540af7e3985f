/**
 * Cost of ingress schema validation / message transformation (decision 0013) on the broker's
 * publish path. mqtt.js publishers in a child process (broker-publisher.ts, 100-byte JSON,
 * 4 connections) → the engine's embedded broker with no rules → one in-process `bench/#`
 * subscription counting arrivals. Scenarios, interleaved over ROUNDS rounds (median reported):
 *
 *   none        nothing configured (the hook is inactive: one property read per message)
 *   sql         1 validation, one SQL check `SELECT * WHERE payload.seq >= 0` (passes)
 *   json        1 validation, one JSON Schema check (registry schema; passes)
 *   transform   1 transformation json → json setting `payload.by = upper(clientid)`
 *   miss        1 validation whose filter (`other/#`) no message matches
 *
 * plus `--micro`: the hook alone in process — `IngressPort.inspect` on a 100-byte JSON message,
 * CPU µs per call (process.cpuUsage, interleaved rounds, median), for the same scenarios; less
 * sensitive to a loaded machine than the end-to-end rate.
 *
 *   npx tsx bench/throughput/ingress.bench.ts [--messages=N] [--qos=1] [--protocol=5]
 *     [--only=none,miss] [--micro]
 * Prints Markdown tables (append them to bench/results/ingress.md).
 */
import { spawn } from 'node:child_process';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';

import { silentLogger } from '../../src/core/index.js';
import { createEngine } from '../../src/engine/index.js';
import { createDefaultServices, createIngress } from '../../src/runtime/index.js';
import type { IngressConfig } from '../../src/runtime/index.js';
import { createSchemaRegistry } from '../../src/schema-registry/index.js';

const arg = (k: string) => process.argv.find((a) => a.startsWith(`--${k}=`))?.split('=')[1];
const TOTAL = Number(arg('messages') ?? 40_000);
const QOS = Number(arg('qos') ?? 0) as 0 | 1;
const ROUNDS = Number(arg('rounds') ?? 3);
/** MQTT protocol of the publishers (5: with ingress active, QoS 1/2 acks wait for routing). */
const PROTOCOL = Number(arg('protocol') ?? 4) as 4 | 5;
/** Scenarios to run (comma-separated; default all). */
const ONLY = arg('only')?.split(',');
const here = import.meta.dirname;

const SCHEMA = JSON.stringify({
  type: 'object',
  required: ['ts', 'seq'],
  properties: { ts: { type: 'number' }, seq: { type: 'integer' }, pad: { type: 'string' } },
});
const v = (checks: unknown[], topics = ['bench/#']) => ({
  schema_validation: {
    validations: [
      {
        name: 'v',
        enable: true,
        topics,
        strategy: 'all_pass',
        failure_action: 'drop',
        log_failure: { level: 'none' },
        checks,
      },
    ],
  },
});
const SCENARIOS: Record<string, Record<string, unknown>> = {
  none: {},
  sql: v([{ type: 'sql', sql: 'SELECT * WHERE payload.seq >= 0' }]),
  json: v([{ type: 'json', schema: 'reading' }]),
  transform: {
    message_transformation: {
      transformations: [
        {
          name: 't',
          enable: true,
          log_failure: { level: 'none' },
          topics: ['bench/#'],
          failure_action: 'drop',
          payload_decoder: { type: 'json' },
          payload_encoder: { type: 'json' },
          operations: [{ key: 'payload.by', value: 'upper(clientid)' }],
        },
      ],
    },
  },
  miss: v([{ type: 'sql', sql: 'SELECT * WHERE payload.seq >= 0' }], ['other/#']),
};

/** msg/s (10th–90th percentile of arrivals) and the engine process's CPU µs per message. */
async function once(extra: Record<string, unknown>): Promise<{ rate: number; cpu: number }> {
  const engine = createEngine(
    {
      log: { level: 'silent' },
      broker: { listeners: { tcp: { type: 'tcp', bind: '127.0.0.1', port: 0 } } },
      schema_registry: { schemas: { reading: { type: 'json', source: SCHEMA } } },
      rules: [],
      ...extra,
    },
    { logger: silentLogger, watch: false },
  );
  const [addr] = await engine.start();
  const arrivals: number[] = [];
  await engine.broker.subscribe('bench/#', () => {
    arrivals.push(performance.now());
  });
  const c0 = process.cpuUsage();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(here, 'broker-publisher.ts'),
        String(addr!.port),
        String(QOS),
        String(TOTAL),
        '4',
        '1',
        String(PROTOCOL),
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`publisher exited ${code}`)),
    );
  });
  const deadline = Date.now() + 10_000;
  while (arrivals.length < TOTAL && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 20));
  const c = process.cpuUsage(c0);
  await engine.stop({ drainMs: 200 });
  if (arrivals.length < TOTAL) throw new Error(`only ${arrivals.length} of ${TOTAL} arrived`);
  const lo = arrivals[Math.floor(TOTAL * 0.1)]!;
  const hi = arrivals[Math.floor(TOTAL * 0.9)]!;
  return { rate: (TOTAL * 0.8) / ((hi - lo) / 1000), cpu: (c.user + c.system) / TOTAL };
}

function micro(): void {
  const schemas = createSchemaRegistry();
  const issues0 = schemas.configure(
    {
      schemas: { reading: { type: 'json', source: SCHEMA, imports: {}, description: '' } },
      external: {},
      api_store: path.join(tmpdir(), `sluice-ingress-bench-${process.pid}.json`),
    } as never,
    '.',
  );
  if (issues0.length) throw new Error(JSON.stringify(issues0));
  const services = createDefaultServices();
  const payload = Buffer.from(
    '{"ts":1765112345678.123,"seq":12345,"pad":"' + 'x'.repeat(48) + '"}',
  );
  const cols = () => ({
    id: '00',
    clientid: 'bench-pub-1',
    username: undefined,
    payload,
    topic: 'bench/r0/x',
    qos: 0,
    flags: { dup: false, retain: false },
    pub_props: {},
    publish_received_at: 0,
    timestamp: 0,
    node: 'n',
  });
  const N = 50_000;
  const out: Record<string, number[]> = {};
  const load = loadavg();
  for (let r = 0; r < 5; r++)
    for (const [name, extra] of Object.entries(SCENARIOS)) {
      const ing = createIngress({ services, schemas, logger: silentLogger });
      const issues = ing.configure(extra as IngressConfig);
      if (issues.length) throw new Error(JSON.stringify(issues));
      for (let i = 0; i < 2000; i++) if (ing.active) ing.inspect('bench/r0/x', cols);
      const t0 = process.cpuUsage();
      for (let i = 0; i < N; i++) if (ing.active) ing.inspect('bench/r0/x', cols);
      const d = process.cpuUsage(t0);
      (out[name] ??= []).push((d.user + d.system) / N);
    }
  void schemas.close();
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(
    `\n${new Date().toISOString()} · micro · ${cpus().length}× ${cpus()[0]?.model.trim()} · Node ${process.version} · ${N} calls × 5 rounds · load average ${load.map((x) => x.toFixed(2)).join(' ')}\n`,
  );
  console.log('| scenario | CPU µs / message (median) | rounds |');
  console.log('| --- | ---: | --- |');
  for (const [name, xs] of Object.entries(out))
    console.log(
      `| ${name} | ${median(xs).toFixed(2)} | ${xs.map((x) => x.toFixed(2)).join(' / ')} |`,
    );
}
if (process.argv.includes('--micro')) {
  micro();
  process.exit(0);
}

const results: Record<string, number[]> = {};
const cpuOf: Record<string, number[]> = {};
const load0 = loadavg();
for (let r = 0; r < ROUNDS; r++)
  for (const [name, extra] of Object.entries(SCENARIOS))
    if (!ONLY || ONLY.includes(name)) {
      const o = await once(extra);
      (results[name] ??= []).push(o.rate);
      (cpuOf[name] ??= []).push(o.cpu);
    }
const load1 = loadavg();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const base = median(results['none']!);
console.log(
  `\n${new Date().toISOString()} · ${cpus().length}× ${cpus()[0]?.model.trim()} · Node ${process.version} · QoS ${QOS} · MQTT ${PROTOCOL === 5 ? '5' : '3.1.1'} · ${TOTAL} msgs × ${ROUNDS} rounds · load average before ${load0.map((x) => x.toFixed(2)).join(' ')}, after ${load1.map((x) => x.toFixed(2)).join(' ')}\n`,
);
const cpuBase = median(cpuOf['none']!);
console.log(
  '| scenario | msg/s (median) | rounds | vs none | engine CPU µs/msg (median) | rounds | vs none |',
);
console.log('| --- | ---: | --- | ---: | ---: | --- | ---: |');
for (const [name, xs] of Object.entries(results)) {
  const cs = cpuOf[name]!;
  console.log(
    `| ${name} | ${Math.round(median(xs))} | ${xs.map((x) => Math.round(x)).join(' / ')} | ${(median(xs) / base).toFixed(3)} | ${median(cs).toFixed(1)} | ${cs.map((x) => x.toFixed(1)).join(' / ')} | ${(median(cs) / cpuBase).toFixed(3)} |`,
  );
}
