/**
 * One rule, one sample event — EMQX's rule test (`emqx_rule_sqltester`), shared by
 * `POST /api/v5/rule_test` and `sluice test-rule` (both import it from the runtime).
 *
 * The context is the event's column map. Which event it is: EMQX's `event_type`
 * (`message_publish`, `client_connected`, … — the dotted names `client.connected` work too)
 * when given, otherwise the event the rule's FROM names (a message publish unless FROM is only
 * `$events/…` topics). Missing columns get sample values (`clientid` `c_sluice`, `topic` the
 * FROM topic when it has no wildcards, …). A `payload` given as a JSON object or list is encoded
 * as JSON text, as a device would send it. As in EMQX the trigger must match FROM: the context
 * `topic` for a message, the event's topic for other events; otherwise the result is `no_match`.
 */
import { EVENT_TOPICS, encodeJson } from '../core/index.js';
import type { EventName, RuleOutcome, Value, ValueMap } from '../core/index.js';
import type { Diagnostic, ParseLimits } from '../sql-parser/index.js';
import { EvalSession } from './async-eval.js';
import { compileRule, compileRuleAsync, type ParseSql } from './compile-rule.js';
import type { CompiledRule } from './compile/index.js';
import { SqlError } from './errors.js';
import type { FunctionServices } from './functions/index.js';
import type { EvalClock } from './guard.js';
import { eventOfTopic, topicMatchesAny } from './topic.js';

export type RuleTestResult =
  | { readonly kind: 'passed'; readonly outputs: readonly ValueMap[]; readonly foreach: boolean }
  /** WHERE false or FOREACH empty. */
  | { readonly kind: 'no_result' }
  /** The context's topic/event does not match FROM. */
  | { readonly kind: 'no_match'; readonly message: string }
  | { readonly kind: 'failed'; readonly code: string; readonly reason: string }
  | { readonly kind: 'sql_error'; readonly diagnostics: readonly Diagnostic[] }
  | { readonly kind: 'bad_context'; readonly message: string };

const EVENT_NAMES: ReadonlySet<string> = new Set(['message.publish', ...Object.keys(EVENT_TOPICS)]);

/** `message_publish` / `client_check_authz_complete` (EMQX) or the dotted name → EventName. */
export function eventNameOf(eventType: string): EventName | undefined {
  const dotted = eventType.includes('.') ? eventType : eventType.replace('_', '.');
  return EVENT_NAMES.has(dotted) ? (dotted as EventName) : undefined;
}

/**
 * The columns of a sample `event` for a rule with these FROM entries: the common columns,
 * sample values for a message publish (`clientid` `c_sluice`, `topic` the FROM topic when it
 * has no wildcards, …), then `given` over them. A `payload` given as a JSON object or list is
 * encoded as JSON text, as a device would send it. Shared by rule_test and `sluice test`.
 */
