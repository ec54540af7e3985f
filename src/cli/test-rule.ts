/**
 * `sluice test-rule`: run one rule against one sample event, like EMQX's rule test
 * (`emqx_rule_sqltester`). The context is the event's column map; missing columns get sample
 * values for the event the rule's FROM names (a message publish unless FROM is an `$events/…`
 * topic). A `payload` given as a JSON object or list is encoded as JSON text, as a device
 * would send it.
 *
 * Result: `passed` prints each output as one JSON line; `filtered` and `failed` are explained.
 */
import { encodeJson } from '../core/index.js';
import type { RuleOutcome, Value, ValueMap } from '../core/index.js';
import {
  compileRule,
  createDefaultServices,
  eventOfTopic,
  SqlError,
  topicMatchesAny,
} from '../runtime/index.js';
import { formatDiagnostic } from '../sql-parser/index.js';

export interface TestRuleResult {
  /** 0 passed, 1 error (bad SQL, bad context, evaluation failure), 2 no result. */
  readonly exitCode: number;
  readonly stdout: string[];
  readonly stderr: string[];
}

export function testRule(
  sql: string,
  contextJson: string | undefined,
  now = Date.now(),
): TestRuleResult {
  let given: ValueMap = {};
  if (contextJson !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(contextJson);
    } catch (err) {
      return fail(`--context is not valid JSON: ${(err as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      return fail('--context must be a JSON object of columns, e.g. {"payload": {"temp": 31}}');
    given = parsed as ValueMap;
  }
  const services = createDefaultServices({ node: 'sluice@test', now: () => now });
  let rule;
  try {
    rule = compileRule(sql, { services });
  } catch (err) {
    if (err instanceof SqlError)
      return {
        exitCode: 1,
        stdout: [],
        stderr: err.diagnostics.map((d) => formatDiagnostic(d, '<sql>')),
      };
    throw err;
  }
  const from = rule.sources;
  const eventTopic = from.map((f) => ({ f, e: eventOfTopic(f) })).find((x) => x.e !== undefined);
  const event = eventTopic?.e ?? 'message.publish';
  const literal = from.find((f) => !/[+#]/.test(f) && !f.startsWith('$'));
  const columns: ValueMap = {
    event,
    timestamp: now,
    node: 'sluice@test',
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
    ...given,
  };
  const p: Value = columns['payload'];
  if (p !== undefined && p !== null && typeof p === 'object' && !Buffer.isBuffer(p))
    columns['payload'] = encodeJson(p);
  if (event === 'message.publish') {
    const topic = columns['topic'];
    if (typeof topic !== 'string' || !topicMatchesAny(topic, from))
      return fail(
        `the context topic ${JSON.stringify(topic)} does not match FROM ${from.map((f) => JSON.stringify(f)).join(', ')}`,
      );
  }
  const outcome: RuleOutcome = rule.run(columns);
  switch (outcome.kind) {
    case 'passed':
      return { exitCode: 0, stdout: outcome.outputs.map((o) => encodeJson(o)), stderr: [] };
    case 'filtered':
      return {
        exitCode: 2,
        stdout: [],
        stderr: ['no result: WHERE was false or FOREACH produced nothing'],
      };
    case 'failed':
      return { exitCode: 1, stdout: [], stderr: [`error[${outcome.code}]: ${outcome.reason}`] };
  }
}

function fail(message: string): TestRuleResult {
  return { exitCode: 1, stdout: [], stderr: [`error: ${message}`] };
}
