/**
 * `sluice test`: run rule test files (src/config test-file.ts) through the configuration's
 * real compiled rules and the sinks' real action templates, with no network:
 *
 *   input → columns (as the broker builds them: payload bytes, flags, pub_props) → every
 *   enabled rule under test whose FROM matches (config order) → outputs → each of the rule's
 *   actions → rendered as that sink would write it → compared with `expect`.
 *
 * Rendering: `republish` runs the real republish sink over a capturing publish port (topic,
 * payload, qos, retain and property templates); `kafka` the sink's own record mapper (topic,
 * key, value, headers, timestamp); every other sink type receives the rule output itself.
 * Time is fixed (`RULE_TEST_NOW`, also the clock of now_timestamp() and friends) so outputs
 * are reproducible; an input sets `columns.timestamp` to use another.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

import { compileRules, loadConfig, loadTestFile } from '../config/index.js';
import type { ConfigIssue, RuleEntry, TestCase, TestInput } from '../config/index.js';
import { EVENT_TOPICS, silentLogger } from '../core/index.js';
import type { EventName, FieldSpec, SinkRecord, SinkType, ValueMap } from '../core/index.js';
import {
  createDefaultServices,
  eventNameOf,
  eventOfTopic,
  sampleColumns,
} from '../runtime/index.js';
import type { CompiledRule, FunctionServices } from '../runtime/index.js';
import { createMessageMapper } from '../sinks/kafka/index.js';
import type { KafkaSinkConfig } from '../sinks/kafka/index.js';
import { createRepublishSinkType } from '../sinks/republish/index.js';
import type { RepublishConfig, RepublishMessage } from '../sinks/republish/index.js';
import { compareOutputs, plainJson } from './rule-test-compare.js';
import type { FieldDifference } from './rule-test-compare.js';
import { createCompiler } from './rules.js';
import { configParts, sinkTypeMap } from './sinks.js';

/** 2026-01-01T00:00:00Z: the clock of every rule test. */
export const RULE_TEST_NOW = Date.UTC(2026, 0, 1);

export interface RuleTestCaseResult {
  readonly name: string;
  readonly ok: boolean;
  readonly failures: readonly FieldDifference[];
  /** What each action received (rendered), for reports and `--json`. */
  readonly outputs: Readonly<Record<string, unknown[]>>;
}

export interface RuleTestFileResult {
  /** Absolute path of the test file. */
  readonly file: string;
  /** The sluice.yaml it tested against, when one was found. */
  readonly config?: string;
  /** Problems that kept cases from running (file, config, unknown or broken rules). */
  readonly issues: readonly ConfigIssue[];
  readonly cases: readonly RuleTestCaseResult[];
}

export interface RuleTestRunner {
  runFile(abs: string): Promise<RuleTestFileResult>;
  close(): Promise<void>;
}

type Render = (record: SinkRecord) => Promise<unknown>;

interface Prepared {
  readonly file: string;
  readonly issues: ConfigIssue[];
  readonly entries: readonly RuleEntry[];
  readonly compiled: ReadonlyMap<string, CompiledRule>;
  readonly ruleIssues: readonly ConfigIssue[];
  readonly render: ReadonlyMap<string, Render>;
}

function pick(obj: Record<string, unknown>, spec: FieldSpec): Record<string, unknown> {
  if (spec.kind !== 'object') return {};
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(spec.fields)) if (k in obj) out[k] = obj[k];
  return out;
}

const text = (b: Buffer | string | null | undefined): string | null =>
  b === null || b === undefined ? null : typeof b === 'string' ? b : b.toString('utf8');

class RenderError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function renderer(
  name: string,
  config: Record<string, unknown>,
  type: SinkType<never> | undefined,
): Render {
  if (config['type'] === 'republish' && type) {
    let captured: RepublishMessage[] = [];
    const sink = createRepublishSinkType((m) => {
      captured.push(m);
      return Promise.resolve();
    }).create(
      { logger: silentLogger, now: () => RULE_TEST_NOW },
      pick(config, type.spec) as unknown as RepublishConfig,
      name,
    );
    return async (record) => {
      captured = [];
      const r = await sink.write([record]);
      const rejected = r?.rejected?.[0];
      if (rejected) throw new RenderError(rejected.code, rejected.message);
      const m = captured[0] as RepublishMessage;
      return {
        topic: m.topic,
        payload: text(m.payload as Buffer | string),
        qos: m.qos,
        retain: m.retain,
        ...(m.properties ? { properties: plainJson(m.properties as ValueMap) } : {}),
      };
    };
  }
  if (config['type'] === 'kafka' && type) {
    const map = createMessageMapper(pick(config, type.spec) as unknown as KafkaSinkConfig);
    return (record) => {
      const m = map(record);
      return Promise.resolve({
        topic: m.topic,
        key: text(m.key),
        value: text(m.value),
        headers: Object.fromEntries(
          Object.entries(m.headers ?? {}).map(([k, v]) => [
            k,
            Array.isArray(v) ? v.map((x) => text(x)) : text(v),
          ]),
        ),
        ...(m.timestamp !== undefined ? { timestamp: Number(m.timestamp) } : {}),
      });
    };
  }
  return (record) => Promise.resolve(plainJson(record.data));
}

