import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { field } from '../core/index.js';
import type { Diagnostic } from '../sql-parser/index.js';
import { compileRules, formatIssue, loadConfig, parseRuleFile, substituteEnv } from './index.js';
import type { ConfigParts, RuleCompiler } from './index.js';

const parts: ConfigParts = {
  brokerSpec: field.object(
    { port: field.integer({ description: 'p', default: 1883, min: 0 }) },
    { description: 'broker' },
  ),
  runnerSpec: field.object(
    { batch_size: field.integer({ description: 'b', default: 1, min: 1 }) },
    { description: 'runner' },
  ),
  sinkTypes: [
    { type: 'console', spec: field.object({}, { description: 'console' }) },
    {
      type: 'kafka',
      spec: field.object(
        {
          topic: field.string({ description: 't' }),
          password: field.string({ description: 'pw', optional: true }),
        },
        { description: 'kafka' },
      ),
    },
  ],
};

function dir(files: Record<string, string>): string {
  const d = mkdtempSync(path.join(tmpdir(), 'sluice-cfg-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(d, name)), { recursive: true });
    writeFileSync(path.join(d, name), text);
  }
  return d;
}

/** Compiler double: `FORM` is a syntax error at its position. */
const compile: RuleCompiler<string> = (sql) => {
  const lines = sql.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const col = (lines[i] as string).indexOf('FORM');
    if (col >= 0) {
      const start = { offset: 0, line: i + 1, column: col + 1 };
      const d: Diagnostic = {
        code: 'sql_syntax_error',
        message: 'expected FROM, found FORM',
        line: i + 1,
        column: col + 1,
        range: { start, end: { ...start, column: col + 5 } },
        snippet: '',
      };
      return { ok: false, diagnostics: [d] };
    }
  }
  return { ok: true, rule: sql.trim() };
};

