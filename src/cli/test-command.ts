/**
 * `sluice test [paths…] [-c FILE] [--json]`: run the rule test files (`*.test.yaml`,
 * `*.test.yml`) found under each path (a file, or a directory searched recursively; default:
 * the directory of -c / ./sluice.yaml). The tests themselves run in src/engine (rule-tests.ts).
 *
 * Exit status: 0 every case passed; 1 a case failed, a file or rule had a problem, or no test
 * file was found; 64 usage (a path that does not exist).
 * Human output: one line per case (✓ / ✗) under its file, the differences of each failed
 * case (per field: expected vs actual), then one summary line. `--json`: one JSON document
 * on stdout, the summary on stderr.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

import { formatIssue } from '../config/index.js';
import { createRuleTestRunner } from '../engine/index.js';
import type { RuleTestFileResult } from '../engine/index.js';

export interface TestCommandResult {
  readonly exitCode: number;
  readonly stdout: string[];
  readonly stderr: string[];
}

const TEST_FILE = /\.test\.ya?ml$/;
const SKIP_DIRS = new Set(['node_modules', '.git', 'dist', 'data']);

/** Test files under `p` (a file is taken as it is), in name order. */
export function findTestFiles(p: string): string[] {
  const st = statSync(p);
  if (st.isFile()) return [path.resolve(p)];
  const out: string[] = [];
  for (const e of readdirSync(p, { withFileTypes: true }).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    const child = path.join(p, e.name);
    if (e.isDirectory()) {
      if (!SKIP_DIRS.has(e.name)) out.push(...findTestFiles(child));
    } else if (TEST_FILE.test(e.name)) out.push(path.resolve(child));
  }
  return out;
}

export async function testCommand(
  paths: readonly string[],
  opts: { config?: string | undefined; json?: boolean },
): Promise<TestCommandResult> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  let roots = [...paths];
  if (roots.length === 0) {
    const cfg = opts.config ?? (existsSync('sluice.yaml') ? 'sluice.yaml' : undefined);
    if (cfg === undefined) {
      stderr.push(
        'sluice test: give test files or directories, or -c sluice.yaml (its directory is searched)',
      );
      return { exitCode: 64, stdout, stderr };
    }
    roots = [path.dirname(path.resolve(cfg))];
  }
  const missing = roots.filter((r) => !existsSync(r));
  if (missing.length) {
    stderr.push(`sluice test: no such file or directory: ${missing.join(', ')}`);
    return { exitCode: 64, stdout, stderr };
  }
  const files = [...new Set(roots.flatMap(findTestFiles))];
  if (files.length === 0) {
    stderr.push(`sluice test: no *.test.yaml files under ${roots.join(', ')}`);
    return { exitCode: 1, stdout, stderr };
  }
  const runner = createRuleTestRunner();
  const results: RuleTestFileResult[] = [];
  try {
    for (const f of files) results.push(await runner.runFile(f));
  } finally {
    await runner.close();
  }
  const cases = results.flatMap((r) => r.cases);
  const passed = cases.filter((c) => c.ok).length;
  const failed = cases.length - passed;
  const problems = results.reduce((n, r) => n + r.issues.length, 0);
  const summary = `sluice test: ${passed} passed, ${failed} failed, ${cases.length} total in ${files.length} file(s)${problems ? `; ${problems} problem(s) in files or rules` : ''}`;
  const rel = (f: string): string => path.relative(process.cwd(), f) || f;
  if (opts.json) {
    stdout.push(
      JSON.stringify({
        passed,
        failed,
        total: cases.length,
        files: results.map((r) => ({
          file: rel(r.file),
          ...(r.config ? { config: rel(r.config) } : {}),
          issues: r.issues.map((i) => ({ ...i, message: formatIssue(i) })),
          cases: r.cases,
        })),
      }),
    );
    stderr.push(summary);
  } else {
    for (const r of results) {
      stdout.push(rel(r.file));
      for (const i of r.issues)
        stdout.push(
          ...formatIssue(i)
            .split('\n')
            .map((l) => `  ${l}`),
        );
      for (const c of r.cases) {
        stdout.push(`  ${c.ok ? '✓' : '✗'} ${c.name}`);
        for (const f of c.failures) stdout.push(`      ${f.message}`);
      }
    }
    stdout.push(summary);
  }
  return { exitCode: failed > 0 || problems > 0 ? 1 : 0, stdout, stderr };
}
