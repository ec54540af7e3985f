/**
 * `Broker.subscribe`: an in-process subscriber on the Aedes instance (no client, no session).
 * Each delivered message counts as a delivery of its route, so a message only this subscriber
 * receives is not reported as dropped.
 */
import type { AedesPublishPacket } from 'aedes';
import type { AedesInternals, BrokerContext } from './context.js';
import type { ReceivedMessage } from './types.js';

export function subscribeInProcess(
  ctx: BrokerContext,
  a: AedesInternals,
  filter: string,
  handler: (m: ReceivedMessage) => void,
): Promise<() => Promise<void>> {
  const { logger, routing } = ctx;
  const dollarGuard = filter.startsWith('#') || filter.startsWith('+');
  if (filter.charCodeAt(0) === 36) ctx.sysListened = true;
  const deliver = (packet: AedesPublishPacket, cb: () => void) => {
    // [MQTT-4.7.2-1]: wildcard-first filters do not match $-topics.
    if (dollarGuard && packet.topic.startsWith('$')) return cb();
    if (packet.brokerId === a.id) routing.hit(packet.brokerCounter, 1);
    try {
      handler({
        topic: packet.topic,
        payload: packet.payload as Buffer,
        qos: packet.qos,
        retain: packet.retain,
        properties: packet.properties as Record<string, unknown> | undefined,
      });
    } catch (err) {
      logger.error({ code: 'broker_subscriber_failed', err, filter }, 'subscribe handler threw');
    }
    cb();
  };
  return new Promise((resolve) =>
    a.subscribe(filter, deliver, () =>
      resolve(
        () =>
          new Promise<void>((res) =>
            a.closed ? res() : a.unsubscribe(filter, deliver, () => res()),
          ),
      ),
    ),
  );
}
