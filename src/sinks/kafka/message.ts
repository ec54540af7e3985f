/**
 * Rule output → Kafka record (EMQX Kafka producer semantics, shared spec kafka-gssapi.md §5):
 *  - topic: template rendered as text;
 *  - key/value: templates; a template that yields nothing (undefined, null or '') gives a
 *    NULL key/value, a Buffer is sent as raw bytes, anything else as UTF-8 text (maps/lists as
 *    JSON — the default value `${.}` is the whole rule output as JSON). A text value stays a
 *    string (the record encoder writes it into the request: no Buffer per record); key bytes
 *    come from a small per-sink cache (keys such as `${clientid}` repeat).
 *  - timestamp: integer ms (number or numeric text), else the send time;
 *  - headers (EMQX kafka_headers + kafka_ext_headers + kafka_header_value_encode_mode): the
 *    `kafka_headers` placeholder's map / list of {key, value} entries, then `headers` and
 *    `kafka_ext_headers` pairs; values JSON-encoded with encode mode json. A repeated name gives
 *    the header repeatedly (Kafka allows it). Then the W3C trace context (`traceparent`,
 *    `tracestate`) from `trace_context_headers` (the MQTT 5 user properties by default), as
 *    plain text, when no header of that name was set.
 * Templates are compiled once per sink (CONVENTIONS.md #3).
 */
import {
  compileTemplate,
  encodeJson,
  isMap,
  isNumber,
  num,
  renderText,
  toText,
} from '../../core/index.js';
import type { CompiledTemplate, Logger, SinkRecord, Value } from '../../core/index.js';
import type { KafkaSinkConfig } from './config.js';

export interface PreparedMessage {
  topic: string;
  /** Shared between records with the same key (never mutated). */
  key: Buffer | null;
  /** UTF-8 text as a string, raw bytes as a Buffer. */
  value: Buffer | string | null;
  /** Milliseconds since the epoch, as kafkajs wants it (decimal text). */
  timestamp: string | undefined;
  /** A list value: the header repeated, in order. */
  headers: Record<string, Buffer | Buffer[]> | undefined;
  /** Estimated encoded size in bytes (record overhead included). */
  size: number;
}

export type MessageMapper = (record: SinkRecord) => PreparedMessage;

/** Bytes a record adds to a v2 record batch besides key/value/headers (varints, attrs). */
const RECORD_OVERHEAD = 24;

/** Key/value bytes: nothing (undefined, null, '') → NULL, as EMQX renders empty templates. */
function bytesOf(v: Value): Buffer | null {
  if (v === undefined || v === null || v === '') return null;
  if (Buffer.isBuffer(v)) return v;
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  return Buffer.from(encodeJson(v), 'utf8');
}

/** Value: nothing → NULL; Buffer as is; text kept as a string (kafkajs writes it as UTF-8). */
function valueOf(v: Value): Buffer | string | null {
  if (v === undefined || v === null || v === '') return null;
  if (Buffer.isBuffer(v) || typeof v === 'string') return v;
  return encodeJson(v);
}

/** Distinct keys kept by a mapper's key cache before it starts over. */
export const KEY_CACHE_SIZE = 4096;

/**
 * Key text → bytes, remembered: a key such as `${clientid}` repeats for every record of a
 * client, and one Buffer per record was the sink's commonest allocation. Bounded: when
 * KEY_CACHE_SIZE distinct keys are held it starts over (keys that never repeat cost a lookup).
 */
function createKeyBytes(): (v: Value) => Buffer | null {
  const cache = new Map<string, Buffer>();
  return (v) => {
    if (typeof v !== 'string' || v === '') return bytesOf(v);
    let b = cache.get(v);
    if (b === undefined) {
      if (cache.size >= KEY_CACHE_SIZE) cache.clear();
      cache.set(v, (b = Buffer.from(v, 'utf8')));
    }
    return b;
  };
}

const lengthOf = (v: Buffer | string | null): number =>
  v === null ? 0 : typeof v === 'string' ? Buffer.byteLength(v, 'utf8') : v.length;

function timestampOf(v: Value): string | undefined {
  if (isNumber(v)) {
    const n = num(v);
    return Number.isSafeInteger(n) && n >= 0 ? String(n) : undefined;
  }
  if (typeof v === 'string' || Buffer.isBuffer(v)) {
    const s = (typeof v === 'string' ? v : v.toString('utf8')).trim();
    return /^\d{1,16}$/.test(s) ? String(Number(s)) : undefined;
  }
  return undefined;
}

/** Names of the W3C trace context headers passed through from MQTT 5 user properties. */
export const TRACE_CONTEXT = ['traceparent', 'tracestate'] as const;

/** Collects headers; a name set twice becomes a repeated header. */
class Headers {
  readonly out: Record<string, Buffer | Buffer[]> = {};
  size = 0;
  any = false;

