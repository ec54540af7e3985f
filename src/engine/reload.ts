/**
 * Config reload: re-read sluice.yaml and the rule files, compile, and apply what changed to
 * the running rules. A broken rule keeps its running version; a rule naming a sink that only
 * exists after a restart keeps its old version too; broker and sink changes are reported as
 * needing a restart (compared with what is running, not with the previous reload).
 */
import { compileRules, planReload } from '../config/index.js';
import type { ConfigIssue, LoadedConfig, LoadResult, RuleCompiler } from '../config/index.js';
import type { CompiledRule } from '../runtime/index.js';
import type { RulesService } from './rules.js';
import type { ReloadReport } from './types.js';

export interface ReloadContext {
  load(): LoadResult;
  compile: RuleCompiler<CompiledRule>;
  rules: RulesService;
  hasSink(name: string): boolean;
  /** JSON of the broker and sinks sections that are running. */
  runningBroker: string;
  runningSinks: string;
  /** JSON of the gateway section that is running. */
  runningGateway?: string;
  /** JSON of the `sources` section that is running (absent: not compared). */
  runningSources?: string;
}

export function reloadRules(ctx: ReloadContext): { report: ReloadReport; loaded?: LoadedConfig } {
  const r = ctx.load();
  if (!r.ok)
    return {
      report: {
        ok: false,
        added: [],
        updated: [],
        removed: [],
        kept: [],
        issues: r.issues,
        restartRequired: [],
      },
    };
  const c = compileRules(r.loaded.rules, ctx.compile);
  // A new sink only exists after a restart: rules naming one keep their old version.
  const notYet = c.compiled.filter((x) => x.entry.actions.some((a) => !ctx.hasSink(a)));
  for (const { entry } of notYet) {
    c.failed.push(entry);
    c.issues.push({
      code: 'rule_unknown_action',
      file: entry.origin.file,
      line: entry.at.line,
      column: entry.at.column,
      path: entry.at.path,
      reason: `actions ${entry.actions.filter((a) => !ctx.hasSink(a)).join(', ')} name sinks that start only after a restart`,
      rule: entry.id,
    } satisfies ConfigIssue);
  }
  c.compiled = c.compiled.filter((x) => !notYet.includes(x));
  const plan = planReload(ctx.rules.running(), c.compiled, {
    ids: [...r.loaded.brokenRuleIds, ...c.failed.map((e) => e.id)],
    files: [...r.loaded.brokenRuleFiles, ...c.failed.map((e) => e.origin.file)],
  });
  for (const p of plan.put) ctx.rules.put(p.entry, p.rule);
  for (const id of plan.remove) ctx.rules.remove(id);
  const restartRequired: string[] = [];
  if (JSON.stringify(r.loaded.config.broker) !== ctx.runningBroker) restartRequired.push('broker');
  if (JSON.stringify(r.loaded.sinks) !== ctx.runningSinks) restartRequired.push('sinks');
  if (
    ctx.runningGateway !== undefined &&
    JSON.stringify(r.loaded.config.gateway) !== ctx.runningGateway
  )
    restartRequired.push('gateway');
  if (
    ctx.runningSources !== undefined &&
    JSON.stringify(r.loaded.config.sources) !== ctx.runningSources
  )
    restartRequired.push('sources');
  return {
    loaded: r.loaded,
    report: {
      ok: true,
      added: plan.put.filter((p) => p.change === 'added').map((p) => p.entry.id),
      updated: plan.put.filter((p) => p.change === 'updated').map((p) => p.entry.id),
      removed: plan.remove,
      kept: plan.kept,
      issues: [...r.ruleIssues, ...c.issues],
      restartRequired,
    },
  };
}
