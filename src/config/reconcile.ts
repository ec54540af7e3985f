/**
 * Hot reload plan: what to change in the running rule set after a reload, given the rules
 * that loaded and compiled and those that did not. Pure (the engine applies the plan):
 *  - a rule that loaded and compiled is put (added, or updated when its SQL, actions, enabled
 *    flag or description changed);
 *  - a running rule that is no longer declared is removed — unless it comes from a rule file
 *    or an inline id that is broken right now, in which case the old version keeps running;
 *  - a broken rule that is not running yet is simply not started.
 */
import type { RuleEntry } from './rule-file.js';

export interface RunningRule {
  readonly id: string;
  readonly sql: string;
  readonly actions: readonly string[];
  readonly enabled: boolean;
  readonly description: string;
  /** The file it came from ('' when added through the API). */
  readonly file: string;
}

export interface ReloadPlan<R> {
  readonly put: {
    readonly entry: RuleEntry;
    readonly rule: R;
    readonly change: 'added' | 'updated';
  }[];
  readonly remove: string[];
  /** Ids whose running version is kept because the new one is broken. */
  readonly kept: string[];
}

function same(a: RunningRule, b: RuleEntry): boolean {
  return (
    a.sql === b.sql &&
    a.enabled === b.enabled &&
    a.description === b.description &&
    a.actions.length === b.actions.length &&
    a.actions.every((x, i) => x === b.actions[i])
  );
}

export function planReload<R>(
  running: readonly RunningRule[],
  good: readonly { entry: RuleEntry; rule: R }[],
  broken: { readonly ids: readonly string[]; readonly files: readonly string[] },
): ReloadPlan<R> {
  const byId = new Map(running.map((r) => [r.id, r]));
  const declared = new Set(good.map((g) => g.entry.id));
  const put: ReloadPlan<R>['put'] = [];
  for (const g of good) {
    const cur = byId.get(g.entry.id);
    if (!cur) put.push({ ...g, change: 'added' });
    else if (!same(cur, g.entry)) put.push({ ...g, change: 'updated' });
  }
  const remove: string[] = [];
  const kept: string[] = [];
  for (const r of running) {
    if (declared.has(r.id)) continue;
    if (r.file === '') continue; // API-managed rules are not the config's to remove
    if (broken.ids.includes(r.id) || broken.files.includes(r.file)) kept.push(r.id);
    else remove.push(r.id);
  }
  return { put, remove, kept };
}