/** The nearest sluice.yaml in `dir` or above. */
function findConfig(dir: string): string | undefined {
  for (let d = dir; ; d = path.dirname(d)) {
    const f = path.join(d, 'sluice.yaml');
    if (existsSync(f)) return f;
    if (path.dirname(d) === d) return undefined;
  }
}

/** Turn one test input into the event name, its match topic and columns. */
function inputEvent(
  input: TestInput,
  from: readonly string[],
): { event: EventName; matchTopic: string; columns: ValueMap } | string {
  let event: EventName = 'message.publish';
  if (input.event !== undefined) {
    const e = input.event.startsWith('$events/')
      ? eventOfTopic(input.event)
      : eventNameOf(input.event);
    if (!e || e === 'message.publish')
      return `unknown event ${JSON.stringify(input.event)} (e.g. client.connected or $events/client/connected)`;
    event = e;
  } else if (input.topic === undefined) return 'a message input needs a topic (or give an event)';
  const given: Record<string, unknown> = {};
  for (const k of ['clientid', 'username', 'peerhost', 'topic', 'qos'] as const)
    if (input[k] !== undefined) given[k] = input[k];
  if (event === 'message.publish') {
    if (input.retain !== undefined) given['flags'] = { dup: false, retain: input.retain };
    if (input.properties !== undefined) given['pub_props'] = input.properties;
  }
  if (input.payload !== undefined) given['payload'] = input.payload;
  Object.assign(given, input.columns ?? {});
  const columns = sampleColumns(event, from, given, RULE_TEST_NOW, 'sluice@test');
  // The broker hands payloads to rules as bytes.
  const p = columns['payload'];
  if (typeof p === 'string') columns['payload'] = Buffer.from(p, 'utf8');
  const matchTopic =
    event === 'message.publish'
      ? String(columns['topic'])
      : EVENT_TOPICS[event as Exclude<EventName, 'message.publish'>][0];
  return { event, matchTopic, columns };
}

