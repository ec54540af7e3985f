/**
 * Ingress schema validation (EMQX 5.7) and message transformation (EMQX 5.8), decision 0013:
 * the engine's implementation of the core `IngressPort`, which the broker calls for every
 * PUBLISH before routing. Validations run first, then transformations, each list in config
 * order (EMQX: emqx_schema_validation / emqx_message_transformation on 'message.publish',
 * validation's hook priority first; docs "Workflow").
 *
 * Hot path: `active` is false with nothing configured (the broker then does nothing). With
 * entries, a PUBLISH whose topic no entry matches costs one filter match per entry; the
 * message columns are built only when an entry matches.
 */
import type {
  IngressFailure,
  IngressPort,
  IngressRewrite,
  IngressVerdict,
  Logger,
  SchemaRegistryPort,
  Value,
  ValueMap,
} from '../../core/index.js';
import { decodeJson, encodeJson, isMap, toText } from '../../core/index.js';
import { compileRule } from '../compile-rule.js';
import { SqlError } from '../errors.js';
import type { CompiledRule } from '../compile/index.js';
import type { FunctionServices } from '../functions/index.js';
import { topicFilterProblem } from '../topic.js';
import { variformToSql } from './variform.js';

type Level = 'error' | 'warning' | 'notice' | 'info' | 'debug' | 'none';
type Action = 'drop' | 'disconnect' | 'ignore';

export interface CheckConfig {
  type: 'sql' | 'json' | 'avro' | 'protobuf';
  sql?: string;
  schema?: string;
  message_type?: string;
}
export interface ValidationConfig {
  name: string;
  enable: boolean;
  description?: string;
  topics: string[];
  strategy: 'all_pass' | 'any_pass';
  failure_action: Action;
  log_failure: { level: Level };
  checks: CheckConfig[];
}
export interface CodecConfig {
  type: 'none' | 'json' | 'avro' | 'protobuf';
  schema?: string;
  message_type?: string;
}
export interface TransformationConfig {
  name: string;
  enable: boolean;
  description?: string;
  topics: string[];
  failure_action: Action;
  log_failure: { level: Level };
  payload_decoder: CodecConfig;
  payload_encoder: CodecConfig;
  operations: { key: string; value: string }[];
}
export interface IngressConfig {
  schema_validation?: { validations: ValidationConfig[] };
  message_transformation?: { transformations: TransformationConfig[] };
}

/** A config problem: dotted path (`schema_validation.validations[0].checks[1].sql`) and reason. */
export interface IngressIssue {
  readonly path: string;
  readonly reason: string;
}

export interface IngressDeps {
  services: FunctionServices;
  schemas: SchemaRegistryPort;
  logger: Logger;
  now?: () => number;
}

/** matched / succeeded / failed of one validation or transformation (EMQX's metrics). */
export interface IngressCounters {
  matched: number;
  succeeded: number;
  failed: number;
}

export interface IngressMetrics {
  readonly validations: readonly ({ name: string; enable: boolean } & IngressCounters)[];
  readonly transformations: readonly ({ name: string; enable: boolean } & IngressCounters)[];
  /** EMQX messages.validation_succeeded / failed, messages.transformation_succeeded / failed. */
  readonly validation_succeeded: number;
  readonly validation_failed: number;
  readonly transformation_succeeded: number;
  readonly transformation_failed: number;
  /** Messages not routed (drop or disconnect) by validation / transformation. */
  readonly dropped: number;
}

type Check = (cols: Readonly<ValueMap>) => boolean;

interface Validation {
  readonly cfg: ValidationConfig;
  readonly filters: Filters;
  readonly checks: readonly Check[];
  readonly c: IngressCounters;
  lastLog: number;
  suppressed: number;
}

interface Op {
  readonly key: readonly string[];
  readonly rule: CompiledRule;
  readonly text: string;
}

interface Transformation {
  readonly cfg: TransformationConfig;
  readonly filters: Filters;
  readonly ops: readonly Op[];
  readonly c: IngressCounters;
  lastLog: number;
  suppressed: number;
}

