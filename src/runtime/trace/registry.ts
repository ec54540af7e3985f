/**
 * The trace recorder (issue #18 item 1, docs/api.md "Traces"): operators start a trace with a
 * filter (client id, MQTT topic filter, rule id) bounded in time (`duration_s`) and messages
 * (`max_messages`); every message it selects records its steps (received, rule_matched, where,
 * select, action_render, buffered, send_attempt, ack, drop, fallback) into the trace's ring and
 * to its live subscribers (the API's Server-Sent Events stream).
 *
 * Cost when no trace runs: the registry hands the event source a tracer only while at least one
 * trace is running (`onActive(tracer | null)`), so the source's hot path is one null check.
 *
 * Bounds: at most `maxRunning` traces run at once (`trace_limit_reached`), at most `maxKept`
 * are kept (the oldest stopped ones are forgotten first), each keeps its last `ringSize` steps
 * (older ones are overwritten, counted in `steps_dropped`). When `max_messages` messages were
 * selected, the trace takes no new message and stops `settleMs` later (so the acks of the
 * messages it holds can still arrive); it stops at `ends_at` in any case.
 *
 * No module state: everything lives in the `createTraceRegistry` closure; time and timers are
 * injected (`now`, `schedule`).
 */
import {
  encodeJson,
  type BrokerEvent,
  type MessageTrace,
  type TraceStepName,
  type Value,
} from '../../core/index.js';
import { topicFilterProblem, topicMatches } from '../topic.js';
import { TraceErrors } from './errors.js';
import { StepRing, type StoredStep } from './ring.js';

export interface TraceFilter {
  readonly clientid?: string;
  /** An MQTT topic filter, matched against the message topic (`$events/...` for events). */
  readonly topic?: string;
  readonly rule_id?: string;
}

export type TraceState = 'running' | 'stopped';

/** Why a trace stopped: its duration ended, it selected max_messages, or it was deleted. */
export type TraceStopReason = 'duration' | 'max_messages' | 'deleted' | 'shutdown';

/** The summary the API returns (snake_case, as sent). */
export interface TraceSummary {
  readonly id: string;
  readonly name: string;
  readonly filter: TraceFilter;
  readonly state: TraceState;
  /** ISO 8601. */
  readonly started_at: string;
  /** ISO 8601: when it stops at the latest. */
  readonly ends_at: string;
  readonly max_messages: number;
  /** Messages selected so far. */
  readonly messages: number;
  /** Steps recorded so far (the ring keeps the last `ring_size`). */
  readonly steps_total: number;
  /** Steps overwritten in the ring. */
  readonly steps_dropped: number;
  readonly ring_size: number;
  readonly stopped_at?: string;
  readonly stop_reason?: TraceStopReason;
}

/** A live reader of one trace (the SSE stream). Calls never throw back into the recorder. */
export interface TraceListener {
  step(step: StoredStep): void;
  /** The trace stopped (or was deleted); no further calls. */
  end(reason: TraceStopReason): void;
}

/** What the event source asks per event while a trace runs. */
export interface Tracer {
  /**
   * The per-message handle when some running trace selects this event by client id and topic
   * (records `received` for the traces without a rule filter), else undefined. `rules` is the
   * number of rules whose FROM matched.
   */
  begin(event: BrokerEvent, rules: number): TriggerTrace | undefined;
}

/** One traced message, as the rule pipelines see it. */
export interface TriggerTrace {
  /** The rule `ruleId` matched: records `rule_matched`; the handle for its later steps, if traced. */
  rule(ruleId: string): MessageTrace | undefined;
}

export interface TraceRegistryOptions {
  now?: () => number;
  /** Timer (default setTimeout, unref'd); returns a cancel function. */
  schedule?: (fn: () => void, ms: number) => () => void;
  /** Called with the tracer when the first trace starts and with null when the last stops. */
  onActive?: (tracer: Tracer | null) => void;
  maxRunning?: number;
  maxKept?: number;
  ringSize?: number;
  settleMs?: number;
}

