/**
 * Events flowing from the broker (and the OCPP gateway) into the rule runtime. The broker copies
 * each Aedes packet/client fact into one frozen `BrokerEvent`; the runtime never sees Aedes.
 *
 * `columns` is the EMQX column map of spec rule-sql §7 for this trigger (`clientid`, `payload`,
 * `topic`, …) — exactly the `context` a rule evaluates against. `payload` stays a Buffer.
 */
import type { ValueMap } from './values.js';

/** EMQX event names (spec §7.2), plus `message.publish` for ordinary messages. */
export type EventName =
  | 'message.publish'
  | 'client.connected'
  | 'client.disconnected'
  | 'client.connack'
  | 'client.ping'
  | 'client.check_authz_complete'
  | 'client.check_authn_complete'
  | 'session.subscribed'
  | 'session.unsubscribed'
  | 'message.delivered'
  | 'message.acked'
  | 'message.dropped'
  | 'delivery.dropped'
  | 'schema.validation_failed'
  | 'message.transformation_failed'
  | 'alarm.activated'
  | 'alarm.deactivated';

export interface BrokerEvent {
  readonly name: EventName;
  /**
   * The topic a rule's FROM is matched against: the MQTT topic for `message.publish`, the
   * 6.x event topic (`$events/client/connected`, …) for every other event.
   */
  readonly matchTopic: string;
  /** EMQX columns for this trigger (includes `event`, `timestamp`, `node`). */
  readonly columns: Readonly<ValueMap>;
}

/** Event name → [6.x slash topic, legacy underscore topic] (spec §7.2). */
export const EVENT_TOPICS: Readonly<
  Record<Exclude<EventName, 'message.publish'>, readonly [string, string | null]>
> = {
  'client.connected': ['$events/client/connected', '$events/client_connected'],
  'client.disconnected': ['$events/client/disconnected', '$events/client_disconnected'],
  'client.connack': ['$events/client/connack', '$events/client_connack'],
  'client.ping': ['$events/client/ping', null],
  'client.check_authz_complete': [
    '$events/auth/check_authz_complete',
    '$events/client_check_authz_complete',
  ],
  'client.check_authn_complete': [
    '$events/auth/check_authn_complete',
    '$events/client_check_authn_complete',
  ],
  'session.subscribed': ['$events/session/subscribed', '$events/session_subscribed'],
  'session.unsubscribed': ['$events/session/unsubscribed', '$events/session_unsubscribed'],
  'message.delivered': ['$events/message/delivered', '$events/message_delivered'],
  'message.acked': ['$events/message/acked', '$events/message_acked'],
  'message.dropped': ['$events/message/dropped', '$events/message_dropped'],
  'delivery.dropped': ['$events/message/delivery_dropped', '$events/delivery_dropped'],
  // Accepted by rule SQL now; fired by ingress schema validation / message transformation
  // (issue #16 item 2) once those exist.
  'schema.validation_failed': [
    '$events/schema_validation/failed',
    '$events/schema_validation_failed',
  ],
  'message.transformation_failed': [
    '$events/message_transformation/failed',
    '$events/message_transformation_failed',
  ],
  // EMQX 5.8.5+: fired by the engine's alarm registry (src/engine/alarms.ts).
  'alarm.activated': ['$events/sys/alarm_activated', null],
  'alarm.deactivated': ['$events/sys/alarm_deactivated', null],
};
