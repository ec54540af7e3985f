/**
 * `sluice check` type-checks rule paths against schemas (issue #16 item 5): JSON Schema
 * applicators and references, Avro named types, Protobuf messages. Every case list is checked
 * twice: by `sluice check` (which paths are reported) and against the real decoder — the same
 * rule run on a sample message (src/runtime rule tester + the schema registry): a reported path
 * is undefined there, an accepted path marked `ok` is defined.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

import type { Value } from '../core/index.js';
import { createDefaultServices, runRuleTest } from '../runtime/index.js';
import { createSchemaRegistry } from '../schema-registry/index.js';
import { checkConfig } from './check.js';
import { jsonSchemaDoc, jsonSchemaWalker } from './schema-paths/json-schema.js';

let dir = '';
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = '';
});

type Schema = { type: string; source?: string; file?: string; imports?: Record<string, string> };

interface Setup {
  schemas: Record<string, Schema>;
  validations?: unknown[];
  transformations?: unknown[];
  sources?: unknown;
  rules: Record<string, string>;
  files?: Record<string, string>;
}

/** Write sluice.yaml (as JSON, a subset of YAML) and the rules; run `sluice check`. */
function check(s: Setup) {
  dir = mkdtempSync(path.join(tmpdir(), 'sluice-paths-'));
  for (const [f, body] of Object.entries(s.files ?? {})) {
    mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    writeFileSync(path.join(dir, f), body);
  }
  const cfg: Record<string, unknown> = {
    rule_files: ['rules/*.sql'],
    sinks: { out: { type: 'memory' } },
    schema_registry: { schemas: s.schemas },
  };
  if (s.validations) cfg['schema_validation'] = { validations: s.validations };
  if (s.transformations) cfg['message_transformation'] = { transformations: s.transformations };
  if (s.sources) cfg['sources'] = s.sources;
  writeFileSync(path.join(dir, 'sluice.yaml'), JSON.stringify(cfg, null, 2));
  mkdirSync(path.join(dir, 'rules'));
  for (const [id, sql] of Object.entries(s.rules))
    writeFileSync(path.join(dir, 'rules', `${id}.sql`), `-- id: ${id}\n-- actions: out\n${sql}\n`);
  const r = checkConfig(path.join(dir, 'sluice.yaml'), { env: {} });
  const other = r.issues.filter((i) => i.code !== 'rule_payload_path_impossible');
  expect(other).toEqual([]);
  return r.issues;
}

/** The reported path texts of one rule (what precedes " cannot exist"). */
const reported = (issues: ReturnType<typeof check>, rule: string): string[] =>
  issues.filter((i) => i.rule === rule).map((i) => i.reason.split(' cannot exist')[0] as string);

/**
 * A case: a path and what `sluice check` says: `ok` (accepted, defined in the sample), `absent`
 * (accepted, not set in the sample), or the reported prefix (undefined in the sample).
 */
type Case = readonly [path: string, verdict: 'ok' | 'absent' | string];

/** Run `sql` (whose SELECT ends with the cases as v0…vN) on a sample payload. */
function outputsOf(
  schemas: Record<string, Schema>,
  sql: string,
  payload: string,
): Record<string, unknown> {
  const registry = createSchemaRegistry();
  const found = registry.configure(
    { schemas, external: {}, api_store: path.join(dir, 'api.json') } as never,
    dir,
  );
  expect(found).toEqual([]);
  try {
    const services = createDefaultServices({ node: 'n@h', schemas: registry });
    const r = runRuleTest(sql, { payload, topic: 'x/1' }, { services, now: 1_700_000_000_000 });
    if (r.kind !== 'passed') throw new Error(`rule did not pass: ${JSON.stringify(r)}`);
    return r.outputs[0] as Record<string, unknown>;
  } finally {
    void registry.close();
  }
}

/** `passed` or `failed` (the rule's failure) of `sql` on a sample payload. */
function outputsOrFailure(schemas: Record<string, Schema>, sql: string, payload: string): string {
  try {
    outputsOf(schemas, sql, payload);
    return 'passed';
  } catch (e) {
    if (!String(e).includes('"kind":"failed"')) throw e;
    return 'failed';
  }
}

/** Check the cases by `sluice check` and against the decoder on `sample`. */
function verify(opts: {
  schemas: Record<string, Schema>;
  binding: string;
  cases: readonly Case[];
  sample: string;
  files?: Record<string, string>;
  validations?: unknown[];
}) {
  const items = opts.cases.map(([p], i) => `${p} AS v${i}`).join(',\n  ');
  const sql = `SELECT ${opts.binding ? `${opts.binding},\n  ` : ''}${items}\nFROM "x/#"`;
  const issues = check({
    schemas: opts.schemas,
    rules: { r: sql },
    ...(opts.files ? { files: opts.files } : {}),
    ...(opts.validations ? { validations: opts.validations } : {}),
  });
  const want = opts.cases.filter(([, v]) => v !== 'ok' && v !== 'absent').map(([, v]) => v);
  expect(reported(issues, 'r')).toEqual(want);
  const out = outputsOf(opts.schemas, sql, opts.sample);
  opts.cases.forEach(([p, v], i) => {
    const got = out[`v${i}`];
    if (v === 'ok') expect(got ?? null, `${p} in the sample`).not.toBeNull();
    else if (v !== 'absent') expect(got, `${p} in the sample`).toBeUndefined();
  });
  return issues;
}

