/**
 * The republish sink: EMQX's `republish` rule action. Each rule output becomes an MQTT message
 * published back into the embedded broker through an injected publish port (this module never
 * imports the broker; src/engine wires the port).
 *
 * Semantics follow EMQX 5 `emqx_rule_actions:republish/3`:
 *  - `topic` and `payload` are `${path}` text templates; a missing value renders as `undefined`.
 *    An EMPTY payload template means the whole rule output as JSON (`${.}`).
 *  - `qos` and `retain` are constants or templates; a single placeholder yields the raw value
 *    (`${qos}`, `${flags.retain}`), a missing value falls back to 0 / false. A value that is not
 *    0/1/2 (qos) or true/false (retain) rejects the record (EMQX drops it and counts a failure).
 *  - `user_properties` is a single placeholder whose value is a map (or a list of key/value
 *    pairs); the default `${pub_props.'User-Property'}` forwards the triggering message's user
 *    properties. Empty = none.
 *  - `mqtt_properties` maps MQTT 5 property names to templates. Payload-Format-Indicator and
 *    Message-Expiry-Interval must render to integers; a value that does not fit is left out
 *    (EMQX logs `bad_mqtt_property_value_ignored` and leaves it out too). Deviation: a property
 *    whose template refers to a missing value is left out, where EMQX would send the text
 *    "undefined".
 *  - A record triggered by a message that this same rule republished is not republished again
 *    (EMQX `recursive_republish_detected`): the broker marks such messages with `republish_by`.
 *  - Message expiry (issue #13): a record waits in the sink buffer; if its triggering PUBLISH had a
 *    Message-Expiry-Interval that ran out meanwhile, or the configured Message-Expiry-Interval
 *    (counted from the record's ingest time) ran out, the record is not published and the runner
 *    counts it `dropped.expired`. Otherwise the forwarded interval is what remains.
 *  - `direct_dispatch` (EMQX 5.4+): the message goes to the matching subscribers only; no
 *    `message.publish` event, so no rule — this one included — is triggered by it.
 * Topic checks: an empty topic or one with `+`, `#` or NUL is rejected [MQTT-3.3.2-2].
 */
import {
  compileTemplate,
  field,
  isMap,
  isNumber,
  num,
  renderBytes,
  renderText,
  toText,
} from '../../core/index.js';
import type {
  CompiledTemplate,
  Logger,
  MessagePublisher,
  Sink,
  SinkDeps,
  SinkRecord,
  SinkType,
  SluiceError,
  Value,
  ValueMap,
  ValidationIssue,
  WriteResult,
} from '../../core/index.js';
import { isNotConnected } from '../runner/index.js';
import { RepublishErrors } from './errors.js';

/** MQTT 5 PUBLISH properties a republish may set (mqtt-packet / mqtt.js property names). */
export interface RepublishProperties {
  payloadFormatIndicator?: boolean;
  messageExpiryInterval?: number;
  contentType?: string;
  responseTopic?: string;
  correlationData?: Buffer;
  userProperties?: Record<string, string | string[]>;
}

export interface RepublishMessage {
  topic: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
  retain: boolean;
  properties?: RepublishProperties;
  /** The rule that republished it: the broker records it as `republish_by` for loop detection. */
  ruleId: string;
  /** `direct_dispatch`: to the subscribers only, no `message.publish` event (no rule sees it). */
  direct?: boolean;
}

/**
 * Publishes one message into the broker. Resolves when the broker accepted it. Rejecting with a
 * retriable SluiceError makes the runner retry that record; `sink_not_connected` asks for a
 * reconnect; anything else rejects the record.
 */
export type PublishPort = (msg: RepublishMessage) => Promise<void>;

export const MQTT_PROPERTY_NAMES = [
  'Payload-Format-Indicator',
  'Message-Expiry-Interval',
  'Content-Type',
  'Response-Topic',
  'Correlation-Data',
] as const;
type MqttPropertyName = (typeof MQTT_PROPERTY_NAMES)[number];

export interface RepublishConfig {
  topic: string;
  qos?: number | string;
  retain?: boolean | string;
  payload?: string;
  user_properties?: string;
  mqtt_properties?: Partial<Record<MqttPropertyName, string | number>>;
  direct_dispatch?: boolean;
}