export function createRuleTestRunner(
  deps: {
    env?: Readonly<Record<string, string | undefined>>;
    sinkTypes?: readonly SinkType<never>[];
  } = {},
): RuleTestRunner {
  const types = sinkTypeMap(deps.sinkTypes);
  const services: FunctionServices = createDefaultServices({
    node: 'sluice@test',
    now: () => RULE_TEST_NOW,
  });
  const compile = createCompiler(services);
  const cache = new Map<string, Prepared>();

  function prepare(configFile: string): Prepared {
    const hit = cache.get(configFile);
    if (hit) return hit;
    const r = loadConfig(configFile, configParts(deps.sinkTypes), { env: deps.env ?? process.env });
    let p: Prepared;
    if (!r.ok)
      p = {
        file: configFile,
        issues: r.issues,
        entries: [],
        compiled: new Map(),
        ruleIssues: [],
        render: new Map(),
      };
    else {
      const c = compileRules(r.loaded.rules, compile);
      const render = new Map<string, Render>();
      for (const [name, sc] of Object.entries(r.loaded.sinks))
        render.set(name, renderer(name, sc as Record<string, unknown>, types.get(sc.type)));
      p = {
        file: configFile,
        issues: [],
        entries: r.loaded.rules,
        compiled: new Map(c.compiled.map((x) => [x.entry.id, x.rule])),
        ruleIssues: [...r.ruleIssues, ...c.issues],
        render,
      };
    }
    cache.set(configFile, p);
    return p;
  }

  async function runCase(
    prepared: Prepared,
    t: TestCase,
    underTest: readonly RuleEntry[],
  ): Promise<RuleTestCaseResult> {
    const failures: FieldDifference[] = [];
    const outputs: Record<string, unknown[]> = {};
    const ruleErrors: { rule: string; code: string; reason: string; input: number }[] = [];
    // An absent `input` validates to {} (object defaults): only a non-empty one is an input.
    const inputs = [...(t.input && Object.keys(t.input).length ? [t.input] : []), ...t.inputs];
    if (inputs.length === 0) failures.push({ path: 'input', message: 'the case has no input' });
    const actionsUnderTest = new Set(underTest.flatMap((e) => e.actions));
    for (const action of Object.keys(t.expect))
      if (!actionsUnderTest.has(action))
        failures.push({
          path: action,
          message: `${action}: no rule under test has this action (actions: ${[...actionsUnderTest].join(', ') || 'none'})`,
        });
    for (const [i, input] of inputs.entries()) {
      const from = underTest.flatMap((e) => prepared.compiled.get(e.id)?.sources ?? []);
      const ev = inputEvent(input, from);
      if (typeof ev === 'string') {
        failures.push({ path: `inputs[${i}]`, message: `input ${i + 1}: ${ev}` });
        continue;
      }
      for (const entry of underTest) {
        const rule = prepared.compiled.get(entry.id);
        if (!rule || !entry.enabled || !rule.matches(ev.matchTopic)) continue;
        const outcome = rule.run(ev.columns);
        if (outcome.kind === 'failed') {
          ruleErrors.push({ rule: entry.id, code: outcome.code, reason: outcome.reason, input: i });
          continue;
        }
        if (outcome.kind !== 'passed') continue;
        for (const data of outcome.outputs) {
          const record: SinkRecord = {
            data,
            ruleId: entry.id,
            ingestTs: RULE_TEST_NOW,
            context: ev.columns,
          };
          for (const action of entry.actions) {
            const render = prepared.render.get(action);
            if (!render) continue;
            try {
              (outputs[action] ??= []).push(await render(record));
            } catch (err) {
              const code = err instanceof RenderError ? err.code : 'sink_internal_error';
              failures.push({
                path: action,
                message: `${action}: the action refused the output of rule ${entry.id} (${code}): ${(err as Error).message}`,
              });
            }
          }
        }
      }
    }
    if (t.error !== undefined) {
      const hit = ruleErrors.findIndex((e) => e.code === t.error);
      if (hit < 0)
        failures.push({
          path: 'error',
          message: `expected a rule to fail with ${t.error}${ruleErrors.length ? `, got ${ruleErrors.map((e) => e.code).join(', ')}` : ', but none failed'}`,
        });
      else ruleErrors.splice(hit, 1);
    }
    for (const e of ruleErrors)
      failures.push({
        path: `inputs[${e.input}]`,
        message: `rule ${e.rule} failed on input ${e.input + 1}: ${e.code}: ${e.reason}`,
      });
    const actions = new Set([...Object.keys(t.expect), ...Object.keys(outputs)]);
    for (const a of actions)
      failures.push(...compareOutputs(a, t.expect[a] ?? [], outputs[a] ?? [], t.match));
    return { name: t.name, ok: failures.length === 0, failures, outputs };
  }

  async function runFile(abs: string): Promise<RuleTestFileResult> {
    const loaded = loadTestFile(abs);
    if (!loaded.ok) return { file: abs, issues: loaded.issues, cases: [] };
    const tf = loaded.test;
    const display = path.relative(process.cwd(), abs) || abs;
    const issue = (code: string, p: string, reason: string): ConfigIssue => ({
      code,
      file: display,
      line: 0,
      column: 0,
      path: p,
      reason,
    });
    const configFile = tf.config
      ? path.resolve(path.dirname(abs), tf.config)
      : findConfig(path.dirname(abs));
    if (!configFile)
      return {
        file: abs,
        issues: [
          issue(
            'test_config_not_found',
            'config',
            'no sluice.yaml in this directory or above; set config:',
          ),
        ],
        cases: [],
      };
    const prepared = prepare(configFile);
    if (prepared.issues.length)
      return { file: abs, config: configFile, issues: prepared.issues, cases: [] };
    const byId = new Map(prepared.entries.map((e) => [e.id, e]));
    // Default scope: the rule file with the same base name (foo.test.yaml → foo.sql), else all.
    const base = path.join(path.dirname(abs), path.basename(abs).replace(/\.test\.ya?ml$/, ''));
    const sibling = prepared.entries.filter(
      (e) => path.resolve(e.origin.file).replace(/\.sql$/, '') === base,
    );
    const issues: ConfigIssue[] = [];
    const cases: RuleTestCaseResult[] = [];
    for (const t of tf.tests) {
      const ids = t.rules ?? (tf.rules.length ? tf.rules : undefined);
      const unknown = (ids ?? []).filter((id) => !byId.has(id));
      for (const id of unknown)
        issues.push(
          issue(
            'test_unknown_rule',
            'rules',
            `no rule ${JSON.stringify(id)} in ${path.relative(process.cwd(), configFile) || configFile}`,
          ),
        );
      const underTest = ids
        ? ids.flatMap((id) => (byId.has(id) ? [byId.get(id) as RuleEntry] : []))
        : sibling.length
          ? sibling
          : prepared.entries;
      const broken = underTest.filter((e) => !prepared.compiled.has(e.id));
      if (broken.length || unknown.length) {
        for (const e of broken) {
          issues.push(issue('test_rule_broken', 'rules', `rule ${e.id} does not compile`));
          issues.push(...prepared.ruleIssues.filter((i) => i.rule === e.id));
        }
        cases.push({
          name: t.name,
          ok: false,
          failures: [
            {
              path: 'rules',
              message: 'not run: a rule under test is unknown or broken (see above)',
            },
          ],
          outputs: {},
        });
        continue;
      }
      cases.push(await runCase(prepared, t, underTest));
    }
    return { file: abs, config: configFile, issues: dedupe(issues), cases };
  }

  return {
    runFile,
    async close() {
      await services.close?.();
    },
  };
}

function dedupe(issues: readonly ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const k = `${i.code}|${i.file}|${i.line}|${i.column}|${i.reason}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
