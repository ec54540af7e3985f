/**
 * The pre-route ingress hook (decision 0013): schema validation and message transformation,
 * implemented outside the broker (the core `IngressPort`, src/runtime/ingress), applied in the
 * publish path (publish-path.ts) to every PUBLISH before message.publish and routing.
 *
 *   pass        the message goes on, with the transformation's rewrite applied to the packet
 *   drop        not routed; the publisher's PUBACK / PUBREC is the usual one (Aedes wrote it
 *               before publish, or ack-after.ts finishes the held one)
 *   disconnect  not routed; the publisher is disconnected (MQTT 5: DISCONNECT 0x83, as EMQX's
 *               emqx_channel does for a `should_disconnect` message; 3.1.1: the socket closes)
 *
 * Each failed validation / transformation fires schema.validation_failed /
 * message.transformation_failed with the message's columns (EMQX emqx_rule_events).
 */
import type { Client, PublishPacket } from 'aedes';
import type { IngressFailure, IngressRewrite, ValueMap } from '../core/index.js';
import { recordOf } from './client-records.js';
import type { BrokerContext, ClientV5Internals } from './context.js';
import { topicOf } from './event-feed.js';

/** MQTT 5 Implementation specific error (EMQX ?RC_IMPLEMENTATION_SPECIFIC_ERROR). */
export const INGRESS_DISCONNECT_CODE = 0x83;

/** Raise the failure events of one message (only those someone listens to). */
export function emitIngressFailures(
  ctx: BrokerContext,
  failures: readonly IngressFailure[],
  src: Readonly<ValueMap>,
): void {
  const { feed, now, node } = ctx;
  for (const f of failures) {
    const name =
      f.kind === 'validation' ? 'schema.validation_failed' : 'message.transformation_failed';
    if (!feed.wants[name]) continue;
    const ts = now();
    feed.emit(name, topicOf(name), {
      [f.kind]: f.name,
      id: src['id'],
      clientid: src['clientid'],
      username: src['username'],
      payload: src['payload'],
      peerhost: src['peerhost'],
      peername: src['peername'],
      topic: src['topic'],
      qos: src['qos'],
      flags: src['flags'],
      pub_props: src['pub_props'],
      publish_received_at: src['publish_received_at'],
      event: name,
      timestamp: ts,
      node,
    });
  }
}

/** Apply a transformation's rewrite to the packet about to be routed. */
export function applyRewrite(packet: PublishPacket, rw: IngressRewrite): void {
  if (rw.topic !== undefined) packet.topic = rw.topic;
  if (rw.payload !== undefined) packet.payload = rw.payload;
  if (rw.qos !== undefined) packet.qos = rw.qos;
  if (rw.retain !== undefined) packet.retain = rw.retain;
  if (rw.userProperties !== undefined) {
    const props = ((packet as { properties?: Record<string, unknown> }).properties ??= {});
    props['userProperties'] = { ...rw.userProperties };
  }
}

/** failure_action disconnect: close the publisher's connection (a no-op without one). */
export function disconnectPublisher(ctx: BrokerContext, client: Client | null): void {
  if (!client) return;
  const c = client as ClientV5Internals;
  const rec = recordOf(c);
  if (rec) rec.reason ??= 'implementation_specific_error';
  ctx.logger.info(
    { clientid: rec?.clientid },
    'connection closed: ingress validation / transformation failed (failure_action disconnect)',
  );
  c.disconnect({ reasonCode: INGRESS_DISCONNECT_CODE });
}
