/**
 * What every schema type compiles to. A `Codec` is built once when a schema is created (config
 * load or API call) and then used for every message: `decode`/`encode` throw a `SluiceError`
 * (`schema_decode_error` / `schema_encode_error`) for bad data, never another exception.
 */
import type { Value } from '../core/index.js';

export type SchemaType = 'avro' | 'protobuf' | 'json';

export interface Codec {
  readonly type: SchemaType;
  /** Bytes (or JSON text) → map. `args` are the extra SQL arguments (protobuf: message type). */
  decode(data: Value, args: readonly Value[]): Value;
  /** Map → bytes (JSON Schema: validated JSON text). */
  encode(data: Value, args: readonly Value[]): Value;
}

/** A schema as declared in sluice.yaml or sent to the API. */
export interface SchemaDef {
  readonly type: SchemaType;
  /** Schema text; exactly one of `source` and `file`. */
  readonly source?: string;
  /** Path of the schema file (relative paths: to sluice.yaml's directory). */
  readonly file?: string;
  /** Protobuf: imported files by import path (inline alternative to files beside `file`). */
  readonly imports?: Readonly<Record<string, string>>;
  readonly description?: string;
}

/** Reads a file for a schema (`file`, protobuf imports); throws with the OS reason. */
export type ReadFile = (path: string) => string;

export function bytesOf(v: Value, what: string, fail: (reason: string) => never): Buffer {
  if (Buffer.isBuffer(v)) return v;
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  return fail(`${what} must be a binary, got ${v === null ? 'null' : typeof v}`);
}