describe('config loading', () => {
  it('substitutes ${ENV} and ${ENV:-default} but leaves templates alone', () => {
    expect(substituteEnv('a ${A} ${B:-dflt} ${clientid} $${X}', { A: 'x' })).toMatchObject({
      value: 'a x dflt ${clientid} ${X}',
      missing: [],
    });
    expect(substituteEnv('${NOPE}', {}).missing).toEqual(['NOPE']);
  });

  it('loads YAML rules and rule files, with env values typed in place', () => {
    const d = dir({
      'sluice.yaml': [
        'broker:',
        '  port: ${PORT}',
        'sinks:',
        '  out: { type: kafka, topic: t, password: "${PW}" }',
        '  console: { type: console }',
        'rules:',
        '  - id: inline',
        '    sql: SELECT * FROM "a"',
        '    actions: [out]',
      ].join('\n'),
      'rules/high_temp.sql':
        '-- description: hot\n-- actions: console, out\n-- enabled: false\n-- free text comment\nSELECT 1 FROM "t"\n',
    });
    const r = loadConfig(path.join(d, 'sluice.yaml'), parts, { env: { PORT: '0', PW: 'secret' } });
    if (!r.ok) throw new Error(r.issues.map(formatIssue).join('\n'));
    expect(r.loaded.config.broker).toEqual({ port: 0 });
    expect(r.loaded.sinks['out']).toEqual({
      type: 'kafka',
      topic: 't',
      password: 'secret',
      batch_size: 1,
    });
    expect(r.loaded.rules.map((x) => [x.id, x.actions, x.enabled, x.description])).toEqual([
      ['inline', ['out'], true, ''],
      ['high_temp', ['console', 'out'], false, 'hot'],
    ]);
    expect(r.ruleIssues).toEqual([]);
  });

  it('names file, line, column, path and reason for invalid fields', () => {
    const d = dir({
      'sluice.yaml':
        'broker:\n  port: -1\nsinks:\n  k:\n    type: kafka\n    topic: t\n    batch_size: "x"\n    bogus: 1\n',
    });
    const r = loadConfig(path.join(d, 'sluice.yaml'), parts, { env: {} });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const out = r.issues.map(formatIssue).map((s) => s.split('\n')[0]);
    // Every error in one run, in file order (the sink's too, though the top level is invalid).
    expect(out).toEqual([
      expect.stringMatching(
        /sluice\.yaml:2:9: error\[config_invalid_field\]: broker\.port: must be >= 0$/,
      ),
      expect.stringMatching(/sluice\.yaml:7:17: .*sinks\.k\.batch_size: must be a number/),
      expect.stringMatching(/sluice\.yaml:8:5: .*sinks\.k\.bogus: unknown field "bogus"/),
    ]);
    const r2 = loadConfig(path.join(d, 'sluice.yaml'), parts, { env: {} });
    expect(r2.ok).toBe(false);
    writeFileSync(
      path.join(d, 'sluice.yaml'),
      'sinks:\n  k:\n    type: kafka\n    topic: t\n    batch_size: "x"\n    bogus: 1\n',
    );
    const r3 = loadConfig(path.join(d, 'sluice.yaml'), parts, { env: {} });
    if (r3.ok) throw new Error('expected errors');
    expect(r3.issues.map((i) => [i.line, i.column, i.path, i.code])).toEqual([
      [5, 17, 'sinks.k.batch_size', 'config_invalid_field'],
      [6, 5, 'sinks.k.bogus', 'config_invalid_field'],
    ]);
    expect(r3.issues[1]?.reason).toMatch(/unknown field/);
  });

  it('reports YAML syntax errors, missing env vars and unknown sink types', () => {
    const d = dir({ 'sluice.yaml': 'sinks:\n  a: [1\n' });
    const r = loadConfig(path.join(d, 'sluice.yaml'), parts, { env: {} });
    expect(r.ok ? [] : r.issues.map((i) => i.code)).toContain('config_yaml_syntax');
    writeFileSync(
      path.join(d, 'sluice.yaml'),
      'sinks:\n  a:\n    type: kafka\n    topic: ${TOPIC}\n',
    );
    const r2 = loadConfig(path.join(d, 'sluice.yaml'), parts, { env: {} });
    expect(r2.ok ? [] : r2.issues.map((i) => [i.code, i.line, i.column])).toEqual([
      ['config_env_missing', 4, 12],
    ]);
    writeFileSync(path.join(d, 'sluice.yaml'), 'sinks:\n  a:\n    type: kafak\n');
    const r3 = loadConfig(path.join(d, 'sluice.yaml'), parts, { env: {} });
    expect(r3.ok ? '' : formatIssue(r3.issues[0]!)).toMatch(
      /sluice\.yaml:3:11: error\[config_unknown_sink_type\]: sinks\.a\.type: unknown sink type "kafak" \(known: console, kafka\)/,
    );
  });

  it('checks fallback_actions: known names, not itself, no cycles (sink threads allowed)', () => {
    const withFallback: ConfigParts = {
      ...parts,
      runnerSpec: field.object(
        {
          thread: field.string({ description: 't', default: 'main', enum: ['main', 'worker'] }),
          fallback_actions: field.array(field.string({ description: 's' }), {
            description: 'f',
            default: [],
          }),
        },
        { description: 'runner' },
      ),
    };
    const load = (yaml: string): string[] => {
      const d = dir({ 'sluice.yaml': yaml });
      const r = loadConfig(path.join(d, 'sluice.yaml'), withFallback, { env: {} });
      return r.ok ? [] : r.issues.map((i) => formatIssue(i).split('\n')[0] as string);
    };
    expect(
      load(
        'sinks:\n  a:\n    type: console\n    fallback_actions: [nope, a]\n  b: { type: console }\n',
      ),
    ).toEqual([
      expect.stringMatching(
        /sluice\.yaml:4:23: error\[config_fallback_invalid\]: sinks\.a\.fallback_actions\.0: "nope" is not a configured sink/,
      ),
      expect.stringMatching(/4:23: .*fallback_actions\.1: a sink cannot be its own fallback/),
    ]);
    expect(
      load(
        'sinks:\n  a: { type: console, fallback_actions: [b] }\n  b: { type: console, fallback_actions: [c] }\n  c: { type: console, fallback_actions: [a] }\n',
      ).filter((l) => l.includes('sinks.a.')),
    ).toEqual([expect.stringMatching(/fallback cycle: a -> b -> c -> a/)]);
    expect(
      load(
        'sinks:\n  a: { type: console, thread: worker, fallback_actions: [b] }\n  b: { type: console }\n',
      ),
    ).toEqual([]);
    expect(
      load(
        'sinks:\n  a: { type: console, fallback_actions: [b] }\n  b: { type: console, fallback_actions: [c] }\n  c: { type: console }\n',
      ),
    ).toEqual([]);
  });

  it('reports rule-level problems (header, unknown action, duplicate id) without failing the config', () => {
    const d = dir({
      'sluice.yaml':
        'sinks:\n  console: { type: console }\nrules:\n  - id: dup\n    sql: SELECT 1 FROM "x"\n',
      'rules/dup.sql': 'SELECT 2 FROM "y"\n',
      'rules/b.sql': '-- action: console\nSELECT 2 FROM "y"\n',
      'rules/c.sql': '-- actions: console, nope\nSELECT 2 FROM "y"\n',
    });
    const r = loadConfig(path.join(d, 'sluice.yaml'), parts, { env: {} });
    if (!r.ok) throw new Error('config should load');
    expect(r.loaded.rules.map((x) => x.id)).toEqual(['dup']);
    expect(r.ruleIssues.map((i) => [path.basename(i.file), i.line, i.column, i.code])).toEqual([
      ['b.sql', 1, 4, 'rule_header_invalid'],
      ['c.sql', 1, 22, 'rule_unknown_action'],
      ['dup.sql', 1, 1, 'rule_duplicate_id'],
    ]);
    expect(r.loaded.brokenRuleFiles.map((f) => path.basename(f))).toEqual([
      'b.sql',
      'c.sql',
      'dup.sql',
    ]);
  });

  it('maps SQL diagnostics to file positions in rule files and YAML block scalars', () => {
    const d = dir({
      'sluice.yaml':
        'rules:\n  - id: y\n    sql: |\n      SELECT a\n        FORM "t"\n  - id: z\n    sql: SELECT b FORM "t"\n',
      'rules/f.sql': '-- id: f\n\nSELECT x\nFORM "t"\n',
    });
    const r = loadConfig(path.join(d, 'sluice.yaml'), parts, { env: {} });
    if (!r.ok) throw new Error('config should load');
    const { issues } = compileRules(r.loaded.rules, compile);
    expect(issues.map((i) => formatIssue(i))).toEqual([
      expect.stringMatching(
        /sluice\.yaml:5:9: error\[sql_syntax_error\]: rules\[0\]\.sql: expected FROM, found FORM\n 5 \| {9}FORM "t"\n {3}\| {9}\^\^\^\^$/,
      ),
      expect.stringMatching(/sluice\.yaml:7:19: error\[sql_syntax_error\]/),
      expect.stringMatching(
        /f\.sql:4:1: error\[sql_syntax_error\]: expected FROM, found FORM\n 4 \| FORM "t"\n {3}\| \^\^\^\^$/,
      ),
    ]);
  });

  it('parses a rule file header and blanks it for the compiler', () => {
    const { entry } = parseRuleFile('x.sql', '-- id: a\n-- enabled: true\nSELECT 1 FROM "t"');
    expect(entry?.sql).toBe('\n\nSELECT 1 FROM "t"');
    expect(parseRuleFile('x.sql', '-- enabled: yes\nSELECT 1 FROM "t"').issues[0]?.reason).toBe(
      'must be true or false, got "yes"',
    );
  });
});

