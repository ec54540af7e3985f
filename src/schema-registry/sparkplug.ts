/**
 * Sparkplug B (`spb_decode`/`spb_encode`, and the older `sparkplug_decode`/`sparkplug_encode`):
 * the built-in protobuf schema `__CiscoSparkplugB` (EMQX's name for it) with message type
 * `Payload`. As in EMQX (emqx_schema_registry_serde `map_decoded_sparkplug` /
 * `map_sparkplug_to_encode`), the `spb_*` pair carries a metric's `bytes_value` as base64 text
 * in the map (JSON-friendly) while the `sparkplug_*` pair keeps raw binaries. Timestamps,
 * aliases and `long_value` are uint64: exact (bigint beyond 2^53).
 */
import type { Message } from 'protobufjs';

import type { Value, ValueMap } from '../core/index.js';
import type { Codec } from './codec.js';
import { bytesOf } from './codec.js';
import { SchemaErrors } from './errors.js';
import { compileProtoText, messageFromValue, messageToValue, strictView } from './protobuf.js';
import { SPARKPLUG_B_PROTO } from './sparkplug-b-proto.js';

export const SPARKPLUG_SCHEMA_NAME = '__CiscoSparkplugB';

/** Edge nodes / devices whose alias mapping is kept (least recently born evicted). */
export const SPARKPLUG_ALIAS_KEYS_MAX = 10_000;

export interface SparkplugCodec {
  /**
   * `base64Bytes`: the spb_* convention (bytes_value as base64 text). `topic`: learn aliases
   * from a BIRTH, name aliased metrics of a DATA message (EMQX 5.9
   * emqx_schema_registry_spb_state: keyed by namespace, group, edge node [, device]).
   */
  decode(data: Value, base64Bytes: boolean, topic?: string): Value;
  encode(map: Value, base64Bytes: boolean): Buffer;
  /** The same schema as a registry codec (`schema_decode('__CiscoSparkplugB', Bin, 'Payload')`). */
  readonly codec: Codec;
}

function mapMetrics(v: Value, f: (m: ValueMap) => ValueMap): Value {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || Buffer.isBuffer(v)) return v;
  const metrics = (v as ValueMap)['metrics'];
  if (!Array.isArray(metrics)) return v;
  return {
    ...(v as ValueMap),
    metrics: metrics.map((m) =>
      m !== null && typeof m === 'object' && !Array.isArray(m) && !Buffer.isBuffer(m)
        ? f(m as ValueMap)
        : m,
    ),
  };
}

/** `spBv1.0/group/NBIRTH/edge[/device]` → [kind, key], for the four message types of interest. */
function parseTopic(topic: string): ['birth' | 'data', string] | undefined {
  const w = topic.split('/');
  const kind =
    (w.length === 4 && w[2] === 'NBIRTH') || (w.length === 5 && w[2] === 'DBIRTH')
      ? 'birth'
      : (w.length === 4 && w[2] === 'NDATA') || (w.length === 5 && w[2] === 'DDATA')
        ? 'data'
        : undefined;
  if (!kind) return undefined;
  return [kind, [w[0], w[1], w[3], ...(w.length === 5 ? [w[4]] : [])].join('/')];
}

function isMetricList(v: Value): v is ValueMap[] {
  return Array.isArray(v);
}

export function createSparkplugCodec(): SparkplugCodec {
  const aliases = new Map<string, Map<string, string>>();
  const learn = (key: string, v: Value): void => {
    const metrics = (v as ValueMap)['metrics'];
    if (!isMetricList(metrics)) return;
    const m = new Map<string, string>();
    for (const x of metrics) {
      const alias = x?.['alias'];
      const name = x?.['name'];
      if (alias !== undefined && typeof name === 'string') m.set(String(alias), name);
    }
    if (m.size === 0) return;
    aliases.delete(key);
    aliases.set(key, m);
    if (aliases.size > SPARKPLUG_ALIAS_KEYS_MAX)
      aliases.delete(aliases.keys().next().value as string);
  };
  const root = compileProtoText(SPARKPLUG_SCHEMA_NAME, SPARKPLUG_B_PROTO);
  const payload = root.lookupType('org.eclipse.tahu.protobuf.Payload');
  const fail = (code: 'schema_decode_error' | 'schema_encode_error', why: string): never => {
    throw SchemaErrors[code](`{${code}, ${JSON.stringify(SPARKPLUG_SCHEMA_NAME)}}: ${why}`, {
      context: { schema: SPARKPLUG_SCHEMA_NAME },
    });
  };
  const decodeRaw = (data: Value): ValueMap => {
    const buf = bytesOf(data, 'Data', (r) => fail('schema_decode_error', r));
    let m: Message;
    try {
      m = payload.decode(strictView(buf));
    } catch (e) {
      return fail('schema_decode_error', `not a Sparkplug B payload: ${(e as Error).message}`);
    }
    return messageToValue(payload, m);
  };
  const encodeRaw = (map: Value): Buffer => {
    const obj = messageFromValue(payload, map);
    const err =
      obj === null || typeof obj !== 'object'
        ? 'expected a map for a Sparkplug B payload'
        : payload.verify(obj as Record<string, unknown>);
    if (err) return fail('schema_encode_error', err);
    return Buffer.from(payload.encode(payload.fromObject(obj as Record<string, unknown>)).finish());
  };
  const checkType = (
    args: readonly Value[],
    code: 'schema_decode_error' | 'schema_encode_error',
  ) => {
    const t = args[0];
    if (
      t !== undefined &&
      String(t) !== 'Payload' &&
      String(t) !== 'org.eclipse.tahu.protobuf.Payload'
    )
      fail(code, `no message type ${JSON.stringify(String(t))} in the schema`);
  };
  return {
    decode(data, base64Bytes, topic) {
      const v = decodeRaw(data);
      if (!base64Bytes) return v;
      const t = topic === undefined ? undefined : parseTopic(topic);
      if (t?.[0] === 'birth') learn(t[1], v);
      const mapping = t?.[0] === 'data' ? aliases.get(t[1]) : undefined;
      return mapMetrics(v, (m) => {
        let out = m;
        if (Buffer.isBuffer(m['bytes_value']))
          out = { ...out, bytes_value: (m['bytes_value'] as Buffer).toString('base64') };
        const name =
          mapping && m['alias'] !== undefined ? mapping.get(String(m['alias'])) : undefined;
        if (name !== undefined) out = { ...out, name };
        return out;
      });
    },
    encode(map, base64Bytes) {
      const input = base64Bytes
        ? mapMetrics(map, (m) =>
            typeof m['bytes_value'] === 'string'
              ? { ...m, bytes_value: Buffer.from(m['bytes_value'], 'base64') }
              : m,
          )
        : map;
      return encodeRaw(input);
    },
    codec: {
      type: 'protobuf',
      decode: (data, args) => {
        checkType(args, 'schema_decode_error');
        return decodeRaw(data);
      },
      encode: (data, args) => {
        checkType(args, 'schema_encode_error');
        return encodeRaw(data);
      },
    },
  };
}