// ---------------------------------------------------------------------------------------------
// JSON Schema

const telemetrySchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://example.com/schemas/telemetry.json',
  type: 'object',
  required: ['device', 'readings'],
  additionalProperties: false,
  properties: {
    device: { $ref: '#/$defs/device' },
    readings: { type: 'array', items: { $ref: '#/$defs/reading' }, maxItems: 100 },
    location: { $ref: 'geo.json' },
    status: { enum: ['ok', 'degraded'] },
    meta: {
      type: 'object',
      patternProperties: { '^x-': { type: 'string' } },
      additionalProperties: false,
    },
    tags: { type: 'object', additionalProperties: { type: 'integer' } },
    pair: {
      type: 'array',
      prefixItems: [{ type: 'number' }, { $ref: '#/$defs/device' }],
      items: false,
    },
    note: { type: 'string' },
    either: { oneOf: [{ $ref: '#/$defs/device' }, { $ref: '#/$defs/reading' }] },
    both: {
      allOf: [
        { $ref: '#/$defs/device' },
        { type: 'object', properties: { extra: { type: 'number' } } },
      ],
    },
    cond: {
      type: 'object',
      if: { properties: { kind: { const: 'a' } } },
      then: { properties: { kind: {}, a: { type: 'number' } }, additionalProperties: false },
      else: {
        properties: {
          kind: {},
          b: { type: 'object', additionalProperties: false, properties: { c: { type: 'number' } } },
        },
        additionalProperties: false,
      },
    },
    tree: { $ref: '#/$defs/node' },
    never: false,
    anything: true,
    num_or_obj: {
      type: ['number', 'object'],
      additionalProperties: false,
      properties: { k: { type: 'number' } },
    },
    open: { type: 'object' },
  },
  $defs: {
    device: {
      type: 'object',
      additionalProperties: false,
      properties: { id: { type: 'string' }, model: { type: 'string' } },
    },
    reading: {
      type: 'object',
      additionalProperties: false,
      properties: { t: { type: 'number' }, v: { type: 'number' }, unit: { $ref: '#unit' } },
    },
    unitDef: { $anchor: 'unit', enum: ['C', 'F'] },
    geo: {
      $id: 'geo.json',
      type: 'object',
      additionalProperties: false,
      properties: {
        lat: { type: 'number' },
        lon: { type: 'number' },
        alt: { $ref: '#/$defs/meters' },
      },
      $defs: { meters: { type: 'number' } },
    },
    node: {
      type: 'object',
      additionalProperties: false,
      properties: {
        name: { type: 'string' },
        children: { type: 'array', items: { $ref: '#/$defs/node' } },
      },
    },
  },
};

const telemetrySample = {
  device: { id: 'd1', model: 'm' },
  readings: [{ t: 1, v: 2, unit: 'C' }],
  location: { lat: 1, lon: 2, alt: 3 },
  status: 'ok',
  meta: { 'x-color': 'red' },
  tags: { a: 1 },
  pair: [1, { id: 'p' }],
  note: '{"a":{"b":1}}',
  either: { id: 'e' },
  both: { id: 'b' },
  cond: { kind: 'b', b: { c: 1 } },
  tree: { name: 'r', children: [{ name: 'c1', children: [{ name: 'g' }, { name: 'g2' }] }] },
  anything: { x: { y: 1 } },
  num_or_obj: { k: 1 },
  open: { z: 1 },
};

const jsonCases: readonly Case[] = [
  ['t.device.id', 'ok'],
  ['t.device.serial', 't.device.serial'],
  ['t.zzz', 't.zzz'],
  ['t.readings[1].t', 'ok'],
  ['t.readings[-1].v', 'ok'],
  ['t.readings[1].unit.x', 't.readings[1].unit.x'],
  ['t.readings[101]', 't.readings[101]'],
  ['t.readings[0]', 't.readings[0]'],
  ['t.readings.t', 't.readings.t'],
  ['t.location.lat', 'ok'],
  ['t.location.alt', 'ok'],
  ['t.location.city', 't.location.city'],
  ['t.location.alt.x', 't.location.alt.x'],
  ['t.status.x', 't.status.x'],
  ["t.meta.'x-color'", 'ok'],
  ['t.meta.color', 't.meta.color'],
  ['t.tags.a', 'ok'],
  ['t.tags.a.b', 't.tags.a.b'],
  ['t.pair[2].id', 'ok'],
  ['t.pair[1].x', 't.pair[1].x'],
  ['t.pair[3]', 't.pair[3]'],
  // a string can hold JSON: navigating it decodes it, so it is never judged
  ['t.note.a.b', 'ok'],
  ['t.either.id', 'ok'],
  ['t.either.t', 'absent'],
  ['t.either.zzz', 't.either.zzz'],
  ['t.both.id', 'ok'],
  // allOf is an intersection: the closed device branch forbids `extra`
  ['t.both.extra', 't.both.extra'],
  ['t.cond.b.c', 'ok'],
  ['t.cond.a', 'absent'],
  ['t.cond.b.d', 't.cond.b.d'],
  ['t.cond.zz', 't.cond.zz'],
  ['t.tree.children[1].children[2].name', 'ok'],
  ['t.tree.children[1].nme', 't.tree.children[1].nme'],
  ['t.never', 't.never'],
  ['t.anything.x.y', 'ok'],
  ['t.num_or_obj.k', 'ok'],
  ['t.num_or_obj.j', 't.num_or_obj.j'],
  ['t.open.z', 'ok'],
];

