import { describe, expect, it } from 'vitest';

import type { SchemaRegistryPort, Value, ValueMap } from '../../core/index.js';
import { silentLogger } from '../../core/index.js';
import { createDefaultServices } from '../functions/index.js';
import { createIngress, withFrom } from './ingress.js';
import type { IngressConfig, TransformationConfig, ValidationConfig } from './ingress.js';

/** A registry with one "schema": `num` accepts JSON whose `n` is a number. */
const schemas = {
  lookup: (name: string) =>
    name === 'num'
      ? {
          name,
          type: 'json' as const,
          decode: (d: Value) => d,
          encode: (d: Value) => d,
          check: (d: Value) => {
            try {
              return typeof JSON.parse(String(d)).n === 'number';
            } catch {
              return false;
            }
          },
        }
      : undefined,
} as unknown as SchemaRegistryPort;

function make(cfg: IngressConfig) {
  const ing = createIngress({ services: createDefaultServices(), schemas, logger: silentLogger });
  expect(ing.configure(cfg)).toEqual([]);
  return ing;
}
const v = (o: Partial<ValidationConfig>): ValidationConfig => ({
  name: 'v',
  enable: true,
  topics: ['t/#'],
  strategy: 'all_pass',
  failure_action: 'drop',
  log_failure: { level: 'none' },
  checks: [{ type: 'sql', sql: 'SELECT * WHERE payload.n > 0' }],
  ...o,
});
const t = (o: Partial<TransformationConfig>): TransformationConfig => ({
  name: 'x',
  enable: true,
  topics: ['t/#'],
  failure_action: 'drop',
  log_failure: { level: 'none' },
  payload_decoder: { type: 'json' },
  payload_encoder: { type: 'json' },
  operations: [],
  ...o,
});
function cols(payload: string, extra: ValueMap = {}): () => ValueMap {
  return () => ({
    clientid: 'c1',
    username: 'u1',
    payload: Buffer.from(payload),
    topic: 't/1',
    qos: 1,
    flags: { dup: false, retain: false },
    pub_props: { 'User-Property': { a: '1' } },
    ...extra,
  });
}

describe('withFrom', () => {
  it.each([
    ['SELECT * WHERE x > 1', 'SELECT *  FROM "#" WHERE x > 1'],
    ['SELECT a', 'SELECT a FROM "#"'],
    ["SELECT 'where' AS w WHERE true", `SELECT 'where' AS w  FROM "#" WHERE true`],
    ['SELECT nowhere WHERE true', 'SELECT nowhere  FROM "#" WHERE true'],
  ])('%s', (sql, want) => expect(withFrom(sql)).toBe(want));
});