export const republishSinkSpec = field.object(
  {
    topic: field.string({
      description:
        'Topic to publish to; a `${path}` template rendered per output (a missing value renders as `undefined`). Must not render to a topic with + or #.',
      example: 'repub/${clientid}',
    }),
    qos: field.any({
      description:
        'QoS 0, 1 or 2, or a template such as `${qos}` (the triggering message QoS). A missing value gives 0; any other value rejects the record.',
      default: '${qos}',
      example: 1,
    }),
    retain: field.any({
      description:
        'Retain flag true/false, or a template such as `${flags.retain}`. A missing value gives false; any other value rejects the record.',
      default: '${flags.retain}',
      example: false,
    }),
    payload: field.string({
      description:
        'Payload template. `${payload}` forwards the original bytes unchanged; an empty string publishes the whole rule output as JSON.',
      default: '${payload}',
      example: '{"temp": ${payload.temp}, "from": "${clientid}"}',
    }),
    user_properties: field.string({
      description:
        "MQTT 5 User-Property: one `${path}` placeholder whose value is a map (or list of key/value pairs). The default forwards the triggering message's user properties; empty = none.",
      default: "${pub_props.'User-Property'}",
      pattern: '^(\\$\\{.*\\})?$',
      example: '${props}',
    }),
    direct_dispatch: field.boolean({
      description:
        'EMQX direct_dispatch: deliver the message to the matching subscribers only, without a message.publish event, so no rule (this one included) is triggered by it and no message.dropped event fires when nobody subscribes.',
      default: false,
      example: true,
    }),
    mqtt_properties: field.object(
      Object.fromEntries(
        MQTT_PROPERTY_NAMES.map((name) => [
          name,
          field.any({
            description: `Template for the MQTT 5 ${name} property.`,
            optional: true,
          }),
        ]),
      ),
      {
        description:
          'MQTT 5 PUBLISH properties as templates. Payload-Format-Indicator (0/1) and Message-Expiry-Interval (seconds) must render to integers or are left out.',
        example: { 'Content-Type': 'application/json', 'Message-Expiry-Interval': '60' },
      },
    ),
  },
  { description: 'Republishes rule outputs as MQTT messages into the embedded broker.' },
);

/** Semantic checks the field spec cannot express. Empty when the config is usable. */
export function checkRepublishConfig(config: RepublishConfig, basePath = ''): ValidationIssue[] {
  const p = (k: string): string => (basePath ? `${basePath}.${k}` : k);
  const issues: ValidationIssue[] = [];
  const q = config.qos;
  if (q !== undefined && !(typeof q === 'string' ? q !== '' : q === 0 || q === 1 || q === 2))
    issues.push({ path: p('qos'), reason: 'must be 0, 1, 2 or a ${...} template' });
  if (typeof q === 'string' && compileTemplate(q).isConst && parseQos(q) === undefined)
    issues.push({ path: p('qos'), reason: `must be 0, 1 or 2, got ${JSON.stringify(q)}` });
  const r = config.retain;
  if (r !== undefined && typeof r !== 'boolean' && typeof r !== 'string')
    issues.push({ path: p('retain'), reason: 'must be true, false or a ${...} template' });
  if (typeof r === 'string' && compileTemplate(r).isConst && parseRetain(r) === undefined)
    issues.push({ path: p('retain'), reason: `must be true or false, got ${JSON.stringify(r)}` });
  const up = config.user_properties;
  if (up && !compileTemplate(up).isSingleVar)
    issues.push({ path: p('user_properties'), reason: 'must be a single ${...} placeholder' });
  for (const [k, v] of Object.entries(config.mqtt_properties ?? {})) {
    if (typeof v !== 'string' && typeof v !== 'number')
      issues.push({
        path: p(`mqtt_properties.${k}`),
        reason: 'must be a string template or a number',
      });
  }
  return issues;
}

function parseQos(v: Value): 0 | 1 | 2 | undefined {
  const n = typeof v === 'string' ? (/^[012]$/.test(v.trim()) ? Number(v) : NaN) : v;
  return n === 0 || n === 1 || n === 2 ? n : undefined;
}

function parseRetain(v: Value): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === 1) return true;
  if (v === 'false' || v === 0) return false;
  return undefined;
}

const MISSING = '\u0000missing\u0000';

/** A valid topic NAME (not filter): non-empty, no wildcards, no NUL [MQTT-3.3.2-2, 4.7.3-2]. */
function isTopicName(s: string): boolean {
  return s !== '' && !s.includes('+') && !s.includes('#') && !s.includes('\u0000');
}

function asInt(s: string): number | undefined {
  return /^\s*\d+\s*$/.test(s) ? Number(s) : undefined;
}