export function sampleColumns(
  event: EventName,
  from: readonly string[],
  given: Readonly<Record<string, unknown>>,
  now: number,
  node: string,
): ValueMap {
  const literal = from.find((f) => !/[+#]/.test(f) && !f.startsWith('$'));
  const columns: ValueMap = {
    event,
    timestamp: now,
    node,
    clientid: 'c_sluice',
    username: 'u_sluice',
    peerhost: '127.0.0.1',
    ...(event === 'message.publish'
      ? {
          id: '0006126A8B3C2F0AF4432100000A0000',
          topic: literal ?? 't/1',
          qos: 1,
          flags: { dup: false, retain: false },
          pub_props: {},
          payload: '{}',
          publish_received_at: now,
        }
      : {}),
    ...(given as ValueMap),
  };
  const p: Value = columns['payload'];
  if (p !== undefined && p !== null && typeof p === 'object' && !Buffer.isBuffer(p))
    columns['payload'] = encodeJson(p);
  return columns;
}

export interface RuleTestOptions {
  /** Function services for the compiled rule (a fresh set per test run is fine). */
  services: FunctionServices;
  /** Timestamp of the sample event (ms). */
  now: number;
  /** `node` column. */
  node?: string;
  /**
   * The engine's evaluation budget (ms; 0 or absent = none) and the clock its services' jq
   * reads: a test over budget fails as `rule_budget_exceeded`, as the running rule would.
   */
  budgetMs?: number;
  clock?: EvalClock;
  /** SQL size limits (the engine's `rule_limits`); default: `services.sqlLimits` or the parser's. */
  limits?: ParseLimits;
  /**
   * `runRuleTestAsync` only: how to parse (a `ParseWorker`'s `parse`, which lexes and parses
   * long SQL on a worker thread). Default: `parseRule` on this thread.
   */
  parse?: ParseSql;
}

export function runRuleTest(
  sql: string,
  context: Readonly<Record<string, unknown>>,
  opts: RuleTestOptions,
): RuleTestResult {
  const prepared = prepareTest(sql, context, opts);
  return 'result' in prepared ? prepared.result : evaluateTest(prepared, opts);
}

/**
 * `runRuleTest` for callers that can wait (the API): a rule that calls jq is evaluated in
 * passes (async-eval.ts), so its jq run never blocks the event loop.
 */
export async function runRuleTestAsync(
  sql: string,
  context: Readonly<Record<string, unknown>>,
  opts: RuleTestOptions,
): Promise<RuleTestResult> {
  let prepared: PreparedTest | { result: RuleTestResult };
  if (opts.parse) {
    let rule: CompiledRule;
    try {
      rule = await compileRuleAsync(sql, { ...compileOptions(opts), parse: opts.parse });
    } catch (err) {
      if (err instanceof SqlError) return { kind: 'sql_error', diagnostics: err.diagnostics };
      throw err;
    }
    prepared = prepareWith(rule, context, opts);
  } else prepared = prepareTest(sql, context, opts);
  if ('result' in prepared) return prepared.result;
  const passes = prepared.rule.passes;
  if (!passes) return evaluateTest(prepared, opts);
  const session = new EvalSession();
  for (;;) {
    session.beginPass();
    passes.slot.current = session;
    let result: RuleTestResult;
    try {
      result = evaluateTest(prepared, opts);
    } finally {
      passes.slot.current = undefined;
    }
    const want = session.pending;
    if (want === undefined) return result;
    if ('ready' in want) {
      // An external schema fetch (decision 0014); past the bound, a blocking evaluation.
      if (++session.waits > 16) return evaluateTest(prepared, opts);
      await want.ready;
      continue;
    }
    try {
      session.memo.set(want.key, {
        outputs: await passes.jq(want.program, want.input, want.timeoutMs),
      });
    } catch (err) {
      session.memo.set(want.key, { error: err instanceof Error ? err.message : String(err) });
    }
  }
}

interface PreparedTest {
  readonly rule: CompiledRule;
  readonly columns: ValueMap;
}

function prepareTest(
  sql: string,
  context: Readonly<Record<string, unknown>>,
  opts: RuleTestOptions,
): PreparedTest | { result: RuleTestResult } {
  let rule;
  try {
    rule = compileRule(sql, compileOptions(opts));
  } catch (err) {
    if (err instanceof SqlError)
      return { result: { kind: 'sql_error', diagnostics: err.diagnostics } };
    throw err;
  }
  return prepareWith(rule, context, opts);
}

function compileOptions(opts: RuleTestOptions) {
  return { services: opts.services, ...(opts.limits ? { limits: opts.limits } : {}) };
}

/** The sample event for a compiled rule, or why there is none. */
function prepareWith(
  rule: CompiledRule,
  context: Readonly<Record<string, unknown>>,
  opts: RuleTestOptions,
): PreparedTest | { result: RuleTestResult } {
  const from = rule.sources;
  const { event_type: eventType, ...given } = context as Record<string, Value>;
  let event: EventName;
  if (eventType !== undefined) {
    const e = typeof eventType === 'string' ? eventNameOf(eventType) : undefined;
    if (!e)
      return {
        result: {
          kind: 'bad_context',
          message: `unknown event_type ${JSON.stringify(eventType)} (e.g. message_publish, client_connected)`,
        },
      };
    event = e;
  } else {
    event = from.map((f) => eventOfTopic(f)).find((e) => e !== undefined) ?? 'message.publish';
  }
  const now = opts.now;
  const columns = sampleColumns(event, from, given, now, opts.node ?? 'sluice@test');
  const shown = from.map((f) => JSON.stringify(f)).join(', ');
  if (event === 'message.publish') {
    const topic = columns['topic'];
    if (typeof topic !== 'string' || !topicMatchesAny(topic, from))
      return {
        result: {
          kind: 'no_match',
          message: `the context topic ${JSON.stringify(topic)} does not match FROM ${shown}`,
        },
      };
  } else {
    const topics = EVENT_TOPICS[event as Exclude<EventName, 'message.publish'>];
    if (!from.some((f) => eventOfTopic(f) === event))
      return {
        result: {
          kind: 'no_match',
          message: `event ${event} (${topics[0]}) is not in FROM ${shown}`,
        },
      };
  }
  return { rule, columns };
}

function evaluateTest({ rule, columns }: PreparedTest, opts: RuleTestOptions): RuleTestResult {
  const budget = opts.budgetMs ?? 0;
  const t0 = performance.now();
  if (budget > 0 && opts.clock) opts.clock.deadline = t0 + budget;
  let outcome: RuleOutcome;
  try {
    outcome = rule.run(columns);
  } finally {
    if (opts.clock) opts.clock.deadline = Infinity;
  }
  const ms = performance.now() - t0;
  if (budget > 0 && ms > budget)
    return {
      kind: 'failed',
      code: 'rule_budget_exceeded',
      reason: `evaluation took ${Math.round(ms)} ms, over the rule budget of ${budget} ms`,
    };
  switch (outcome.kind) {
    case 'passed':
      return {
        kind: 'passed',
        outputs: outcome.outputs as readonly ValueMap[],
        foreach: rule.kind === 'foreach',
      };
    case 'filtered':
      return { kind: 'no_result' };
    case 'failed':
      return { kind: 'failed', code: outcome.code, reason: outcome.reason };
  }
}