describe('schema validation', () => {
  it('is inactive with nothing configured, and for a topic no validation covers returns null without building columns', () => {
    expect(make({}).active).toBe(false);
    const ing = make({ schema_validation: { validations: [v({})] } });
    expect(ing.active).toBe(true);
    let built = 0;
    expect(ing.inspect('other', () => (built++, {}))).toBeNull();
    expect(built).toBe(0);
  });

  it.each(['drop', 'disconnect'] as const)(
    '%s: the failing message gets that action and one failure',
    (action) => {
      const ing = make({ schema_validation: { validations: [v({ failure_action: action })] } });
      expect(ing.inspect('t/1', cols('{"n":1}'))).toBeNull();
      expect(ing.inspect('t/1', cols('{"n":-1}'))).toEqual({
        action,
        failures: [{ kind: 'validation', name: 'v' }],
      });
      expect(ing.metrics().validations[0]).toMatchObject({ matched: 2, succeeded: 1, failed: 1 });
      expect(ing.metrics()).toMatchObject({
        validation_succeeded: 1,
        validation_failed: 1,
        dropped: 1,
      });
    },
  );

  it('ignore: passes with the failure reported, and later validations still run', () => {
    const ing = make({
      schema_validation: {
        validations: [
          v({ name: 'a', failure_action: 'ignore' }),
          v({ name: 'b', checks: [{ type: 'json', schema: 'num' }] }),
        ],
      },
    });
    expect(ing.inspect('t/1', cols('{"n":"x"}'))).toEqual({
      action: 'drop',
      failures: [
        { kind: 'validation', name: 'a' },
        { kind: 'validation', name: 'b' },
      ],
    });
    expect(ing.inspect('t/1', cols('{"n":-5}'))).toEqual({
      action: 'pass',
      failures: [{ kind: 'validation', name: 'a' }],
    });
  });

  it('the first drop stops: a later validation is not even matched', () => {
    const ing = make({
      schema_validation: { validations: [v({ name: 'a' }), v({ name: 'b' })] },
    });
    ing.inspect('t/1', cols('{"n":0}'));
    expect(ing.metrics().validations.map((x) => x.matched)).toEqual([1, 0]);
  });

  it('any_pass needs one passing check; all_pass needs all', () => {
    const checks = [
      { type: 'sql' as const, sql: 'SELECT * WHERE payload.n > 10' },
      { type: 'json' as const, schema: 'num' },
    ];
    const any = make({ schema_validation: { validations: [v({ strategy: 'any_pass', checks })] } });
    const all = make({ schema_validation: { validations: [v({ strategy: 'all_pass', checks })] } });
    expect(any.inspect('t/1', cols('{"n":5}'))).toBeNull();
    expect(all.inspect('t/1', cols('{"n":5}'))?.action).toBe('drop');
    expect(all.inspect('t/1', cols('{"n":50}'))).toBeNull();
    expect(any.inspect('t/1', cols('{"n":"no"}'))?.action).toBe('drop');
  });

  it('a check against an unknown schema, or a SQL check that errors, fails (never throws)', () => {
    const ing = make({
      schema_validation: {
        validations: [
          v({ name: 'a', checks: [{ type: 'json', schema: 'nope' }] }),
          v({
            name: 'b',
            topics: ['e/#'],
            checks: [{ type: 'sql', sql: "SELECT * WHERE sqrt('x') > 1" }],
          }),
        ],
      },
    });
    expect(ing.inspect('t/1', cols('{"n":1}'))?.action).toBe('drop');
    expect(ing.inspect('e/1', cols('{}'))?.action).toBe('drop');
  });

  it('a disabled validation is skipped', () => {
    const ing = make({ schema_validation: { validations: [v({ enable: false })] } });
    expect(ing.active).toBe(false);
    expect(ing.inspect('t/1', cols('{"n":-1}'))).toBeNull();
  });

  it('configure reports every bad entry with its path and changes nothing', () => {
    const ing = make({ schema_validation: { validations: [v({})] } });
    const issues = ing.configure({
      schema_validation: {
        validations: [
          v({ topics: ['a/#/b'] }),
          v({ checks: [{ type: 'sql', sql: 'SELECT FROM WHERE' }] }),
          v({ name: 'p', checks: [{ type: 'protobuf', schema: 'x' }] }),
          v({ name: 'f', checks: [{ type: 'sql', sql: 'FOREACH payload.l WHERE true' }] }),
        ],
      },
      message_transformation: {
        transformations: [t({ operations: [{ key: 'topic', value: 'concat(' }] })],
      },
    });
    expect(issues.map((i) => i.path)).toEqual([
      'schema_validation.validations[0].topics[0]',
      'schema_validation.validations[1].name',
      'schema_validation.validations[1].checks[0].sql',
      'schema_validation.validations[2].checks[0].message_type',
      'schema_validation.validations[3].checks[0].sql',
      'message_transformation.transformations[0].operations[0].value',
    ]);
    // the old list still applies
    expect(ing.inspect('t/1', cols('{"n":-1}'))?.action).toBe('drop');
  });

  it('counters survive a reconfigure for a kept name, and reset zeroes them', () => {
    const ing = make({ schema_validation: { validations: [v({})] } });
    ing.inspect('t/1', cols('{"n":-1}'));
    expect(
      ing.configure({ schema_validation: { validations: [v({ failure_action: 'ignore' })] } }),
    ).toEqual([]);
    expect(ing.metrics().validations[0]).toMatchObject({ matched: 1, failed: 1 });
    expect(ing.resetMetrics('validation', 'v')).toBe(true);
    expect(ing.metrics().validations[0]).toMatchObject({ matched: 0, failed: 0 });
    expect(ing.resetMetrics('validation', 'zz')).toBe(false);
  });
});

