/**
 * Per-call cost of representative built-ins, generic `impl` vs the call-site `specialize` path
 * (literal arguments prepared once), plus the jq worker round trip.
 *
 *   npx tsx src/runtime/functions/functions.bench.ts          # ~20 s, prints a markdown table
 *
 * Not a unit test: figures go to bench/results/functions.md by hand with the machine details.
 */
import type { Value } from '../../core/index.js';
import { NOT_CONSTANT, createBuiltinRegistry, createDefaultServices } from './index.js';
import type { CallContext, FunctionImpl, MaybeConstant } from './index.js';

const registry = createBuiltinRegistry();
const services = createDefaultServices();
const ctx: CallContext = { clause: 'select', columns: { clientid: 'c1' }, services };

interface Case {
  readonly name: string;
  readonly fn: string;
  readonly args: readonly Value[];
  /** Positions that are literals in the rule (passed to specialize). */
  readonly literal: readonly number[];
  readonly iterations?: number;
}

const cases: Case[] = [
  { name: "lower('Hello World')", fn: 'lower', args: ['Hello World'], literal: [] },
  { name: "split(s, '/')", fn: 'split', args: ['a/b/c/d/e', '/'], literal: [1] },
  {
    name: "regex_match(s, '^dev-[0-9]+$')",
    fn: 'regex_match',
    args: ['dev-12345', '^dev-[0-9]+$'],
    literal: [1],
  },
  {
    name: "regex_replace(s, '[0-9]+', '<&>')",
    fn: 'regex_replace',
    args: ['a1b22c333', '[0-9]+', '<&>'],
    literal: [1, 2],
  },
  {
    name: "regex_extract(s, '(\\d{4})-(\\d{2})-(\\d{2})')",
    fn: 'regex_extract',
    args: ['Date: 2021-05-20', '(\\d{4})-(\\d{2})-(\\d{2})'],
    literal: [1],
  },
  {
    name: "regex_match(1 KB text, '(?i)error|warn')",
    fn: 'regex_match',
    args: ['x'.repeat(1000) + ' Warn', '(?i)error|warn'],
    literal: [1],
  },
  { name: "sprintf('~s=~p', k, v)", fn: 'sprintf', args: ['~s=~p', 'temp', 21.5], literal: [0] },
  {
    name: "format_date('millisecond', '+08:00', '%Y-%m-%d %H:%M:%S.%3N', ts)",
    fn: 'format_date',
    args: ['millisecond', '+08:00', '%Y-%m-%d %H:%M:%S.%3N', 1_700_000_000_123],
    literal: [0, 1, 2],
  },
  {
    name: "date_to_unix_ts('second', '%Y-%m-%d %H:%M:%S', s)",
    fn: 'date_to_unix_ts',
    args: ['second', '%Y-%m-%d %H:%M:%S', '2024-02-29 23:59:58'],
    literal: [0, 1],
  },
  { name: "hash('sha256', s)", fn: 'hash', args: ['sha256', 'x'.repeat(100)], literal: [0] },
  {
    name: "map_get('a.b.c', m)",
    fn: 'map_get',
    args: ['a.b.c', { a: { b: { c: 1 } } }],
    literal: [0],
  },
  {
    name: 'json_decode(100-byte object)',
    fn: 'json_decode',
    args: ['{"temp":21.5,"hum":40,"id":"sensor-0001","tags":["a","b"],"ok":true,"seq":123456}'],
    literal: [],
  },
  {
    name: "subbits(bin, 9, 16, 'integer', 'signed', 'little')",
    fn: 'subbits',
    args: [Buffer.from('0102030405', 'hex'), 9, 16, 'integer', 'signed', 'little'],
    literal: [3, 4, 5],
  },
  {
    name: "base64_encode(64 bytes, 'urlsafe')",
    fn: 'base64_encode',
    args: [Buffer.alloc(64, 7), 'urlsafe'],
    literal: [1],
  },
  {
    name: "jq('.a + 1', '{\"a\":1}') (worker round trip)",
    fn: 'jq',
    args: ['.a + 1', '{"a":1}'],
    literal: [0],
    iterations: 3000,
  },
];

function time(f: FunctionImpl, args: readonly Value[], n: number): number {
  for (let i = 0; i < Math.min(n, 2000); i++) f(args, ctx); // warm-up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) f(args, ctx);
  return Number(process.hrtime.bigint() - t0) / n;
}

const fmt = (ns: number): string =>
  ns >= 10_000 ? `${(ns / 1000).toFixed(1)} µs` : `${Math.round(ns)} ns`;

console.log('| call | generic `impl` | specialised call site |');
console.log('| --- | --- | --- |');
for (const c of cases) {
  const def = registry.get(c.fn);
  if (!def) throw new Error(c.fn);
  const n = c.iterations ?? 200_000;
  const lits: MaybeConstant[] = c.args.map((a, i) => (c.literal.includes(i) ? a : NOT_CONSTANT));
  const fast = def.specialize?.(lits);
  const generic = time(def.impl, c.args, n);
  const special = fast ? fmt(time(fast, c.args, n)) : '—';
  console.log(`| \`${c.name.replace(/\|/g, '\\|')}\` | ${fmt(generic)} | ${special} |`);
}
process.exit(0);