export interface TraceRegistry {
  /**
   * Start a trace from the API body `{name?, filter, duration_s?, max_messages?}`.
   * @throws SluiceError trace_invalid (bad body), trace_limit_reached (too many running)
   */
  create(body: Readonly<Record<string, unknown>>): TraceSummary;
  list(): TraceSummary[];
  get(id: string): TraceSummary | undefined;
  /** The ring's steps with `seq > after`, oldest first, as JSON texts; undefined: no such trace. */
  steps(id: string, after?: number): StoredStep[] | undefined;
  /** Stop (if running) and forget a trace; false when there is none. */
  remove(id: string): boolean;
  /**
   * Replay the ring's steps after `after`, then follow live ones; `end` is called once the trace
   * stops (at once, after the replay, for a stopped trace). Returns the unsubscribe function,
   * or undefined when there is no such trace.
   */
  subscribe(id: string, after: number, listener: TraceListener): (() => void) | undefined;
  /** Running traces now. */
  readonly running: number;
  /** Stop every trace (engine shutdown). */
  close(): void;
}

export const TRACE_LIMITS = {
  maxRunning: 8,
  maxKept: 32,
  ringSize: 10_000,
  settleMs: 2_000,
  defaultDurationS: 60,
  maxDurationS: 3600,
  defaultMaxMessages: 1000,
  maxMaxMessages: 100_000,
} as const;

interface Trace {
  readonly id: string;
  readonly name: string;
  readonly filter: TraceFilter;
  state: TraceState;
  /** False once max_messages were selected (stops after settleMs). */
  accepting: boolean;
  readonly startedAt: number;
  endsAt: number;
  readonly maxMessages: number;
  messages: number;
  seq: number;
  readonly ring: StepRing;
  readonly listeners: Set<TraceListener>;
  stoppedAt?: number;
  stopReason?: TraceStopReason;
  cancelTimer?: () => void;
}

const FIELDS = ['name', 'filter', 'duration_s', 'max_messages'];
const FILTER_FIELDS = ['clientid', 'topic', 'rule_id'];

function invalid(message: string): never {
  throw TraceErrors.trace_invalid(message);
}

function intIn(
  body: Readonly<Record<string, unknown>>,
  key: string,
  dflt: number,
  max: number,
): number {
  const v = body[key];
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 1 || v > max)
    invalid(`${key} must be a number from 1 to ${max}`);
  return v;
}

