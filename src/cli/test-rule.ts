/**
 * `sluice test-rule`: run one rule against one sample event, like EMQX's rule test
 * (`emqx_rule_sqltester`). The evaluation is the runtime's `runRuleTest` (the same as
 * `POST /api/v5/rule_test`); this file parses `--context` and renders the result:
 * `passed` prints each output as one JSON line; no result and errors are explained on stderr.
 */
import { runRuleTest } from '../runtime/index.js';
import { encodeJson } from '../core/index.js';
import { CpuMark, createDefaultServices, DEFAULT_GUARD } from '../runtime/index.js';
import { formatDiagnostic } from '../sql-parser/index.js';

export interface TestRuleResult {
  /** 0 passed, 1 error (bad SQL, bad context, evaluation failure), 2 no result (or no match). */
  readonly exitCode: number;
  readonly stdout: string[];
  readonly stderr: string[];
}

export function testRule(
  sql: string,
  contextJson: string | undefined,
  now = Date.now(),
): TestRuleResult {
  let given: Record<string, unknown> = {};
  if (contextJson !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(contextJson);
    } catch (err) {
      return fail(`--context is not valid JSON: ${(err as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      return fail('--context must be a JSON object of columns, e.g. {"payload": {"temp": 31}}');
    given = parsed as Record<string, unknown>;
  }
  const clock = { deadline: Infinity, cpu: new CpuMark() };
  const services = createDefaultServices({
    node: 'sluice@test',
    now: () => now,
    deadline: () => clock.deadline,
  });
  // The engine's default rule budget: a test behaves as the running rule would.
  const r = runRuleTest(sql, given, {
    services,
    now,
    node: 'sluice@test',
    budgetMs: DEFAULT_GUARD.budgetMs,
    clock,
  });
  void services.close?.();
  switch (r.kind) {
    case 'passed':
      return { exitCode: 0, stdout: r.outputs.map((o) => encodeJson(o)), stderr: [] };
    case 'no_result':
      return {
        exitCode: 2,
        stdout: [],
        stderr: ['no result: WHERE was false or FOREACH produced nothing'],
      };
    case 'no_match':
      // The API answers this case 412 "no result" too (EMQX's rule test does the same).
      return { exitCode: 2, stdout: [], stderr: [`no result: ${r.message}`] };
    case 'bad_context':
      return fail(r.message);
    case 'sql_error':
      return {
        exitCode: 1,
        stdout: [],
        stderr: r.diagnostics.map((d) => formatDiagnostic(d, '<sql>')),
      };
    case 'failed':
      return { exitCode: 1, stdout: [], stderr: [`error[${r.code}]: ${r.reason}`] };
  }
}

function fail(message: string): TestRuleResult {
  return { exitCode: 1, stdout: [], stderr: [`error: ${message}`] };
}