/** User properties from a raw value: a map, or a list of `{key, value}` / `[key, value]`. */
function userProps(v: Value): Record<string, string | string[]> | undefined {
  const out: Record<string, string | string[]> = {};
  const add = (k: string, val: Value): void => {
    if (val === undefined) return;
    const texts = Array.isArray(val) ? val.map((x) => toText(x)) : [toText(val)];
    const prev = out[k];
    const all = prev === undefined ? texts : [...(Array.isArray(prev) ? prev : [prev]), ...texts];
    out[k] = all.length === 1 ? (all[0] as string) : all;
  };
  if (isMap(v)) {
    for (const k of Object.keys(v)) add(k, v[k]);
  } else if (Array.isArray(v)) {
    for (const e of v) {
      if (isMap(e) && e['key'] !== undefined) add(toText(e['key']), e['value']);
      else if (Array.isArray(e) && e.length === 2) add(toText(e[0]), e[1]);
      else return undefined;
    }
  } else {
    return undefined;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

interface Compiled {
  topic: CompiledTemplate;
  payload: CompiledTemplate;
  qos: CompiledTemplate | 0 | 1 | 2;
  retain: CompiledTemplate | boolean;
  userProps?: CompiledTemplate;
  props: [MqttPropertyName, CompiledTemplate][];
  direct: boolean;
}

function compile(config: RepublishConfig): Compiled {
  const qos = config.qos ?? '${qos}';
  const retain = config.retain ?? '${flags.retain}';
  const payload = config.payload ?? '${payload}';
  const up = config.user_properties ?? "${pub_props.'User-Property'}";
  return {
    topic: compileTemplate(config.topic),
    payload: compileTemplate(payload === '' ? '${.}' : payload),
    qos: typeof qos === 'number' ? (qos as 0 | 1 | 2) : compileTemplate(qos),
    retain: typeof retain === 'boolean' ? retain : compileTemplate(retain),
    ...(up ? { userProps: compileTemplate(up) } : {}),
    props: Object.entries(config.mqtt_properties ?? {}).map(([k, v]) => [
      k as MqttPropertyName,
      compileTemplate(String(v), { undefinedText: MISSING }),
    ]),
    direct: config.direct_dispatch === true,
  };
}

type Built =
  | { ok: true; msg: RepublishMessage }
  | { ok: false; error: SluiceError }
  | { ok: false; expired: true };

const EXPIRED: Built = { ok: false, expired: true };

/** The triggering PUBLISH's Message-Expiry-Interval in seconds, if it had one. */
function triggerExpiry(context: Readonly<ValueMap> | undefined): number | undefined {
  const props = context?.['pub_props'];
  if (!isMap(props)) return undefined;
  const v = props['Message-Expiry-Interval'];
  if (!isNumber(v)) return undefined;
  const n = num(v);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

function build(c: Compiled, r: SinkRecord, log: Logger, now: number): Built {
  const { data, context } = r;
  // Message expiry counts down while the record waits in the sink buffer (MQTT 5 §3.3.2.3.3):
  // a record whose triggering message expired is not republished.
  const age = Math.max(0, now - r.ingestTs);
  const trigger = triggerExpiry(context);
  if (trigger !== undefined && trigger > 0 && age >= trigger * 1000) return EXPIRED;
  if (context && context['republish_by'] === r.ruleId)
    return {
      ok: false,
      error: RepublishErrors.republish_loop_detected(
        `rule ${r.ruleId} would republish its own output`,
      ),
    };
  const topic = renderText(c.topic, data, context);
  if (!isTopicName(topic))
    return {
      ok: false,
      error: RepublishErrors.republish_invalid_topic(
        `invalid republish topic ${JSON.stringify(topic)}`,
      ),
    };
  let qos: 0 | 1 | 2 | undefined;
  if (typeof c.qos === 'number') qos = c.qos;
  else {
    const v = c.qos.isSingleVar ? c.qos(data, context) : renderText(c.qos, data, context);
    qos = v === undefined ? 0 : parseQos(v);
  }
  if (qos === undefined)
    return { ok: false, error: RepublishErrors.republish_invalid_qos('qos must be 0, 1 or 2') };
  let retain: boolean | undefined;
  if (typeof c.retain === 'boolean') retain = c.retain;
  else {
    const v = c.retain.isSingleVar ? c.retain(data, context) : renderText(c.retain, data, context);
    retain = v === undefined ? false : parseRetain(v);
  }
  if (retain === undefined)
    return {
      ok: false,
      error: RepublishErrors.republish_invalid_retain('retain must be true or false'),
    };
  const payload = renderBytes(c.payload, data, context);
  const properties: RepublishProperties = {};
  let any = false;
  if (c.userProps) {
    const v = c.userProps(data, context);
    const up = v === undefined ? undefined : userProps(v);
    if (up) {
      properties.userProperties = up;
      any = true;
    }
  }
  for (const [name, t] of c.props) {
    const ignore = (reason: string): void =>
      log.debug({ property: name, reason }, 'bad_mqtt_property_value_ignored');
    if (name === 'Correlation-Data') {
      const raw = t(data, context);
      if (raw === undefined || (typeof raw === 'string' && raw.includes(MISSING))) {
        ignore('missing value');
        continue;
      }
      properties.correlationData = renderBytes(t, data, context);
      any = true;
      continue;
    }
    const text = renderText(t, data, context);
    if (text.includes(MISSING)) {
      ignore('missing value');
      continue;
    }
    switch (name) {
      case 'Payload-Format-Indicator': {
        const n = asInt(text);
        if (n !== 0 && n !== 1) {
          ignore('not 0 or 1');
          continue;
        }
        properties.payloadFormatIndicator = n === 1;
        break;
      }
      case 'Message-Expiry-Interval': {
        const n = asInt(text);
        if (n === undefined || n > 0xffffffff) {
          ignore('not an integer of 0..4294967295');
          continue;
        }
        // The interval counts from when the triggering message arrived: what is forwarded is
        // what remains after the wait in the buffer (as a broker forwards a queued message).
        if (n > 0 && age >= n * 1000) return EXPIRED;
        properties.messageExpiryInterval = n > 0 ? n - Math.floor(age / 1000) : n;
        break;
      }
      case 'Content-Type':
        properties.contentType = text;
        break;
      case 'Response-Topic':
        if (!isTopicName(text)) {
          ignore('not a valid topic name');
          continue;
        }
        properties.responseTopic = text;
        break;
    }
    any = true;
  }
  const msg: RepublishMessage = { topic, payload, qos, retain, ruleId: r.ruleId };
  if (any) msg.properties = properties;
  if (c.direct) msg.direct = true;
  return { ok: true, msg };
}

/** Create a republish sink over `publish`. Throws `republish_invalid_config` for unusable settings. */
export function createRepublishSink(
  deps: SinkDeps,
  config: RepublishConfig,
  publish: PublishPort,
): Sink {
  const issues = checkRepublishConfig(config);
  if (issues.length > 0)
    throw RepublishErrors.republish_invalid_config(
      issues.map((i) => `${i.path}: ${i.reason}`).join('; '),
      { context: { issues } },
    );
  const c = compile(config);
  const log = deps.logger;
  const clock = deps.now;
  return {
    async connect() {},
    async close() {},
    async write(batch): Promise<WriteResult | void> {
      const retry: number[] = [];
      const rejected: NonNullable<WriteResult['rejected']> = [];
      const expired: number[] = [];
      const now = clock();
      let reconnect: unknown;
      // Publish calls start in batch order, so the broker sees the messages in order.
      await Promise.all(
        batch.map(async (r, index) => {
          const b = build(c, r, log, now);
          if (!b.ok) {
            if ('expired' in b) expired.push(index);
            else rejected.push({ index, code: b.error.code, message: b.error.message });
            return;
          }
          try {
            await publish(b.msg);
          } catch (err) {
            if (isNotConnected(err)) reconnect = err;
            else if (err instanceof Error && 'retriable' in err && err.retriable === true)
              retry.push(index);
            else
              rejected.push({
                index,
                code: 'republish_publish_failed',
                message: err instanceof Error ? err.message : String(err),
              });
          }
        }),
      );
      if (reconnect !== undefined) throw reconnect;
      if (retry.length === 0 && rejected.length === 0 && expired.length === 0) return;
      return expired.length > 0 ? { retry, rejected, expired } : { retry, rejected };
    },
  };
}

/**
 * The republish port over the generic message publisher (`SinkDeps.publish`): as in EMQX a
 * republished message comes `from` the rule (its clientid column is the rule id) and its
 * `message.publish` event carries `republish_by`, so the sink can refuse to republish a message
 * its own rule produced.
 */
export function republishVia(publish: MessagePublisher): PublishPort {
  return (m) =>
    publish({
      topic: m.topic,
      payload: m.payload,
      qos: m.qos,
      retain: m.retain,
      from: { clientid: m.ruleId },
      columns: { republish_by: m.ruleId },
      ...(m.properties ? { properties: { ...m.properties } } : {}),
      ...(m.direct ? { direct: true } : {}),
    });
}

/** The `republish` sink type: publishes through `SinkDeps.publish` (the engine's broker). */
export const republishSinkType: SinkType<RepublishConfig> = {
  type: 'republish',
  spec: republishSinkSpec,
  create(deps, config) {
    if (!deps.publish)
      throw RepublishErrors.republish_invalid_config(
        'the republish sink needs a message publisher (SinkDeps.publish); none was given',
      );
    return createRepublishSink(deps, config, republishVia(deps.publish));
  },
};

/** A `republish` sink type bound to a given publish port (tests, embedders). */
export function createRepublishSinkType(publish: PublishPort): SinkType<RepublishConfig> {
  return {
    type: 'republish',
    spec: republishSinkSpec,
    create: (deps, config) => createRepublishSink(deps, config, publish),
  };
}