/** Validate the API body; returns the trace's settings. */
function parseRequest(body: Readonly<Record<string, unknown>>): {
  name: string | undefined;
  filter: TraceFilter;
  durationS: number;
  maxMessages: number;
} {
  for (const k of Object.keys(body))
    if (!FIELDS.includes(k))
      invalid(`unknown field ${JSON.stringify(k)} (known: ${FIELDS.join(', ')})`);
  const name = body['name'];
  if (name !== undefined && (typeof name !== 'string' || name.length > 200))
    invalid('name must be a string of at most 200 characters');
  const f = body['filter'];
  if (typeof f !== 'object' || f === null || Array.isArray(f))
    invalid('filter is required: an object with clientid, topic and/or rule_id');
  const raw = f as Record<string, unknown>;
  const filter: { clientid?: string; topic?: string; rule_id?: string } = {};
  for (const k of Object.keys(raw)) {
    if (!FILTER_FIELDS.includes(k))
      invalid(`unknown filter field ${JSON.stringify(k)} (known: ${FILTER_FIELDS.join(', ')})`);
    const v = raw[k];
    if (typeof v !== 'string' || v.length === 0) invalid(`filter.${k} must be a non-empty string`);
    filter[k as 'clientid' | 'topic' | 'rule_id'] = v;
  }
  if (Object.keys(filter).length === 0)
    invalid('filter must name at least one of clientid, topic, rule_id');
  if (filter.topic !== undefined) {
    const problem = topicFilterProblem(filter.topic);
    if (problem)
      invalid(
        `filter.topic ${JSON.stringify(filter.topic)} is not an MQTT topic filter: ${problem}`,
      );
  }
  return {
    name: name as string | undefined,
    filter,
    durationS: intIn(body, 'duration_s', TRACE_LIMITS.defaultDurationS, TRACE_LIMITS.maxDurationS),
    maxMessages: Math.floor(
      intIn(body, 'max_messages', TRACE_LIMITS.defaultMaxMessages, TRACE_LIMITS.maxMaxMessages),
    ),
  };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function summary(t: Trace): TraceSummary {
  return {
    id: t.id,
    name: t.name,
    filter: t.filter,
    state: t.state,
    started_at: iso(t.startedAt),
    ends_at: iso(t.endsAt),
    max_messages: t.maxMessages,
    messages: t.messages,
    steps_total: t.seq,
    steps_dropped: t.seq - t.ring.size,
    ring_size: t.ring.capacity,
    ...(t.stoppedAt !== undefined ? { stopped_at: iso(t.stoppedAt) } : {}),
    ...(t.stopReason !== undefined ? { stop_reason: t.stopReason } : {}),
  };
}

const defaultSchedule = (fn: () => void, ms: number): (() => void) => {
  const h = setTimeout(fn, ms);
  h.unref();
  return () => clearTimeout(h);
};

export function createTraceRegistry(options: TraceRegistryOptions = {}): TraceRegistry {
  const now = options.now ?? Date.now;
  const schedule = options.schedule ?? defaultSchedule;
  const maxRunning = options.maxRunning ?? TRACE_LIMITS.maxRunning;
  const maxKept = Math.max(maxRunning, options.maxKept ?? TRACE_LIMITS.maxKept);
  const ringSize = options.ringSize ?? TRACE_LIMITS.ringSize;
  const settleMs = options.settleMs ?? TRACE_LIMITS.settleMs;
  const traces = new Map<string, Trace>();
  /** The running traces, in creation order (what `begin` walks). */
  let running: Trace[] = [];
  let nextId = 1;
  let nextMsg = 1;

  function record(
    t: Trace,
    msgId: string,
    step: TraceStepName,
    ruleId: string | undefined,
    action: string | undefined,
    clientid: string | undefined,
    topic: string,
    detail: Record<string, unknown>,
  ): void {
    if (t.state !== 'running') return;
    const seq = ++t.seq;
    let json =
      `{"trace_id":${JSON.stringify(t.id)},"seq":${seq},"msg_id":${JSON.stringify(msgId)},` +
      `"ts":${now()},"step":"${step}"`;
    if (ruleId !== undefined) json += `,"rule_id":${JSON.stringify(ruleId)}`;
    if (action !== undefined) json += `,"action":${JSON.stringify(action)}`;
    if (clientid !== undefined) json += `,"clientid":${JSON.stringify(clientid)}`;
    json += `,"topic":${JSON.stringify(topic)},"detail":${encodeJson(detail as Value)}}`;
    const stored: StoredStep = { seq, json };
    t.ring.push(stored);
    for (const l of t.listeners) {
      try {
        l.step(stored);
      } catch {
        t.listeners.delete(l);
      }
    }
  }

  function admit(t: Trace): boolean {
    if (!t.accepting) return false;
    t.messages++;
    if (t.messages >= t.maxMessages) {
      t.accepting = false;
      const at = now() + settleMs;
      if (at < t.endsAt) {
        t.endsAt = at;
        arm(t, 'max_messages');
      }
    }
    return true;
  }

  function arm(t: Trace, reason: TraceStopReason): void {
    t.cancelTimer?.();
    t.cancelTimer = schedule(() => stop(t, reason), Math.max(0, t.endsAt - now()));
  }

  class MessageHandle implements TriggerTrace {
    /** Traces that recorded `received` for this message. */
    private readonly admitted = new Set<Trace>();
    constructor(
      private readonly msgId: string,
      private readonly clientid: string | undefined,
      private readonly topic: string,
      private readonly candidates: readonly Trace[],
    ) {}

    received(t: Trace, rules: number): void {
      this.admitted.add(t);
      record(t, this.msgId, 'received', undefined, undefined, this.clientid, this.topic, { rules });
    }

    rule(ruleId: string): MessageTrace | undefined {
      let chosen: Trace[] | undefined;
      for (const t of this.candidates) {
        if (t.filter.rule_id !== undefined && t.filter.rule_id !== ruleId) continue;
        if (!this.admitted.has(t)) {
          if (t.state !== 'running' || !admit(t)) continue;
          this.received(t, 1);
        }
        (chosen ??= []).push(t);
      }
      if (chosen === undefined) return undefined;
      const traced = new RuleHandle(this, ruleId, chosen);
      traced.step('rule_matched', undefined, {});
      return traced;
    }

    write(
      t: Trace,
      step: TraceStepName,
      ruleId: string,
      action: string | undefined,
      detail: Record<string, unknown>,
    ): void {
      record(t, this.msgId, step, ruleId, action, this.clientid, this.topic, detail);
    }
  }

  class RuleHandle implements MessageTrace {
    constructor(
      private readonly msg: MessageHandle,
      private readonly ruleId: string,
      private readonly traces: readonly Trace[],
    ) {}
    step(step: TraceStepName, action: string | undefined, detail: Record<string, unknown>): void {
      for (const t of this.traces) this.msg.write(t, step, this.ruleId, action, detail);
    }
  }

  const tracer: Tracer = {
    begin(event, rules) {
      const cols = event.columns;
      const c = cols['clientid'];
      const clientid = typeof c === 'string' ? c : undefined;
      const tp = cols['topic'];
      const topic =
        event.name === 'message.publish' && typeof tp === 'string' ? tp : event.matchTopic;
      let candidates: Trace[] | undefined;
      for (const t of running) {
        if (!t.accepting) continue;
        const f = t.filter;
        if (f.clientid !== undefined && f.clientid !== clientid) continue;
        if (f.topic !== undefined && !topicMatches(topic, f.topic)) continue;
        (candidates ??= []).push(t);
      }
      if (candidates === undefined) return undefined;
      const id = cols['id'];
      const msgId = typeof id === 'string' && id !== '' ? id : `m${nextMsg++}`;
      const handle = new MessageHandle(msgId, clientid, topic, candidates);
      for (const t of candidates)
        if (t.filter.rule_id === undefined && admit(t)) handle.received(t, rules);
      return handle;
    },
  };

  function stop(t: Trace, reason: TraceStopReason): void {
    if (t.state !== 'running') return;
    t.cancelTimer?.();
    t.cancelTimer = undefined;
    t.state = 'stopped';
    t.accepting = false;
    t.stoppedAt = now();
    t.stopReason = reason;
    const wasActive = running.length > 0;
    running = running.filter((r) => r !== t);
    for (const l of t.listeners) {
      try {
        l.end(reason);
      } catch {
        // a listener that throws is dropped anyway
      }
    }
    t.listeners.clear();
    if (wasActive && running.length === 0) options.onActive?.(null);
  }

  /** Forget the oldest stopped traces until there is room for one more. */
  function evict(): void {
    for (const [id, t] of traces) {
      if (traces.size < maxKept) return;
      if (t.state === 'stopped') traces.delete(id);
    }
  }

  return {
    create(body) {
      const req = parseRequest(body);
      if (running.length >= maxRunning)
        throw TraceErrors.trace_limit_reached(
          `${running.length} traces are running (at most ${maxRunning}); delete one first`,
        );
      evict();
      const id = `trace_${nextId++}_${now().toString(36)}`;
      const startedAt = now();
      const t: Trace = {
        id,
        name: req.name ?? id,
        filter: req.filter,
        state: 'running',
        accepting: true,
        startedAt,
        endsAt: startedAt + req.durationS * 1000,
        maxMessages: req.maxMessages,
        messages: 0,
        seq: 0,
        ring: new StepRing(ringSize),
        listeners: new Set(),
      };
      traces.set(id, t);
      running = [...running, t];
      arm(t, 'duration');
      if (running.length === 1) options.onActive?.(tracer);
      return summary(t);
    },
    list: () => [...traces.values()].map(summary),
    get(id) {
      const t = traces.get(id);
      return t && summary(t);
    },
    steps(id, after = 0) {
      return traces.get(id)?.ring.since(after);
    },
    remove(id) {
      const t = traces.get(id);
      if (!t) return false;
      stop(t, 'deleted');
      traces.delete(id);
      return true;
    },
    subscribe(id, after, listener) {
      const t = traces.get(id);
      if (!t) return undefined;
      for (const s of t.ring.since(after)) listener.step(s);
      if (t.state !== 'running') {
        listener.end(t.stopReason ?? 'duration');
        return () => {};
      }
      t.listeners.add(listener);
      return () => t.listeners.delete(listener);
    },
    get running() {
      return running.length;
    },
    close() {
      for (const t of [...running]) stop(t, 'shutdown');
    },
  };
}
