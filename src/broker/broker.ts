/**
 * The embedded MQTT broker: Aedes behind our listeners, auth chains and an EMQX-shaped event
 * feed. `createBroker` builds one shared context (context.ts), hands it to each part and owns
 * the lifecycle; the parts are (decision 0002):
 *
 *   hooks.ts              preConnect, authenticate, authorizePublish / Subscribe / Forward
 *   events/client.ts      client.connack / connected / disconnected / ping
 *   events/session.ts     session.subscribed / unsubscribed
 *   events/message.ts     message.* column builders
 *   publish-path.ts       wrapped aedes.publish (message.publish / dropped), back-pressure gate
 *   persistence-wrap.ts   PUBACK / PUBCOMP → message.acked; offline enqueues count as deliveries
 *   drain-guard.ts        the mqemitter drain guard
 *   matcher.ts            the mqemitter topic matcher (compact trie, cached topic splits)
 *   in-process-subscribe.ts  Broker.subscribe
 *   shared-subscriptions.ts  $share/<group>/<filter> and $queue/<filter>: one member per group
 *   rate-limits.ts        messages_rate (socket reads paused), max_conn_rate (accepts held)
 *   inflight-window.ts    max_inflight: QoS 1/2 copies beyond the window wait for acks
 *   mqueue.ts             max_mqueue_len for offline sessions (oldest dropped, delivery.dropped)
 *
 * Event sources (spec rule-sql §7):
 *   message.publish / message.dropped   wrapped `aedes.publish` (every client, will, API and
 *                                       $SYS publish passes through it, before routing)
 *   message.delivered                   `authorizeForward` (once per forwarded copy)
 *   message.acked                       PUBACK / PUBCOMP reaching persistence.outgoingClearMessageId
 *   client.connack / connected / disconnected   Aedes 'connackSent' / 'clientReady' / 'clientDisconnect'
 *   client.ping                         Aedes 'ping' (PINGREQ)
 *   client.check_authn_complete / check_authz_complete   our auth chains (auth.ts)
 *   session.subscribed / unsubscribed   Aedes 'subscribe' / 'unsubscribe'
 *   delivery.dropped                    mqueue.ts (queue_full: an offline session's queue overflowed),
 *                                       mqtt5-forward.ts (expired, no_local, too_large)
 *
 * Hot-path rules: columns are built only while someone listens; one frozen object per event;
 * payload Buffers are shared, never copied; no JSON work; every closure on the message path is
 * built once per broker (installers), never per message.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { Aedes } from 'aedes';
import {
  aedesMqtt5Options,
  assertPatchedAedes,
  assertPatchedAedesSources,
  installMqtt5,
} from './mqtt5.js';
import { guardSubscribeOrder, installSubscribeSlices } from './subscribe-slices.js';
import { attachRecord, newRecord, recordOf } from './client-records.js';
import { listClients } from './client-directory.js';
import { messageIdFormatter } from './columns.js';
import { resolveBrokerConfig, type BrokerConfig, type BrokerConfigInput } from './config.js';
import type { AedesInternals, BrokerContext, ClientV5Internals } from './context.js';
import { guardSynchronousDrain } from './drain-guard.js';
import { BrokerErrors } from './errors.js';
import { createEventFeed } from './event-feed.js';
import { tapPackets, wireClientEvents } from './events/client.js';
import { wireSessionEvents } from './events/session.js';
import { createHooks } from './hooks.js';
import { createIngressAcks, skipIfDisconnected } from './ingress-ack.js';
import { createEnhancedAuth } from './enhanced-auth.js';
import { subscribeInProcess } from './in-process-subscribe.js';
import {
  startListener,
  type BoundAddress,
  type ConnMeta,
  type RunningListener,
} from './listeners.js';
import { installFastParser } from './fast-parser.js';
import { createLimits } from './limits.js';
import { createProtocolCheck } from './protocol-check.js';
import { createDiskPersistence, type DiskPersistence } from './persistence-disk.js';
import { wrapPersistence } from './persistence-wrap.js';
import { installMatchContext } from './match-context.js';
import { installMatcher, type TopicMatcher } from './matcher.js';
import {
  heldCount,
  installPublishPath,
  packetOf,
  pauseClient,
  resumeClient,
} from './publish-path.js';
import { installInflightWindows } from './inflight-window.js';
import { installMqueueLimit } from './mqueue.js';
import { createRateLimits } from './rate-limits.js';
import { RouteTable } from './routes.js';
import { installSharedSubscriptions } from './shared-subscriptions.js';
import { createSecurity, securityMetrics } from './security.js';
import type { Broker, BrokerDeps } from './types.js';
import { createAckAfter, type AckAfter } from './ack-after.js';

export type {
  Broker,
  BrokerDeps,
  BrokerMetrics,
  EventFilter,
  PublishRequest,
  ReceivedMessage,
} from './types.js';
export { resolveBrokerConfig };

/**
 * A broker plus the seam its unit tests use (not exported by index.ts): `connect` hands an
 * accepted connection to Aedes exactly as a listener does, so tests can drive the broker over
 * in-memory duplex streams without sockets (broker.test.ts).
 */
