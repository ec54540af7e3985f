/**
 * Rule lifecycle at run time: create, update, delete, enable, disable — each a synchronous
 * change between two events, so no message is lost for any other rule and none sees a half
 * change.
 *
 * - `add` compiles nothing: it receives an already compiled rule (the engine compiles, so a
 *   bad rule is rejected before it touches the running set).
 * - `update` swaps the rule's version (compiled closures + actions) atomically: events already
 *   delivered ran the old version, the next event runs the new one. When FROM changes, the new
 *   filters are attached and the dropped ones detached in the same synchronous step.
 * - `disable` detaches the rule from the source (no metrics counted while disabled, as in
 *   EMQX); `enable` re-attaches it. Metrics survive update/enable/disable; `remove` drops them.
 */
import { Subject } from 'rxjs';
import type { Observable } from 'rxjs';

import type { Logger } from '../core/index.js';
import { RuleGuard } from './guard.js';
import type { EvalClock, RuleGuardConfig } from './guard.js';
import { createRuleMetrics } from './metrics.js';
import type { RuleMetrics, RuleMetricsSnapshot } from './metrics.js';
import { RuntimeRuleErrors as E } from './operators/errors.js';
import type { ExecutableRule, RuleResult, RuleVersion } from './operators/evaluate-rule.js';
import type { ActionRouter } from './operators/route-actions.js';
import { createRulePipeline } from './pipeline.js';
import type { RulePipeline } from './pipeline.js';
import type { EventSource } from './source.js';

export interface RuleSpec<C> {
  readonly id: string;
  /** FROM topic filters (MQTT filters, `$events/...` in either spelling). */
  readonly from: readonly string[];
  readonly compiled: ExecutableRule<C>;
  readonly actions: readonly string[];
  /** Default true. */
  readonly enabled?: boolean;
  readonly description?: string;
  readonly sql?: string;
}

export interface RuleInfo {
  readonly id: string;
  readonly from: readonly string[];
  readonly actions: readonly string[];
  readonly enabled: boolean;
  readonly description: string;
  readonly sql: string;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** Why the rule is suspended (over its evaluation budget too often); absent when it is not. */
  readonly suspended?: { readonly at: number; readonly reason: string };
}

export interface RuleManagerDeps<C> {
  source: EventSource<C>;
  /** Routes outputs to actions (the engine → sink runners). */
  router: ActionRouter;
  logger: Logger;
  now(): number;
  /**
   * Called synchronously with every `failed` result (before `results$` sees it). A plain
   * callback, so a consumer that only cares about failures (the engine's debug log) costs
   * nothing per passed message — unlike a `results$` subscription, which every result visits.
   */
  onFailed?(result: RuleResult<C>): void;
  /** Evaluation budget and circuit breaker for every rule (guard.ts); absent = none. */
  guard?: {
    readonly config: RuleGuardConfig;
    readonly clock: EvalClock;
    /** Filled with each deployed rule's guard (by id), for the lag watch (lag-watch.ts). */
    readonly registry?: Map<string, RuleGuard>;
  };
  /** Called when a rule is suspended by its circuit breaker. */
  onSuspended?(id: string, reason: string): void;
}

export interface RuleManager<C> {
  add(spec: RuleSpec<C>): void;
  update(spec: RuleSpec<C>): void;
  /** add or update. Returns which happened. */
  put(spec: RuleSpec<C>): 'added' | 'updated';
  remove(id: string): void;
  enable(id: string): void;
  disable(id: string): void;
  has(id: string): boolean;
  get(id: string): RuleInfo | undefined;
  list(): RuleInfo[];
  metrics(id: string): RuleMetricsSnapshot;
  allMetrics(): Record<string, RuleMetricsSnapshot>;
  resetMetrics(id: string): void;
  /** Every rule result (passed/filtered/failed), for logs, taps and tests. */
  readonly results$: Observable<RuleResult<C>>;
  /** Stop every pipeline and detach from the source. */
  close(): void;
}

interface Slot<C> {
  info: RuleInfo;
  readonly metrics: RuleMetrics;
  /** Holds the current version (`pipeline.version`) and is the source target. */
  readonly pipeline: RulePipeline<C>;
  readonly guard: RuleGuard | undefined;
}