describe('message transformation', () => {
  it('rewrites payload paths, topic, qos, retain and user properties; later operations see earlier ones', () => {
    const ing = make({
      message_transformation: {
        transformations: [
          t({
            operations: [
              { key: 'payload.who', value: 'upper(clientid)' },
              { key: 'payload.deep.copy', value: 'payload.who' },
              { key: 'topic', value: "concat(['out/', topic])" },
              { key: 'qos', value: '0' },
              { key: 'retain', value: "'true'" },
              { key: 'user_property.b', value: 'username' },
            ],
          }),
        ],
      },
    });
    const r = ing.inspect('t/1', cols('{"n":1}'));
    expect(r?.action).toBe('pass');
    expect(JSON.parse(String(r?.rewrite?.payload))).toEqual({
      n: 1,
      who: 'C1',
      deep: { copy: 'C1' },
    });
    expect(r?.rewrite).toMatchObject({
      topic: 'out/t/1',
      qos: 0,
      retain: true,
      userProperties: { a: '1', b: 'u1' },
    });
  });

  it('a decoder equal to the encoder with no payload operation keeps the payload bytes', () => {
    const ing = make({
      message_transformation: {
        transformations: [t({ operations: [{ key: 'topic', value: "'a/b'" }] })],
      },
    });
    const r = ing.inspect('t/1', cols('{ "n" : 1 }'));
    expect(r?.rewrite).toEqual({ topic: 'a/b' });
  });

  it.each([
    ['qos', "'3'"],
    ['retain', "'yes'"],
    ['topic', "'a/#'"],
    ['topic', 'payload.missing'],
    ['payload.x', 'sqrt(payload)'],
  ])('%s = %s fails the transformation (drop)', (key, value) => {
    const ing = make({
      message_transformation: { transformations: [t({ operations: [{ key, value }] })] },
    });
    expect(ing.inspect('t/1', cols('{"n":1}'))).toEqual({
      action: 'drop',
      failures: [{ kind: 'transformation', name: 'x' }],
    });
    expect(ing.metrics().transformations[0]).toMatchObject({ matched: 1, failed: 1, succeeded: 0 });
  });

  it('a payload that does not decode fails; with ignore the message goes on unchanged', () => {
    const ing = make({
      message_transformation: {
        transformations: [
          t({ failure_action: 'ignore', operations: [{ key: 'payload.a', value: '1' }] }),
        ],
      },
    });
    expect(ing.inspect('t/1', cols('not json'))).toEqual({
      action: 'pass',
      failures: [{ kind: 'transformation', name: 'x' }],
    });
  });

  it('encoder none with a map payload fails: the final payload must be binary', () => {
    const ing = make({
      message_transformation: {
        transformations: [
          t({ payload_encoder: { type: 'none' }, operations: [{ key: 'payload.a', value: '1' }] }),
        ],
      },
    });
    expect(ing.inspect('t/1', cols('{}'))?.action).toBe('drop');
  });

  it('transformations chain in order; the second matches the rewritten topic', () => {
    const ing = make({
      message_transformation: {
        transformations: [
          t({ name: 'one', operations: [{ key: 'topic', value: "'u/1'" }] }),
          t({ name: 'two', topics: ['u/#'], operations: [{ key: 'payload.by', value: "'two'" }] }),
        ],
      },
    });
    const r = ing.inspect('t/1', cols('{}'));
    expect(r?.rewrite?.topic).toBe('u/1');
    expect(JSON.parse(String(r?.rewrite?.payload))).toEqual({ by: 'two' });
  });

  it('validation runs before transformation: a dropped message is not transformed', () => {
    const ing = make({
      schema_validation: { validations: [v({})] },
      message_transformation: {
        transformations: [t({ operations: [{ key: 'topic', value: "'z'" }] })],
      },
    });
    expect(ing.inspect('t/1', cols('{"n":0}'))?.action).toBe('drop');
    expect(ing.metrics().transformations[0]?.matched).toBe(0);
    expect(ing.inspect('t/1', cols('{"n":1}'))?.rewrite?.topic).toBe('z');
  });
});

describe('topic filters', () => {
  it('match exactly like the rules’ topicMatches (pre-split filters)', async () => {
    const { topicMatches } = await import('../topic.js');
    const filters = ['#', '+', 'a', 'a/#', 'a/+', '+/b', 'a/+/c', '+/+', 'a/b/#', '$x/#', '$x/+'];
    const topics = ['a', 'a/b', 'a/b/c', 'b', 'x/b', 'a/x/c', '$x/y', '$x', 'a/', '/b', ''];
    for (const f of filters) {
      const ing = make({
        schema_validation: {
          validations: [v({ topics: [f], checks: [{ type: 'sql', sql: 'SELECT * WHERE false' }] })],
        },
      });
      for (const topic of topics)
        expect(ing.inspect(topic, cols('{}')) !== null, `${f} vs ${JSON.stringify(topic)}`).toBe(
          topicMatches(topic, f),
        );
    }
  });
});

describe('config diagnostics', () => {
  it('a SQL check error names the column of the check as written (FROM insertion hidden)', () => {
    const ing = make({});
    const [i] = ing.configure({
      schema_validation: {
        validations: [v({ checks: [{ type: 'sql', sql: 'SELECT * WHERE (' }] })],
      },
    });
    // `(` is at column 16; the parser complains at the end of input, column 17
    expect(i?.reason).toMatch(/^column 17: .*\[sql_syntax_error\]$/);
    const [j] = ing.configure({
      schema_validation: {
        validations: [v({ checks: [{ type: 'sql', sql: 'SELECT nope(1) WHERE true' }] })],
      },
    });
    expect(j?.reason).toMatch(/^column 8: .*nope.*\[sql_function_not_supported\]$/);
  });
});
