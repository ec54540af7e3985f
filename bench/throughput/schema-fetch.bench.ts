/**
 * What a Confluent schema-id cache miss costs the event loop (decision 0014): K distinct ids,
 * each needed by M messages, against a stand-in registry in a worker thread that answers D ms
 * late. `blocking`: every miss fetched the old way (sync-http.ts: the caller waits with
 * Atomics.wait); `async`: misses through the wait hook the rule lanes use (one fetch per id in
 * flight, the loop free). Reported: the longest event-loop stall seen by a 1 ms timer
 * , wall time until every message has its schema, requests sent.
 *
 *   npx tsx bench/throughput/schema-fetch.bench.ts [--ids=K] [--messages=M] [--delay=D] [--rounds=R]
 */
import { cpus, loadavg } from 'node:os';

import { compileAvro } from '../../src/schema-registry/avro.js';
import { createSchemaRegistry } from '../../src/schema-registry/index.js';
import type { SchemaRegistryConfig } from '../../src/schema-registry/index.js';
import { startConfluentStandin } from '../../test/confluent-standin.js';

const arg = (k: string, d: number) =>
  Number(process.argv.find((a) => a.startsWith(`--${k}=`))?.split('=')[1] ?? d);
const K = arg('ids', 10);
const M = arg('messages', 100);
const D = arg('delay', 50);
const ROUNDS = arg('rounds', 3);

const SCHEMA = JSON.stringify({ type: 'record', name: 'R', fields: [{ name: 'n', type: 'int' }] });
const body = compileAvro('r', SCHEMA).encode({ n: 7 }, []) as Buffer;
const tagged = (id: number) => {
  const h = Buffer.alloc(5);
  h.writeUInt32BE(id, 1);
  return Buffer.concat([h, body]);
};

async function once(mode: 'blocking' | 'async', base: number) {
  const standin = await startConfluentStandin(
    Array.from({ length: K }, (_, i) => ({ id: base + i, subject: 's', schema: SCHEMA })),
    undefined,
    D,
  );
  const r = createSchemaRegistry();
  r.configure(
    {
      schemas: {},
      external: {
        reg: {
          type: 'confluent',
          url: standin.url,
          request_timeout: 10_000,
          cache_size: 10_000,
          subject_cache_ttl: 60_000,
          failure_cache_ttl: 5000,
        },
      },
      api_store: '/nonexistent/never-written.json',
    } as unknown as SchemaRegistryConfig,
    '/nonexistent',
  );
  // A 1 ms timer's longest gap between two runs = the longest event-loop stall.
  let stall = 0;
  let last = performance.now();
  const probe = setInterval(() => {
    const now = performance.now();
    stall = Math.max(stall, now - last);
    last = now;
  }, 1);
  await new Promise((res) => setTimeout(res, 5));
  last = performance.now();
  const t0 = performance.now();
  let decoded = 0;
  const pending: Promise<void>[] = [];
  for (let m = 0; m < M; m++)
    for (let i = 0; i < K; i++) {
      const data = tagged(base + i);
      if (mode === 'blocking') {
        r.externalDecode('reg', data, [], Infinity);
        decoded++;
      } else attempt(data);
      // let the loop turn between messages, as arrivals from sockets would
      if ((m * K + i) % 50 === 0) await new Promise((res) => setImmediate(res));
    }
  while (pending.length) await pending.shift();
  const wall = performance.now() - t0;
  await new Promise((res) => setTimeout(res, 5));
  clearInterval(probe);
  const hits = Object.values(await standin.hits()).reduce((a, b) => a + b, 0);
  await r.close();
  await standin.stop();
  if (decoded !== K * M) throw new Error(`decoded ${decoded} of ${K * M}`);
  return { stall, wall, hits };

  function attempt(data: Buffer): void {
    try {
      r.externalDecode('reg', data, [], Infinity, (ready) => {
        throw ready;
      });
      decoded++;
    } catch (e) {
      if (!(e instanceof Promise)) throw e;
      pending.push(e.then(() => attempt(data)));
    }
  }
}

const rows: Record<string, { stall: number; wall: number; hits: number }[]> = {};
const load0 = loadavg();
for (let round = 0; round < ROUNDS; round++)
  for (const mode of ['blocking', 'async'] as const)
    (rows[mode] ??= []).push(await once(mode, 1000 + round * 100 + (mode === 'async' ? 50 : 0)));
const load1 = loadavg();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(
  `\n${new Date().toISOString()} · ${cpus().length}× ${cpus()[0]?.model.trim()} · Node ${process.version} · ${K} ids × ${M} messages · registry delay ${D} ms · ${ROUNDS} rounds · load average before ${load0.map((x) => x.toFixed(2)).join(' ')}, after ${load1.map((x) => x.toFixed(2)).join(' ')}\n`,
);
console.log(
  '| mode | longest loop stall ms (median) | rounds | wall ms (median) | rounds | requests |',
);
console.log('| --- | ---: | --- | ---: | --- | ---: |');
for (const [mode, xs] of Object.entries(rows))
  console.log(
    `| ${mode} | ${median(xs.map((x) => x.stall)).toFixed(1)} | ${xs.map((x) => x.stall.toFixed(1)).join(' / ')} | ${median(xs.map((x) => x.wall)).toFixed(0)} | ${xs.map((x) => x.wall.toFixed(0)).join(' / ')} | ${xs.map((x) => x.hits).join(' / ')} |`,
  );
