/**
 * The alarm registry (EMQX `emqx_alarm`): named conditions that are either active or were
 * active. An alarm is activated once (activating an active alarm changes nothing — EMQX "will
 * not be generated repeatedly") and deactivated once; a deactivated alarm moves to a bounded
 * history (`size_limit`, `validity_period`) and the same name may be activated again.
 *
 * Each change is logged (warn `alarm_activated`, info on deactivation) and handed to the
 * `onChange` listeners synchronously, in order: the engine turns them into
 * `$events/sys/alarm_activated` / `$events/sys/alarm_deactivated` events with EMQX's columns
 * (`alarmEvent`). Nothing here watches anything: alarm-monitor.ts decides when to (de)activate.
 */
import type { BrokerEvent, Logger, ValueMap } from '../core/index.js';

export interface AlarmRecord {
  /** Unique while active (EMQX names: `high_system_memory_usage`, a resource id, …). */
  readonly name: string;
  /** Human-readable text (EMQX `message`). */
  readonly message: string;
  /** Structured facts (EMQX `details`). */
  readonly details: Readonly<ValueMap>;
  /** Wall-clock ms of activation. */
  readonly activatedAt: number;
  /** Wall-clock ms of deactivation; absent while active. */
  readonly deactivatedAt?: number;
}

export interface AlarmChange {
  readonly kind: 'activated' | 'deactivated';
  readonly alarm: AlarmRecord;
}

export interface AlarmRegistry {
  /** Raise `name`; false (and nothing happens) when it is active already. */
  activate(name: string, details: ValueMap, message: string): boolean;
  /**
   * Clear `name`; false when it is not active. `details`/`message` replace the activation's
   * when given (EMQX lets deactivation carry the latest facts).
   */
  deactivate(name: string, details?: ValueMap, message?: string): boolean;
  isActive(name: string): boolean;
  /** Active alarms, oldest activation first. */
  active(): AlarmRecord[];
  /** Deactivated alarms still kept, most recent deactivation first. */
  history(): AlarmRecord[];
  /** Forget the deactivated alarms (EMQX `DELETE /api/v5/alarms`); returns how many. */
  clearHistory(): number;
  /** Listen for changes; returns the remover. A throwing listener is logged and skipped. */
  onChange(listener: (change: AlarmChange) => void): () => void;
  /** Activations and deactivations since start (for /metrics). */
  counts(): { readonly activated: number; readonly deactivated: number };
}

export interface AlarmRegistryConfig {
  /** Deactivated alarms kept at most (EMQX alarm.size_limit). */
  readonly sizeLimit: number;
  /** ms a deactivated alarm is kept (EMQX alarm.validity_period). */
  readonly validityPeriod: number;
}

export function createAlarmRegistry(
  deps: { now: () => number; logger: Logger },
  config: AlarmRegistryConfig,
): AlarmRegistry {
  const active = new Map<string, AlarmRecord>();
  /** Oldest deactivation first. */
  let history: AlarmRecord[] = [];
  const listeners = new Set<(c: AlarmChange) => void>();
  let activated = 0;
  let deactivated = 0;

  function prune(now: number): void {
    const cutoff = now - config.validityPeriod;
    history = history.filter((a) => (a.deactivatedAt ?? 0) > cutoff);
    if (history.length > config.sizeLimit)
      history = history.slice(history.length - config.sizeLimit);
  }

  function emit(change: AlarmChange): void {
    for (const l of listeners) {
      try {
        l(change);
      } catch (err) {
        deps.logger.error(
          { code: 'alarm_listener_failed', err, alarm: change.alarm.name },
          'alarm listener threw',
        );
      }
    }
  }

  return {
    activate(name, details, message) {
      if (active.has(name)) return false;
      const alarm: AlarmRecord = Object.freeze({
        name,
        message,
        details: Object.freeze({ ...details }),
        activatedAt: deps.now(),
      });
      active.set(name, alarm);
      activated++;
      deps.logger.warn({ code: 'alarm_activated', alarm: name, details }, `alarm: ${message}`);
      emit({ kind: 'activated', alarm });
      return true;
    },
    deactivate(name, details, message) {
      const cur = active.get(name);
      if (!cur) return false;
      active.delete(name);
      const now = deps.now();
      const alarm: AlarmRecord = Object.freeze({
        ...cur,
        ...(details ? { details: Object.freeze({ ...details }) } : {}),
        ...(message !== undefined ? { message } : {}),
        deactivatedAt: now,
      });
      history.push(alarm);
      prune(now);
      deactivated++;
      deps.logger.info({ alarm: name }, `alarm cleared: ${alarm.message}`);
      emit({ kind: 'deactivated', alarm });
      return true;
    },
    isActive: (name) => active.has(name),
    active: () => [...active.values()],
    history() {
      prune(deps.now());
      return [...history].reverse();
    },
    clearHistory() {
      const n = history.length;
      history = [];
      return n;
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    counts: () => ({ activated, deactivated }),
  };
}

/**
 * The rule event for one alarm change: EMQX 5.8.5's `$events/sys/alarm_activated` columns
 * (`name`, `details`, `message`, `activated_at`) and, for deactivation, `deactivated_at`; plus
 * the common `event`, `timestamp`, `node`. Times are ms.
 */
export function alarmEvent(change: AlarmChange, node: string, now: number): BrokerEvent {
  const a = change.alarm;
  const activatedEvent = change.kind === 'activated';
  const columns: ValueMap = {
    event: activatedEvent ? 'alarm.activated' : 'alarm.deactivated',
    name: a.name,
    details: a.details as ValueMap,
    message: a.message,
    activated_at: a.activatedAt,
    ...(activatedEvent ? {} : { deactivated_at: a.deactivatedAt ?? now }),
    timestamp: now,
    node,
  };
  return Object.freeze({
    name: activatedEvent ? 'alarm.activated' : 'alarm.deactivated',
    matchTopic: activatedEvent ? '$events/sys/alarm_activated' : '$events/sys/alarm_deactivated',
    columns: Object.freeze(columns),
  });
}
