/**
 * The `sources:` section of sluice.yaml (CONVENTIONS.md #6): where the rule engine's message
 * events come from. `embedded` (the default) is the embedded broker alone; `mqtt` consumes an
 * existing broker through shared subscriptions; `kafka` consumes Kafka topics in a consumer
 * group. docs/scale-out.md explains when to use which.
 */
import { field } from '../core/index.js';
import type { FieldSpec } from '../core/index.js';

export type SourceMode = 'embedded' | 'mqtt' | 'kafka';

export interface MqttSourceConfig {
  url?: string;
  client_id?: string;
  username?: string;
  password?: string;
  protocol_version: 4 | 5;
  share_group: string;
  qos: 0 | 1;
  session_expiry: number;
  keepalive: number;
  reconnect_period: number;
  connect_timeout: number;
  receive_maximum: number;
  tls: { ca?: string; cert?: string; key?: string; verify: boolean };
  clientid_property: string;
  username_property: string;
  clientid_topic_level: number;
}

export interface KafkaSourceConfig {
  brokers: string[];
  client_id: string;
  group_id: string;
  topics: string[];
  from_beginning: boolean;
  topic_header: string;
  clientid_header: string;
  username_header: string;
  max_pending: number;
  commit_interval: number;
  session_timeout: number;
  tls: { enabled: boolean; ca?: string; cert?: string; key?: string; verify: boolean };
  sasl: {
    mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512';
    username?: string;
    password?: string;
  };
}

export interface SourcesConfig {
  mode: SourceMode;
  embedded_broker: boolean;
  ack_timeout: number;
  mqtt: MqttSourceConfig;
  kafka: KafkaSourceConfig;
}

const pem = (what: string): FieldSpec =>
  field.string({
    description: `${what}: a PEM file path, or the PEM text itself (starts with "-----BEGIN").`,
    optional: true,
    example: `/etc/sluice/tls/${what.toLowerCase().replace(/ /g, '-')}.pem`,
  });

const mqttSpec = field.object(
  {
    url: field.string({
      description:
        'Broker URL: mqtt:// (TCP), mqtts:// (TLS), ws:// or wss:// (WebSocket, path included). Required in `mqtt` mode.',
      optional: true,
      pattern: '^(mqtts?|wss?)://.+',
      example: 'mqtts://emqx.example:8883',
    }),
    client_id: field.string({
      description:
        'MQTT client id. It must be stable across restarts of one worker (a persistent session is found again by it) and unique across workers: on Kubernetes use the pod name (`${POD_NAME}`, a StatefulSet keeps it). Default `sluice-<node>`.',
      optional: true,
      example: '${POD_NAME}',
    }),
    username: field.string({ description: 'MQTT username.', optional: true }),
    password: field.string({
      description: 'MQTT password (keep it in the environment or a Secret).',
      optional: true,
      secret: true,
      example: '${MQTT_PASSWORD}',
    }),
    protocol_version: field.integer({
      description: 'MQTT protocol: 5 (session expiry, user properties, reason codes) or 4 (3.1.1).',
      default: 5,
      min: 4,
      max: 5,
    }),
    share_group: field.string({
      description:
        'Shared-subscription group: every rule filter is subscribed as `$share/<group>/<filter>`, so the workers of one group split the messages. Empty: plain subscriptions (every worker gets every message).',
      default: 'sluice',
      pattern: '^[^/+#]*$',
    }),
    qos: field.integer({
      description:
        'Subscription QoS. 1 (at-least-once: a message is acknowledged only once its rule work is done) or 0 (at-most-once).',
      default: 1,
      min: 0,
      max: 1,
    }),
    session_expiry: field.duration({
      description:
        'Persistent session: how long the broker keeps this worker’s session (subscriptions, unacknowledged and queued messages) after it disconnects (MQTT 5 Session Expiry Interval; 3.1.1 connects with clean session false and the broker’s own expiry applies). It must outlive a restart.',
      default: 3_600_000,
      example: '1h',
    }),
    keepalive: field.duration({ description: 'MQTT keep alive.', default: 30_000 }),
    reconnect_period: field.duration({
      description: 'Wait between reconnect attempts.',
      default: 1000,
    }),
    connect_timeout: field.duration({
      description: 'Time allowed for one connection attempt (CONNACK).',
      default: 10_000,
    }),
    receive_maximum: field.integer({
      description:
        'MQTT 5 Receive Maximum: unacknowledged QoS 1 messages the broker may have in flight to this worker. It bounds the work a worker holds and is the back-pressure window (a stalled sink stops the flow after this many).',
      default: 1000,
      min: 1,
      max: 65535,
    }),
    tls: field.object(
      {
        ca: pem('CA certificate'),
        cert: pem('Client certificate'),
        key: pem('Client key'),
        verify: field.boolean({
          description: 'Verify the broker’s certificate and host name.',
          default: true,
        }),
      },
      { description: 'TLS for mqtts:// and wss:// (client certificates optional).' },
    ),
    clientid_property: field.string({
      description:
        'MQTT 5 user property carrying the original publisher’s client id (`clientid` column); the external broker does not tell a subscriber who published.',
      default: 'clientid',
    }),
    username_property: field.string({
      description:
        'MQTT 5 user property carrying the original publisher’s username (`username` column).',
      default: 'username',
    }),
    clientid_topic_level: field.integer({
      description:
        'When no user property names the publisher: take `clientid` from this topic level (1 = the first level; `devices/+/up` → 2). 0 = off.',
      default: 0,
      min: 0,
    }),
  },
  { description: 'The `mqtt` source: an existing MQTT broker (or cluster) as the event stream.' },
);

