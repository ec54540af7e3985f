/**
 * Cost of `sluice check`'s rule-path type check (issue #16 item 5): a config with N rules, each
 * reading 8 paths of `schema_decode` aliases (one of them impossible) (a JSON Schema with $refs and combinators, an Avro
 * record with named types, a Protobuf message with imports and well-known types) and 2 payload
 * paths on topics a JSON validation guards (one impossible): 2 reports per rule. Reports, per N, the median of 5 runs of the whole
 * `checkConfig` and of `schemaPathIssues` alone (its share of the check), and the reports found.
 *
 * Run: `npx tsx bench/throughput/check-paths.bench.ts [N,N,…]` (default 10,100,1000).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { compileRules, loadConfig } from '../../src/config/index.js';
import { checkConfig } from '../../src/engine/check.js';
import { createCompiler } from '../../src/engine/rules.js';
import { schemaPathIssues } from '../../src/engine/schema-paths/index.js';
import { configParts } from '../../src/engine/sinks.js';
import { createDefaultServices } from '../../src/runtime/index.js';

const SIZES = (process.argv[2] ?? '10,100,1000').split(',').map(Number);

const json = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  additionalProperties: false,
  properties: {
    device: { $ref: '#/$defs/device' },
    readings: { type: 'array', items: { $ref: '#/$defs/reading' } },
    either: { oneOf: [{ $ref: '#/$defs/device' }, { $ref: '#/$defs/reading' }] },
    both: { allOf: [{ $ref: '#/$defs/device' }, { type: 'object' }] },
  },
  $defs: {
    device: {
      type: 'object',
      additionalProperties: false,
      properties: { id: { type: 'string' }, model: { type: 'string' } },
    },
    reading: {
      type: 'object',
      additionalProperties: false,
      properties: { t: { type: 'number' }, v: { type: 'number' } },
    },
  },
};
const avro = {
  type: 'record',
  name: 'T',
  namespace: 'acme',
  fields: [
    {
      name: 'device',
      type: { type: 'record', name: 'D', fields: [{ name: 'id', type: 'string' }] },
    },
    { name: 'parent', type: ['null', 'D'] },
    { name: 'labels', type: { type: 'map', values: 'long' } },
  ],
};
const proto = `syntax = "proto3"; package acme;
import "google/protobuf/timestamp.proto";
message T { string id = 1; google.protobuf.Timestamp ts = 2; repeated R rs = 3; map<string, R> by = 4;
  message R { double v = 1; } }`;

function setup(n: number): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-check-bench-'));
  const cfg = {
    rule_files: ['rules/*.sql'],
    sinks: { out: { type: 'memory' } },
    schema_registry: {
      schemas: {
        j: { type: 'json', source: JSON.stringify(json) },
        a: { type: 'avro', source: JSON.stringify(avro) },
        p: { type: 'protobuf', source: proto },
      },
    },
    schema_validation: {
      validations: [
        {
          name: 'v',
          topics: ['x/#'],
          failure_action: 'drop',
          checks: [{ type: 'json', schema: 'j' }],
        },
      ],
    },
  };
  writeFileSync(path.join(dir, 'sluice.yaml'), JSON.stringify(cfg));
  mkdirSync(path.join(dir, 'rules'));
  for (let i = 0; i < n; i++)
    writeFileSync(
      path.join(dir, 'rules', `r${i}.sql`),
      `-- id: r${i}\n-- actions: out\nSELECT schema_decode('j', payload) AS j, schema_decode('a', payload) AS a,
  schema_decode('p', payload, 'acme.T') AS p,
  j.device.id AS c1, j.readings[1].v AS c2, j.either.t AS c3, j.both.model AS c4,
  a.parent.id AS c5, a.labels.k AS c6, p.ts.seconds AS c7, p.by.k.x${i % 2} AS c8,
  payload.device.id AS c9, payload.readings[2].w AS c10
FROM "x/${i}"\n`,
    );
  return dir;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

console.log(
  `node ${process.version}, ${os.cpus()[0]?.model}, load ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
console.log('| rules | checkConfig ms | schemaPathIssues ms | share | reports |');
console.log('| ---: | ---: | ---: | ---: | ---: |');
for (const n of SIZES) {
  const dir = setup(n);
  const file = path.join(dir, 'sluice.yaml');
  try {
    const whole: number[] = [];
    const paths: number[] = [];
    let reports = 0;
    for (let round = 0; round < 5; round++) {
      let t = performance.now();
      const r = checkConfig(file, { env: {} });
      whole.push(performance.now() - t);
      reports = r.issues.filter((i) => i.code === 'rule_payload_path_impossible').length;
      const loaded = loadConfig(file, configParts(), { env: {} });
      if (!loaded.ok) throw new Error('config');
      const services = createDefaultServices({ node: 'bench@h' });
      const c = compileRules(loaded.loaded.rules, createCompiler(services));
      t = performance.now();
      schemaPathIssues(loaded.loaded, c.compiled, new Set()); // schemas known valid, as in checkConfig
      paths.push(performance.now() - t);
    }
    const w = median(whole);
    const p = median(paths);
    console.log(
      `| ${n} | ${w.toFixed(1)} | ${p.toFixed(1)} | ${((100 * p) / w).toFixed(0)}% | ${reports} |`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
console.log(
  `load after ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
