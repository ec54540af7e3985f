/**
 * The ingress store's files (api-store.ts) with an in-memory file system: the store is written
 * before a change applies (a failed write changes nothing), read back by a new store, a bad
 * entry in it is skipped (logged), a file that is not JSON keeps the running lists, and a
 * sluice.yaml entry hides an API entry of the same name (warned) until it goes away.
 */
import { describe, expect, it } from 'vitest';

import type { Logger, SchemaRegistryPort } from '../../core/index.js';
import { silentLogger } from '../../core/index.js';
import { createDefaultServices } from '../functions/index.js';
import { createIngressStore } from './api-store.js';
import { createIngress } from './ingress.js';

const schemas = { lookup: () => undefined } as unknown as SchemaRegistryPort;
const sqlV = (name: string, topic = 'a/#') => ({
  name,
  topics: [topic],
  failure_action: 'drop',
  checks: [{ type: 'sql', sql: 'SELECT * WHERE payload.ok = true' }],
});

function setup(files: Map<string, string>, lines: { level: string; obj: object }[] = []) {
  const logger = {
    ...silentLogger,
    warn: (obj: object) => lines.push({ level: 'warn', obj }),
    error: (obj: object) => lines.push({ level: 'error', obj }),
    child: () => logger,
  } as unknown as Logger;
  const ingress = createIngress({ services: createDefaultServices(), schemas, logger });
  let failWrites = false;
  const store = createIngressStore(ingress, {
    logger,
    readFile: (f) => {
      const t = files.get(f);
      if (t === undefined) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
      return t;
    },
    writeFile: (f, t) => {
      if (failWrites) throw new Error('disk full');
      files.set(f, t);
    },
  });
  return { ingress, store, failWrites: (v: boolean) => (failWrites = v) };
}

const yaml = (validations: object[] = []) =>
  ({ schema_validation: { validations, api_store: 'v.json' } }) as never;

describe('ingress API store', () => {
  it('writes before applying; a new store reads the entries back; a failed write changes nothing', () => {
    const files = new Map<string, string>();
    const a = setup(files);
    expect(a.store.configure(yaml(), '/cfg')).toEqual([]);
    a.store.create('validation', sqlV('one'));
    expect(JSON.parse(files.get('/cfg/v.json')!).validations[0]).toMatchObject({ name: 'one' });
    expect(a.ingress.active).toBe(true);

    a.failWrites(true);
    expect(() => a.store.create('validation', sqlV('two'))).toThrow(/disk full/);
    expect(a.store.list('validation').map((e) => e.name)).toEqual(['one']);
    expect(a.ingress.list().validations.map((v) => v.name)).toEqual(['one']);

    const b = setup(files);
    expect(b.store.configure(yaml([sqlV('cfg', 'b/#')]), '/cfg')).toEqual([]);
    expect(b.store.list('validation').map((e) => `${e.name}:${e.origin}`)).toEqual([
      'cfg:config',
      'one:api',
    ]);
  });

  it('a bad entry in the file is skipped and logged; a file that is not JSON keeps the running lists', () => {
    const files = new Map([
      [
        '/cfg/v.json',
        JSON.stringify({ version: 1, validations: [sqlV('good'), { ...sqlV('bad'), topics: [] }] }),
      ],
    ]);
    const lines: { level: string; obj: object }[] = [];
    const s = setup(files, lines);
    expect(s.store.configure(yaml(), '/cfg')).toEqual([]);
    expect(s.store.list('validation').map((e) => e.name)).toEqual(['good']);
    expect(lines).toContainEqual({
      level: 'error',
      obj: expect.objectContaining({ code: 'ingress_entry_invalid', validation: 'bad' }),
    });

    files.set('/cfg/w.json', '{not json');
    const issues = s.store.configure(
      { schema_validation: { validations: [], api_store: 'w.json' } } as never,
      '/cfg',
    );
    expect(issues).toEqual([
      { path: 'schema_validation.api_store', reason: expect.stringContaining('not JSON') },
    ]);
    expect(s.store.list('validation').map((e) => e.name)).toEqual(['good']);
  });

  it('a sluice.yaml entry hides the API entry of its name (warned); it reappears when the file drops it', () => {
    const files = new Map([['/cfg/v.json', JSON.stringify({ validations: [sqlV('x', 'api/#')] })]]);
    const lines: { level: string; obj: object }[] = [];
    const s = setup(files, lines);
    expect(s.store.configure(yaml([sqlV('x', 'cfg/#')]), '/cfg')).toEqual([]);
    expect(s.store.list('validation')).toEqual([
      expect.objectContaining({ name: 'x', origin: 'config', topics: ['cfg/#'] }),
    ]);
    expect(lines).toContainEqual({
      level: 'warn',
      obj: expect.objectContaining({ code: 'ingress_config_owned' }),
    });
    expect(s.store.configure(yaml(), '/cfg')).toEqual([]);
    expect(s.store.list('validation')).toEqual([
      expect.objectContaining({ name: 'x', origin: 'api', topics: ['api/#'] }),
    ]);
  });
});
