/**
 * Rule output → Kafka record (EMQX Kafka producer semantics, shared spec kafka-gssapi.md §5):
 *  - topic: template rendered as text;
 *  - key/value: templates; a template that yields nothing (undefined, null or '') gives a
 *    NULL key/value, a Buffer is sent as raw bytes, anything else as UTF-8 text (maps/lists as
 *    JSON — the default value `${.}` is the whole rule output as JSON);
 *  - timestamp: integer ms (number or numeric text), else the send time;
 *  - headers: key/value templates; values JSON-encoded with header_value_encode_mode=json.
 * Templates are compiled once per sink (CONVENTIONS.md #3).
 */
import { compileTemplate, encodeJson, isNumber, num, renderText } from '../../core/index.js';
import type { CompiledTemplate, SinkRecord, Value } from '../../core/index.js';
import type { KafkaSinkConfig } from './config.js';

export interface PreparedMessage {
  topic: string;
  key: Buffer | null;
  value: Buffer | null;
  /** Milliseconds since the epoch, as kafkajs wants it (decimal text). */
  timestamp: string | undefined;
  headers: Record<string, Buffer> | undefined;
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

export function createMessageMapper(config: KafkaSinkConfig): MessageMapper {
  const topic = compileTemplate(config.topic);
  const key = compileTemplate(config.message.key);
  const value = compileTemplate(config.message.value);
  const ts = compileTemplate(config.message.timestamp);
  const json = config.header_value_encode_mode === 'json';
  const headers: [CompiledTemplate, CompiledTemplate][] = config.headers.map((h) => [
    compileTemplate(h.key),
    compileTemplate(h.value),
  ]);

  return (record) => {
    const { data, context } = record;
    const t = topic.isConst ? topic.source : renderText(topic, data, context);
    const k = bytesOf(key(data, context));
    const v = bytesOf(value(data, context));
    const stamp = timestampOf(ts(data, context));
    let size = RECORD_OVERHEAD + (k?.length ?? 0) + (v?.length ?? 0);
    let hs: Record<string, Buffer> | undefined;
    if (headers.length > 0) {
      hs = {};
      for (const [hk, hv] of headers) {
        const name = renderText(hk, data, context);
        if (name === '') continue;
        const raw = hv(data, context);
        const bytes = json
          ? Buffer.from(encodeJson(raw === undefined ? null : raw), 'utf8')
          : (bytesOf(raw) ?? Buffer.alloc(0));
        hs[name] = bytes;
        size += name.length + bytes.length + 4;
      }
    }
    return { topic: t, key: k, value: v, timestamp: stamp, headers: hs, size };
  };
}
