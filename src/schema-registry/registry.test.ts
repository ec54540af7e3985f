import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { SluiceError } from '../core/index.js';
import { createSchemaRegistry } from './registry.js';
import type { SchemaRegistryConfig } from './registry.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'sluice-schemas-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const cfg = (schemas: SchemaRegistryConfig['schemas']): SchemaRegistryConfig => ({
  schemas,
  external: {},
  api_store: 'data/schema_registry.json',
});
const codeOf = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (e) {
    return e instanceof SluiceError ? e.code : `not a SluiceError: ${String(e)}`;
  }
  return undefined;
};
const JSON_SCHEMA = '{"type":"object","required":["temp"]}';

describe('schema registry', () => {
  it('loads schemas from config: inline source and a file relative to the config directory', async () => {
    mkdirSync(path.join(dir, 'schemas'));
    writeFileSync(
      path.join(dir, 'schemas', 'm.proto'),
      'syntax = "proto3"; import "units.proto"; message M { Unit u = 1; }',
    );
    writeFileSync(
      path.join(dir, 'schemas', 'units.proto'),
      'syntax = "proto3"; message Unit { string n = 1; }',
    );
    const r = createSchemaRegistry();
    expect(
      r.configure(
        cfg({
          j: { type: 'json', source: JSON_SCHEMA },
          p: { type: 'protobuf', file: 'schemas/m.proto' },
        }),
        dir,
      ),
    ).toEqual([]);
    expect(r.list().map((s) => [s.name, s.type, s.origin])).toEqual([
      ['j', 'json', 'config'],
      ['p', 'protobuf', 'config'],
    ]);
    expect(r.decode('p', r.encode('p', { u: { n: 'x' } }, ['M']), ['M'])).toEqual({
      u: { n: 'x' },
    });
    expect(r.check('j', '{"temp":1}', [])).toBe(true);
    expect(r.check('j', '{}', [])).toBe(false);
    expect(r.check('j', { temp: 1 }, [])).toBe(true);
    expect(codeOf(() => r.check('nope', '{}', []))).toBe('serde_not_found');
    expect(codeOf(() => r.decode('nope', '{}', []))).toBe('serde_not_found');
    await r.close();
  });

  it('reports every schema that does not compile and then changes nothing', async () => {
    const r = createSchemaRegistry();
    r.configure(cfg({ ok: { type: 'json', source: JSON_SCHEMA } }), dir);
    const issues = r.configure(
      cfg({
        bad: { type: 'avro', source: '{"type":"nope"}' },
        missing: { type: 'json', file: 'nope.json' },
        both: { type: 'json', source: '{}', file: 'x.json' },
        __reserved: { type: 'json', source: '{}' },
      }),
      dir,
    );
    expect(issues.map(([p]) => p).sort()).toEqual([
      'schema_registry.schemas.__reserved',
      'schema_registry.schemas.bad',
      'schema_registry.schemas.both',
      'schema_registry.schemas.missing',
    ]);
    expect(r.list().map((s) => s.name)).toEqual(['ok']);
    await r.close();
  });

  it('API schemas: create, update, delete, persisted in api_store and read back by a new registry', async () => {
    const r = createSchemaRegistry();
    r.configure(cfg({ owned: { type: 'json', source: JSON_SCHEMA } }), dir);
    r.create('a', {
      type: 'avro',
      source: '{"type":"record","name":"A","fields":[{"name":"x","type":"int"}]}',
    });
    expect(r.decode('a', r.encode('a', { x: 5 }, []), [])).toEqual({ x: 5 });
    const store = path.join(dir, 'data', 'schema_registry.json');
    expect(Object.keys(JSON.parse(readFileSync(store, 'utf8')).schemas)).toEqual(['a']);
    expect(codeOf(() => r.create('a', { type: 'json', source: '{}' }))).toBe(
      'schema_already_exists',
    );
    expect(codeOf(() => r.create('__CiscoSparkplugB', { type: 'json', source: '{}' }))).toBe(
      'schema_already_exists',
    );
    expect(codeOf(() => r.update('owned', { type: 'json', source: '{}' }))).toBe(
      'schema_config_owned',
    );
    expect(codeOf(() => r.remove('owned'))).toBe('schema_config_owned');
    expect(codeOf(() => r.create('bad', { type: 'json', source: '[' }))).toBe('schema_invalid');
    expect(codeOf(() => r.update('nope', { type: 'json', source: '{}' }))).toBe('serde_not_found');

    r.update('a', {
      type: 'json',
      source: '{"type":"object","required":["y"]}',
      description: 'v2',
    });
    // the next call sees the new version
    expect(r.check('a', '{"y":1}', [])).toBe(true);
    expect(r.get('a')?.description).toBe('v2');

    const r2 = createSchemaRegistry();
    expect(r2.configure(cfg({}), dir)).toEqual([]);
    expect(r2.get('a')).toMatchObject({ type: 'json', origin: 'api', description: 'v2' });
    r2.remove('a');
    expect(JSON.parse(readFileSync(store, 'utf8')).schemas).toEqual({});
    expect(r2.get('a')).toBeUndefined();
    await r.close();
    await r2.close();
  });

  it('a failed store write leaves the schemas unchanged (schema_store_failed)', async () => {
    const r = createSchemaRegistry({
      writeFile: () => {
        throw new Error('EROFS: read-only file system');
      },
    });
    r.configure(cfg({}), dir);
    expect(codeOf(() => r.create('a', { type: 'json', source: '{}' }))).toBe('schema_store_failed');
    expect(r.get('a')).toBeUndefined();
    await r.close();
  });

  it('knows the built-in Sparkplug B schema by its EMQX name', async () => {
    const r = createSchemaRegistry();
    r.configure(cfg({}), dir);
    const bin = r.encode('__CiscoSparkplugB', { seq: 2, metrics: [] }, ['Payload']);
    expect(r.decode('__CiscoSparkplugB', bin, ['Payload'])).toEqual({ seq: 2, metrics: [] });
    expect(r.lookup('__CiscoSparkplugB')?.type).toBe('protobuf');
    expect(r.list()).toEqual([]);
    await r.close();
  });
});