export interface Ingress extends IngressPort {
  /** Replace both lists (start, reload, API). Returns the issues; with any, nothing changes. */
  configure(cfg: IngressConfig): IngressIssue[];
  /** Compile without installing (`sluice check`, reload planning). */
  check(cfg: IngressConfig): IngressIssue[];
  metrics(): IngressMetrics;
  /** The configured entries, in order (as the config gave them). */
  list(): {
    validations: readonly ValidationConfig[];
    transformations: readonly TransformationConfig[];
  };
  /** Zero the counters of one entry (EMQX `.../metrics/reset`); false when unknown. */
  resetMetrics(kind: 'validation' | 'transformation', name: string): boolean;
}

class Failure extends Error {}

/** SQL check text (EMQX parses it without FROM) → rule SQL with `FROM "#"` before WHERE. */
export function withFrom(sql: string): string {
  let depth = 0;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i] as string;
    if (c === "'" || c === '"' || c === '`') {
      const end = sql.indexOf(c, i + 1);
      if (end < 0) break;
      i = end;
    } else if (c === '(' || c === '[') depth++;
    else if (c === ')' || c === ']') depth--;
    else if (
      depth === 0 &&
      (c === 'w' || c === 'W') &&
      /^where\b/i.test(sql.slice(i, i + 6)) &&
      (i === 0 || /[\s)\]'"]/.test(sql[i - 1] as string))
    )
      return `${sql.slice(0, i)} FROM "#" ${sql.slice(i)}`;
  }
  return `${sql} FROM "#"`;
}

/**
 * A compile error of a SQL check in the user's terms: `column N: message` per diagnostic,
 * columns counted in the check as written (before `FROM "#"` was inserted).
 */
function sqlReason(e: unknown, original: string, compiled: string): string {
  if (!(e instanceof SqlError)) return firstLine(e);
  const at =
    compiled.length === original.length + 9 ? original.length : compiled.indexOf(' FROM "#" ');
  const added = compiled.length - original.length;
  return e.diagnostics
    .map((d) => {
      const off = d.range.start.offset;
      const col = (off > at ? off - added : Math.min(off, original.length)) + 1;
      return `${original.includes('\n') ? '' : `column ${col}: `}${d.message} [${d.code}]`;
    })
    .join('; ');
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0] as string;
}

