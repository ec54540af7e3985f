/** Compile-time semantic diagnostics (CONVENTIONS.md #1): same shape as parser diagnostics, pointing at the call or FROM entry. */
import { describe, expect, it } from 'vitest';
import { SqlError, compileRule, explainRule } from '../../../src/index.js';
import type { Diagnostic } from '../../../src/index.js';

function diagnosticsOf(sql: string): readonly Diagnostic[] {
  try {
    compileRule(sql);
  } catch (e) {
    expect(e).toBeInstanceOf(SqlError);
    return (e as SqlError).diagnostics;
  }
  throw new Error('expected SqlError');
}

describe('semantic diagnostics', () => {
  it('unknown function → sql_function_not_supported at the name', () => {
    const [d, ...rest] = diagnosticsOf('SELECT nosuch(1) AS x FROM "t"');
    expect(rest).toHaveLength(0);
    expect(d?.code).toBe('sql_function_not_supported');
    expect(d?.message).toContain('nosuch');
    expect([d?.line, d?.column]).toEqual([1, 8]);
    expect(d?.snippet).toContain('^^^^^^');
  });

  it('function names are case-sensitive', () => {
    expect(diagnosticsOf('SELECT Upper(clientid) FROM "t"')[0]?.code).toBe(
      'sql_function_not_supported',
    );
    expect(diagnosticsOf('SELECT DIV(7, 2) FROM "t"')[0]?.code).toBe('sql_function_not_supported');
  });

  it('wrong arity → sql_function_arity with the signature', () => {
    const [d] = diagnosticsOf('SELECT abs(1, 2) AS x FROM "t"');
    expect(d?.code).toBe('sql_function_arity');
    expect(d?.message).toMatch(/abs\(\) takes 1 argument, got 2/);
    expect(diagnosticsOf('SELECT div(1) FROM "t"')[0]?.code).toBe('sql_function_arity');
  });

  it('calls in WHERE, DO and INCASE are checked too, all reported, in source order', () => {
    const ds = diagnosticsOf('FOREACH payload.l AS x DO f1(x) INCASE f2(x) FROM "t" WHERE f3(1)');
    expect(ds.map((d) => d.message)).toEqual([
      'unknown function f1()',
      'unknown function f2()',
      'unknown function f3()',
    ]);
  });

  it('external module calls are not supported', () => {
    expect(diagnosticsOf('SELECT emqx_rule_funcs.abs(1) FROM "t"')[0]?.code).toBe(
      'sql_function_not_supported',
    );
  });

  it('unknown $events topic → sql_unknown_event at the FROM entry', () => {
    const [d] = diagnosticsOf('SELECT * FROM "t/1", "$events/client/conected"');
    expect(d?.code).toBe('sql_unknown_event');
    expect(d?.column).toBe(22);
  });

  it('$events/message_publish is not a usable source', () => {
    expect(diagnosticsOf('SELECT * FROM "$events/message_publish"')[0]?.code).toBe(
      'sql_unknown_event',
    );
  });

  it('a 4.x event topic renamed in 5.x is reported with the new name', () => {
    const [d] = diagnosticsOf('SELECT * FROM "$events/client_check_acl_complete"');
    expect(d?.code).toBe('sql_unsupported_event');
    expect(d?.message).toContain('$events/auth/check_authz_complete');
  });

  it('alarm, schema validation and transformation events are accepted', () => {
    for (const t of [
      '$events/sys/alarm_activated',
      '$events/sys/alarm_deactivated',
      '$events/schema_validation_failed',
      '$events/schema_validation/failed',
      '$events/message_transformation_failed',
      '$events/message_transformation/failed',
    ])
      expect(compileRule(`SELECT * FROM "${t}"`).matches(t)).toBe(true);
  });

  it('invalid topic filters', () => {
    expect(diagnosticsOf('SELECT * FROM "a/#/b"')[0]?.code).toBe('sql_invalid_topic_filter');
    expect(diagnosticsOf('SELECT * FROM "a+"')[0]?.code).toBe('sql_invalid_topic_filter');
  });

  it('a literal argument rejected by the function at creation', () => {
    const [d] = diagnosticsOf('SELECT regex_match(clientid, \'(\') AS m FROM "t"');
    expect(d?.code).toBe('sql_function_bad_literal');
  });

  it('syntax errors come through as SqlError with the parser diagnostic', () => {
    const ds = diagnosticsOf('SELECT a FORM "t"');
    expect(ds.length).toBeGreaterThan(0);
    expect(ds[0]?.snippet).toContain('^');
  });

  it('SqlError.message renders every diagnostic with carets', () => {
    try {
      compileRule('SELECT nosuch(1), abs() FROM "t"');
      expect.unreachable();
    } catch (e) {
      const msg = (e as Error).message;
      expect(msg).toContain('error[sql_function_not_supported]');
      expect(msg).toContain('error[sql_function_arity]');
      expect(msg.split('\n').filter((l) => l.includes('^')).length).toBe(2);
      expect((e as SqlError).code).toBe('rule_sql_invalid');
    }
  });
});

describe('explainRule', () => {
  it('renders sources, items, targets and the condition', () => {
    const text = explainRule(
      'SELECT payload.temp AS t, clientid FROM "sensors/#", "$events/client_connected" WHERE payload.temp > 30',
    );
    expect(text).toContain('"sensors/#" (mqtt)');
    expect(text).toContain('"$events/client_connected" (event: client.connected)');
    expect(text).toContain('t := payload.temp');
    expect(text).toContain('where: (payload.temp > 30)');
  });

  it('folds pure calls with literal arguments and marks specialised calls', () => {
    const text = explainRule(
      "SELECT abs(-3) + 1 AS a, upper('x') AS b, regex_match(clientid, '^c') AS c FROM \"t\"",
    );
    expect(text).toContain('a := 4');
    expect(text).toContain("b := 'X'");
    expect(text).toMatch(/regex_match\(clientid, '\^c'\) \[specialized\]/);
  });

  it('explains FOREACH with its element name', () => {
    const text = explainRule('FOREACH payload.l AS x DO x AS v INCASE x > 1 FROM "t"');
    expect(text).toContain('element bound to x');
    expect(text).toContain('incase: (x > 1)');
    expect(text).toContain('do: v := x');
  });
});