const kafkaSpec = field.object(
  {
    brokers: field.array(field.string({ description: 'host:port' }), {
      description: 'Bootstrap brokers. Required in `kafka` mode.',
      default: [],
      example: ['kafka-0.kafka:9092'],
    }),
    client_id: field.string({ description: 'Kafka client id.', default: 'sluice' }),
    group_id: field.string({
      description: 'Consumer group: the workers of one group split the topics’ partitions.',
      default: 'sluice',
    }),
    topics: field.array(field.string({ description: 'A Kafka topic.' }), {
      description: 'Kafka topics to consume. Required in `kafka` mode.',
      default: [],
      example: ['telemetry'],
    }),
    from_beginning: field.boolean({
      description: 'A new group starts at the oldest offset (else at the newest).',
      default: false,
    }),
    topic_header: field.string({
      description:
        'Record header whose value is the MQTT topic rules match (`topic` column); records without it use the Kafka topic name.',
      default: 'mqtt_topic',
    }),
    clientid_header: field.string({
      description: 'Record header carrying the `clientid` column (else the record key).',
      default: 'clientid',
    }),
    username_header: field.string({
      description: 'Record header carrying the `username` column.',
      default: 'username',
    }),
    max_pending: field.integer({
      description:
        'Records per partition whose rule work may be unfinished at once; the consumer waits above it (back-pressure).',
      default: 10_000,
      min: 1,
    }),
    commit_interval: field.duration({
      description:
        'How often finished offsets are committed (also on rebalance and shutdown). The committed offset never passes an unfinished record.',
      default: 1000,
    }),
    session_timeout: field.duration({
      description: 'Consumer group session timeout.',
      default: 30_000,
    }),
    tls: field.object(
      {
        enabled: field.boolean({ description: 'Connect with TLS.', default: false }),
        ca: pem('CA certificate'),
        cert: pem('Client certificate'),
        key: pem('Client key'),
        verify: field.boolean({ description: 'Verify the brokers’ certificates.', default: true }),
      },
      { description: 'TLS to the brokers.' },
    ),
    sasl: field.object(
      {
        mechanism: field.string({
          description: 'SASL mechanism.',
          enum: ['plain', 'scram-sha-256', 'scram-sha-512'],
          default: 'plain',
        }),
        username: field.string({
          description: 'SASL username (no SASL when absent).',
          optional: true,
        }),
        password: field.string({ description: 'SASL password.', optional: true, secret: true }),
      },
      { description: 'SASL authentication (PLAIN or SCRAM; GSSAPI is a sink-only feature).' },
    ),
  },
  { description: 'The `kafka` source: Kafka topics consumed in a consumer group.' },
);

export const sourcesSpec: FieldSpec = field.object(
  {
    mode: field.string({
      description:
        'Where message events come from: `embedded` (the embedded broker), `mqtt` (an existing broker, shared subscriptions) or `kafka` (a consumer group). See docs/scale-out.md.',
      enum: ['embedded', 'mqtt', 'kafka'],
      default: 'embedded',
    }),
    embedded_broker: field.boolean({
      description:
        'In `mqtt` or `kafka` mode, also start the embedded broker (its listeners and `$events` keep working; republish still goes to the source broker in `mqtt` mode). Always on in `embedded` mode.',
      default: false,
    }),
    ack_timeout: field.duration({
      description:
        'A message whose records no sink has acknowledged after this long is acknowledged anyway (counted as a forced ack, warning `source_ack_forced`), so a record a sink dropped cannot stall the stream forever. 0 = never.',
      default: 300_000,
      example: '5m',
    }),
    mqtt: mqttSpec,
    kafka: kafkaSpec,
  },
  { description: 'Event sources: the embedded broker, an existing MQTT broker or Kafka.' },
);

/** Problems a valid-looking `sources:` section still has: [field path, reason]. */
export function checkSources(c: SourcesConfig): [string, string][] {
  const out: [string, string][] = [];
  if (c.mode === 'mqtt' && !c.mqtt.url) out.push(['sources.mqtt.url', 'is required in mqtt mode']);
  if (c.mode === 'kafka') {
    if (c.kafka.brokers.length === 0)
      out.push(['sources.kafka.brokers', 'needs at least one broker in kafka mode']);
    if (c.kafka.topics.length === 0)
      out.push(['sources.kafka.topics', 'needs at least one topic in kafka mode']);
  }
  return out;
}
