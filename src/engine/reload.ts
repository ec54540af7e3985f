/**
 * Config reload: re-read sluice.yaml and the rule files, compile, and apply what changed to
 * the running rules. A broken rule keeps its running version; a rule naming a sink that only
 * exists after a restart keeps its old version too; broker and sink changes are reported as
 * needing a restart (compared with what is running, not with the previous reload).
 *
 * `previewReload` is the whole decision and changes nothing; `reloadRules` applies it. `sluice
 * plan` (and `GET /api/v5/config/running`, which gives it a running instance's state) calls the
 * same `previewReload`, so a plan predicts exactly what the reload does.
 *
 * The running sections are compared by digest (SHA-256 of their JSON): equal JSON, equal
 * digest — the same test as comparing the JSON itself, and a running instance can hand its
 * digests to `sluice plan` without handing over its settings (sink passwords).
 */
import { createHash } from 'node:crypto';

import { compileRules, planReload } from '../config/index.js';
import type {
  ConfigIssue,
  LoadedConfig,
  LoadResult,
  RuleCompiler,
  RunningRule,
} from '../config/index.js';
import type { CompiledRule } from '../runtime/index.js';
import type { RulesService } from './rules.js';
import type { ReloadReport } from './types.js';

/** SHA-256 (hex) of a section's JSON. */
export function sectionDigest(value: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify(value) ?? 'undefined')
    .digest('hex');
}

/** Digests of the sections that only change on a restart. */
export interface RunningSections {
  readonly broker: string;
  readonly sinks: string;
  /** Absent: not compared. */
  readonly gateway?: string;
  readonly sources?: string;
}

/** One running sink, by digest: the whole config and each top-level field. */
export interface RunningSink {
  readonly type: string;
  readonly digest: string;
  readonly fields: Readonly<Record<string, string>>;
}

/** What is running, as `sluice plan` needs it (GET /api/v5/config/running). */
export interface RunningState {
  readonly rules: readonly RunningRule[];
  readonly sections: RunningSections;
  readonly sinks: Readonly<Record<string, RunningSink>>;
}

export function runningSections(loaded: LoadedConfig): RunningSections {
  return {
    broker: sectionDigest(loaded.config.broker),
    sinks: sectionDigest(loaded.sinks),
    gateway: sectionDigest(loaded.config.gateway),
    sources: sectionDigest(loaded.config.sources),
  };
}

export function runningSinks(loaded: LoadedConfig): Record<string, RunningSink> {
  const out: Record<string, RunningSink> = {};
  for (const [name, sc] of Object.entries(loaded.sinks))
    out[name] = {
      type: sc.type,
      digest: sectionDigest(sc),
      fields: Object.fromEntries(Object.entries(sc).map(([k, v]) => [k, sectionDigest(v)])),
    };
  return out;
}

/** A sink that differs between the running state and the new config (restart needed). */
export interface SinkChange {
  readonly name: string;
  readonly change: 'added' | 'removed' | 'changed';
  readonly type: string;
  /** `changed`: the top-level fields that differ (added, removed or changed). */
  readonly fields?: readonly string[];
}

export function sinkChanges(
  running: Readonly<Record<string, RunningSink>>,
  next: Readonly<Record<string, RunningSink>>,
): SinkChange[] {
  const out: SinkChange[] = [];
  for (const [name, s] of Object.entries(next)) {
    const cur = running[name];
    if (!cur) out.push({ name, change: 'added', type: s.type });
    else if (cur.digest !== s.digest) {
      const keys = new Set([...Object.keys(cur.fields), ...Object.keys(s.fields)]);
      const fields = [...keys].filter((k) => cur.fields[k] !== s.fields[k]).sort();
      out.push({ name, change: 'changed', type: s.type, fields });
    }
  }
  for (const [name, s] of Object.entries(running))
    if (!next[name]) out.push({ name, change: 'removed', type: s.type });
  return out;
}

export interface ReloadPreview {
  /** Exactly what `reload()` reports after applying it. */
  readonly report: ReloadReport;
  /** The new configuration, when it loaded. */
  readonly loaded?: LoadedConfig;
  readonly put: readonly {
    readonly entry: LoadedConfig['rules'][number];
    readonly rule: CompiledRule;
    readonly change: 'added' | 'updated';
  }[];
  readonly remove: readonly string[];
  /** Sinks added, removed or changed (they take effect after a restart). */
  readonly sinks: readonly SinkChange[];
}

/** Decide what reloading `r` onto the running state would do; changes nothing. */
export function previewReload(
  r: LoadResult,
  compile: RuleCompiler<CompiledRule>,
  running: {
    rules: readonly RunningRule[];
    sections: RunningSections;
    sinks?: Readonly<Record<string, RunningSink>>;
  },
  hasSink: (name: string) => boolean,
): ReloadPreview {
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
      put: [],
      remove: [],
      sinks: [],
    };
  const c = compileRules(r.loaded.rules, compile);
  // A new sink only exists after a restart: rules naming one keep their old version.
  const notYet = c.compiled.filter((x) => x.entry.actions.some((a) => !hasSink(a)));
  for (const { entry } of notYet) {
    c.failed.push(entry);
    c.issues.push({
      code: 'rule_unknown_action',
      file: entry.origin.file,
      line: entry.at.line,
      column: entry.at.column,
      path: entry.at.path,
      reason: `actions ${entry.actions.filter((a) => !hasSink(a)).join(', ')} name sinks that start only after a restart`,
      rule: entry.id,
    } satisfies ConfigIssue);
  }
  c.compiled = c.compiled.filter((x) => !notYet.includes(x));
  const plan = planReload(running.rules, c.compiled, {
    ids: [...r.loaded.brokenRuleIds, ...c.failed.map((e) => e.id)],
    files: [...r.loaded.brokenRuleFiles, ...c.failed.map((e) => e.origin.file)],
  });
  const next = runningSections(r.loaded);
  const s = running.sections;
  const restartRequired: string[] = [];
  if (next.broker !== s.broker) restartRequired.push('broker');
  if (next.sinks !== s.sinks) restartRequired.push('sinks');
  if (s.gateway !== undefined && next.gateway !== s.gateway) restartRequired.push('gateway');
  if (s.sources !== undefined && next.sources !== s.sources) restartRequired.push('sources');
  return {
    loaded: r.loaded,
    put: plan.put,
    remove: plan.remove,
    sinks: running.sinks ? sinkChanges(running.sinks, runningSinks(r.loaded)) : [],
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

export interface ReloadContext {
  load(): LoadResult;
  compile: RuleCompiler<CompiledRule>;
  rules: RulesService;
  hasSink(name: string): boolean;
  /** Digests of the running broker, sinks, gateway and sources sections. */
  running: RunningSections;
}

export function reloadRules(ctx: ReloadContext): { report: ReloadReport; loaded?: LoadedConfig } {
  const p = previewReload(
    ctx.load(),
    ctx.compile,
    { rules: ctx.rules.running(), sections: ctx.running },
    ctx.hasSink,
  );
  for (const x of p.put) ctx.rules.put(x.entry, x.rule);
  for (const id of p.remove) ctx.rules.remove(id);
  return { report: p.report, ...(p.loaded ? { loaded: p.loaded } : {}) };
}
