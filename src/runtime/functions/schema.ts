/**
 * Schema registry functions (issue #16; EMQX 5.x `emqx_schema_registry_serde` rsf_* names and
 * argument conventions): `schema_decode`, `schema_encode`, `schema_check`, the Sparkplug B pair
 * `spb_decode`/`spb_encode` and its older names `sparkplug_decode`/`sparkplug_encode`, and the
 * external-registry forms `avro_decode`/`avro_encode` (+ `schema_decode_tagged`).
 *
 * The registry is the engine's (`FunctionServices.schemas`, the core `SchemaRegistryPort`,
 * implemented by src/schema-registry); this file only checks arguments and forwards. Errors
 * are the registry's `SluiceError`s, so the rule fails with `serde_not_found`,
 * `schema_decode_error`, … as its code (counted in `failed.exception`). Not `pure`: a schema
 * can change between two messages (API, reload), so calls are never constant-folded; and
 * `effects`: spb_decode learns Sparkplug aliases, avro_* fill a cache, and the answer may change
 * between two passes, so in a rule evaluated in passes (async-eval.ts) each call runs once per
 * message and is replayed.
 */
import type { ExternalWait, SchemaRegistryPort } from '../../core/index.js';
import { EvalSuspended } from '../async-eval.js';
import type { CallContext, FunctionDef } from './registry.js';
import { badArg } from './registry.js';
import { needText } from './util.js';

function registry(fn: string, ctx: CallContext): SchemaRegistryPort {
  return ctx.services.schemas ?? badArg(`${fn}: no schema registry is configured for this engine`);
}

const deadline = (ctx: CallContext): number => ctx.services.deadline?.() ?? Infinity;

/**
 * In a rule evaluated in passes (async-eval.ts), an external schema the registry has not cached
 * suspends the pass instead of blocking: the registry fetches it and the message's next pass
 * finds it (decision 0014). Outside passes (no session) the registry blocks, bounded.
 */
const waitOf = (ctx: CallContext): ExternalWait | undefined => {
  const session = ctx.services.session?.current;
  if (!session) return undefined;
  return (ready) => {
    session.pending = { ready };
    throw new EvalSuspended();
  };
};

const spbDecode = (
  name: string,
  b64: boolean,
  older: string,
  examples: FunctionDef['examples'],
): FunctionDef => ({
  examples,
  name,
  family: 'schema',
  effects: true,
  arity: { min: 1, max: 1 },
  signature: `${name}(Bin)`,
  description: `Decode a Sparkplug B payload (Eclipse Tahu \`Payload\` message) into a map: \`timestamp\`, \`seq\`, \`uuid\`, \`body\` and \`metrics\` (each with \`name\`, \`alias\`, \`timestamp\`, \`datatype\`, the value in its \`*_value\` field, …). uint64 fields (timestamps, aliases, \`long_value\`) are exact. ${b64 ? 'A metric’s `bytes_value` comes out as base64 text (EMQX 5.x). Aliases: on an NBIRTH/DBIRTH topic the alias → name pairs are remembered for that edge node or device, and metrics of its NDATA/DDATA messages that carry only an alias get their `name` back (EMQX 5.9).' : 'A metric’s `bytes_value` stays a binary; no alias mapping.'} ${older}`,
  impl: (args, ctx) => {
    const topic = ctx.columns['topic'];
    return registry(name, ctx).sparkplugDecode(
      args[0],
      b64,
      b64 && typeof topic === 'string' ? topic : undefined,
    );
  },
});

const spbEncode = (
  name: string,
  b64: boolean,
  older: string,
  examples: FunctionDef['examples'],
): FunctionDef => ({
  examples,
  name,
  family: 'schema',
  effects: true,
  arity: { min: 1, max: 1 },
  signature: `${name}(Map)`,
  description: `Encode a map of the shape ${b64 ? '`spb_decode`' : '`sparkplug_decode`'} returns into a Sparkplug B payload (binary). ${b64 ? 'A metric’s `bytes_value` is read as base64 text.' : 'A metric’s `bytes_value` is a binary.'} ${older}`,
  impl: (args, ctx) => registry(name, ctx).sparkplugEncode(args[0], b64),
});

