/**
 * Parse-speed check (not a test): `npx tsx src/sql-parser/parse-speed.bench.ts`.
 * Parsing runs once per rule deploy, so this only guards against pathological slowness.
 * Figures are recorded in bench/results/sql-parser.md.
 */
import { parseRule } from './index.js';

const VALID = [
  'SELECT payload.temp AS t, clientid FROM "sensors/#" WHERE payload.temp > 30',
  'FOREACH payload.sensors AS s DO s.id AS id, s.v * 1.8 + 32 AS f ' +
    'INCASE s.v > 1 AND NOT (s.bad OR s.x IN (1, 2)) ' +
    "FROM \"t/#\", '$events/client_connected' WHERE clientid = 'c'",
  "SELECT CASE WHEN payload.a > 1 THEN 'hi' ELSE 'lo' END AS lvl, payload.x[1..-1] AS xs, " +
    'abs(-1) + 2 * 3 AS n FROM "a/+/b"',
];
const INVALID = ['SELECT a FORM "t"', "SELECT a FROM t WHERE b = 'x", 'SELECT a, FROM t'];

function microsPerParse(list: readonly string[], rounds: number): number {
  for (let i = 0; i < 200; i++) for (const r of list) parseRule(r);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) for (const r of list) parseRule(r);
  return Number(process.hrtime.bigint() - t0) / 1e3 / (rounds * list.length);
}

console.log(`valid rules:   ${microsPerParse(VALID, 3000).toFixed(1)} µs per parseRule`);
console.log(`invalid rules: ${microsPerParse(INVALID, 500).toFixed(1)} µs per parseRule`);
