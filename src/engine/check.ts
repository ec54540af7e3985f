/** `sluice check`: validate a sluice.yaml and its rules without starting anything. */
import { compileRules, loadConfig } from '../config/index.js';
import { createDefaultServices } from '../runtime/index.js';
import { createCompiler } from './rules.js';
import { configParts } from './sinks.js';
import type { CheckReport, EngineDeps } from './types.js';

export function checkConfig(
  file: string,
  deps: Pick<EngineDeps, 'env' | 'sinkTypes'> = {},
): CheckReport {
  const r = loadConfig(file, configParts(deps.sinkTypes), { env: deps.env ?? process.env });
  if (!r.ok) return { issues: r.issues, rules: 0, sinks: 0 };
  const services = createDefaultServices({ node: r.loaded.config.node ?? 'sluice@check' });
  const c = compileRules(r.loaded.rules, createCompiler(services));
  const issues = [...r.ruleIssues, ...c.issues].sort(
    (a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column,
  );
  return { issues, rules: c.compiled.length, sinks: Object.keys(r.loaded.sinks).length };
}