export interface BrokerInternals {
  readonly broker: Broker;
  /** Like a listener's accept: destroys the stream unless the broker is running. */
  connect(stream: Duplex, meta: ConnMeta, req?: IncomingMessage): void;
  /** The topic matcher installed on Aedes' mqemitter (decision 0024); undefined before start. */
  matcher(): TopicMatcher<unknown> | undefined;
}

export function createBroker(deps: BrokerDeps, input: BrokerConfigInput | BrokerConfig): Broker {
  return createBrokerInternals(deps, input).broker;
}

export function createBrokerInternals(
  deps: BrokerDeps,
  input: BrokerConfigInput | BrokerConfig,
): BrokerInternals {
  const config = resolveBrokerConfig(input);
  const logger = deps.logger.child({ component: 'broker' });
  const metrics = {
    connections: 0,
    connections_total: 0,
    connections_refused: 0,
    messages_in: 0,
    messages_out: 0,
    messages_dropped: 0,
    messages_ingress_dropped: 0,
    messages_acked: 0,
    clients_paused: 0,
    publishes_held: 0,
    refused_packet_too_large: 0,
    refused_max_connections: 0,
    refused_topic_levels: 0,
    refused_max_subscriptions: 0,
    refused_idle_timeout: 0,
    shared_redispatched: 0,
    limited_messages_rate: 0,
    limited_conn_rate: 0,
    dropped_queue_full: 0,
    dropped_expired: 0,
    dropped_no_local: 0,
    dropped_too_large: 0,
    refused_packet_timeout: 0,
    protocol_malformed_utf8: 0,
    protocol_null_character: 0,
    protocol_unsupported_level: 0,
    protocol_unknown_name: 0,
    protocol_ws_text_frame: 0,
    quota_exceeded: 0,
    enhanced_auth_success: 0,
    enhanced_auth_failed: 0,
    reauth_success: 0,
    reauth_failed: 0,
  };
  const ctx: BrokerContext = {
    config,
    logger,
    now: deps.now ?? Date.now,
    node: config.node ?? deps.node ?? 'sluice@127.0.0.1',
    idOf: messageIdFormatter(randomBytes(8).toString('hex')),
    feed: createEventFeed(logger),
    routing: new RouteTable(),
    metrics,
    limits: createLimits(config, metrics, logger),
    pausedClients: new Set(),
    orphans: new Map(),
    aedes: undefined,
    state: 'new',
    deliveringQos0: false,
    shared: undefined,
    matches: undefined,
    sharing: false,
    sysListened: false,
    windows: undefined,
    ackPort: deps.ackGate,
    ingress: deps.ingress,
    ackAfter: createAckAfter({ port: deps.ackGate, now: deps.now ?? Date.now, logger }),
  };
  const security = createSecurity(config, { logger, now: ctx.now });
  const enhanced = security.scram ? createEnhancedAuth(ctx, security.scram) : undefined;
  const hooks = createHooks(ctx, deps, security, enhanced);
  const rates = createRateLimits(metrics, logger, ctx.now);
  const protocol = createProtocolCheck(metrics, logger);
  const listenerValues = (k: 'idle_timeout'): number[] =>
    Object.values(config.listeners).map((l) => l[k]);
  let running: RunningListener[] = [];
  let addresses: BoundAddress[] = [];
  let disk: DiskPersistence | undefined;
  let matcher: TopicMatcher<unknown> | undefined;

  function handleConnection(stream: Duplex, meta: ConnMeta, req?: IncomingMessage): void {
    if (!ctx.aedes || ctx.state !== 'running') {
      stream.destroy();
      return;
    }
    if (!ctx.limits.admit(stream, meta.listener, meta.peerhost)) return;
    const lim = ctx.limits.of(meta.listener);
    rates.admitLater(meta.listener, lim.max_conn_rate, stream, () => {
      if (!ctx.aedes || ctx.state !== 'running') return void stream.destroy();
      const client = ctx.aedes.handle(stream, req);
      const rec = newRecord(meta);
      attachRecord(client, rec);
      guardSubscribeOrder(client);
      ctx.limits.guard(client, rec);
      tapPackets(client, rec);
      protocol.guard(client, rec);
      rates.guardClient(client, rec, lim.messages_rate);
      ctx.windows?.guard(client, rec);
    });
  }

  async function closeAedes(): Promise<void> {
    const a = ctx.aedes;
    if (!a) return;
    await new Promise<void>((resolve) => a.close(() => resolve()));
    ctx.ackAfter.stop();
    await disk?.close();
  }

  const broker: Broker = {
    get addresses() {
      return addresses;
    },
    async start() {
      if (ctx.state !== 'new')
        throw BrokerErrors.broker_not_started(`broker cannot start: it is ${ctx.state}`);
      ctx.state = 'starting';
      await security.start();
      disk =
        config.persistence.type === 'disk'
          ? createDiskPersistence({ dir: config.persistence.dir, logger })
          : undefined;
      const a = new Aedes({
        ...(disk ? { persistence: disk.persistence as never } : {}),
        concurrency: config.concurrency,
        // Per-listener idle_timeout is enforced by limits.ts; Aedes' own timer is the backstop.
        connectTimeout: Math.max(config.connect_timeout, ...listenerValues('idle_timeout')),
        // Aedes' ceiling (its matcher's); each listener's max_topic_levels is checked in hooks.ts.
        maxTopicLevels: 100,
        maxClientsIdLength: config.max_clientid_len,
        preConnect: hooks.preConnect,
        authenticate: hooks.authenticate,
        authorizePublish: hooks.authorizePublish,
        authorizeSubscribe: hooks.authorizeSubscribe,
        authorizeForward: hooks.authorizeForward,
        ...aedesMqtt5Options(config),
      }) as AedesInternals;
      assertPatchedAedes(a);
      assertPatchedAedesSources();
      // Our compact matcher in place of mqemitter's Qlobber, before anything subscribes
      // (decision 0024; it also caches the topic splits of routed PUBLISHes, decision 0020).
      matcher = installMatcher(a);
      // After the matcher: the listeners a routed message matched, for authorizeForward.
      ctx.matches = installMatchContext(a);
      installMqtt5(a, enhanced);
      installFastParser(a);
      installSubscribeSlices(a);
      // `$SYS/<id>/new/subscribes` (the JSON of a SUBSCRIBE's filters) only when something may
      // receive it: a `$` filter was granted, or rules see `$SYS` messages (their
      // message.publish / message.dropped). Our subscribe.js hunk asks (decision 0025).
      const ignoreSys = config.ignore_sys_message;
      (a as unknown as { sysSubscribesWanted: () => boolean }).sysSubscribesWanted = () =>
        !ignoreSys || ctx.sysListened;
      ctx.aedes = a;
      installPublishPath(ctx, a);
      // ack_after (ack-after.ts): the patched publish handler asks holdAck; without it (no
      // listener holds acks) Aedes acknowledges on receipt exactly as upstream.
      // With ingress checks, MQTT 5 acks of clients not held by ack_after wait for routing so
      // that a dropped message's PUBACK / PUBREC carries 0x10 (ingress-ack.ts).
      const afterAll =
        deps.ackGate && Object.values(config.listeners).some((l) => l.ack_after !== 'receipt');
      const ingressAcks = deps.ingress ? createIngressAcks(deps.ingress, ctx.now) : undefined;
      if (afterAll || ingressAcks)
        (a as unknown as { holdAck: AckAfter['holdAck'] }).holdAck = (client, packet, dup) => {
          const held = afterAll ? ctx.ackAfter.holdAck(client, packet, dup) : undefined;
          if (!held) return ingressAcks?.holdAck(client, packet, dup);
          // failure_action disconnect: no acknowledgement before the DISCONNECT (as EMQX).
          return (send, done) => held(skipIfDisconnected(packet, send), done);
        };
      wireClientEvents(ctx, a);
      wireSessionEvents(ctx, a);
      (a as unknown as NodeJS.EventEmitter).on('error', (err: Error) =>
        logger.error({ code: 'broker_internal_error', err }, 'aedes error'),
      );
      await a.listen();
      wrapPersistence(ctx, a, disk?.hasRetained);
      ctx.shared = installSharedSubscriptions(ctx, a);
      installMqueueLimit(ctx, a);
      ctx.windows = installInflightWindows(ctx, a);
      guardSynchronousDrain(a);
      ctx.state = 'running';
      try {
        for (const [name, l] of Object.entries(config.listeners)) {
          if (!l.enabled) continue;
          running.push(
            await startListener(name, l, handleConnection, logger, () => {
              metrics.protocol_ws_text_frame++;
            }),
          );
        }
      } catch (err) {
        ctx.state = 'stopping';
        security.stop();
        await Promise.all(running.map((r) => r.close()));
        await closeAedes();
        running = [];
        ctx.state = 'stopped';
        throw err;
      }
      addresses = running.map((r) => r.address);
      return addresses;
    },
    async stop() {
      if (ctx.state === 'stopped' || ctx.state === 'new') {
        ctx.state = 'stopped';
        return;
      }
      ctx.state = 'stopping';
      security.stop();
      await closeAedes();
      await Promise.all(running.map((r) => r.close()));
      running = [];
      ctx.routing.clear();
      ctx.state = 'stopped';
      logger.info({}, 'broker stopped');
    },
    publish(msg) {
      const a = ctx.aedes;
      if (!a || ctx.state !== 'running')
        return Promise.reject(BrokerErrors.broker_not_started('broker is not running'));
      const packet = packetOf(msg);
      if (packet instanceof Error) return Promise.reject(packet);
      const topic = packet.topic;
      return new Promise<void>((resolve, reject) =>
        a.publish(packet, (err?: Error) =>
          err
            ? reject(
                BrokerErrors.broker_publish_failed(`publish to ${topic} failed: ${err.message}`, {
                  cause: err,
                  context: { topic },
                }),
              )
            : resolve(),
        ),
      );
    },
    subscribe(filter, handler) {
      const a = ctx.aedes;
      if (!a || ctx.state !== 'running')
        return Promise.reject(BrokerErrors.broker_not_started('broker is not running'));
      return subscribeInProcess(ctx, a, filter, handler);
    },
    onEvent(listener, filter) {
      return ctx.feed.add(listener, filter);
    },
    pauseClient(clientid) {
      return pauseClient(ctx, clientid);
    },
    resumeClient(clientid) {
      resumeClient(ctx, clientid);
    },
    clients() {
      return listClients(ctx);
    },
    kick(clientid) {
      const c = ctx.aedes?.clients[clientid] as ClientV5Internals | undefined;
      if (!c || ctx.state !== 'running') return false;
      const rec = recordOf(c);
      if (rec) rec.reason = 'kicked';
      // [MQTT-3.14.2] 0x98 administrative action (3.1.1: the connection is just closed).
      c.disconnect({ reasonCode: 0x98 });
      return true;
    },
    metrics() {
      // Aedes counts registered (CONNACKed) clients itself; it is exact across takeovers.
      return {
        ...ctx.metrics,
        connections: ctx.state === 'running' ? (ctx.aedes?.connectedClients ?? 0) : 0,
        clients_paused: ctx.pausedClients.size,
        publishes_held: heldCount(ctx),
        acks: ctx.ackAfter.metrics(),
        security: securityMetrics(security, running),
      };
    },
  };

  return { broker, connect: handleConnection, matcher: () => matcher };
}