describe('check reports every config error in one run', () => {
  it('top-level, sink fields and required fields together, in file order, caret on the key, with did-you-mean', () => {
    const d = dir({
      'sluice.yaml': [
        'sinks:',
        '  k:',
        '    type: kafka',
        '    batch_sise: 5',
        '  c:',
        '    type: console',
        'brokr:',
        '  port: 1',
        'reload:',
        '  enabeld: true',
        '',
      ].join('\n'),
    });
    const r = loadConfig(path.join(d, 'sluice.yaml'), parts);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const got = r.issues.map((i) => [i.line, i.column, i.path, i.reason.split(' (known')[0]]);
    expect(got).toEqual([
      [2, 3, 'sinks.k.topic', 'is required'],
      [4, 5, 'sinks.k.batch_sise', 'unknown field "batch_sise"; did you mean "batch_size"?'],
      [7, 1, 'brokr', 'unknown field "brokr"; did you mean "broker"?'],
      [10, 3, 'reload.enabeld', 'unknown field "enabeld"; did you mean "enabled"?'],
    ]);
    // The caret sits under the misspelt key.
    expect(formatIssue(r.issues[1]!)).toMatch(/ 4 \| {5}batch_sise: 5\n\s+\| {5}\^{10}$/);
  });

  it('a missing file names the path and the reason in words', () => {
    const r = loadConfig('/nonexistent/dir/sluice.yaml', parts);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues[0]!.reason).toMatch(/^cannot read .*sluice\.yaml: no such file \(ENOENT\)$/);
  });
});
