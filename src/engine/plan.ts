/**
 * `sluice plan`: what a reload of a new sluice.yaml would change, decided by the reload's own
 * `previewReload` (reload.ts) against a running state — a running instance's (GET
 * /api/v5/config/running) or the one an old sluice.yaml starts with.
 */
import { compileRules, loadConfig } from '../config/index.js';
import type { ConfigIssue, RunningRule } from '../config/index.js';
import type { SinkType } from '../core/index.js';
import { createDefaultServices } from '../runtime/index.js';
import { previewReload, runningSections, runningSinks } from './reload.js';
import type { ReloadPreview, RunningState } from './reload.js';
import { createCompiler } from './rules.js';
import { configParts } from './sinks.js';

export interface PlanDeps {
  env?: Readonly<Record<string, string | undefined>>;
  sinkTypes?: readonly SinkType<never>[];
}

/**
 * The state an engine started from `file` runs: its compiled rules (broken ones are not
 * started) and the digests of its sections and sinks.
 */
export function startupState(
  file: string,
  deps: PlanDeps = {},
): { ok: true; state: RunningState } | { ok: false; issues: ConfigIssue[] } {
  const r = loadConfig(file, configParts(deps.sinkTypes), { env: deps.env ?? process.env });
  if (!r.ok) return { ok: false, issues: r.issues };
  const services = createDefaultServices({ node: r.loaded.config.node ?? 'sluice@plan' });
  const c = compileRules(r.loaded.rules, createCompiler(services));
  void services.close?.();
  const rules: RunningRule[] = c.compiled.map(({ entry }) => ({
    id: entry.id,
    sql: entry.sql,
    actions: [...entry.actions],
    enabled: entry.enabled,
    description: entry.description,
    file: entry.origin.file,
  }));
  return {
    ok: true,
    state: { rules, sections: runningSections(r.loaded), sinks: runningSinks(r.loaded) },
  };
}

/** What reloading `file` onto `running` would do (nothing is applied anywhere). */
export function planReloadFile(
  file: string,
  running: RunningState,
  deps: PlanDeps = {},
): ReloadPreview {
  const r = loadConfig(file, configParts(deps.sinkTypes), { env: deps.env ?? process.env });
  const services = createDefaultServices({
    node: (r.ok ? r.loaded.config.node : undefined) ?? 'sluice@plan',
  });
  try {
    return previewReload(r, createCompiler(services), running, (n) => n in running.sinks);
  } finally {
    void services.close?.();
  }
}
