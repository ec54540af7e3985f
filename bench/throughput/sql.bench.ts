/**
 * Rule SQL evaluation throughput (issue #2 item 8): compiled rules vs hand-written JavaScript
 * doing the same work from the same Buffer payloads, measured side by side in one process on
 * one core, in many short interleaved rounds. The machine is shared, so the ratio reported is
 * the median of the per-round ratios (each round runs both sides back to back, so load changes
 * hit both alike); the eval/s columns are the medians of each side.
 *
 *   npm run bench:sql            # ~25 s
 *   npm run bench:sql -- --quick # ~6 s smoke run
 *
 * Each "evaluation" is one message through one rule: build the context, decode the JSON payload,
 * evaluate SELECT/WHERE (or FOREACH/INCASE/DO), produce the output maps.
 */
import { compileRule } from '../../src/index.js';
import type { ValueMap } from '../../src/index.js';

const quick = process.argv.includes('--quick');
/** `--only=b` runs one scenario (for profiling with --cpu-prof). */
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
const ROUNDS = quick ? 11 : 61;
const ROUND_MS = 50;
const WARMUP_MS = quick ? 200 : 500;
const MESSAGES = 1024;

interface Scenario {
  readonly name: string;
  readonly sql: string;
  readonly payloads: readonly Buffer[];
  readonly hand: (cols: ValueMap) => ValueMap[];
}

