/**
 * `message.publish` columns for a message received from an external broker, in the embedded
 * broker's shape (src/broker/events/message.ts; spec rule-sql §7.1), filled where a subscriber
 * can know the fact:
 *
 *   topic, payload, qos, flags.retain, flags.dup, pub_props  from the PUBLISH packet
 *   clientid, username   from MQTT 5 user properties (`clientid_property`/`username_property`),
 *                        else clientid from a topic level (`clientid_topic_level`), else undefined
 *   peerhost, peername   undefined (a subscriber never learns the publisher's address)
 *   client_attrs         {}; headers.proto_ver is this subscription's protocol version
 *   publish_received_at, timestamp   when Sluice received it (not when the broker did)
 */
import type { Value, ValueMap } from '../../core/index.js';

const EMPTY: Readonly<ValueMap> = Object.freeze({});

/** mqtt-packet property names → MQTT 5.0 names as EMQX prints them (subset a PUBLISH carries). */
const PROP_NAMES: Readonly<Record<string, string>> = {
  payloadFormatIndicator: 'Payload-Format-Indicator',
  messageExpiryInterval: 'Message-Expiry-Interval',
  contentType: 'Content-Type',
  responseTopic: 'Response-Topic',
  correlationData: 'Correlation-Data',
  subscriptionIdentifier: 'Subscription-Identifier',
  topicAlias: 'Topic-Alias',
};

export function propsToColumns(props: Record<string, unknown> | undefined): Readonly<ValueMap> {
  if (!props) return EMPTY;
  let out: ValueMap | undefined;
  for (const k in props) {
    const v = props[k];
    if (v === undefined) continue;
    out ??= {};
    if (k === 'userProperties') {
      const map: ValueMap = {};
      const pairs: Value[] = [];
      for (const [uk, uv] of Object.entries(v as Record<string, string | string[]>))
        for (const one of Array.isArray(uv) ? uv : [uv]) {
          map[uk] = one;
          pairs.push(Object.freeze({ key: uk, value: one }));
        }
      out['User-Property'] = Object.freeze(map);
      out['User-Property-Pairs'] = Object.freeze(pairs) as Value[];
    } else out[PROP_NAMES[k] ?? k] = v as Value;
  }
  return out ? Object.freeze(out) : EMPTY;
}

export interface PublisherIdentity {
  clientidProperty: string;
  usernameProperty: string;
  /** 1-based topic level holding the client id; 0 = off. */
  clientidTopicLevel: number;
}

function userProperty(
  props: Record<string, unknown> | undefined,
  name: string,
): string | undefined {
  const up = props?.['userProperties'] as Record<string, string | string[]> | undefined;
  const v = up?.[name];
  return Array.isArray(v) ? v[v.length - 1] : v;
}

export interface ReceivedPublish {
  topic: string;
  payload: Buffer;
  qos: number;
  retain: boolean;
  dup: boolean;
  properties?: Record<string, unknown>;
}

export function mqttPublishColumns(
  p: ReceivedPublish,
  who: PublisherIdentity,
  protoVer: number,
  id: string,
  ts: number,
  node: string,
): ValueMap {
  let clientid = userProperty(p.properties, who.clientidProperty);
  const username = userProperty(p.properties, who.usernameProperty);
  if (clientid === undefined && who.clientidTopicLevel > 0)
    clientid = p.topic.split('/')[who.clientidTopicLevel - 1];
  return {
    id,
    clientid,
    username,
    payload: p.payload,
    peerhost: undefined,
    peername: undefined,
    topic: p.topic,
    qos: p.qos,
    flags: Object.freeze({ dup: p.dup, retain: p.retain }),
    headers: Object.freeze({
      username,
      peerhost: undefined,
      proto_ver: protoVer,
      protocol: 'mqtt',
    }),
    pub_props: propsToColumns(p.properties),
    publish_received_at: ts,
    client_attrs: EMPTY,
    event: 'message.publish',
    timestamp: ts,
    node,
  };
}