describe('sluice check: JSON Schema paths', () => {
  it('follows $ref ($defs, $id-relative, $anchor), allOf/anyOf/oneOf, if/then/else, additional and pattern properties, prefixItems, type arrays, boolean schemas, enums', () => {
    verify({
      schemas: { telemetry: { type: 'json', source: JSON.stringify(telemetrySchema) } },
      binding: "schema_decode('telemetry', payload) AS t",
      cases: jsonCases,
      sample: JSON.stringify(telemetrySample),
    });
  });

  it('reads draft-07 (definitions, items arrays + additionalItems) and draft-04 (id, no const)', () => {
    const d7 = {
      $schema: 'http://json-schema.org/draft-07/schema#',
      definitions: {
        site: {
          type: 'object',
          additionalProperties: false,
          properties: { name: { type: 'string' } },
        },
      },
      type: 'object',
      properties: {
        site: { $ref: '#/definitions/site' },
        xs: {
          type: 'array',
          items: [{ type: 'string' }, { type: 'number' }],
          additionalItems: false,
        },
        k: { const: 5 },
      },
    };
    const d4 = {
      $schema: 'http://json-schema.org/draft-04/schema#',
      id: 'http://example.com/root.json',
      type: 'object',
      additionalProperties: false,
      properties: {
        a: { $ref: '#/definitions/a' },
        b: { $ref: 'other.json#/properties/x' },
        k: { const: 5 },
      },
      definitions: {
        a: { type: 'object', additionalProperties: false, properties: { n: { type: 'number' } } },
        other: { id: 'other.json', type: 'object', properties: { x: { type: 'boolean' } } },
      },
    };
    const schemas = {
      d7: { type: 'json', source: JSON.stringify(d7) },
      d4: { type: 'json', source: JSON.stringify(d4) },
    };
    verify({
      schemas,
      binding: "schema_decode('d7', payload) AS t",
      cases: [
        ['t.site.name', 'ok'],
        ['t.site.city', 't.site.city'],
        ['t.xs[1]', 'ok'],
        ['t.xs[2].x', 't.xs[2].x'],
        ['t.xs[3]', 't.xs[3]'],
        ['t.k.x', 't.k.x'],
        ['t.other', 'absent'],
      ],
      sample: JSON.stringify({ site: { name: 'n' }, xs: ['a', 1], k: 5 }),
    });
    verify({
      schemas,
      binding: "schema_decode('d4', payload) AS t",
      cases: [
        ['t.a.n', 'ok'],
        ['t.a.m', 't.a.m'],
        ['t.b', 'ok'],
        ['t.b.y', 't.b.y'],
        ['t.c', 't.c'],
        // `const` is not a draft-04 keyword: k may be anything
        ['t.k.x', 'absent'],
      ],
      sample: JSON.stringify({ a: { n: 1 }, b: true, k: 5 }),
    });
  });

  it('follows recursive references', () => {
    const rec = {
      type: 'object',
      additionalProperties: false,
      properties: {
        self: { $ref: '#' },
        v: { type: 'number' },
      },
    };
    verify({
      schemas: { rec: { type: 'json', source: JSON.stringify(rec) } },
      binding: "schema_decode('rec', payload) AS t",
      cases: [
        ['t.self.self.self.v', 'ok'],
        ['t.self.self.w', 't.self.self.w'],
        ['t.self.v.x', 't.self.v.x'],
      ],
      sample: JSON.stringify({ self: { self: { self: { v: 1 } } }, v: 1 }),
    });
  });

  it('a range [m..n] on what cannot be a list is reported: it fails the rule (strings are not decoded for a range)', () => {
    const schemas = { telemetry: { type: 'json', source: JSON.stringify(telemetrySchema) } };
    const cases: Case[] = [
      ['t.device[1..2]', 't.device[1..2]'],
      ['t.note[1..2]', 't.note[1..2]'],
      ['t.readings[1..1]', 'ok'],
      ['t.anything[1..2]', 'absent'],
    ];
    const rules = Object.fromEntries(
      cases.map(([p], i) => [
        `s${i}`,
        `SELECT schema_decode('telemetry', payload) AS t, ${p} AS v FROM "x/#"`,
      ]),
    );
    const issues = check({ schemas, rules });
    cases.forEach(([, want], i) =>
      expect(reported(issues, `s${i}`)).toEqual(want === 'ok' || want === 'absent' ? [] : [want]),
    );
    expect(issues.find((i) => i.rule === 's0')?.reason).toContain('range_get: non_list_data');
    // the decoder agrees: the reported ones fail the rule on the sample, the others do not
    const sample = JSON.stringify(telemetrySample);
    const kinds = cases.map(([p]) =>
      outputsOrFailure(
        schemas,
        `SELECT schema_decode('telemetry', payload) AS t, ${p} AS v FROM "x/#"`,
        sample,
      ),
    );
    // (`anything` is accepted — the schema allows a list there — though this sample holds a map)
    expect(kinds).toEqual(['failed', 'failed', 'passed', 'failed']);
  });

  it('a reference cycle (which Ajv refuses to compile) ends in "not judged", not in a loop', () => {
    const cyclic = {
      type: 'object',
      additionalProperties: false,
      properties: { loop: { $ref: '#/$defs/a' }, v: { type: 'number' } },
      $defs: { a: { $ref: '#/$defs/b' }, b: { $ref: '#/$defs/a' } },
    };
    const w = jsonSchemaWalker([[jsonSchemaDoc(cyclic)]]);
    const loop = w.step({ k: 'key', key: 'loop' });
    expect(loop.kind).toBe('next');
    if (loop.kind === 'next')
      expect(loop.next.step({ k: 'key', key: 'x' })).toEqual({ kind: 'unknown' });
    expect(w.step({ k: 'key', key: 'w' }).kind).toBe('no');
  });

  it('a schema the registry refuses (schema_invalid) judges nothing', () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sluice-paths-'));
    mkdirSync(path.join(dir, 'rules'));
    const bad = { type: 'objekt', additionalProperties: false, properties: { a: {} } };
    writeFileSync(
      path.join(dir, 'sluice.yaml'),
      JSON.stringify({
        rule_files: ['rules/*.sql'],
        sinks: { out: { type: 'memory' } },
        schema_registry: { schemas: { bad: { type: 'json', source: JSON.stringify(bad) } } },
      }),
    );
    writeFileSync(
      path.join(dir, 'rules', 'r.sql'),
      '-- id: r\n-- actions: out\nSELECT schema_decode(\'bad\', payload) AS b, b.nope FROM "x/#"\n',
    );
    const r = checkConfig(path.join(dir, 'sluice.yaml'), { env: {} });
    expect(r.issues.map((i) => i.code)).toEqual(['schema_invalid']);
  });

  it('type checks only navigation: a comparison of a string field with a number is not reported', () => {
    const issues = check({
      schemas: { telemetry: { type: 'json', source: JSON.stringify(telemetrySchema) } },
      rules: {
        cmp: 'SELECT schema_decode(\'telemetry\', payload) AS t FROM "x/#" WHERE t.device.id > 5 and t.status = 1',
      },
    });
    expect(issues).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// Payload paths on topics a JSON validation guards

const site = JSON.stringify({
  type: 'object',
  additionalProperties: false,
  properties: {
    temp: { type: 'number' },
    site: { type: 'object', additionalProperties: false, properties: { name: { type: 'string' } } },
    readings: {
      type: 'array',
      items: { type: 'object', additionalProperties: false, properties: { v: { type: 'number' } } },
    },
  },
});
const other = JSON.stringify({
  type: 'object',
  additionalProperties: false,
  properties: { city: { type: 'string' }, temp: { type: 'number' } },
});
const v = (name: string, topics: string[], checks: string[], extra: object = {}) => ({
  name,
  topics,
  failure_action: 'drop',
  checks: checks.map((s) =>
    s === 'sql' ? { type: 'sql', sql: 'SELECT * WHERE true' } : { type: 'json', schema: s },
  ),
  ...extra,
});

describe('sluice check: payload paths on topics a validation guards', () => {
  it('judges payload paths, payload aliases and FOREACH elements; the caret is on the segment', () => {
    const issues = check({
      schemas: { site: { type: 'json', source: site } },
      validations: [v('sv', ['plant/#'], ['site'])],
      rules: {
        a: 'SELECT payload.temp, payload.site.name, payload.site.city FROM "plant/+/r"',
        alias: 'SELECT payload AS p, json_decode(payload) AS d, p.nope, d.site.zip FROM "plant/1"',
        each: 'FOREACH payload.readings AS r DO r.v, r.w INCASE r.u > 0 FROM "plant/#" WHERE payload.temp > 0',
        item: 'FOREACH payload.readings DO item.v, item.w FROM "plant/#"',
        // an index variable inside a payload path reads the payload document: not judged
        docidx: 'SELECT payload.readings[nope] AS x FROM "plant/#"',
      },
    });
    expect(reported(issues, 'a')).toEqual(['payload.site.city']);
    expect(reported(issues, 'alias')).toEqual(['p.nope', 'd.site.zip']);
    expect(reported(issues, 'each')).toEqual(['r.w', 'r.u']);
    expect(reported(issues, 'item')).toEqual(['item.w']);
    expect(reported(issues, 'docidx')).toEqual([]);
    const a = issues.find((i) => i.rule === 'a')!;
    expect([path.basename(a.file), a.line, a.column]).toEqual(['a.sql', 3, 53]);
    expect(a.snippet).toContain('^^^^^');
    expect(a.reason).toBe(
      'payload.site.city cannot exist: validation sv guarantees schema site on these topics, and the schema allows only "name" here',
    );
  });

  it('combines validations: all_pass and several validations intersect, any_pass and several FROM filters unite', () => {
    const issues = check({
      schemas: { site: { type: 'json', source: site }, other: { type: 'json', source: other } },
      validations: [
        v('both', ['both/#'], ['site', 'other']),
        v('a1', ['two/#'], ['site']),
        v('a2', ['two/#'], ['other']),
        v('any', ['any/#'], ['site', 'other'], { strategy: 'any_pass' }),
        v('anysql', ['anysql/#'], ['site', 'sql'], { strategy: 'any_pass' }),
        v('f1', ['f1/#'], ['site']),
        v('f2', ['f2/#'], ['other']),
      ],
      rules: {
        both: 'SELECT payload.site, payload.city, payload.temp FROM "both/1"',
        two: 'SELECT payload.site, payload.temp FROM "two/1"',
        any: 'SELECT payload.site, payload.city, payload.nope FROM "any/1"',
        anysql: 'SELECT payload.nope FROM "anysql/1"',
        from2: 'SELECT payload.site, payload.city, payload.nope FROM "f1/#", "f2/#"',
        uncovered: 'SELECT payload.nope FROM "f1/#", "elsewhere/#"',
      },
    });
    expect(reported(issues, 'both')).toEqual(['payload.site', 'payload.city']);
    expect(reported(issues, 'two')).toEqual(['payload.site']);
    expect(reported(issues, 'any')).toEqual(['payload.nope']);
    expect(reported(issues, 'anysql')).toEqual([]);
    expect(reported(issues, 'from2')).toEqual(['payload.nope']);
    expect(reported(issues, 'uncovered')).toEqual([]);
  });

  it('judges nothing where the payload may not be what the validation saw', () => {
    const rules = { r: 'SELECT payload.nope FROM "plant/1"' };
    const schemas = { site: { type: 'json', source: site } };
    // the control: this one is judged (also with an API store holding other topics' entries)
    expect(
      reported(check({ schemas, validations: [v('sv', ['plant/#'], ['site'])], rules }), 'r'),
    ).toEqual(['payload.nope']);
    const elsewhere = JSON.stringify({
      transformations: [
        { name: 'o', enable: true, topics: ['other/#'], failure_action: 'drop', operations: [] },
      ],
    });
    expect(
      reported(
        check({
          schemas,
          validations: [v('sv', ['plant/#'], ['site'])],
          rules,
          files: { 'data/message_transformations.json': elsewhere },
        }),
        'r',
      ),
    ).toEqual(['payload.nope']);
    const cases: Omit<Setup, 'schemas' | 'rules'>[] = [
      { validations: [v('sv', ['plant/#'], ['site'], { failure_action: 'ignore' })] },
      { validations: [v('sv', ['plant/#'], ['site'], { enable: false })] },
      // a transformation on these topics may change the payload
      {
        validations: [v('sv', ['plant/#'], ['site'])],
        transformations: [
          {
            name: 't',
            topics: ['plant/+'],
            failure_action: 'drop',
            operations: [{ key: 'payload.nope', value: '1' }],
          },
        ],
      },
      // a transformation rewriting topics anywhere may route unvalidated messages here
      {
        validations: [v('sv', ['plant/#'], ['site'])],
        transformations: [
          {
            name: 't',
            topics: ['raw/#'],
            failure_action: 'drop',
            operations: [{ key: 'topic', value: "'plant/1'" }],
          },
        ],
      },
      // a transformation created over the API (its store file) on these topics
      {
        validations: [v('sv', ['plant/#'], ['site'])],
        files: {
          'data/message_transformations.json': JSON.stringify({
            transformations: [
              {
                name: 'api',
                enable: true,
                topics: ['plant/1'],
                failure_action: 'drop',
                operations: [],
              },
            ],
          }),
        },
      },
      // a store that cannot be read: what runs is unknown
      {
        validations: [v('sv', ['plant/#'], ['site'])],
        files: { 'data/message_transformations.json': '{' },
      },
      // events from an external broker skip the embedded broker's ingress
      {
        validations: [v('sv', ['plant/#'], ['site'])],
        sources: { mode: 'mqtt', mqtt: { url: 'mqtt://127.0.0.1:1883' } },
      },
    ];
    for (const c of cases)
      expect(reported(check({ schemas, rules, ...c }), 'r'), JSON.stringify(c)).toEqual([]);
  });

  it('does not judge payload once an item writes it, nor an alias read before it is set or set twice', () => {
    const issues = check({
      schemas: { site: { type: 'json', source: site }, other: { type: 'json', source: other } },
      validations: [v('sv', ['plant/#'], ['site'])],
      rules: {
        shadow: 'SELECT payload.nope1, payload.temp AS payload, payload.nope2 FROM "plant/1"',
        // `SELECT payload.readings[1].v` writes payload.readings as a fresh one-item list
        idxwrite: 'SELECT payload.readings[1].w, payload.nope FROM "plant/1"',
        // `payload AS p` after payload was rewritten is not the message payload
        late: 'SELECT payload AS p1, 1 AS payload.temp, payload AS p2, p1.nope1, p2.nope2 FROM "plant/1"',
        rebind:
          "SELECT schema_decode('site', payload) AS d, d.nope1, schema_decode('other', payload) AS d, d.city, d.nope2 FROM \"t/1\"",
        implicit: 'SELECT payload.temp, payload.nope FROM "plant/1"',
        before: 'SELECT d.nope, schema_decode(\'site\', payload) AS d FROM "plant/1"',
        twice: 'SELECT schema_decode(\'site\', payload) AS d, 1 AS d, d.nope FROM "plant/1"',
        where: 'SELECT schema_decode(\'site\', payload) AS d FROM "t/1" WHERE d.nope = 1',
      },
    });
    expect(reported(issues, 'shadow')).toEqual(['payload.nope1']);
    expect(reported(issues, 'idxwrite')).toEqual(['payload.readings[1].w']);
    expect(reported(issues, 'late')).toEqual(['p1.nope1']);
    expect(reported(issues, 'rebind')).toEqual(['d.nope1', 'd.nope2']);
    expect(reported(issues, 'implicit')).toEqual(['payload.nope']);
    expect(reported(issues, 'before')).toEqual([]);
    expect(reported(issues, 'twice')).toEqual([]);
    expect(reported(issues, 'where')).toEqual(['d.nope']);
  });

  it('an Avro or Protobuf validation leaves the payload binary: payload paths are not judged', () => {
    const issues = check({
      schemas: {
        rec: {
          type: 'avro',
          source: '{"type":"record","name":"R","fields":[{"name":"v","type":"double"}]}',
        },
        pb: { type: 'protobuf', source: 'syntax = "proto3"; message M { double v = 1; }' },
      },
      validations: [
        {
          name: 'a',
          topics: ['a/#'],
          failure_action: 'drop',
          checks: [{ type: 'avro', schema: 'rec' }],
        },
        {
          name: 'p',
          topics: ['p/#'],
          failure_action: 'drop',
          checks: [{ type: 'protobuf', schema: 'pb', message_type: 'M' }],
        },
      ],
      rules: {
        a: 'SELECT payload.nope FROM "a/1"',
        p: 'SELECT payload.nope FROM "p/1"',
        pd: "SELECT schema_decode('pb', payload, 'M') AS m, m.v, m.nope FROM \"p/1\"",
      },
    });
    expect(reported(issues, 'a')).toEqual([]);
    expect(reported(issues, 'p')).toEqual([]);
    expect(reported(issues, 'pd')).toEqual(['m.nope']);
    // why: the rule sees the binary, and payload.v JSON-decodes it — the rule fails; through
    // schema_decode it reads the field
    const schemas = {
      pb: { type: 'protobuf', source: 'syntax = "proto3"; message M { double v = 1; }' },
    };
    const bin = Buffer.from([0x09, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f]); // M{v: 1.5}
    const run = (sql: string, payload = bin.toString('latin1')) => {
      const registry = createSchemaRegistry();
      registry.configure(
        { schemas, external: {}, api_store: path.join(dir, 'a.json') } as never,
        dir,
      );
      const services = createDefaultServices({ node: 'n@h', schemas: registry });
      const r = runRuleTest(sql, { payload, topic: 'p/1' }, { services, now: 0 });
      void registry.close();
      return r;
    };
    expect(run('SELECT payload.v AS v FROM "p/1"')).toMatchObject({
      kind: 'failed',
      code: 'decode_json_failed',
    });
    expect(
      run(
        "SELECT schema_decode('pb', base64_decode(payload), 'M') AS m, m.v AS v FROM \"p/1\"",
        bin.toString('base64'),
      ),
    ).toMatchObject({ kind: 'passed', outputs: [{ v: 1.5 }] });
  });
});

// ---------------------------------------------------------------------------------------------
// Avro

const avroTelemetry = {
  type: 'record',
  name: 'Telemetry',
  namespace: 'com.acme.iot',
  fields: [
    {
      name: 'device',
      type: {
        type: 'record',
        name: 'Device',
        fields: [
          { name: 'id', type: 'string' },
          { name: 'kind', type: { type: 'enum', name: 'Kind', symbols: ['SENSOR', 'GATEWAY'] } },
        ],
      },
    },
    { name: 'parent', type: ['null', 'Device'], default: null },
    { name: 'origin', type: ['null', 'com.acme.iot.Device'], default: null },
    {
      name: 'geo',
      type: {
        type: 'record',
        name: 'Geo',
        namespace: 'com.acme.geo',
        fields: [
          { name: 'lat', type: 'double' },
          { name: 'lon', type: 'double' },
        ],
      },
    },
    { name: 'geo2', type: 'com.acme.geo.Geo' },
    {
      name: 'readings',
      type: {
        type: 'array',
        items: {
          type: 'record',
          name: 'Reading',
          fields: [
            { name: 't', type: { type: 'long', logicalType: 'timestamp-millis' } },
            { name: 'v', type: ['null', 'double', 'string'] },
          ],
        },
      },
    },
    { name: 'labels', type: { type: 'map', values: 'string' } },
    { name: 'counters', type: { type: 'map', values: 'long' } },
    { name: 'mac', type: { type: 'fixed', name: 'Mac', size: 6 } },
    { name: 'raw', type: 'bytes' },
    { name: 'next', type: ['null', 'Telemetry'], default: null },
  ],
};

describe('sluice check: Avro paths', () => {
  it('resolves named types by name and full name across namespaces, unions, enums, fixed, maps, arrays, recursion', () => {
    const schemas = { tel: { type: 'avro', source: JSON.stringify(avroTelemetry) } };
    const dev = { id: 'd1', kind: 'SENSOR' };
    const geo = { lat: 1.5, lon: 2.5 };
    const value = {
      device: dev,
      parent: dev,
      origin: null,
      geo,
      geo2: geo,
      readings: [{ t: 1, v: 'x' }],
      labels: { site: '{"a":1}' },
      counters: { n: 1 },
      mac: Buffer.from('{"a":}'),
      raw: Buffer.from('{"j":1}'),
      next: {
        ...{
          device: dev,
          parent: null,
          origin: null,
          geo,
          geo2: geo,
          readings: [],
          labels: {},
          counters: {},
          mac: Buffer.alloc(6),
          raw: Buffer.alloc(0),
        },
        next: {
          device: dev,
          parent: null,
          origin: null,
          geo,
          geo2: geo,
          readings: [],
          labels: {},
          counters: {},
          mac: Buffer.alloc(6),
          raw: Buffer.alloc(0),
          next: null,
        },
      },
    };
    dir = mkdtempSync(path.join(tmpdir(), 'sluice-paths-'));
    const reg = createSchemaRegistry();
    reg.configure({ schemas, external: {}, api_store: path.join(dir, 'a.json') } as never, dir);
    const bin = reg.encode('tel', value as unknown as Value, []) as Buffer;
    void reg.close();
    rmSync(dir, { recursive: true, force: true });
    verify({
      schemas,
      binding: "schema_decode('tel', base64_decode(payload)) AS t",
      cases: [
        ['t.device.id', 'ok'],
        ['t.device.serial', 't.device.serial'],
        ['t.device.kind', 'ok'],
        ['t.device.kind.x', 't.device.kind.x'],
        ['t.parent.id', 'ok'],
        ['t.parent.x', 't.parent.x'],
        ['t.origin.kind', 'absent'],
        ['t.geo.lat', 'ok'],
        ['t.geo.alt', 't.geo.alt'],
        ['t.geo2.lon', 'ok'],
        ['t.geo2.x', 't.geo2.x'],
        ['t.readings[1].v', 'ok'],
        ['t.readings[1].v.x', 'absent'],
        ['t.readings[1].t.x', 't.readings[1].t.x'],
        ['t.readings.t', 't.readings.t'],
        ['t.labels.site.a', 'ok'],
        ['t.counters.n.b', 't.counters.n.b'],
        ['t.raw.j', 'ok'],
        ['t.mac.x', 'absent'],
        ['t.next.next.device.id', 'ok'],
        ['t.next.next.nope', 't.next.next.nope'],
        ['t.device[1]', 't.device[1]'],
      ],
      sample: bin.toString('base64'),
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Protobuf

const mainProto = `
syntax = "proto3";
package acme.iot.v1;

import "google/protobuf/timestamp.proto";
import "google/protobuf/struct.proto";
import "google/protobuf/any.proto";
import "google/protobuf/wrappers.proto";
import "common/geo.proto";

// A device report.
message Telemetry {
  string device_id = 1;
  google.protobuf.Timestamp ts = 2;
  repeated Reading readings = 3;
  map<string, string> labels = 4;
  map<string, Reading> by_sensor = 5;
  acme.common.Geo geo = 6;
  oneof source {
    Gateway gateway = 7;
    string direct = 8;
  }
  google.protobuf.Struct extra = 9;
  google.protobuf.Any details = 10;
  google.protobuf.DoubleValue battery = 11;
  Status status = 12;
  Telemetry previous = 13;
  bytes raw = 14;
  optional int32 rssi = 15 [deprecated = true];

  message Reading {
    string sensor = 1;
    double value = 2;
    Unit unit = 3;
  }
  enum Unit { UNIT_UNSPECIFIED = 0; CELSIUS = 1; }
  reserved 20 to 30;
}

message Gateway {
  string id = 1;
  Telemetry.Reading last = 2;
}

enum Status { STATUS_UNSPECIFIED = 0; OK = 1; }

service Ingest { rpc Send (Telemetry) returns (google.protobuf.Any); }
`;
const geoProto =
  'syntax = "proto3";\npackage acme.common;\nmessage Geo { double lat = 1; double lon = 2; }\n';

describe('sluice check: Protobuf paths', () => {
  it('follows packages, imports (inline and files), nested types, oneof, map<>, repeated, enums and well-known types as schema_decode renders them', () => {
    const schemas = {
      tel: { type: 'protobuf', file: 'schemas/telemetry.proto' },
      inline: { type: 'protobuf', source: mainProto, imports: { 'common/geo.proto': geoProto } },
    };
    const files = { 'schemas/telemetry.proto': mainProto, 'schemas/common/geo.proto': geoProto };
    const reading = { sensor: 's1', value: 21.5, unit: 'CELSIUS' };
    const value = {
      device_id: 'd1',
      ts: { seconds: 1700000000, nanos: 5 },
      readings: [reading],
      labels: { site: '{"a":1}' },
      by_sensor: { s1: reading },
      geo: { lat: 1, lon: 2 },
      gateway: { id: 'g', last: reading },
      extra: {
        fields: {
          k: { numberValue: 1.5 },
          s: { structValue: { fields: { j: { stringValue: 'x' } } } },
        },
      },
      details: { type_url: 'type.googleapis.com/x', value: Buffer.from('{"q":1}') },
      battery: { value: 3.5 },
      status: 'OK',
      previous: { device_id: 'p', previous: { device_id: 'pp' } },
      raw: Buffer.from('{"j":1}'),
      rssi: -40,
    };
    dir = mkdtempSync(path.join(tmpdir(), 'sluice-paths-'));
    for (const [f, body] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
      writeFileSync(path.join(dir, f), body);
    }
    const reg = createSchemaRegistry();
    expect(
      reg.configure({ schemas, external: {}, api_store: path.join(dir, 'a.json') } as never, dir),
    ).toEqual([]);
    const bin = reg.encode('tel', value as unknown as Value, ['acme.iot.v1.Telemetry']) as Buffer;
    void reg.close();
    rmSync(dir, { recursive: true, force: true });
    const cases: readonly Case[] = [
      ['t.device_id', 'ok'],
      // keepCase: the names as written, never camelCase
      ['t.deviceId', 't.deviceId'],
      ['t.ts.seconds', 'ok'],
      ['t.ts.millis', 't.ts.millis'],
      ['t.readings[1].value', 'ok'],
      ['t.readings[-1].unit', 'ok'],
      ['t.readings.value', 't.readings.value'],
      ['t.readings[1].val', 't.readings[1].val'],
      ['t.readings[1].unit.x', 't.readings[1].unit.x'],
      ['t.labels.site.a', 'ok'],
      ['t.by_sensor.s1.value', 'ok'],
      ['t.by_sensor.s1.nope', 't.by_sensor.s1.nope'],
      ['t.geo.lat', 'ok'],
      ['t.geo.alt', 't.geo.alt'],
      ['t.geo[1]', 't.geo[1]'],
      ['t.gateway.last.sensor', 'ok'],
      ['t.gateway.name', 't.gateway.name'],
      ['t.direct', 'absent'],
      // the oneof's name is not a key of the decoded map
      ['t.source', 't.source'],
      ['t.extra.fields.k.numberValue', 'ok'],
      ['t.extra.fields.s.structValue.fields.j.stringValue', 'ok'],
      ['t.extra.fields.k.number_value', 't.extra.fields.k.number_value'],
      ['t.extra.k', 't.extra.k'],
      ['t.details.type_url', 'ok'],
      ['t.details.value.q', 'ok'],
      ['t.battery.value', 'ok'],
      ['t.battery.value.x', 't.battery.value.x'],
      ['t.status.x', 't.status.x'],
      ['t.previous.previous.device_id', 'ok'],
      ['t.previous.previous.nope', 't.previous.previous.nope'],
      ['t.raw.j', 'ok'],
      ['t.rssi', 'ok'],
      ['t.rssi.x', 't.rssi.x'],
    ];
    for (const [name, msg] of [
      ['tel', 'acme.iot.v1.Telemetry'],
      ['inline', '.acme.iot.v1.Telemetry'],
      // schema_decode finds a type by its short name too (protobufjs looks below the root)
      ['tel', 'Telemetry'],
    ] as const)
      verify({
        schemas,
        files,
        binding: `schema_decode('${name}', base64_decode(payload), '${msg}') AS t`,
        cases,
        sample: bin.toString('base64'),
      });
  });

  it('judges a nested message by its path, keeps proto2 extensions open, and skips unknown message types', () => {
    const proto2 = `
      syntax = "proto2";
      package p2;
      message Ext {
        optional string a = 1;
        optional int32 n = 2;
        extensions 100 to 199;
        message Inner { required bool on = 1; }
        optional Inner inner = 3;
      }
      message Plain { optional int32 n = 1; }
      message Bag { repeated Ext exts = 1; }
      extend Plain { optional string more = 100; }
    `;
    const issues = check({
      schemas: { p2: { type: 'protobuf', source: proto2 } },
      rules: {
        ext: "SELECT schema_decode('p2', payload, 'p2.Ext') AS e, e.zzz, e.n.x, e.inner.on, e.inner.off FROM \"x/#\"",
        inner: "SELECT schema_decode('p2', payload, 'p2.Ext.Inner') AS i, i.on, i.off FROM \"x/#\"",
        plain: "SELECT schema_decode('p2', payload, 'p2.Plain') AS p, p.more, p.n.x FROM \"x/#\"",
        unknown: "SELECT schema_decode('p2', payload, 'p2.Nope') AS u, u.x FROM \"x/#\"",
        each: "FOREACH schema_decode('p2', payload, 'p2.Bag') AS b, b.exts AS e DO e.n, e.n.x INCASE e.inner.off FROM \"x/#\"",
        notype: 'SELECT schema_decode(\'p2\', payload) AS u, u.x FROM "x/#"',
      },
    });
    expect(reported(issues, 'ext')).toEqual(['e.n.x', 'e.inner.off']);
    expect(reported(issues, 'inner')).toEqual(['i.off']);
    expect(reported(issues, 'plain')).toEqual(['p.n.x']);
    expect(reported(issues, 'unknown')).toEqual([]);
    expect(reported(issues, 'each')).toEqual(['e.n.x', 'e.inner.off']);
    expect(reported(issues, 'notype')).toEqual([]);
  });
});