export function createIngress(deps: IngressDeps): Ingress {
  const now = deps.now ?? Date.now;
  const { schemas, logger } = deps;
  let validations: Validation[] = [];
  let transformations: Transformation[] = [];
  const totals = {
    validation_succeeded: 0,
    validation_failed: 0,
    transformation_succeeded: 0,
    transformation_failed: 0,
    dropped: 0,
  };
  // Counters survive a reload for entries that keep their name (EMQX keeps them on update).
  const counters = {
    validation: new Map<string, IngressCounters>(),
    transformation: new Map<string, IngressCounters>(),
  };

  function compile(cfg: IngressConfig): {
    issues: IngressIssue[];
    vs: Validation[];
    ts: Transformation[];
  } {
    const issues: IngressIssue[] = [];
    const vs: Validation[] = [];
    const ts: Transformation[] = [];
    const names = new Set<string>();
    const topicsOk = (p: string, topics: readonly string[]): void => {
      topics.forEach((t, j) => {
        const problem = topicFilterProblem(t);
        if (problem) issues.push({ path: `${p}.topics[${j}]`, reason: problem });
      });
    };
    (cfg.schema_validation?.validations ?? []).forEach((v, i) => {
      const p = `schema_validation.validations[${i}]`;
      if (names.has(v.name)) issues.push({ path: `${p}.name`, reason: `duplicate name ${v.name}` });
      names.add(v.name);
      topicsOk(p, v.topics);
      const checks: Check[] = [];
      v.checks.forEach((ch, j) => {
        const cp = `${p}.checks[${j}]`;
        if (ch.type === 'sql') {
          if (!ch.sql)
            return void issues.push({ path: `${cp}.sql`, reason: 'a sql check needs `sql`' });
          try {
            const rule = compileRule(withFrom(ch.sql), { services: deps.services });
            if (rule.kind !== 'select')
              return void issues.push({
                path: `${cp}.sql`,
                reason: 'FOREACH is not allowed in a check',
              });
            checks.push((cols) => {
              const out = rule.run(cols);
              if (out.kind === 'failed') throw new Failure(`sql check: ${out.reason}`);
              return out.kind === 'passed';
            });
          } catch (e) {
            issues.push({ path: `${cp}.sql`, reason: sqlReason(e, ch.sql, withFrom(ch.sql)) });
          }
          return;
        }
        const schema = ch.schema;
        if (!schema)
          return void issues.push({
            path: `${cp}.schema`,
            reason: `a ${ch.type} check needs \`schema\``,
          });
        if (ch.type === 'protobuf' && !ch.message_type)
          return void issues.push({
            path: `${cp}.message_type`,
            reason: 'a protobuf check needs `message_type`',
          });
        const args: Value[] = ch.type === 'protobuf' ? [ch.message_type as string] : [];
        checks.push((cols) => {
          const h = schemas.lookup(schema);
          if (!h) throw new Failure(`schema ${schema} not found`);
          if (h.type !== ch.type)
            throw new Failure(`schema ${schema} is ${h.type}, not ${ch.type}`);
          return h.check(cols['payload'] as Value, args);
        });
      });
      const c = counters.validation.get(v.name) ?? { matched: 0, succeeded: 0, failed: 0 };
      vs.push({ cfg: v, filters: splitFilters(v.topics), checks, c, lastLog: 0, suppressed: 0 });
    });
    const tnames = new Set<string>();
    (cfg.message_transformation?.transformations ?? []).forEach((t, i) => {
      const p = `message_transformation.transformations[${i}]`;
      if (tnames.has(t.name))
        issues.push({ path: `${p}.name`, reason: `duplicate name ${t.name}` });
      tnames.add(t.name);
      topicsOk(p, t.topics);
      for (const side of ['payload_decoder', 'payload_encoder'] as const) {
        const codec = t[side];
        if ((codec.type === 'avro' || codec.type === 'protobuf') && !codec.schema)
          issues.push({ path: `${p}.${side}.schema`, reason: `${codec.type} needs \`schema\`` });
        if (codec.type === 'protobuf' && !codec.message_type)
          issues.push({
            path: `${p}.${side}.message_type`,
            reason: 'protobuf needs `message_type`',
          });
      }
      const ops: Op[] = [];
      t.operations.forEach((op, j) => {
        const r = variformToSql(op.value);
        if ('error' in r)
          return void issues.push({
            path: `${p}.operations[${j}].value`,
            reason: `column ${r.error.offset + 1}: ${r.error.reason}`,
          });
        try {
          const rule = compileRule(`SELECT ${r.sql} AS v FROM "#"`, { services: deps.services });
          ops.push({ key: op.key.split('.'), rule, text: op.value });
        } catch (e) {
          issues.push({
            path: `${p}.operations[${j}].value`,
            reason:
              e instanceof SqlError ? e.diagnostics.map((d) => d.message).join('; ') : firstLine(e),
          });
        }
      });
      const c = counters.transformation.get(t.name) ?? { matched: 0, succeeded: 0, failed: 0 };
      ts.push({ cfg: t, filters: splitFilters(t.topics), ops, c, lastLog: 0, suppressed: 0 });
    });
    return { issues, vs, ts };
  }

  function logFailure(
    e: Validation | Transformation,
    kind: 'validation' | 'transformation',
    topic: string,
    cols: Readonly<ValueMap>,
    reason: string,
  ): void {
    const level = e.cfg.log_failure.level;
    if (level === 'none') return;
    const t = now();
    if (t - e.lastLog < 1000) {
      e.suppressed++;
      return;
    }
    const fields = {
      [kind]: e.cfg.name,
      action: e.cfg.failure_action,
      clientid: cols['clientid'],
      topic,
      reason,
      // failures not logged in the second before this one
      suppressed: e.suppressed,
      code: kind === 'validation' ? 'schema_validation_failed' : 'message_transformation_failed',
    };
    e.lastLog = t;
    e.suppressed = 0;
    const msg =
      kind === 'validation' ? 'schema validation failed' : 'message transformation failed';
    if (level === 'error') logger.error(fields, msg);
    else if (level === 'warning') logger.warn(fields, msg);
    else if (level === 'debug') logger.debug(fields, msg);
    else logger.info(fields, msg);
  }

  function runValidation(v: Validation, cols: Readonly<ValueMap>): string | null {
    const any = v.cfg.strategy === 'any_pass';
    let why = '';
    for (let i = 0; i < v.checks.length; i++) {
      let ok: boolean;
      try {
        ok = (v.checks[i] as Check)(cols);
        if (!ok) why = `check ${i} (${v.cfg.checks[i]?.type}) did not pass`;
      } catch (e) {
        ok = false;
        why = `check ${i} (${v.cfg.checks[i]?.type}): ${firstLine(e)}`;
      }
      if (any && ok) return null;
      if (!any && !ok) return why;
    }
    return any ? why || 'no check passed' : null;
  }

  function decode(codec: CodecConfig, payload: Buffer): Value {
    switch (codec.type) {
      case 'none':
        return payload;
      case 'json':
        try {
          return decodeJson(payload);
        } catch (e) {
          throw new Failure(`payload is not JSON: ${firstLine(e)}`);
        }
      default:
        try {
          return schemas.decode(
            codec.schema as string,
            payload,
            codec.type === 'protobuf' ? [codec.message_type as string] : [],
          );
        } catch (e) {
          throw new Failure(`payload decode (${codec.type} ${codec.schema}): ${firstLine(e)}`);
        }
    }
  }

  function encode(codec: CodecConfig, v: Value): Buffer {
    switch (codec.type) {
      case 'none':
        if (Buffer.isBuffer(v)) return v;
        if (typeof v === 'string') return Buffer.from(v);
        throw new Failure('final payload must be encoded as a binary (payload_encoder none)');
      case 'json':
        return Buffer.from(encodeJson(v));
      default:
        try {
          const out = schemas.encode(
            codec.schema as string,
            v,
            codec.type === 'protobuf' ? [codec.message_type as string] : [],
          );
          return Buffer.isBuffer(out) ? out : Buffer.from(toText(out));
        } catch (e) {
          throw new Failure(`payload encode (${codec.type} ${codec.schema}): ${firstLine(e)}`);
        }
    }
  }

  interface Msg {
    topic: string;
    payload: Buffer;
    qos: 0 | 1 | 2;
    retain: boolean;
    userProps: Record<string, string>;
    dirty: { topic?: true; payload?: true; qos?: true; retain?: true; user?: true };
  }

  function userPropsOf(cols: Readonly<ValueMap>): Record<string, string> {
    const pp = cols['pub_props'];
    const up = isMap(pp) ? pp['User-Property'] : undefined;
    const out: Record<string, string> = {};
    if (isMap(up)) for (const k of Object.keys(up)) out[k] = toText(up[k] as Value);
    return out;
  }

  function deepPut(target: Value, path: readonly string[], v: Value): Value {
    if (path.length === 0) return v;
    const base: ValueMap = isMap(target) ? { ...target } : {};
    const [k, ...rest] = path as [string, ...string[]];
    base[k] = deepPut(base[k] as Value, rest, v);
    return base;
  }

  function runTransformation(t: Transformation, m: Msg, cols: Readonly<ValueMap>): void {
    const cfg = t.cfg;
    let payload = decode(cfg.payload_decoder, m.payload);
    let payloadDirty = cfg.payload_decoder.type !== cfg.payload_encoder.type;
    const next = { topic: m.topic, qos: m.qos, retain: m.retain, user: { ...m.userProps } };
    const dirty: Msg['dirty'] = {};
    for (const op of t.ops) {
      const ctx: ValueMap = {
        ...cols,
        payload,
        topic: next.topic,
        qos: next.qos,
        retain: next.retain,
        flags: { ...(cols['flags'] as ValueMap), retain: next.retain },
        user_property: next.user,
      };
      const out = op.rule.run(ctx);
      if (out.kind === 'failed')
        throw new Failure(`operation ${op.key.join('.')} = ${op.text}: ${out.reason}`);
      const v = out.kind === 'passed' ? ((out.outputs[0] as ValueMap)['v'] as Value) : undefined;
      const key = op.key;
      const head = key[0];
      if (head === 'payload') {
        payload = deepPut(payload, key.slice(1), v);
        payloadDirty = true;
      } else if (v === undefined) {
        throw new Failure(`operation ${key.join('.')} = ${op.text}: the value is undefined`);
      } else if (head === 'topic') {
        const s = toText(v);
        if (s === '' || s.includes('+') || s.includes('#'))
          throw new Failure(
            `operation topic = ${op.text}: ${JSON.stringify(s)} is not a topic name`,
          );
        next.topic = s;
        dirty.topic = true;
      } else if (head === 'qos') {
        const s = toText(v);
        if (s !== '0' && s !== '1' && s !== '2')
          throw new Failure(`operation qos = ${op.text}: bad_qos_value ${s}`);
        next.qos = Number(s) as 0 | 1 | 2;
        dirty.qos = true;
      } else if (head === 'retain') {
        const s = toText(v);
        if (s !== 'true' && s !== 'false')
          throw new Failure(`operation retain = ${op.text}: bad_retain_value ${s}`);
        next.retain = s === 'true';
        dirty.retain = true;
      } else {
        next.user[key[1] as string] = toText(v);
        dirty.user = true;
      }
    }
    const bytes = payloadDirty ? encode(cfg.payload_encoder, payload) : m.payload;
    // Commit only after the whole transformation worked (a failure leaves m as it was).
    m.payload = bytes;
    if (payloadDirty) m.dirty.payload = true;
    m.topic = next.topic;
    m.qos = next.qos;
    m.retain = next.retain;
    m.userProps = next.user;
    Object.assign(m.dirty, dirty);
  }

  const ingress: Ingress = {
    active: false,
    inspect(topic, columns): IngressVerdict | null {
      let cols: Readonly<ValueMap> | undefined;
      let failures: IngressFailure[] | undefined;
      let lv: Levels | undefined;
      const fail = (kind: IngressFailure['kind'], name: string): void => {
        (failures ??= []).push({ kind, name });
      };
      // 1. schema validation (EMQX: any failing validation with drop/disconnect stops here)
      let matchedV = false;
      for (const v of validations) {
        if (!v.cfg.enable || !matchAny((lv ??= new Levels(topic)), v.filters)) continue;
        matchedV = true;
        cols ??= columns();
        v.c.matched++;
        const why = runValidation(v, cols);
        if (why === null) {
          v.c.succeeded++;
          continue;
        }
        v.c.failed++;
        logFailure(v, 'validation', topic, cols, why);
        fail('validation', v.cfg.name);
        if (v.cfg.failure_action !== 'ignore') {
          totals.validation_failed++;
          totals.dropped++;
          return { action: v.cfg.failure_action, failures: failures as IngressFailure[] };
        }
      }
      // EMQX counts a message whose only failures were `ignore` as validation_succeeded.
      if (matchedV) totals.validation_succeeded++;
      // 2. message transformation
      let m: Msg | undefined;
      for (const t of transformations) {
        if (m && m.topic !== lv?.topic) lv = new Levels(m.topic);
        if (!t.cfg.enable || !matchAny((lv ??= new Levels(topic)), t.filters)) continue;
        cols ??= columns();
        m ??= {
          topic,
          payload: cols['payload'] as Buffer,
          qos: cols['qos'] as 0 | 1 | 2,
          retain: (cols['flags'] as ValueMap | undefined)?.['retain'] === true,
          userProps: userPropsOf(cols),
          dirty: {},
        };
        t.c.matched++;
        try {
          runTransformation(t, m, cols);
          t.c.succeeded++;
        } catch (e) {
          t.c.failed++;
          logFailure(t, 'transformation', topic, cols, firstLine(e));
          fail('transformation', t.cfg.name);
          if (t.cfg.failure_action !== 'ignore') {
            totals.transformation_failed++;
            totals.dropped++;
            return { action: t.cfg.failure_action, failures: failures as IngressFailure[] };
          }
        }
      }
      if (m) totals.transformation_succeeded++;
      if (!m || Object.keys(m.dirty).length === 0)
        return failures ? { action: 'pass', failures } : null;
      const rw: { -readonly [K in keyof IngressRewrite]: IngressRewrite[K] } = {};
      if (m.dirty.topic) rw.topic = m.topic;
      if (m.dirty.payload) rw.payload = m.payload;
      if (m.dirty.qos) rw.qos = m.qos;
      if (m.dirty.retain) rw.retain = m.retain;
      if (m.dirty.user) rw.userProperties = m.userProps;
      return { action: 'pass', failures: failures ?? [], rewrite: rw };
    },
    check(cfg) {
      return compile(cfg).issues;
    },
    configure(cfg) {
      const r = compile(cfg);
      if (r.issues.length > 0) return r.issues;
      validations = r.vs;
      transformations = r.ts;
      counters.validation = new Map(r.vs.map((v) => [v.cfg.name, v.c]));
      counters.transformation = new Map(r.ts.map((t) => [t.cfg.name, t.c]));
      (ingress as { active: boolean }).active =
        r.vs.some((v) => v.cfg.enable) || r.ts.some((t) => t.cfg.enable);
      return [];
    },
    list() {
      return {
        validations: validations.map((v) => v.cfg),
        transformations: transformations.map((t) => t.cfg),
      };
    },
    metrics() {
      return {
        validations: validations.map((v) => ({ name: v.cfg.name, enable: v.cfg.enable, ...v.c })),
        transformations: transformations.map((t) => ({
          name: t.cfg.name,
          enable: t.cfg.enable,
          ...t.c,
        })),
        ...totals,
      };
    },
    resetMetrics(kind, name) {
      const c = counters[kind].get(name);
      if (!c) return false;
      c.matched = c.succeeded = c.failed = 0;
      return true;
    },
  };
  return ingress;
}

/** Topic filters split once per config; a topic is split once per message (`Levels`). */
type Filters = readonly (readonly string[])[];

function splitFilters(filters: readonly string[]): Filters {
  return filters.map((f) => f.split('/'));
}

/** The topic's levels, split on first use for the message being inspected. */
class Levels {
  private t: string[] | undefined;
  constructor(readonly topic: string) {}
  get levels(): string[] {
    return (this.t ??= this.topic.split('/'));
  }
}

/** topicMatches (src/runtime/topic.ts) over pre-split filters. */
function matchAny(topic: Levels, filters: Filters): boolean {
  const dollar = topic.topic.charCodeAt(0) === 36; /* $ */
  for (const f of filters) {
    const first = f[0];
    if (dollar && (first === '+' || first === '#')) continue;
    if (first === '#' && f.length === 1) return true;
    const t = topic.levels;
    const n = f.length;
    let ok = true;
    for (let i = 0; i < n; i++) {
      const level = f[i];
      if (level === '#') break;
      if (i >= t.length || (level !== '+' && level !== t[i])) {
        ok = false;
        break;
      }
      if (i === n - 1 && t.length !== n) ok = false;
    }
    if (ok) return true;
  }
  return false;
}
