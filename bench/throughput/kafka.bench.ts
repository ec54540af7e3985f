/**
 * Kafka sink throughput: acknowledged records/s and ingest→ack latency (p50/p99) into the
 * local single-node broker (scripts/services), through the real sink + shared runner, 200-byte
 * values, acks=all, for PLAINTEXT and SASL/GSSAPI, compression none/gzip/snappy.
 *
 *   npm run bench:kafka                    # all scenarios, writes bench/results/kafka.md
 *   npm run bench:kafka -- --records 100000 --no-write
 *
 * Two measurements per scenario:
 *  - saturated: enqueue `records` as fast as the runner admits them (buffer 20 000, overflow
 *    block) → records/s = records / (first enqueue → last ack); latency includes queueing;
 *  - paced: 10 000 records/s for 3 s → latency of a sink that keeps up.
 */
import { cpus, loadavg } from 'node:os';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { silentLogger, validate } from '../../src/core/index.js';
import type { SinkRecord } from '../../src/core/index.js';
import { createSinkRunner } from '../../src/sinks/runner/index.js';
import type { RunnerConfig } from '../../src/sinks/runner/index.js';
import { createKafkaSink, kafkaRunnerSpec, kafkaSpec } from '../../src/sinks/kafka/index.js';
import type { KafkaSinkConfig } from '../../src/sinks/kafka/index.js';
import { startServices } from '../../scripts/services/index.js';
import { REPO_ROOT } from '../../scripts/services/kafka.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const RECORDS = opt('records', 300_000);
const BATCH = opt('batch', 1000);
const REPEAT = opt('repeat', 3);
const WRITE = !args.includes('--no-write');
const VALUE = Buffer.alloc(200, 'v');

interface Result {
  scenario: string;
  records: number;
  seconds: number;
  perSec: number;
  p50: number;
  p99: number;
  pacedP50: number;
  pacedP99: number;
  retried: number;
  /** CPU time of this Node process per acknowledged record (user+sys), saturated run. */
  cpuUs: number;
  /** Slowest–fastest of the REPEAT saturated runs, records/s. */
  range: string;
}

function cfg<T>(spec: Parameters<typeof validate>[0], input: unknown): T {
  const v = validate<T>(spec, input);
  if (!v.ok) throw new Error(JSON.stringify(v.issues));
  return v.value;
}

