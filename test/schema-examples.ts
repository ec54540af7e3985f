/**
 * The schemas the docs examples of the schema functions run with (docs/functions.md, family
 * "Schema registry and Sparkplug B"; listed there too). Used by
 * test/unit/schema-function-examples.test.ts with the real registry and a Confluent stand-in.
 */
export const EXAMPLE_SCHEMAS = {
  reading: {
    type: 'json',
    source: JSON.stringify({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      properties: { temp: { type: 'number' } },
      required: ['temp'],
    }),
  },
  person: {
    type: 'protobuf',
    source:
      'syntax = "proto3"; message Person { string name = 1; int32 id = 2; string email = 3; }',
  },
  reading_avro: {
    type: 'avro',
    source: JSON.stringify({
      type: 'record',
      name: 'Reading',
      fields: [
        { name: 'temp', type: 'double' },
        { name: 'unit', type: ['null', 'string'], default: null },
      ],
    }),
  },
} as const;

/** Schema 1 of the Confluent stand-in registry `demo`: the same Avro record. */
export const EXAMPLE_REGISTRY_SCHEMAS = [
  { id: 1, subject: 'readings-value', schema: EXAMPLE_SCHEMAS.reading_avro.source },
];
