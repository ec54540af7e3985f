/**
 * The `mqtt` source: Sluice as an MQTT client of an existing broker (README.md).
 *
 * - Subscribes every rule filter as `$share/<group>/<filter>` at the configured QoS, so the
 *   workers of a group split the messages; the subscriptions follow the rules (`setFilters`).
 * - Persistent session: `clean: false` (3.1.1) / Clean Start 0 + Session Expiry (5), with a
 *   stable client id: a worker that dies and comes back gets its unacknowledged messages again.
 * - Acknowledgement after the rule work: a QoS 1 PUBLISH is pushed into the engine, and its
 *   PUBACK is held until the engine's `DeliveryTracker` reports every record it produced
 *   acknowledged by its sink; PUBACKs then leave in arrival order [MQTT-4.6.0-2].
 *
 *   Why not mqtt.js `customHandleAcks` alone: mqtt.js handles incoming packets one at a time
 *   and reads the next only after the ack callback ran (client.js `work`/`nextTickWork`), so
 *   deferring that callback until a sink write finishes would allow one message per sink
 *   round trip. Instead the message is taken at once and the outgoing PUBACK packet is held
 *   (a wrapper around the client's `_sendPacket`, the one place every PUBACK goes through;
 *   mqtt-source.test.ts fails if an mqtt.js update changes that). The broker's in-flight
 *   window (our MQTT 5 Receive Maximum) bounds how many messages wait.
 * - Republish in mqtt mode publishes back to this broker (`publish`, resolves on its PUBACK).
 */
import mqtt from 'mqtt';
import type { IClientOptions, IPublishPacket, MqttClient, Packet } from 'mqtt';

import type { BrokerEvent, EventName, MessagePublisher } from '../../core/index.js';
import { SourceErrors as E } from '../errors.js';
import { OrderedAcks } from '../ordered-acks.js';
import { readPem } from '../pem.js';
import type { MqttSourceConfig } from '../spec.js';
import type { Source, SourceDeps, SourceMetrics } from '../types.js';
import { mqttPublishColumns } from './columns.js';

type SendPacket = (packet: Packet, cb?: (err?: Error) => void, ...rest: unknown[]) => void;
type Held = { packet: Packet; rest: unknown[]; conn: number };

export interface MqttSourceOptions {
  ackTimeout: number;
}

/** The filter as subscribed: `$share/<group>/<filter>` (plain when the group is empty). */
export function sharedFilter(group: string, filter: string): string {
  return group ? `$share/${group}/${filter}` : filter;
}

