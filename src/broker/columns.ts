/**
 * Helpers that copy MQTT packet facts into EMQX column values (spec rule-sql §7). Everything
 * here runs on the hot path: no JSON work, shared frozen empties, one small object per map.
 */
import type { Value, ValueMap } from '../core/index.js';

/** Shared frozen `{}` for absent property maps and client_attrs. */
export const EMPTY_MAP: Readonly<ValueMap> = Object.freeze({});

/** mqtt-packet property names → MQTT 5.0 property names (as EMQX prints them, §7). */
const PROP_NAMES: Readonly<Record<string, string>> = {
  payloadFormatIndicator: 'Payload-Format-Indicator',
  messageExpiryInterval: 'Message-Expiry-Interval',
  contentType: 'Content-Type',
  responseTopic: 'Response-Topic',
  correlationData: 'Correlation-Data',
  subscriptionIdentifier: 'Subscription-Identifier',
  sessionExpiryInterval: 'Session-Expiry-Interval',
  assignedClientIdentifier: 'Assigned-Client-Identifier',
  serverKeepAlive: 'Server-Keep-Alive',
  authenticationMethod: 'Authentication-Method',
  authenticationData: 'Authentication-Data',
  requestProblemInformation: 'Request-Problem-Information',
  willDelayInterval: 'Will-Delay-Interval',
  requestResponseInformation: 'Request-Response-Information',
  responseInformation: 'Response-Information',
  serverReference: 'Server-Reference',
  reasonString: 'Reason-String',
  receiveMaximum: 'Receive-Maximum',
  topicAliasMaximum: 'Topic-Alias-Maximum',
  topicAlias: 'Topic-Alias',
  maximumQoS: 'Maximum-QoS',
  retainAvailable: 'Retain-Available',
  maximumPacketSize: 'Maximum-Packet-Size',
  wildcardSubscriptionAvailable: 'Wildcard-Subscription-Available',
  subscriptionIdentifiersAvailable: 'Subscription-Identifier-Available',
  sharedSubscriptionAvailable: 'Shared-Subscription-Available',
};

/**
 * Convert an mqtt-packet `properties` object into EMQX's printable property map:
 * MQTT names as keys, `User-Property` as a map (last value wins for a repeated key) and
 * `User-Property-Pairs` as the ordered list of `{key, value}`. Absent/empty → EMPTY_MAP.
 */
export function propsToColumns(
  props: Record<string, unknown> | undefined | null,
): Readonly<ValueMap> {
  if (!props) return EMPTY_MAP;
  let out: ValueMap | undefined;
  for (const k in props) {
    const v = props[k];
    if (v === undefined) continue;
    out ??= {};
    if (k === 'userProperties') {
      const map: ValueMap = {};
      const pairs: Value[] = [];
      for (const [uk, uv] of Object.entries(v as Record<string, string | string[]>)) {
        for (const one of Array.isArray(uv) ? uv : [uv]) {
          map[uk] = one;
          pairs.push(Object.freeze({ key: uk, value: one }));
        }
      }
      out['User-Property'] = Object.freeze(map);
      out['User-Property-Pairs'] = Object.freeze(pairs) as Value[];
    } else {
      out[PROP_NAMES[k] ?? k] = v as Value;
    }
  }
  return out ? Object.freeze(out) : EMPTY_MAP;
}

/**
 * MQTT 3.1.1 CONNACK return codes → EMQX reason-code text (EMQX prints the MQTT 5 reason
 * names; 3.1.1 codes are mapped as in emqx_reason_codes:compat/2).
 */
export const CONNACK_REASONS: readonly string[] = [
  'success',
  'unsupported_protocol_version',
  'client_identifier_not_valid',
  'server_unavailable',
  'bad_username_or_password',
  'not_authorized',
  // Aedes-specific 6: keepalive above the broker's limit (no 3.1.1 code exists).
  'keepalive_not_acceptable',
];

export function connackReason(code: number): string {
  return CONNACK_REASONS[code] ?? `unspecified_error`;
}

/** `peername` text: `ip:port` (EMQX emqx_utils:ntoa). */
export function peername(host: string | undefined, port: number | undefined): string | undefined {
  return host === undefined || port === undefined ? undefined : `${host}:${port}`;
}

/** MQTT protocol level → EMQX proto_name. */
export function protoName(level: number | undefined): string {
  return level === 3 ? 'MQIsdp' : 'MQTT';
}

/**
 * Message ids: 32 lower-case hex digits — a random 64-bit prefix per broker instance followed
 * by the 64-bit Aedes broker counter. Unique per broker run, and derivable from any copy of
 * the Aedes packet (the counter travels with it), so delivered / acked events carry the same
 * `id` as the message's publish event.
 */
export function messageId(prefix: string, counter: number): string {
  return prefix + counter.toString(16).padStart(16, '0');
}

/**
 * `messageId` bound to one prefix, for the hot path: the prefix and its zero padding are
 * formatted once per hex length, so each id costs one `toString(16)` and one concatenation.
 * Same output as `messageId(prefix, counter)`.
 */
export function messageIdFormatter(prefix: string): (counter: number) => string {
  const heads = Array.from({ length: 17 }, (_, n) => prefix + '0'.repeat(16 - n));
  const full = (counter: number): string => {
    const hex = counter.toString(16);
    return heads[hex.length]! + hex;
  };
  // Counters arrive in increasing order: the id of counter c is the cached text of its high
  // part (all but the last 3 hex digits, recomputed once per 4,096 counters) + a table entry.
  let high = -1;
  let head = '';
  return (counter) => {
    if (!(counter >= 0 && counter <= Number.MAX_SAFE_INTEGER && Number.isInteger(counter)))
      return full(counter);
    const h = Math.floor(counter / 4096);
    if (h !== high) {
      high = h;
      head = full(h * 4096).slice(0, -3);
    }
    return head + LOW_HEX[counter - h * 4096]!;
  };
}

/** '000' … 'fff': the last three hex digits of a message id. */
const LOW_HEX: readonly string[] = Array.from({ length: 4096 }, (_, i) =>
  i.toString(16).padStart(3, '0'),
);