async function createTopic(bootstrap: string, topic: string): Promise<void> {
  const admin = new Kafka({ brokers: [bootstrap], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
  await admin.disconnect();
}

async function measure(
  scenario: string,
  sinkInput: Record<string, unknown>,
  records: number,
): Promise<Result> {
  const sinkConfig = cfg<KafkaSinkConfig>(kafkaSpec, {
    ...sinkInput,
    message: { key: '', value: '${payload}', timestamp: '' },
    acks: 'all',
  });
  const runnerConfig = cfg<RunnerConfig>(kafkaRunnerSpec, {
    batch_size: BATCH,
    linger: 5,
    buffer: { max_records: 20_000, overflow: 'block' },
    request_ttl: 0,
  });
  const deps = { logger: silentLogger, now: Date.now };
  const run = async (n: number, ratePerSec?: number) => {
    const sink = createKafkaSink(deps, sinkConfig, scenario);
    const runner = createSinkRunner(deps, sink, runnerConfig);
    await runner.start();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const rec: SinkRecord = { data: { payload: VALUE }, ruleId: 'bench', ingestTs: Date.now() };
      const r = runner.enqueue(rec);
      if (r !== true) await r;
      if (ratePerSec && i % 100 === 99) {
        const due = t0 + ((i + 1) * 1000) / ratePerSec;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((res) => setTimeout(res, wait));
      }
    }
    while (runner.metrics().success + runner.metrics().failed < n)
      await new Promise((res) => setTimeout(res, 2));
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const cpuUsPerRecord = (cpu.user + cpu.system) / n;
    const m = runner.metrics();
    await runner.drain(5_000);
    if (m.failed > 0)
      throw new Error(`${scenario}: ${m.failed} failed: ${JSON.stringify(m.failedBy)}`);
    return { seconds, m, cpuUsPerRecord };
  };
  await run(Math.min(20_000, records)); // warm-up (JIT, connections, GSSAPI tickets)
  // The machine is shared: take the median of REPEAT saturated runs, report the range too.
  const sats = [];
  for (let i = 0; i < REPEAT; i++) sats.push(await run(records));
  sats.sort((a, b) => a.seconds - b.seconds);
  const sat = sats[Math.floor(sats.length / 2)]!;
  const paced = await run(30_000, 10_000);
  const r: Result = {
    scenario,
    records,
    seconds: sat.seconds,
    perSec: records / sat.seconds,
    range: `${Math.round(records / sats[sats.length - 1]!.seconds / 1000)}k–${Math.round(records / sats[0]!.seconds / 1000)}k`,
    p50: sat.m.latency.p50,
    p99: sat.m.latency.p99,
    pacedP50: paced.m.latency.p50,
    pacedP99: paced.m.latency.p99,
    retried: sat.m.retried,
    cpuUs: sat.cpuUsPerRecord,
  };
  console.log(
    `${scenario.padEnd(22)} ${Math.round(r.perSec).toString().padStart(8)} rec/s  ` +
      `saturated p50 ${r.p50} ms p99 ${r.p99} ms | paced 10k/s p50 ${r.pacedP50} ms p99 ${r.pacedP99} ms | node cpu ${r.cpuUs.toFixed(1)} µs/rec`,
  );
  return r;
}

const loadStart = loadavg()
  .map((l) => l.toFixed(1))
  .join(' ');
const services = await startServices({ heap: '1g', log: (m) => console.log(m) });
process.env['KRB5_CONFIG'] = services.facts.kdc.krb5Conf;
const results: Result[] = [];
try {
  const k = services.facts.kafka;
  const c = services.facts.kdc.clients['sluice-a']!;
  const conns: Record<string, Record<string, unknown>> = {
    PLAINTEXT: { bootstrap_hosts: k.plaintext },
    GSSAPI: {
      bootstrap_hosts: k.gssapi,
      authentication: {
        mechanism: 'gssapi',
        kerberos_principal: c.principal,
        kerberos_keytab_file: c.keytab,
      },
    },
  };
  // Broker warm-up (JIT, log segments): one unrecorded scenario first.
  const warm = `bench-warmup-${process.pid}`;
  await createTopic(k.plaintext, warm);
  await measure('broker warm-up', { ...conns['PLAINTEXT'], topic: warm }, RECORDS);
  for (const compression of ['none', 'gzip', 'snappy'] as const) {
    for (const [auth, conn] of Object.entries(conns)) {
      const topic = `bench-${auth.toLowerCase()}-${compression}-${process.pid}`;
      await createTopic(k.plaintext, topic);
      results.push(
        await measure(`${auth} ${compression}`, { ...conn, topic, compression }, RECORDS),
      );
    }
  }
} finally {
  await services.stop();
}

if (WRITE) {
  const model = cpus()[0]?.model ?? 'unknown';
  const date = new Date().toISOString();
  const node = process.version;
  let rows = '';
  for (const r of results) {
    rows += `| ${r.scenario} | ${r.records} | ${r.seconds.toFixed(2)} | ${Math.round(r.perSec).toLocaleString('en-US')} (${r.range}) | ${r.p50} | ${r.p99} | ${r.pacedP50} | ${r.pacedP99} | ${r.cpuUs.toFixed(1)} |\n`;
  }
  const plain = results.find((r) => r.scenario === 'PLAINTEXT none');
  const gss = results.find((r) => r.scenario === 'GSSAPI none');
  const ratio = plain && gss ? ((gss.perSec / plain.perSec) * 100).toFixed(0) : '?';
  const text = `## Measured

Machine: ${cpus().length} cores (${model}), Node ${node}; broker: Apache Kafka ${services.facts.kafka.version}
single node (KRaft, heap 1 GiB) on the same machine, started by scripts/services.
Date: ${date}; load average at start ${loadStart}, at end ${loadavg()
    .map((l) => l.toFixed(1))
    .join(
      ' ',
    )}. Command: \`npm run bench:kafka\` (records per run: ${RECORDS}, runner batch_size ${BATCH},
linger 5 ms, buffer 20 000 records with overflow=block, topic with 3 partitions, random partitioning,
null keys, 200-byte values, acks=all).

Records/s = acknowledged records / (first enqueue → last ack) when enqueueing as fast as the runner
admits (median of ${REPEAT} runs after a warm-up run; a broker warm-up scenario runs first); latency = ingest → broker ack per record (runner histogram). "Paced" = 10 000 records/s for
3 s, i.e. a sink that keeps up.

| scenario | records | s | acked records/s (median; range of ${REPEAT}) | saturated p50 ms | saturated p99 ms | paced p50 ms | paced p99 ms | Node CPU µs/record |
|---|---|---|---|---|---|---|---|---|
${rows}
GSSAPI / PLAINTEXT (no compression): ${ratio} %.
`;
  // Only the measured block between the markers is replaced; the hand-written analysis around
  // it is kept.
  const file = join(REPO_ROOT, 'bench', 'results', 'kafka.md');
  const begin = '<!-- bench:kafka:begin -->';
  const end = '<!-- bench:kafka:end -->';
  const block = `${begin}\n${text}${end}`;
  const old = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const i = old.indexOf(begin);
  const j = old.indexOf(end);
  writeFileSync(
    file,
    i >= 0 && j > i ? old.slice(0, i) + block + old.slice(j + end.length) : `${block}\n`,
  );
  console.log('wrote bench/results/kafka.md');
}