  add(name: string, bytes: Buffer): void {
    const prev = this.out[name];
    this.out[name] =
      prev === undefined ? bytes : Array.isArray(prev) ? [...prev, bytes] : [prev, bytes];
    this.size += name.length + bytes.length + 4;
    this.any = true;
  }
}

export function createMessageMapper(config: KafkaSinkConfig, log?: Logger): MessageMapper {
  const topic = compileTemplate(config.topic);
  const key = compileTemplate(config.message.key);
  const value = compileTemplate(config.message.value);
  const ts = compileTemplate(config.message.timestamp);
  const json =
    (config.kafka_header_value_encode_mode ?? config.header_value_encode_mode) === 'json';
  const encode = (raw: Value): Buffer =>
    json
      ? Buffer.from(encodeJson(raw === undefined ? null : raw), 'utf8')
      : (bytesOf(raw) ?? Buffer.alloc(0));
  const headers: [CompiledTemplate, CompiledTemplate][] = config.headers.map((h) => [
    compileTemplate(h.key),
    compileTemplate(h.value),
  ]);
  const ext: [CompiledTemplate, CompiledTemplate][] = (config.kafka_ext_headers ?? []).map((h) => [
    compileTemplate(h.kafka_ext_header_key),
    compileTemplate(h.kafka_ext_header_value),
  ]);
  const bulk = config.kafka_headers ? compileTemplate(config.kafka_headers) : undefined;
  const trace = config.trace_context_headers
    ? compileTemplate(config.trace_context_headers)
    : undefined;
  const anyHeaders =
    headers.length > 0 || ext.length > 0 || bulk !== undefined || trace !== undefined;

  /**
   * `kafka_headers`: a map, or a list of {key, value} (or [key, value]) pairs. Adds to `h`
   * (created on the first header) and returns it.
   */
  function addBulk(h: Headers | undefined, v: Value): Headers | undefined {
    const one = (k: string, val: Value): void => {
      if (val === undefined) return;
      if (Array.isArray(val) && !json) for (const x of val) (h ??= new Headers()).add(k, encode(x));
      else (h ??= new Headers()).add(k, encode(val));
    };
    if (isMap(v)) {
      for (const k of Object.keys(v)) one(k, v[k]);
      return h;
    }
    if (Array.isArray(v)) {
      for (const e of v) {
        if (isMap(e) && e['key'] !== undefined) one(toText(e['key']), e['value']);
        else if (Array.isArray(e) && e.length === 2) one(toText(e[0]), e[1]);
        else log?.debug({ entry: toText(e) }, 'kafka_headers entry ignored (not a key/value pair)');
      }
      return h;
    }
    if (v !== undefined && v !== null)
      log?.debug({ type: typeof v }, 'kafka_headers value ignored (not a map or list)');
    return h;
  }

  const keyBytes = createKeyBytes();
  // An empty timestamp template (the e2e bench's, or `timestamp: ''`): always the send time.
  const noTimestamp = ts.isConst && ts.source === '';

  return (record) => {
    const { data, context } = record;
    const t = topic.isConst ? topic.source : renderText(topic, data, context);
    const k = keyBytes(key(data, context));
    const v = valueOf(value(data, context));
    const stamp = noTimestamp ? undefined : timestampOf(ts(data, context));
    let size = RECORD_OVERHEAD + (k?.length ?? 0) + lengthOf(v);
    let hs: Record<string, Buffer | Buffer[]> | undefined;
    if (anyHeaders) {
      // Allocated only once a header is found: with the default trace_context_headers and no
      // MQTT 5 user properties, a record costs one template lookup here.
      let found: Headers | undefined;
      if (bulk) found = addBulk(found, bulk(data, context));
      for (const [hk, hv] of headers) {
        const name = renderText(hk, data, context);
        if (name === '') continue;
        (found ??= new Headers()).add(name, encode(hv(data, context)));
      }
      for (const [hk, hv] of ext) {
        const name = renderText(hk, data, context);
        const raw = hv(data, context);
        if (name === '' || raw === undefined || raw === null) continue;
        (found ??= new Headers()).add(name, encode(raw));
      }
      if (trace) {
        const props = trace(data, context);
        if (isMap(props))
          for (const name of TRACE_CONTEXT) {
            const tv = props[name];
            if (found?.out[name] !== undefined || tv === undefined || tv === null) continue;
            // A repeated user property: the first one (W3C: one traceparent per request).
            const first = Array.isArray(tv) ? tv[0] : tv;
            if (first !== undefined)
              (found ??= new Headers()).add(name, Buffer.from(toText(first), 'utf8'));
          }
      }
      if (found?.any) {
        hs = found.out;
        size += found.size;
      }
    }
    return { topic: t, key: k, value: v, timestamp: stamp, headers: hs, size };
  };
}
