/**
 * `sluice test`: the shipped examples' tests pass (CI runs them here), and on a scratch config:
 * per-field diffs, exit codes (0/1/64), the summary line, --json, located file errors,
 * rendered republish and Kafka templates, rule failures and the default rule scope.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { main } from './main.js';

const root = path.resolve(import.meta.dirname, '../..');

async function cli(args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

describe('sluice test on the shipped examples', () => {
  const dirs = readdirSync(path.join(root, 'examples'), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name);
  const withTests = ['quickstart', 'ocpp'];

  it('the examples that ship rule tests are the ones expected', () => {
    expect(dirs).toEqual(expect.arrayContaining(withTests));
  });

  for (const d of withTests)
    it(`examples/${d}: every case passes`, async () => {
      const r = await cli(['test', path.join(root, 'examples', d)]);
      expect(r.out.join('\n')).not.toContain('✗');
      expect(r.out.at(-1)).toMatch(
        /^sluice test: \d+ passed, 0 failed, \d+ total in \d+ file\(s\)$/,
      );
      expect(r.code).toBe(0);
    });
});

describe('sluice test on a scratch configuration', () => {
  let dir = '';
  const write = (rel: string, text: string): string => {
    const f = path.join(dir, rel);
    mkdirSync(path.dirname(f), { recursive: true });
    writeFileSync(f, text);
    return f;
  };

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'sluice-test-cmd-'));
    write(
      'sluice.yaml',
      [
        'broker: { listeners: {} }',
        'sinks:',
        '  out: { type: memory }',
        '  pub:',
        '    type: republish',
        "    topic: 'cmd/${clientid}/${payload.kind}'",
        "    payload: '${v}'",
        '    qos: 0',
        '    retain: true',
        '  k:',
        '    type: kafka',
        '    bootstrap_hosts: 127.0.0.1:9',
        "    topic: 'readings-${clientid}'",
        "    message: { key: '${clientid}', value: '${.}' }",
        'rule_files: [rules/*.sql]',
      ].join('\n'),
    );
    write(
      'rules/calc.sql',
      '-- id: calc\n-- actions: out, pub\nSELECT clientid, payload.v * 2 AS v FROM "in/#" WHERE payload.v > 0',
    );
    write(
      'rules/stream.sql',
      '-- id: stream\n-- actions: k\nSELECT clientid, payload.v AS v FROM "in/#"',
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a passing file: rendered republish output, default scope = the sibling rule file', async () => {
    const f = write(
      'rules/calc.test.yaml',
      [
        'tests:',
        '  - name: doubles v',
        '    input: { topic: in/1, clientid: d1, payload: { v: 2, kind: x } }',
        '    expect:',
        '      out: [{ clientid: d1, v: 4 }]',
        "      pub: [{ topic: cmd/d1/x, payload: '4', qos: 0, retain: true }]",
      ].join('\n'),
    );
    // `stream` also matches in/1, but it is not under test (its file is stream.sql): no `k` output.
    const r = await cli(['test', f]);
    expect(r.out).toEqual([
      path.relative(process.cwd(), f),
      '  ✓ doubles v',
      'sluice test: 1 passed, 0 failed, 1 total in 1 file(s)',
    ]);
    expect(r.code).toBe(0);
  });

  it('the Kafka template renders topic, key and value as the sink would send them', async () => {
    const f = write(
      'rules/stream.test.yaml',
      [
        'tests:',
        '  - name: keyed by client',
        '    input: { topic: in/2, clientid: d2, payload: { v: 7 } }',
        '    expect:',
        '      k: [{ topic: readings-d2, key: d2, value: { clientid: d2, v: 7 }, headers: {}, timestamp: 1767225600000 }]',
      ].join('\n'),
    );
    const r = await cli(['test', f]);
    expect(r.out.at(-1)).toBe('sluice test: 1 passed, 0 failed, 1 total in 1 file(s)');
    expect(r.code).toBe(0);
  });

  it('a failing case: per-field differences, unexpected and missing outputs, exit 1', async () => {
    const f = write(
      'failing/bad.test.yaml',
      [
        'config: ../sluice.yaml',
        'rules: [calc]',
        'tests:',
        '  - name: wrong value and topic',
        '    input: { topic: in/1, clientid: d1, payload: { v: 2, kind: x } }',
        '    expect:',
        '      out: [{ clientid: d1, v: 5 }]',
        "      pub: [{ topic: cmd/d1/y, payload: '4', qos: 0, retain: true }]",
        '  - name: expected output that never comes',
        '    input: { topic: in/1, payload: { v: -1 } }',
        '    expect:',
        '      out: [{ v: 1 }]',
        '  - name: no output expected, some produced',
        '    input: { topic: in/1, clientid: d3, payload: { v: 1, kind: z } }',
        '    expect: { pub: [] }',
      ].join('\n'),
    );
    const r = await cli(['test', f]);
    expect(r.code).toBe(1);
    const text = r.out.join('\n');
    expect(text).toContain('  ✗ wrong value and topic');
    expect(text).toContain('      out[0].v: expected 5, got 4');
    expect(text).toContain('      pub[0].topic: expected "cmd/d1/y", got "cmd/d1/x"');
    expect(text).toContain('      out: expected 1 output(s), got 0');
    expect(text).toMatch(/ {6}out: expected no output, got 1: \{"clientid":"d3","v":2\}/);
    expect(text).toMatch(/ {6}pub: expected no output, got 1: \{"topic":"cmd\/d3\/z"/);
    expect(r.out.at(-1)).toBe('sluice test: 0 passed, 3 failed, 3 total in 1 file(s)');
  });

  it('--json reports every case with its failures and outputs', async () => {
    const f = path.join(dir, 'failing/bad.test.yaml');
    const r = await cli(['test', f, '--json']);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out.join('')) as {
      passed: number;
      failed: number;
      files: {
        cases: {
          name: string;
          ok: boolean;
          failures: { path: string }[];
          outputs: Record<string, unknown[]>;
        }[];
      }[];
    };
    expect([j.passed, j.failed]).toEqual([0, 3]);
    const first = j.files[0]?.cases[0];
    expect(first?.failures.map((x) => x.path)).toEqual(['out[0].v', 'pub[0].topic']);
    expect(first?.outputs['out']).toEqual([{ clientid: 'd1', v: 4 }]);
    expect(r.err).toEqual(['sluice test: 0 passed, 3 failed, 3 total in 1 file(s)']);
  });

  it('a malformed test file is a located error; unknown rules and actions are reported', async () => {
    const bad = write(
      'broken/x.test.yaml',
      'config: ../sluice.yaml\ntests:\n  - name: n\n    expct: {}\n',
    );
    const r = await cli(['test', bad]);
    expect(r.code).toBe(1);
    expect(r.out.join('\n')).toMatch(
      /x\.test\.yaml:4:5: error\[test_file_invalid\]: tests\[0\]\.expct: unknown field "expct"; did you mean "expect"\?/,
    );
    const unknown = write(
      'broken/y.test.yaml',
      'config: ../sluice.yaml\nrules: [nope]\ntests:\n  - name: n\n    input: { topic: in/1 }\n',
    );
    const u = await cli(['test', unknown]);
    expect(u.code).toBe(1);
    expect(u.out.join('\n')).toContain('error[test_unknown_rule]: rules: no rule "nope"');
    const action = write(
      'broken/z.test.yaml',
      'config: ../sluice.yaml\nrules: [calc]\ntests:\n  - name: n\n    input: { topic: in/1, payload: { v: 0 } }\n    expect: { ou: [] }\n',
    );
    const a = await cli(['test', action]);
    expect(a.code).toBe(1);
    expect(a.out.join('\n')).toContain(
      'ou: no rule under test has this action (actions: out, pub)',
    );
  });

  it('exit 64 for a path that does not exist; exit 1 when no test file is found', async () => {
    const r = await cli(['test', path.join(dir, 'nowhere')]);
    expect(r.code).toBe(64);
    expect(r.err.join('\n')).toContain('no such file or directory');
    mkdirSync(path.join(dir, 'empty'), { recursive: true });
    const e = await cli(['test', path.join(dir, 'empty')]);
    expect(e.code).toBe(1);
    expect(e.err.join('\n')).toContain('no *.test.yaml files');
  });
});
