/**
 * The publish path: every PUBLISH — from clients, wills, `Broker.publish` and $SYS — passes
 * through the wrapped `aedes.publish` before routing. Here it
 *
 *  1. waits at the client's back-pressure gate while the client is paused (PublishGate);
 *  2. gets its broker counter (Aedes keeps an existing one, see aedes-packet), so the message id
 *     is known before routing (README invariant 3);
 *  3. raises message.publish before any delivered event of the same message (invariant 4);
 *  4. opens a route, and raises message.dropped `no_subscribers` when routing reached no
 *     subscriber at all (invariant 5).
 *
 * Back-pressure (decision 0003): `pauseClient` holds a connection's authorized PUBLISH packets
 * here. Aedes calls publish after authorization (and, at QoS 1, after writing the PUBACK); until
 * `done` runs it reads nothing more from that socket, so TCP slows the publisher.
 *
 * Hot path: two closures built once per broker (`wrapped`, `route`) and one completion closure
 * per message (as Aedes' own publish needs); with nobody listening to message events no columns
 * are built, and an unpaused client costs one property read for its gate.
 */
import type { Client, PublishPacket } from 'aedes';
import type { ValueMap } from '../core/index.js';
import { recordOf, type ClientRecord } from './client-records.js';
import type { AedesInternals, BrokerContext } from './context.js';
import { BrokerErrors } from './errors.js';
import { topicOf } from './event-feed.js';
import {
  DIRECT,
  EXTRA,
  FROM,
  droppedColumns,
  publishColumns,
  type TaggedPublishPacket,
} from './events/message.js';
import { HELD, type HeldPacket } from './ack-after.js';
import { PublishGate } from './publish-gate.js';
import { applyRewrite, disconnectPublisher, emitIngressFailures } from './ingress-hook.js';
import { markNotRouted } from './ingress-ack.js';
import type { PublishRequest } from './types.js';

const SYS = '$SYS/';

/** Replace `a.publish` with the wrapped publish (once, right after the Aedes instance is made). */
export function installPublishPath(ctx: BrokerContext, a: AedesInternals): void {
  const { now, node, idOf, feed, routing, metrics } = ctx;
  const wants = feed.wants;
  const emit = feed.emit;
  const ignoreSys = ctx.config.ignore_sys_message;
  const ackPort = ctx.ackPort;
  const ingress = ctx.ingress;
  const orig = a.publish.bind(a) as unknown as (
    p: PublishPacket,
    c: Client | null,
    done: (err?: Error) => void,
  ) => void;
  const wrapped = (
    packet: PublishPacket & { brokerCounter?: number },
    client?: Client | null | ((err?: Error) => void),
    done?: (err?: Error) => void,
  ): void => {
    if (typeof client === 'function') {
      done = client;
      client = null;
    }
    // Back-pressure: a paused connection's messages wait here, before routing. Aedes calls
    // publish after authorization (and, at QoS 1, after writing the PUBACK); until `done`
    // runs it reads nothing more from that socket.
    const gate = client ? recordOf(client)?.gate : undefined;
    if (gate !== undefined && (gate.paused || gate.size > 0)) {
      const c = client as Client;
      gate.pass(() => route(packet, c, done));
      return;
    }
    route(packet, client ?? null, done);
  };
  const route = (
    packet: PublishPacket & { brokerCounter?: number },
    client: Client | null,
    done: ((err?: Error) => void) | undefined,
  ): void => {
    const from = (packet as TaggedPublishPacket)[FROM];
    if (packet.brokerCounter === undefined) packet.brokerCounter = ++a.counter;
    const counter = packet.brokerCounter;
    const held = (packet as HeldPacket)[HELD];
    if (ignoreSys && packet.topic.startsWith(SYS)) {
      held?.finish();
      return orig(packet, client ?? null, done ?? noop);
    }
    metrics.messages_in++;
    let columns: ValueMap | null = null;
    const direct = (packet as TaggedPublishPacket)[DIRECT] === true;
    // Ingress validation / transformation (ingress-hook.ts, decision 0013): before
    // message.publish and routing. Inactive (nothing configured) it costs one property read.
    // A direct dispatch (republish direct_dispatch) skips it, as EMQX skips the hooks.
    if (ingress?.active === true && !direct && !packet.topic.startsWith(SYS)) {
      let src: ValueMap | undefined;
      const cols = (): ValueMap =>
        (src ??= publishColumns(
          packet,
          client ? recordOf(client) : undefined,
          from,
          idOf(counter),
          now(),
          node,
        ));
      const verdict = ingress.inspect(packet.topic, cols);
      if (verdict !== null) {
        if (verdict.failures.length > 0) emitIngressFailures(ctx, verdict.failures, cols());
        if (verdict.action !== 'pass') {
          metrics.messages_ingress_dropped++;
          // MQTT 5: PUBACK / PUBREC 0x10, or none before the DISCONNECT (ingress-ack.ts).
          markNotRouted(packet, client, verdict.action);
          held?.finish();
          if (verdict.action === 'disconnect') disconnectPublisher(ctx, client);
          return (done ?? noop)();
        }
        if (verdict.rewrite) applyRewrite(packet, verdict.rewrite);
        else if (feed.messageColumns) columns = src ?? null;
      } else if (feed.messageColumns) columns = src ?? null;
    }
    if (feed.messageColumns && !direct) {
      const rec = client ? recordOf(client) : undefined;
      const cols = columns ?? publishColumns(packet, rec, from, idOf(counter), now(), node);
      columns = cols;
      // ack_after buffered / remote (ack-after.ts): the rule work of message.publish runs
      // inside the engine's tracker, which finishes the held acknowledgement.
      if (wants['message.publish']) {
        if (held && ackPort)
          ackPort.track(() => emit('message.publish', packet.topic, cols), held.finish, held.mode);
        else emit('message.publish', packet.topic, cols);
      } else held?.finish();
    } else held?.finish();
    routing.open(counter, columns);
    // [MQTT-3.3.1-3] the DUP of an incoming PUBLISH is not propagated: the copies (and a
    // retained store) start with DUP 0. The event columns above keep what the client sent.
    if (packet.dup) packet.dup = false;
    orig(packet, client ?? null, (err) => {
      const deliveries = routing.close(counter);
      if (!err && deliveries === 0) {
        metrics.messages_dropped++;
        if (wants['message.dropped'] && !direct) {
          const src =
            columns ??
            publishColumns(
              packet,
              client ? recordOf(client as Client) : undefined,
              from,
              idOf(counter),
              now(),
              node,
            );
          emit(
            'message.dropped',
            topicOf('message.dropped'),
            droppedColumns(src, 'no_subscribers', now(), node),
          );
        }
      }
      (done ?? noop)(err);
    });
  };
  (a as unknown as { publish: typeof wrapped }).publish = wrapped;
}