/** Deterministic pseudo-random numbers (fixed inputs across runs). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const rand = rng(42);
const round1 = (x: number) => Math.round(x * 10) / 10;

function sensorPayload(i: number): Buffer {
  return Buffer.from(
    JSON.stringify({
      device: `dev-${String(i % 1000).padStart(5, '0')}`,
      site: i % 2 ? 'Plant-A' : 'Plant-B',
      temp: round1(rand() * 50 + 0.1),
      hum: round1(rand() * 100 + 0.1),
      delta: Math.round(rand() * 20 - 10),
      ts: 1700000000000 + i,
      fw: '2.4.1',
      status: i % 7 ? 'ok' : 'degraded',
    }),
  );
}

function readingsPayload(i: number): Buffer {
  const readings = [];
  for (let k = 0; k < 10; k++) readings.push({ id: k + 1, v: Math.round(rand() * 20) });
  return Buffer.from(JSON.stringify({ device: `dev-${i}`, readings }));
}

const sensorPayloads = Array.from({ length: MESSAGES }, (_, i) => sensorPayload(i));
const readingPayloads = Array.from({ length: MESSAGES }, (_, i) => readingsPayload(i));

const scenarios: Scenario[] = [
  {
    name: '(a) filter + project',
    sql: 'SELECT payload.temp AS t, clientid FROM "sensors/#" WHERE payload.temp > 30',
    payloads: sensorPayloads,
    hand: (cols) => {
      const p = JSON.parse((cols.payload as Buffer).toString('utf8'));
      const t = p.temp;
      const out: ValueMap = { t, clientid: cols.clientid };
      return typeof t === 'number' && t > 30 ? [out] : [];
    },
  },
  {
    name: '(b) 10 columns, 5 calls, CASE',
    sql: `SELECT clientid, topic, payload.temp AS temp, payload.hum AS hum,
            upper(payload.device) AS device, round(payload.temp) AS rt, abs(payload.delta) AS delta,
            concat(clientid, '-x') AS tag, lower(payload.site) AS site,
            CASE WHEN payload.temp > 30 THEN 'hot' WHEN payload.temp > 10 THEN 'warm' ELSE 'cold' END AS level
          FROM "sensors/#"`,
    payloads: sensorPayloads,
    hand: (cols) => {
      const p = JSON.parse((cols.payload as Buffer).toString('utf8'));
      const temp = p.temp;
      return [
        {
          clientid: cols.clientid,
          topic: cols.topic,
          temp,
          hum: p.hum,
          device: String(p.device).toUpperCase(),
          rt: Math.round(temp),
          delta: Math.abs(p.delta),
          tag: `${cols.clientid}-x`,
          site: String(p.site).toLowerCase(),
          level: temp > 30 ? 'hot' : temp > 10 ? 'warm' : 'cold',
        },
      ];
    },
  },
  {
    name: '(c) FOREACH 10 elements, DO + INCASE',
    sql: 'FOREACH payload.readings AS r DO r.id AS id, r.v * 2 AS v2, clientid INCASE r.v > 10 FROM "sensors/#"',
    payloads: readingPayloads,
    hand: (cols) => {
      const p = JSON.parse((cols.payload as Buffer).toString('utf8'));
      const out: ValueMap[] = [];
      const list = Array.isArray(p.readings) ? p.readings : [];
      for (const r of list) {
        if (!(r.v > 10)) continue;
        out.push({ id: r.id, v2: r.v * 2, clientid: cols.clientid });
      }
      return out;
    },
  },
];

function contexts(payloads: readonly Buffer[]): ValueMap[] {
  return payloads.map((payload, i) => ({
    id: `m${i}`,
    clientid: `client-${i % 50}`,
    username: 'u',
    topic: `sensors/${i % 50}/data`,
    qos: 1,
    flags: { dup: false, retain: false },
    payload,
    timestamp: 1700000000000 + i,
    node: 'sluice@127.0.0.1',
    event: 'message.publish',
  }));
}

let sink = 0;

/** Evaluations per second of `fn` over `ctxs` for about `ms` milliseconds. */
function measure(fn: (c: ValueMap) => ValueMap[], ctxs: readonly ValueMap[], ms: number): number {
  const deadline = process.hrtime.bigint() + BigInt(ms) * 1_000_000n;
  const start = process.hrtime.bigint();
  let n = 0;
  let now: bigint;
  do {
    for (let i = 0; i < ctxs.length; i++) sink += fn(ctxs[i] as ValueMap).length;
    n += ctxs.length;
    now = process.hrtime.bigint();
  } while (now < deadline);
  return (n * 1e9) / Number(now - start);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

console.log(`node ${process.version}, ${ROUNDS} interleaved rounds of ${ROUND_MS} ms per side`);
console.log('| scenario | compiled rule (eval/s) | hand-written JS (eval/s) | ratio |');
console.log('| --- | ---: | ---: | ---: |');
for (const s of scenarios) {
  if (only !== undefined && !s.name.startsWith(`(${only})`)) continue;
  const rule = compileRule(s.sql);
  const ctxs = contexts(s.payloads);
  // Same results first: the comparison is only fair if both do the same work.
  for (const c of ctxs.slice(0, 50)) {
    const a = JSON.stringify(rule.evaluate(c));
    const b = JSON.stringify(s.hand(c));
    if (a !== b) throw new Error(`${s.name}: outputs differ\n rule: ${a}\n hand: ${b}`);
  }
  const evalRule = (c: ValueMap) => rule.evaluate(c);
  measure(evalRule, ctxs, WARMUP_MS); // warm-up: both sides optimised before measuring
  measure(s.hand, ctxs, WARMUP_MS);
  const r: number[] = [];
  const h: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    // alternate which side goes first so neither always gets the warmer cache
    if (i % 2 === 0) {
      r.push(measure(evalRule, ctxs, ROUND_MS));
      h.push(measure(s.hand, ctxs, ROUND_MS));
    } else {
      h.push(measure(s.hand, ctxs, ROUND_MS));
      r.push(measure(evalRule, ctxs, ROUND_MS));
    }
  }
  const mr = median(r);
  const mh = median(h);
  const ratio = median(r.map((x, i) => x / (h[i] as number)));
  console.log(
    `| ${s.name} | ${Math.round(mr).toLocaleString('en-US')} | ${Math.round(mh).toLocaleString('en-US')} | ${ratio.toFixed(2)}× |`,
  );
}
if (sink < 0) console.log(sink);
