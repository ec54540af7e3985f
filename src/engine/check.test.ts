import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { field } from '../core/index.js';
import type { SinkType } from '../core/index.js';
import { kafkaSinkType } from '../sinks/kafka/index.js';
import { checkConfig } from './check.js';

let dir = '';
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const probeType: SinkType<{ needs?: string }> = {
  type: 'probe',
  spec: field.object(
    { needs: field.string({ description: 'what it needs', optional: true }) },
    { description: 'a sink whose preflight fails' },
  ),
  create: () => ({ connect: async () => {}, write: async () => {}, close: async () => {} }),
  preflight: (c) =>
    c.needs
      ? [{ code: 'probe_missing', path: 'needs', reason: `${c.needs} is not installed` }]
      : [],
};

describe('sluice check preflight', () => {
  it('reports what a valid config still lacks on this machine, at the field, with its code', () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sluice-check-'));
    const file = path.join(dir, 'sluice.yaml');
    writeFileSync(
      file,
      'sinks:\n  ok: { type: probe }\n  bad:\n    type: probe\n    needs: libfoo\nrule_files: []\n',
    );
    const r = checkConfig(file, { sinkTypes: [probeType as SinkType<never>] });
    expect(r.issues.map((i) => [i.code, i.line, i.column, i.path, i.reason])).toEqual([
      ['probe_missing', 5, 12, 'sinks.bad.needs', 'libfoo is not installed'],
    ]);
  });

  it('the Kafka sink checks that GSSAPI can load the kerberos addon', () => {
    let loadable = true;
    try {
      createRequire(import.meta.url)('kerberos');
    } catch {
      loadable = false;
    }
    const issues = kafkaSinkType.preflight!({ authentication: { mechanism: 'gssapi' } } as never);
    if (loadable) expect(issues).toEqual([]);
    else
      expect(issues).toEqual([
        expect.objectContaining({
          code: 'kafka_gssapi_unavailable',
          path: 'authentication.mechanism',
        }),
      ]);
    expect(kafkaSinkType.preflight!({ authentication: { mechanism: 'plain' } } as never)).toEqual(
      [],
    );
  });

  it('reports a schema that does not compile at its place in the file (schema_invalid)', () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sluice-check-'));
    const file = path.join(dir, 'sluice.yaml');
    writeFileSync(
      file,
      [
        'schema_registry:',
        '  schemas:',
        '    good: { type: json, source: "{}" }',
        '    broken:',
        '      type: protobuf',
        '      source: "message {"',
        'rule_files: []',
        '',
      ].join('\n'),
    );
    const r = checkConfig(file);
    expect(r.issues.map((i) => [i.code, i.line, i.path])).toEqual([
      ['schema_invalid', 5, 'schema_registry.schemas.broken'],
    ]);
    expect(r.issues[0]?.reason).toMatch(/invalid protobuf schema/);
  });
});

describe('sluice check: schema validations and message transformations', () => {
  it('locates a SQL check and a variform expression that do not compile, with a caret at the field', () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sluice-check-'));
    const file = path.join(dir, 'sluice.yaml');
    writeFileSync(
      file,
      [
        'rule_files: []',
        'schema_validation:',
        '  validations:',
        '    - name: a',
        "      topics: ['t/#']",
        '      failure_action: drop',
        '      checks:',
        "        - { type: sql, sql: 'SELECT * WHERE (' }",
        'message_transformation:',
        '  transformations:',
        '    - name: b',
        "      topics: ['x/#']",
        '      failure_action: drop',
        '      operations:',
        '        - key: topic',
        `          value: "concat([topic, 'x'"`,
        '',
      ].join('\n'),
    );
    const r = checkConfig(file, { env: {} });
    expect(r.issues.map((i) => [i.code, i.line, i.column, i.path])).toEqual([
      ['ingress_config_invalid', 8, 29, 'schema_validation.validations[0].checks[0].sql'],
      [
        'ingress_config_invalid',
        16,
        18,
        'message_transformation.transformations[0].operations[0].value',
      ],
    ]);
    expect(r.issues[1]?.reason).toBe('column 19: missing ]');
    expect(r.issues[1]?.snippet).toContain('^');
  });
});

describe('sluice check: rule payload paths against the schema a validation guarantees', () => {
  it('reports a path the JSON Schema / Avro record cannot have, with a caret on the segment', () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sluice-check-'));
    const file = path.join(dir, 'sluice.yaml');
    const json =
      '{"type":"object","additionalProperties":false,"properties":{"temp":{"type":"number"},"site":{"type":"object","additionalProperties":false,"properties":{"name":{"type":"string"}}}}}';
    const avro =
      '{"type":"record","name":"R","fields":[{"name":"v","type":"double"},{"name":"meta","type":["null",{"type":"record","name":"M","fields":[{"name":"unit","type":"string"}]}]}]}';
    writeFileSync(
      file,
      [
        'rule_files: [rules/*.sql]',
        'sinks: { out: { type: memory } }',
        'schema_registry:',
        '  schemas:',
        `    reading: { type: json, source: '${json}' }`,
        `    rec: { type: avro, source: '${avro}' }`,
        'schema_validation:',
        '  validations:',
        "    - { name: rv, topics: ['plant/#'], failure_action: drop, checks: [{ type: json, schema: reading }] }",
        "    - { name: av, topics: ['avro/+/x'], failure_action: drop, checks: [{ type: avro, schema: rec }] }",
        // any_pass with a SQL check beside guarantees nothing: a rule on its topics is not judged
        "    - { name: loose, topics: ['loose/#'], strategy: any_pass, failure_action: drop, checks: [{ type: json, schema: reading }, { type: sql, sql: 'SELECT * WHERE true' }] }",
        '',
      ].join('\n'),
    );
    mkdirSync(path.join(dir, 'rules'));
    const rule = (id: string, ...sql: string[]) =>
      writeFileSync(
        path.join(dir, 'rules', `${id}.sql`),
        [`-- id: ${id}`, '-- actions: out', ...sql, ''].join('\n'),
      );
    rule('ok', 'SELECT payload.temp, payload.site.name FROM "plant/a/#"');
    rule(
      'bad',
      'SELECT payload.temp AS t,',
      '  payload.site.city AS c FROM "plant/#" WHERE payload.temp.x > 1',
    );
    // An Avro validation leaves the payload binary: the rule reads it through schema_decode.
    rule(
      'avro',
      'SELECT schema_decode(\'rec\', payload) AS r, r.v, r.meta.unit, r.meta.color FROM "avro/1/x"',
    );
    rule('uncovered', 'SELECT payload.nope FROM "plant/#", "other/#"');
    rule('loose', 'SELECT payload.nope FROM "loose/1"');
    const r = checkConfig(file, { env: {} });
    const got = r.issues.map((i) => [i.code, path.basename(i.file), i.line, i.column, i.rule]);
    expect(got).toEqual([
      ['rule_payload_path_impossible', 'avro.sql', 3, 68, 'avro'],
      ['rule_payload_path_impossible', 'bad.sql', 4, 15, 'bad'],
      ['rule_payload_path_impossible', 'bad.sql', 4, 59, 'bad'],
    ]);
    expect(r.issues[0]?.reason).toContain('r.meta.color cannot exist');
    expect(r.issues[0]?.reason).toContain('no branch of the union');
    expect(r.issues[1]?.reason).toContain('payload.site.city cannot exist');
    expect(r.issues[1]?.snippet).toContain('^^^^^');
    expect(r.issues[2]?.reason).toContain('number');
  });
});
