/**
 * Ports: the contracts between the engine's producers and consumers, so that a module plugs
 * in without the engine special-casing it (CONVENTIONS.md: modules meet only in the engine).
 *
 * - `EventProducer`: something that raises trigger events (the broker; the OCPP gateway).
 * - `MessagePublisher`: publish into the message stream (the broker's `publish`), for sinks
 *   and gateways that produce MQTT messages (republish, OCPP).
 * - `ClientFlowControl`: back-pressure on the connections that produce messages.
 * - Authentication/authorization ports live with the broker (src/broker/auth.ts:
 *   `Authenticator`, `Authorizer`), which is their only caller.
 */
import type { BrokerEvent, EventName } from './events.js';
import type { ValueMap } from './values.js';

export interface EventProducer {
  /** For logs and errors. */
  readonly name: string;
  /**
   * Deliver the events named (every event when `names` is null) to `push`, synchronously on
   * the producer's path, until the returned function is called. Listening again with other
   * names before removing the old listener must not lose or duplicate an event.
   */
  listen(push: (e: BrokerEvent) => void, names: readonly EventName[] | null): () => void;
}

export interface PublishMessage {
  topic: string;
  payload: Buffer | string | Uint8Array;
  qos?: 0 | 1 | 2;
  retain?: boolean;
  /** MQTT 5 properties in mqtt-packet form (`userProperties`, `contentType`, …). */
  properties?: Record<string, unknown>;
  /** Publisher identity for the event columns. */
  from?: { clientid?: string; username?: string };
  /** Extra columns for this message's `message.publish` event (e.g. `republish_by`). */
  columns?: Readonly<ValueMap>;
}

/** Resolves once the message is routed (QoS > 0: queued for every matching session). */
export type MessagePublisher = (msg: PublishMessage) => Promise<void>;

export interface ClientFlowControl {
  /** Stop taking messages from the connected client `clientid`; false if there is none. */
  pauseClient(clientid: string): boolean;
  /** Take its messages again (held ones first, in order). */
  resumeClient(clientid: string): void;
}