export function createMqttSource(
  deps: SourceDeps,
  config: MqttSourceConfig,
  opts: MqttSourceOptions,
): Source {
  const log = deps.logger;
  const clientId = config.client_id ?? `sluice-${deps.node}`.replace(/[^A-Za-z0-9_.@-]/g, '_');
  const who = {
    clientidProperty: config.clientid_property,
    usernameProperty: config.username_property,
    clientidTopicLevel: config.clientid_topic_level,
  };
  let push: ((e: BrokerEvent) => void) | undefined;
  let wanted = new Set<string>();
  const subscribed = new Set<string>();
  let client: MqttClient | undefined;
  let conn = 0;
  let seq = 0;
  let stopping = false;
  const m = { received: 0, acked: 0, redelivered: 0, forcedAcks: 0 };
  /** PUBACKs by packet id, waiting for their message's rule work. */
  const heldByPacket = new Map<number, { entry: ReturnType<typeof acks.add>; held?: Held }>();
  const acks = new OrderedAcks<number>((messageId) => release(messageId), deps.now);
  /** Packet ids of messages received while detached: their PUBACK is never sent. */
  const parked = new Set<number>();
  let send: SendPacket | undefined;
  let forceTimer: ReturnType<typeof setInterval> | undefined;
  let idle: (() => void) | undefined;

  function release(messageId: number): void {
    const h = heldByPacket.get(messageId);
    heldByPacket.delete(messageId);
    m.acked++;
    if (h?.held && h.held.conn === conn && client?.connected)
      send!.call(client, h.held.packet, undefined, ...h.held.rest);
    if (acks.size === 0) idle?.();
  }

  function options(): IClientOptions {
    const tls = config.tls;
    return {
      clientId,
      ...(config.username !== undefined ? { username: config.username } : {}),
      ...(config.password !== undefined ? { password: config.password } : {}),
      protocolVersion: config.protocol_version,
      clean: false,
      keepalive: Math.max(1, Math.round(config.keepalive / 1000)),
      reconnectPeriod: config.reconnect_period,
      connectTimeout: config.connect_timeout,
      resubscribe: false,
      ...(config.protocol_version === 5
        ? {
            properties: {
              sessionExpiryInterval: Math.round(config.session_expiry / 1000),
              receiveMaximum: config.receive_maximum,
            },
          }
        : {}),
      ...(tls.ca ? { ca: readPem(tls.ca) } : {}),
      ...(tls.cert ? { cert: readPem(tls.cert) } : {}),
      ...(tls.key ? { key: readPem(tls.key) } : {}),
      rejectUnauthorized: tls.verify,
    };
  }

  function subscribe(filters: string[], then?: () => void): void {
    if (!client || filters.length === 0) {
      then?.();
      return;
    }
    const c = client;
    const subs = Object.fromEntries(
      filters.map((f) => [sharedFilter(config.share_group, f), { qos: config.qos }]),
    );
    c.subscribe(subs, (err, granted) => {
      then?.();
      if (err) {
        log.error(
          { code: 'source_subscribe_failed', err, filters },
          'mqtt source subscribe failed',
        );
        return;
      }
      for (const g of granted ?? []) {
        if (g.qos >= 0x80) {
          const e = E.source_subscribe_failed(
            `broker refused ${g.topic} (reason code 0x${g.qos.toString(16)})`,
            { context: { filter: g.topic, reasonCode: g.qos } },
          );
          log.error(
            { code: 'source_subscribe_failed', err: e, filter: g.topic },
            'subscription refused',
          );
        } else log.info({ filter: g.topic, qos: g.qos }, 'subscribed');
      }
    });
    for (const f of filters) subscribed.add(f);
  }

  function onMessage(_topic: string, payload: Buffer, packet: IPublishPacket): void {
    m.received++;
    if (packet.dup) m.redelivered++;
    const qos1 = packet.qos > 0 && packet.messageId !== undefined;
    const p = push;
    if (!p || stopping) {
      // Detached (shutting down): no rule takes it; never acknowledge it, so the broker
      // redelivers it to this session's next connection.
      if (qos1) parked.add(packet.messageId!);
      return;
    }
    const slot = qos1 ? { entry: acks.add(packet.messageId!) } : undefined;
    if (slot) heldByPacket.set(packet.messageId!, slot);
    const ts = deps.now();
    const columns = mqttPublishColumns(
      {
        topic: packet.topic,
        payload,
        qos: packet.qos,
        retain: packet.retain,
        dup: packet.dup,
        properties: packet.properties as Record<string, unknown> | undefined,
      },
      who,
      config.protocol_version,
      `${clientId}-${conn}-${++seq}`,
      ts,
      deps.node,
    );
    const event: BrokerEvent = Object.freeze({
      name: 'message.publish',
      matchTopic: packet.topic,
      columns: Object.freeze(columns),
    });
    const entry = slot?.entry;
    deps.tracker.track(
      () => p(event),
      () => {
        if (entry && !entry.done) acks.complete(entry);
      },
    );
  }

  function connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const c = mqtt.connect(config.url as string, options());
      client = c;
      // Hold PUBACKs of messages whose rule work is unfinished (see the file comment).
      const orig = (c as unknown as { _sendPacket: SendPacket })._sendPacket;
      if (typeof orig !== 'function')
        throw new Error('mqtt.js has no _sendPacket: the PUBACK hold needs updating');
      send = orig;
      (c as unknown as { _sendPacket: SendPacket })._sendPacket = function (packet, cb, ...rest) {
        if (packet.cmd === 'puback' && packet.messageId !== undefined) {
          // Not yet released (its work, or an older message's, is unfinished): hold it.
          const h = heldByPacket.get(packet.messageId);
          if (h || parked.has(packet.messageId)) {
            if (h) h.held = { packet, rest, conn };
            cb?.();
            return;
          }
        }
        orig.call(this, packet, cb, ...rest);
      };
      let first = true;
      c.on('connect', (connack) => {
        conn++;
        log.info(
          { url: config.url, clientId, sessionPresent: connack.sessionPresent },
          'mqtt source connected',
        );
        // Subscribe (again) every wanted filter: a broker that lost the session lost them too.
        subscribed.clear();
        // The first start resolves once the broker answered the subscriptions (SUBACK).
        subscribe([...wanted], () => {
          if (first) {
            first = false;
            resolve();
          }
        });
      });
      c.on('close', () => {
        // PUBACKs held for the old connection cannot be sent any more: the broker redelivers
        // those messages (DUP) on the next connection and they run again (counted redelivered).
        acks.clear();
        heldByPacket.clear();
        parked.clear();
        idle?.();
      });
      c.on('error', (err) => {
        const e = E.source_connect_failed(`mqtt source: ${err.message}`, { cause: err });
        log.warn(
          { code: 'source_connect_failed', err: e, url: config.url },
          'mqtt source connection error',
        );
        if (first && /Not authorized|Bad username|Connection refused/i.test(err.message)) {
          first = false;
          reject(e);
        }
      });
      c.on('message', onMessage);
    });
  }

  const publish: MessagePublisher = (msg) =>
    new Promise((resolve, reject) => {
      const c = client;
      if (!c || !c.connected) {
        reject(E.source_not_connected('mqtt source is not connected'));
        return;
      }
      const payload =
        typeof msg.payload === 'string' || Buffer.isBuffer(msg.payload)
          ? msg.payload
          : Buffer.from(msg.payload);
      c.publish(
        msg.topic,
        payload,
        {
          qos: msg.qos ?? 0,
          retain: msg.retain ?? false,
          ...(msg.properties && config.protocol_version === 5
            ? { properties: msg.properties }
            : {}),
        },
        (err, packet) => {
          const rc = (packet as { reasonCode?: number } | undefined)?.reasonCode;
          if (err)
            reject(
              E.source_publish_failed(`publish to ${msg.topic}: ${err.message}`, { cause: err }),
            );
          else if (rc !== undefined && rc >= 0x80)
            reject(
              E.source_publish_failed(
                `broker refused publish to ${msg.topic} (0x${rc.toString(16)})`,
              ),
            );
          else resolve();
        },
      );
    });

  return {
    name: 'mqtt',
    type: 'mqtt',
    listen(fn, names: readonly EventName[] | null) {
      const mine = names === null || names.includes('message.publish') ? fn : undefined;
      push = mine;
      return () => {
        if (push === mine) push = undefined;
      };
    },
    setFilters(filters) {
      const next = new Set(filters.filter((f) => !f.startsWith('$events/')));
      const added = [...next].filter((f) => !wanted.has(f));
      const removed = [...wanted].filter((f) => !next.has(f));
      wanted = next;
      if (client?.connected) {
        subscribe(added);
        const gone = removed.filter((f) => subscribed.delete(f));
        if (gone.length) client.unsubscribe(gone.map((f) => sharedFilter(config.share_group, f)));
      }
    },
    async start() {
      forceTimer = setInterval(
        () => {
          const n = acks.forceOlderThan(opts.ackTimeout);
          if (n > 0) {
            m.forcedAcks += n;
            log.warn(
              { code: 'source_ack_forced', count: n, ackTimeout: opts.ackTimeout },
              'messages acknowledged after ack_timeout without their sink acknowledgements',
            );
          }
        },
        Math.max(1000, Math.min(opts.ackTimeout || 60_000, 60_000)),
      );
      forceTimer.unref();
      await connect();
    },
    async stop(drainMs) {
      stopping = true;
      if (acks.size > 0 && client?.connected)
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, drainMs);
          idle = () => {
            clearTimeout(t);
            resolve();
          };
        });
      idle = undefined;
      if (forceTimer) clearInterval(forceTimer);
      const c = client;
      client = undefined;
      if (c) await c.endAsync();
      log.info({ unfinished: acks.size, parked: parked.size }, 'mqtt source stopped');
    },
    publish,
    metrics(): SourceMetrics {
      return { ...m, pending: acks.size, connected: client?.connected ?? false };
    },
  };
}
