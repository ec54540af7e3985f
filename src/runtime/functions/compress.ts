/**
 * Compression, spec §8.9: `gzip`/`gunzip` (gzip container), `zip`/`unzip` (raw deflate, as
 * Erlang `zlib:zip/1`), `zip_compress`/`zip_uncompress` (zlib container). Bytes in, bytes out.
 * Corrupt input is BadArg; decompressed output is capped (MAX_OUTPUT) so a small malicious
 * payload cannot exhaust memory.
 */
import {
  deflateRawSync,
  deflateSync,
  gunzipSync,
  gzipSync,
  inflateRawSync,
  inflateSync,
} from 'node:zlib';
import type { FunctionDef } from './registry.js';
import { badArg } from './registry.js';
import { needBytes } from './util.js';

const FAMILY = 'compression';

/** Largest decompressed result accepted (64 MiB). */
export const MAX_OUTPUT = 64 * 1024 * 1024;

function codec(
  name: string,
  f: (b: Buffer) => Buffer,
  description: string,
  example: { sql: string; result: string },
): FunctionDef {
  return {
    name,
    family: FAMILY,
    arity: { min: 1, max: 1 },
    signature: `${name}(Data)`,
    description,
    examples: [example],
    impl: (args) => {
      const input = needBytes(args[0], 'Data');
      try {
        return f(input);
      } catch (e) {
        return badArg(`${name}: ${(e as Error).message}`);
      }
    },
    pure: true,
  };
}

const limit = { maxOutputLength: MAX_OUTPUT };

export const compressFunctions: readonly FunctionDef[] = [
  codec('gzip', (b) => gzipSync(b), 'Gzip-compress Data.', {
    sql: "gunzip(gzip('hello'))",
    result: '"hello"',
  }),
  codec('gunzip', (b) => gunzipSync(b, limit), 'Decompress gzip Data; invalid data is an error.', {
    sql: "gunzip(base64_decode('H4sIAAAAAAAAA8tIzcnJBwCGphA2BQAAAA=='))",
    result: '"hello"',
  }),
  codec('zip', (b) => deflateRawSync(b), 'Compress Data with raw deflate (no header).', {
    sql: "base64_encode(zip('hello'))",
    result: '"y0jNyckHAA=="',
  }),
  codec('unzip', (b) => inflateRawSync(b, limit), 'Inflate raw deflate Data.', {
    sql: "unzip(base64_decode('y0jNyckHAA=='))",
    result: '"hello"',
  }),
  codec(
    'zip_compress',
    (b) => deflateSync(b),
    'Compress Data with zlib (deflate with zlib header).',
    {
      sql: "base64_encode(zip_compress('hello'))",
      result: '"eJzLSM3JyQcABiwCFQ=="',
    },
  ),
  codec('zip_uncompress', (b) => inflateSync(b, limit), 'Decompress zlib Data.', {
    sql: "zip_uncompress(base64_decode('eJzLSM3JyQcABiwCFQ=='))",
    result: '"hello"',
  }),
];
