/**
 * The schema registry (issue #16 item 1, docs/schema-registry.md): Avro, Protobuf and JSON
 * Schema by name, the built-in Sparkplug B schema, and Confluent-compatible external
 * registries. Implements the core `SchemaRegistryPort`; the engine wires it into the rule
 * functions and the API.
 */
export { createSchemaRegistry } from './registry.js';
export type {
  SchemaDef,
  SchemaInfo,
  SchemaRegistry,
  SchemaRegistryConfig,
  SchemaRegistryDeps,
  SchemaType,
} from './registry.js';
export { SchemaErrors } from './errors.js';
export { schemaRegistrySpec, SCHEMA_NAME_PATTERN } from './spec.js';
export { SPARKPLUG_SCHEMA_NAME } from './sparkplug.js';
export { compileAvro } from './avro.js';
export { compileJsonSchema } from './json-schema.js';
export { compileProtobuf } from './protobuf.js';