/**
 * The packet `Broker.publish` hands to Aedes, or the coded error that rejects the call
 * (invalid topic or QoS). Caller identity and extra columns ride on private symbols.
 */
export function packetOf(msg: PublishRequest): TaggedPublishPacket | Error {
  const topic = msg.topic;
  if (typeof topic !== 'string' || topic.length === 0 || topic.includes('+') || topic.includes('#'))
    return BrokerErrors.broker_publish_failed(
      `invalid topic ${JSON.stringify(topic)}: must be non-empty without + or #`,
      { context: { topic } },
    );
  const qos = msg.qos ?? 0;
  if (qos !== 0 && qos !== 1 && qos !== 2)
    return BrokerErrors.broker_publish_failed(`invalid qos ${String(qos)}`, { context: { topic } });
  const payload = Buffer.isBuffer(msg.payload)
    ? msg.payload
    : typeof msg.payload === 'string'
      ? Buffer.from(msg.payload)
      : Buffer.from(msg.payload.buffer, msg.payload.byteOffset, msg.payload.byteLength);
  const packet: TaggedPublishPacket = {
    cmd: 'publish',
    topic,
    payload,
    qos,
    retain: msg.retain === true,
    dup: false,
    ...(msg.properties ? { properties: msg.properties } : {}),
  };
  if (msg.from) packet[FROM] = msg.from;
  if (msg.columns) packet[EXTRA] = msg.columns as Readonly<ValueMap>;
  if (msg.direct === true) packet[DIRECT] = true;
  return packet;
}

// ---------------------------------------------------------------- back-pressure

/** `Broker.pauseClient`: hold the connected client's PUBLISHes; false when it is not connected. */
export function pauseClient(ctx: BrokerContext, clientid: string): boolean {
  // Messages of a departed client being released count as its own: they pause too.
  const left = ctx.orphans.get(clientid);
  if (left) for (const g of left) g.pause();
  const c = ctx.aedes?.clients[clientid];
  const rec = c && !c.closed ? recordOf(c) : undefined;
  if (!rec) return left !== undefined;
  const gate = (rec.gate ??= new PublishGate());
  if (!gate.paused) {
    gate.pause();
    ctx.pausedClients.add(rec);
    ctx.logger.debug({ clientid }, 'client paused (back-pressure)');
  }
  return true;
}

/** `Broker.resumeClient`: release held packets in order (also those of a client that left). */
export function resumeClient(ctx: BrokerContext, clientid: string): void {
  const left = ctx.orphans.get(clientid);
  if (left) {
    // In order, until a released message finds a full sink again (which pauses the rest).
    for (const g of left) {
      g.resume();
      if (g.paused) break;
    }
    const rest = left.filter((g) => g.size > 0);
    if (rest.length > 0) ctx.orphans.set(clientid, rest);
    else ctx.orphans.delete(clientid);
  }
  const c = ctx.aedes?.clients[clientid];
  const rec = c ? recordOf(c) : undefined;
  if (!rec?.gate?.paused) return;
  ctx.pausedClients.delete(rec);
  ctx.logger.debug({ clientid, held: rec.gate.size }, 'client resumed');
  rec.gate.resume();
  if (rec.gate.paused) ctx.pausedClients.add(rec); // a released message paused it again
}

/** PUBLISH packets held now, by connected and departed paused clients. */
export function heldCount(ctx: BrokerContext): number {
  let held = 0;
  for (const r of ctx.pausedClients) held += r.gate?.size ?? 0;
  for (const list of ctx.orphans.values()) for (const g of list) held += g.size;
  return held;
}

/**
 * A client disconnected. Messages the broker read before the close are not lost: a paused
 * gate keeps them until the pressure that paused the client lifts (resumeClient with its id);
 * an unpaused gate releases what it still holds now.
 */
export function releaseOnDisconnect(ctx: BrokerContext, rec: ClientRecord): void {
  if (rec.gate?.paused) {
    ctx.pausedClients.delete(rec);
    if (rec.gate.size > 0) {
      const list = ctx.orphans.get(rec.clientid) ?? [];
      list.push(rec.gate);
      ctx.orphans.set(rec.clientid, list);
    }
  } else rec.gate?.flush();
}

function noop(): void {}
