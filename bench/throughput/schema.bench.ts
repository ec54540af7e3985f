/**
 * Schema registry decode rates (issue #16 item 1: "choose libraries for speed, measure decode
 * rate against JSON.parse of the same data"). The same readings at three sizes, encoded as JSON
 * text, Avro (avsc) and Protobuf (protobufjs); each decoder runs for a fixed time and reports
 * decodes/s, input MB/s and the ratio to JSON.parse of that size. Rows:
 * - `JSON.parse` (the baseline) and `decodeJson` (Sluice's value-model JSON decode);
 * - `avsc fromBuffer` (library alone) and `schema_decode avro` (the registry codec: library +
 *   conversion to the value model: floats boxed, longs exact, plain objects);
 * - `protobufjs decode (Buffer)` (library alone, its lax BufferReader), `protobufjs decode
 *   (Uint8Array)` (the bounds-checking reader the codec uses) and `schema_decode protobuf`;
 * - `schema_decode json` (JSON.parse + Ajv validation + decodeJson).
 *
 * Run: `npm run bench:schema` (or `npx tsx bench/throughput/schema.bench.ts [seconds-per-row]`).
 */
import os from 'node:os';

import avro from 'avsc';
import protobuf from 'protobufjs';

import { decodeJson } from '../../src/core/index.js';
import {
  compileAvro,
  compileJsonSchema,
  compileProtobuf,
} from '../../src/schema-registry/index.js';

const SECONDS = Number(process.argv[2] ?? 1);

const AVRO = {
  type: 'record',
  name: 'Batch',
  fields: [
    { name: 'device', type: 'string' },
    { name: 'site', type: 'string' },
    { name: 'seq', type: 'long' },
    { name: 'ok', type: 'boolean' },
    {
      name: 'samples',
      type: {
        type: 'array',
        items: {
          type: 'record',
          name: 'Sample',
          fields: [
            { name: 'ts', type: 'long' },
            { name: 'temp', type: 'double' },
            { name: 'hum', type: 'double' },
            { name: 'unit', type: 'string' },
          ],
        },
      },
    },
  ],
};
const PROTO = `syntax = "proto3";
message Sample { int64 ts = 1; double temp = 2; double hum = 3; string unit = 4; }
message Batch { string device = 1; string site = 2; int64 seq = 3; bool ok = 4; repeated Sample samples = 5; }`;
const JSON_SCHEMA = JSON.stringify({
  type: 'object',
  required: ['device', 'samples'],
  properties: {
    device: { type: 'string' },
    seq: { type: 'integer' },
    samples: {
      type: 'array',
      items: {
        type: 'object',
        required: ['ts', 'temp'],
        properties: { ts: { type: 'integer' }, temp: { type: 'number' }, unit: { type: 'string' } },
      },
    },
  },
});

function batch(n: number) {
  return {
    device: 'sensor-0042',
    site: 'plant-north',
    seq: 123456,
    ok: true,
    samples: Array.from({ length: n }, (_, i) => ({
      ts: 1_765_000_000_000 + i,
      temp: 20.5 + (i % 10) / 3,
      hum: 41.25 + (i % 7) / 7,
      unit: 'C',
    })),
  };
}

function rate(fn: () => unknown): number {
  const warm = performance.now() + 200;
  while (performance.now() < warm) fn(); // warm up (JIT)
  let n = 0;
  const end = performance.now() + SECONDS * 1000;
  let sink: unknown;
  while (performance.now() < end) {
    for (let i = 0; i < 10; i++) sink = fn();
    n += 10;
  }
  if (sink === Symbol.for('never')) console.log(sink);
  return n / SECONDS;
}

const avroType = avro.Type.forSchema(AVRO as avro.Schema);
const avroCodec = compileAvro('bench', JSON.stringify(AVRO));
const pbRoot = protobuf.parse(PROTO, { keepCase: true }).root;
const pbType = pbRoot.lookupType('Batch');
const pbCodec = compileProtobuf('bench', { source: PROTO, baseDir: '.' }, () => '');
const jsonCodec = compileJsonSchema('bench', JSON_SCHEMA);

console.log(
  `schema decode bench: ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), Node ${process.version}, load ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}, ${SECONDS}s per row`,
);
console.log('| samples | format | bytes | decoder | decodes/s | MB/s | ÷ JSON.parse |');
console.log('| ---: | --- | ---: | --- | ---: | ---: | ---: |');
for (const n of [1, 10, 100, 1000]) {
  const obj = batch(n);
  const json = JSON.stringify(obj);
  const jsonBuf = Buffer.from(json);
  const avroBin = avroType.toBuffer(obj);
  const pbBin = Buffer.from(pbType.encode(pbType.fromObject(obj)).finish());
  const pbView = new Uint8Array(pbBin.buffer, pbBin.byteOffset, pbBin.length);
  const base = rate(() => JSON.parse(json));
  const rows: [string, number, string, () => unknown][] = [
    ['JSON', jsonBuf.length, 'JSON.parse', () => JSON.parse(json)],
    ['JSON', jsonBuf.length, 'decodeJson (value model)', () => decodeJson(jsonBuf)],
    ['JSON', jsonBuf.length, 'schema_decode json (Ajv)', () => jsonCodec.decode(jsonBuf, [])],
    ['Avro', avroBin.length, 'avsc fromBuffer', () => avroType.fromBuffer(avroBin)],
    ['Avro', avroBin.length, 'schema_decode avro', () => avroCodec.decode(avroBin, [])],
    ['Protobuf', pbBin.length, 'protobufjs decode (Buffer)', () => pbType.decode(pbBin)],
    ['Protobuf', pbBin.length, 'protobufjs decode (Uint8Array)', () => pbType.decode(pbView)],
    ['Protobuf', pbBin.length, 'schema_decode protobuf', () => pbCodec.decode(pbBin, ['Batch'])],
  ];
  for (const [fmt, bytes, name, fn] of rows) {
    const r = name === 'JSON.parse' ? base : rate(fn);
    console.log(
      `| ${n} | ${fmt} | ${bytes} | ${name} | ${Math.round(r).toLocaleString('en-US')} | ${((r * bytes) / 1e6).toFixed(1)} | ${(r / base).toFixed(2)}× |`,
    );
  }
}
