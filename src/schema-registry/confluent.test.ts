/**
 * The external-registry client against a loopback stand-in that speaks the Confluent REST API
 * (test/confluent-standin.ts, in a worker thread): wire format, caching, subjects, and each
 * failure with its EMQX-named error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { SluiceError } from '../core/index.js';
import { startConfluentStandin } from '../../test/confluent-standin.js';
import type { ConfluentStandin } from '../../test/confluent-standin.js';
import { compileAvro } from './avro.js';
import { createSchemaRegistry } from './registry.js';
import type { SchemaRegistry, SchemaRegistryConfig } from './registry.js';

const V1 = JSON.stringify({
  type: 'record',
  name: 'Reading',
  fields: [{ name: 'temp', type: 'double' }],
});
const V2 = JSON.stringify({
  type: 'record',
  name: 'Reading',
  fields: [
    { name: 'temp', type: 'double' },
    { name: 'site', type: 'string' },
  ],
});

let open: ConfluentStandin;
let locked: ConfluentStandin;
let r: SchemaRegistry;
const reg = (url: string, extra: object = {}) => ({
  type: 'confluent',
  url,
  request_timeout: 10_000,
  cache_size: 1,
  subject_cache_ttl: 60_000,
  ...extra,
});

beforeAll(async () => {
  open = await startConfluentStandin([
    { id: 1, subject: 'readings-value', schema: V1 },
    { id: 2, subject: 'readings-value', schema: V2 },
    { id: 3, subject: 'proto', schema: 'syntax = "proto3";', schemaType: 'PROTOBUF' },
  ]);
  locked = await startConfluentStandin([{ id: 1, subject: 's', schema: V1 }], 'u:p');
  r = createSchemaRegistry();
  const issues = r.configure(
    {
      schemas: {},
      external: {
        open: reg(open.url),
        locked: reg(locked.url),
        locked_ok: reg(locked.url, { auth: { username: 'u', password: 'p' } }),
        // nothing listens on port 9 of 127.0.0.1 (discard service, not run here)
        down: reg('http://127.0.0.1:9', { request_timeout: 2000 }),
      },
      api_store: 'never-written.json',
    } as unknown as SchemaRegistryConfig,
    '/nonexistent',
  );
  expect(issues).toEqual([]);
});
afterAll(async () => {
  await r.close();
  await open.stop();
  await locked.stop();
});

const tagged = (id: number, body: Buffer): Buffer => {
  const h = Buffer.alloc(5);
  h.writeUInt32BE(id, 1);
  return Buffer.concat([h, body]);
};
const codeOf = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (e) {
    return e instanceof SluiceError ? e.code : `not a SluiceError: ${String(e)}`;
  }
  return undefined;
};

describe('Confluent-compatible external registry', () => {
  const v2 = compileAvro('v2', V2);

  it('decodes the wire format (magic 0 + 4-byte id) and bare bodies with an id; caches by id', async () => {
    const body = v2.encode({ temp: 1.5, site: 'north' }, []) as Buffer;
    expect(r.externalDecode('open', tagged(2, body), [], Infinity)).toEqual({
      temp: 1.5,
      site: 'north',
    });
    expect(r.externalDecode('open', body, [2], Infinity)).toEqual({ temp: 1.5, site: 'north' });
    expect((await open.hits())['/schemas/ids/2']).toBe(1);
  });

  it('evicts beyond cache_size (least recently used) and fetches again', async () => {
    const v1body = compileAvro('v1', V1).encode({ temp: 2.5 }, []) as Buffer;
    const before = (await open.hits())['/schemas/ids/2'] ?? 0;
    r.externalDecode('open', tagged(1, v1body), [], Infinity); // evicts id 2 (cache_size 1)
    r.externalDecode(
      'open',
      tagged(2, v2.encode({ temp: 1, site: 's' }, []) as Buffer),
      [],
      Infinity,
    );
    expect((await open.hits())['/schemas/ids/2']).toBe(before + 1);
  });

  it('encodes by id (bare body, not tagged) and by subject (latest version)', () => {
    const byId = r.externalEncode('open', { temp: 3.5 }, [1], Infinity);
    expect(compileAvro('v1', V1).decode(byId, [])).toEqual({ temp: 3.5 });
    const bySubject = r.externalEncode(
      'open',
      { temp: 3.5, site: 'x' },
      ['readings-value'],
      Infinity,
    );
    expect(v2.decode(bySubject, [])).toEqual({ temp: 3.5, site: 'x' });
  });

  it('maps failures to EMQX errors', () => {
    expect(codeOf(() => r.externalDecode('nope', Buffer.alloc(6), [], Infinity))).toBe(
      'registry_not_found',
    );
    expect(
      codeOf(() => r.externalDecode('open', Buffer.from([1, 0, 0, 0, 1, 0]), [], Infinity)),
    ).toBe('bad_input');
    expect(codeOf(() => r.externalDecode('open', tagged(99, Buffer.alloc(1)), [], Infinity))).toBe(
      'external_schema_not_found',
    );
    expect(codeOf(() => r.externalDecode('open', tagged(3, Buffer.alloc(1)), [], Infinity))).toBe(
      'schema_decode_error',
    );
    expect(codeOf(() => r.externalEncode('open', { temp: 1 }, [1.5], Infinity))).toBe('bad_input');
    expect(codeOf(() => r.externalEncode('open', { temp: 'x' }, [1], Infinity))).toBe(
      'schema_encode_error',
    );
    expect(codeOf(() => r.externalDecode('locked', tagged(1, Buffer.alloc(8)), [], Infinity))).toBe(
      'bad_registry_credentials',
    );
    expect(codeOf(() => r.externalDecode('down', tagged(1, Buffer.alloc(8)), [], Infinity))).toBe(
      'external_registry_unavailable',
    );
    // the rule budget caps the wait: no time left → unavailable at once, nothing fetched
    expect(
      codeOf(() => r.externalDecode('open', tagged(77, Buffer.alloc(1)), [], performance.now())),
    ).toBe('external_registry_unavailable');
  });

  it('sends HTTP Basic credentials when auth is set', () => {
    const body = compileAvro('v1', V1).encode({ temp: 4.5 }, []) as Buffer;
    expect(r.externalDecode('locked_ok', tagged(1, body), [], Infinity)).toEqual({ temp: 4.5 });
  });
});