export function createRuleManager<C>(deps: RuleManagerDeps<C>): RuleManager<C> {
  const slots = new Map<string, Slot<C>>();
  const results = new Subject<RuleResult<C>>();
  const log = deps.logger;

  function slotOf(id: string): Slot<C> {
    const slot = slots.get(id);
    if (!slot) throw E.rule_not_found(`rule ${JSON.stringify(id)} does not exist`);
    return slot;
  }

  function infoOf(spec: RuleSpec<C>, createdAt: number): RuleInfo {
    return {
      id: spec.id,
      from: [...spec.from],
      actions: [...spec.actions],
      enabled: spec.enabled ?? true,
      description: spec.description ?? '',
      sql: spec.sql ?? '',
      createdAt,
      updatedAt: deps.now(),
    };
  }

  function add(spec: RuleSpec<C>): void {
    if (slots.has(spec.id)) throw E.rule_already_exists(`rule ${JSON.stringify(spec.id)} exists`);
    const metrics = createRuleMetrics(deps.now);
    const version: RuleVersion<C> = { compiled: spec.compiled, actions: [...spec.actions] };
    const id = spec.id;
    const guard = deps.guard
      ? new RuleGuard(deps.guard.config, deps.guard.clock, (strikes, lastMs) =>
          // Not inside the delivery that tripped it: the source is iterating its targets.
          queueMicrotask(() => suspend(id, strikes, lastMs)),
        )
      : undefined;
    const pipeline = createRulePipeline<C>(
      spec.id,
      version,
      metrics,
      deps.router,
      results,
      deps.onFailed,
      guard,
    );
    const slot: Slot<C> = { info: infoOf(spec, deps.now()), metrics, pipeline, guard };
    slots.set(spec.id, slot);
    if (guard) deps.guard?.registry?.set(spec.id, guard);
    if (slot.info.enabled) deps.source.attach(slot.info.from, pipeline);
    log.info({ rule: spec.id, from: slot.info.from, actions: slot.info.actions }, 'rule created');
  }

  function update(spec: RuleSpec<C>): void {
    const slot = slotOf(spec.id);
    const before = slot.info;
    const after = infoOf(spec, before.createdAt);
    const target = slot.pipeline;
    // One synchronous step: version swap + index changes.
    slot.pipeline.version = { compiled: spec.compiled, actions: [...spec.actions] };
    slot.info = after;
    const oldFilters = before.enabled ? before.from : [];
    const newFilters = after.enabled ? after.from : [];
    deps.source.attach(
      newFilters.filter((f) => !oldFilters.includes(f)),
      target,
    );
    deps.source.detach(
      oldFilters.filter((f) => !newFilters.includes(f)),
      target,
    );
    log.info({ rule: spec.id, from: after.from, actions: after.actions }, 'rule updated');
  }

  function suspend(id: string, strikes: number, lastMs: number): void {
    const slot = slots.get(id);
    if (!slot || !slot.info.enabled) return;
    const g = deps.guard!.config;
    const reason = `rule_suspended: ${strikes} evaluations over the ${g.budgetMs} ms budget within ${g.windowMs} ms (last took ${Math.round(lastMs)} ms); enable the rule to resume it`;
    setEnabled(id, false);
    slot.info = { ...slot.info, suspended: { at: deps.now(), reason } };
    log.error({ rule: id, code: 'rule_suspended', reason }, 'rule suspended');
    deps.onSuspended?.(id, reason);
  }

  function setEnabled(id: string, enabled: boolean): void {
    const slot = slotOf(id);
    if (slot.info.enabled === enabled) return;
    const { suspended: _gone, ...rest } = slot.info;
    slot.info = { ...(enabled ? rest : slot.info), enabled, updatedAt: deps.now() };
    if (enabled) slot.guard?.reset();
    if (enabled) deps.source.attach(slot.info.from, slot.pipeline);
    else deps.source.detach(slot.info.from, slot.pipeline);
    log.info({ rule: id }, enabled ? 'rule enabled' : 'rule disabled');
  }

  return {
    add,
    update,
    put(spec) {
      if (slots.has(spec.id)) {
        update(spec);
        return 'updated';
      }
      add(spec);
      return 'added';
    },
    remove(id) {
      const slot = slotOf(id);
      if (slot.info.enabled) deps.source.detach(slot.info.from, slot.pipeline);
      slot.pipeline.stop();
      slots.delete(id);
      deps.guard?.registry?.delete(id);
      log.info({ rule: id }, 'rule deleted');
    },
    enable: (id) => setEnabled(id, true),
    disable: (id) => setEnabled(id, false),
    has: (id) => slots.has(id),
    get: (id) => slots.get(id)?.info,
    list: () => [...slots.values()].map((s) => s.info),
    metrics: (id) => slotOf(id).metrics.snapshot(),
    allMetrics() {
      const out: Record<string, RuleMetricsSnapshot> = {};
      for (const [id, s] of slots) out[id] = s.metrics.snapshot();
      return out;
    },
    resetMetrics: (id) => slotOf(id).metrics.reset(),
    results$: results.asObservable(),
    close() {
      for (const [id, slot] of slots) {
        if (slot.info.enabled) deps.source.detach(slot.info.from, slot.pipeline);
        slot.pipeline.stop();
        slots.delete(id);
        deps.guard?.registry?.delete(id);
      }
      results.complete();
    },
  };
}
