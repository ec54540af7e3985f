import { readFileSync } from 'node:fs';

import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';

import { readdirSync } from 'node:fs';
import path from 'node:path';

import {
  CONFIG_DOC,
  SCHEMA_FILE,
  TEST_SCHEMA_FILE,
  renderConfigDoc,
  renderSchema,
  renderTestSchema,
} from './gen-schema.js';
import { QUICKSTART_CONFIG } from './main.js';

describe('generated config artefacts (run `npm run gen:schema` to update)', () => {
  it('schema/sluice.schema.json is up to date', () => {
    expect(readFileSync(SCHEMA_FILE, 'utf8')).toBe(renderSchema());
  });

  it('the reference section of docs/config.md is up to date', () => {
    const doc = readFileSync(CONFIG_DOC, 'utf8');
    expect(doc).toBe(renderConfigDoc(doc));
  });

  it('the schema accepts the quickstart config and rejects an unknown key', () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    const validate = ajv.compile(JSON.parse(renderSchema()) as object);
    const quick = parse(readFileSync(QUICKSTART_CONFIG, 'utf8')) as Record<string, unknown>;
    expect(validate(quick), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ ...quick, sinks: { c: { type: 'console', bogus: 1 } } })).toBe(false);
  });

  it('schema/sluice-test.schema.json is up to date and accepts every shipped test file', () => {
    expect(readFileSync(TEST_SCHEMA_FILE, 'utf8')).toBe(renderTestSchema());
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    const validate = ajv.compile(JSON.parse(renderTestSchema()) as object);
    const root = path.resolve(import.meta.dirname, '../..');
    const files = ['quickstart', 'ocpp'].flatMap((d) =>
      readdirSync(path.join(root, 'examples', d, 'rules'))
        .filter((f) => f.endsWith('.test.yaml'))
        .map((f) => path.join(root, 'examples', d, 'rules', f)),
    );
    expect(files.length).toBeGreaterThan(3);
    for (const f of files) {
      const doc = parse(readFileSync(f, 'utf8')) as object;
      expect(validate(doc), `${f}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
    expect(validate({ tests: [{ name: 'x', expct: {} }] })).toBe(false);
  });
});