export const schemaFunctions: readonly FunctionDef[] = [
  {
    name: 'schema_decode',
    family: 'schema',
    effects: true,
    arity: { min: 2, max: 3 },
    signature: 'schema_decode(SchemaName, Data[, MsgType])',
    description:
      "Decode Data (a binary) with the registered schema SchemaName: Avro and Protobuf bytes become a map (Protobuf needs the message type, e.g. `'Person'` or `'pkg.Outer.Inner'`); JSON Schema parses the JSON text and returns it when it validates. Failures: `serde_not_found` (no such schema), `schema_decode_error` (bad data, unknown message type, not valid). `__CiscoSparkplugB` with `'Payload'` is the built-in Sparkplug B schema.",
    examples: [
      { sql: "schema_decode('reading', '{\"temp\":21.5}')", result: '{"temp":21.5}' },
      {
        sql: "schema_decode('person', base64_decode('CgNBbm4QAQ=='), 'Person')",
        result: '{"name":"Ann","id":1,"email":""}',
      },
      {
        sql: "schema_decode('reading_avro', base64_decode('AAAAAACANUACAkM='))",
        result: '{"temp":21.5,"unit":"C"}',
      },
    ],
    impl: (args, ctx) =>
      registry('schema_decode', ctx).decode(
        needText(args[0], 'SchemaName'),
        args[1],
        args.slice(2),
      ),
  },
  {
    name: 'schema_encode',
    family: 'schema',
    effects: true,
    arity: { min: 2, max: 3 },
    signature: 'schema_encode(SchemaName, Map[, MsgType])',
    description:
      "Encode Map with the registered schema SchemaName: Avro and Protobuf produce bytes (Protobuf needs the message type); JSON Schema validates the map and returns its JSON text. Decode a JSON payload first (`schema_encode('s', json_decode(payload))`). Failures: `serde_not_found`, `schema_encode_error` naming the field.",
    examples: [
      {
        sql: "schema_encode('reading', json_decode('{\"temp\":21.5}'))",
        result: '"{\\"temp\\":21.5}"',
      },
      {
        sql: 'base64_encode(schema_encode(\'person\', json_decode(\'{"name":"Ann","id":1}\'), \'Person\'))',
        result: '"CgNBbm4QAQ=="',
      },
      {
        sql: 'base64_encode(schema_encode(\'reading_avro\', json_decode(\'{"temp":21.5,"unit":"C"}\')))',
        result: '"AAAAAACANUACAkM="',
      },
    ],
    impl: (args, ctx) =>
      registry('schema_encode', ctx).encode(
        needText(args[0], 'SchemaName'),
        args[1],
        args.slice(2),
      ),
  },
  {
    name: 'schema_check',
    family: 'schema',
    effects: true,
    arity: { min: 2, max: 3 },
    signature: 'schema_check(SchemaName, Data[, MsgType])',
    description:
      'True when Data fits the schema: a binary is decoded with it, a map is encoded with it (JSON Schema: validated). Bad data is `false`, never a failure; an unknown SchemaName fails with `serde_not_found`.',
    examples: [
      { sql: "schema_check('reading', '{\"temp\":21.5}')", result: 'true' },
      { sql: 'schema_check(\'reading\', \'{"temp":"hot"}\')', result: 'false' },
    ],
    impl: (args, ctx) =>
      registry('schema_check', ctx).check(needText(args[0], 'SchemaName'), args[1], args.slice(2)),
  },
  spbDecode('spb_decode', true, 'EMQX 5.x name.', [
    {
      sql: "spb_decode(base64_decode('CIDQlf+8MRITCgR0ZW1wEAEgCmkAAAAAAIA1QBgA'))",
      result:
        '{"timestamp":1700000000000,"metrics":[{"name":"temp","alias":1,"datatype":10,"double_value":21.5}],"seq":0}',
    },
    {
      sql: "spb_decode(base64_decode('EgwKA3JhdyARggECAQI='))",
      result: '{"metrics":[{"name":"raw","datatype":17,"bytes_value":"AQI="}]}',
    },
  ]),
  spbEncode('spb_encode', true, 'EMQX 5.x name.', [
    {
      sql: 'base64_encode(spb_encode(json_decode(\'{"timestamp":1700000000000,"seq":0,"metrics":[{"name":"temp","alias":1,"datatype":10,"double_value":21.5}]}\')))',
      result: '"CIDQlf+8MRITCgR0ZW1wEAEgCmkAAAAAAIA1QBgA"',
    },
    {
      sql: 'base64_encode(spb_encode(json_decode(\'{"metrics":[{"name":"raw","datatype":17,"bytes_value":"AQI="}]}\')))',
      result: '"EgwKA3JhdyARggECAQI="',
    },
  ]),
  spbDecode('sparkplug_decode', false, 'Older name (EMQX 5.0–5.4 `sparkplug_decode`).', [
    {
      sql: "sparkplug_decode(base64_decode('EggKAm9uIAtwARgB'))",
      result: '{"metrics":[{"name":"on","datatype":11,"boolean_value":true}],"seq":1}',
    },
  ]),
  spbEncode('sparkplug_encode', false, 'Older name (EMQX 5.0–5.4 `sparkplug_encode`).', [
    {
      sql: 'base64_encode(sparkplug_encode(json_decode(\'{"seq":1,"metrics":[{"name":"on","datatype":11,"boolean_value":true}]}\')))',
      result: '"EggKAm9uIAtwARgB"',
    },
  ]),
  {
    name: 'avro_decode',
    family: 'schema',
    effects: true,
    arity: { min: 2, max: 3 },
    signature: 'avro_decode(RegistryName, Data[, SchemaId])',
    description:
      'Decode Avro with a schema from the external (Confluent-compatible) registry RegistryName (`schema_registry.external`). Without SchemaId, Data is in the Confluent wire format (magic byte 0, 4-byte big-endian schema id, Avro body); with it, Data is the bare Avro body. A schema is fetched once and cached. Failures: `registry_not_found`, `bad_input`, `external_schema_not_found`, `bad_registry_credentials`, `external_registry_unavailable`, `schema_decode_error`.',
    examples: [
      {
        sql: "avro_decode('demo', base64_decode('AAAAAAEAAAAAAIA1QAICQw=='))",
        result: '{"temp":21.5,"unit":"C"}',
      },
    ],
    impl: (args, ctx) =>
      registry('avro_decode', ctx).externalDecode(
        needText(args[0], 'RegistryName'),
        args[1],
        args.slice(2),
        deadline(ctx),
        waitOf(ctx),
      ),
  },
  {
    name: 'schema_decode_tagged',
    family: 'schema',
    effects: true,
    arity: { min: 2, max: 3 },
    signature: 'schema_decode_tagged(RegistryName, Data[, SchemaId])',
    description: 'Same as `avro_decode` (EMQX 5.9 name for decoding Confluent-tagged data).',
    examples: [
      {
        sql: "schema_decode_tagged('demo', base64_decode('AAAAAAEAAAAAAIA1QAICQw=='))",
        result: '{"temp":21.5,"unit":"C"}',
      },
    ],
    impl: (args, ctx) =>
      registry('schema_decode_tagged', ctx).externalDecode(
        needText(args[0], 'RegistryName'),
        args[1],
        args.slice(2),
        deadline(ctx),
        waitOf(ctx),
      ),
  },
  {
    name: 'avro_encode',
    family: 'schema',
    effects: true,
    arity: { min: 3, max: 3 },
    signature: 'avro_encode(RegistryName, Map, SchemaId)',
    description:
      'Encode Map as the bare Avro body (not tagged, as EMQX) with schema SchemaId of the external registry RegistryName; SchemaId may also be a subject name (its latest version, cached for `subject_cache_ttl`). Failures as `avro_decode`, and `schema_encode_error`.',
    examples: [
      {
        sql: 'base64_encode(avro_encode(\'demo\', json_decode(\'{"temp":21.5,"unit":null}\'), 1))',
        result: '"AAAAAACANUAA"',
      },
      {
        sql: "base64_encode(avro_encode('demo', json_decode('{\"temp\":21.5,\"unit\":null}'), 'readings-value'))",
        result: '"AAAAAACANUAA"',
      },
    ],
    impl: (args, ctx) =>
      registry('avro_encode', ctx).externalEncode(
        needText(args[0], 'RegistryName'),
        args[1],
        args.slice(2),
        deadline(ctx),
        waitOf(ctx),
      ),
  },
];
