/**
 * The embedded MQTT broker: Aedes behind our listeners, auth chains and an EMQX-shaped event
 * feed. This is the only file that drives Aedes (CONVENTIONS.md: the broker copies packets
 * into frozen core events; nothing else sees Aedes). It is longer than most files because
 * every Aedes hook and event is wired here, next to the column copy it feeds; the column
 * builders stay small and local so the hot path is readable in one place.
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
 * Not emitted with Aedes 1.x (nothing observable): delivery.dropped — see docs/broker.md.
 *
 * Hot-path rules: columns are built only while someone listens; one frozen object per event;
 * payload Buffers are shared, never copied; no JSON work.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { Aedes } from 'aedes';
import type { AedesPublishPacket, Client, ConnectPacket, PublishPacket, Subscription } from 'aedes';
import { EVENT_TOPICS, type BrokerEvent, type EventName, type ValueMap } from '../core/index.js';
import {
  createBuiltinAuthenticator,
  runAuthnChain,
  runAuthzChain,
  sysPublishAuthorizer,
  type Authenticator,
  type Authorizer,
  type AuthzOutcome,
} from './auth.js';
import {
  EMPTY_MAP,
  connackReason,
  messageIdFormatter,
  peername,
  propsToColumns,
  protoName,
} from './columns.js';
import { resolveBrokerConfig, type BrokerConfig, type BrokerConfigInput } from './config.js';
import { PublishGate } from './publish-gate.js';
import { RouteTable } from './routes.js';
import { BrokerErrors } from './errors.js';
import {
  startListener,
  type BoundAddress,
  type ConnMeta,
  type RunningListener,
} from './listeners.js';
import type { Broker, BrokerDeps, BrokerMetrics, PublishRequest } from './types.js';

export type {
  Broker,
  BrokerDeps,
  BrokerMetrics,
  EventFilter,
  PublishRequest,
  ReceivedMessage,
} from './types.js';
export { resolveBrokerConfig };

/** Per-connection facts, filled on CONNECT and read by every column builder. */
interface ClientRecord {
  meta: ConnMeta;
  clientid: string;
  username: string | undefined;
  peerhost: string | undefined;
  peername: string | undefined;
  sockname: string | undefined;
  proto_ver: number;
  keepalive: number;
  clean_start: boolean;
  is_bridge: boolean;
  expiry_interval: number;
  conn_props: Readonly<ValueMap>;
  connected_at: number;
  is_superuser: boolean;
  client_attrs: Readonly<ValueMap>;
  /** Granted QoS by filter (for session.unsubscribed's qos column). */
  subs: Map<string, number>;
  /** messageId → delivered columns, for QoS 1/2 copies awaiting PUBACK/PUBCOMP. */
  inflight: Map<number, Readonly<ValueMap>> | undefined;
  /** Disconnect reason decided before the socket closed (takenover, keepalive_timeout, …). */
  reason: string | undefined;
  /** The publish `headers` column, built once per client (it only holds connection facts). */
  headers?: Readonly<ValueMap>;
  /** Back-pressure gate, created the first time the client is paused. */
  gate?: PublishGate;
}

type AedesInternals = Aedes & {
  counter: number;
  persistence: Record<string, unknown>;
  clients: Record<string, Client | undefined>;
};
type ClientInternals = Client & {
  _nextId: number;
  _disconnected: boolean;
  subscriptions: Record<string, { qos: number }>;
  deliver0: (p: AedesPublishPacket, cb: () => void) => void;
  deliverQoS: (p: AedesPublishPacket, cb: () => void) => void;
};

/** The part of Aedes' mqemitter the drain guard uses. */
interface MqEmitterLike {
  on(topic: string, listener: (packet: unknown, cb: () => void) => void, done?: () => void): void;
  /** Messages waiting behind the concurrency limit. */
  readonly length: number;
}

const SYS = '$SYS/';
/** The four possible `flags` maps, shared and frozen (no allocation per message). */
const FLAGS: readonly (readonly Readonly<ValueMap>[])[] = [
  [Object.freeze({ dup: false, retain: false }), Object.freeze({ dup: false, retain: true })],
  [Object.freeze({ dup: true, retain: false }), Object.freeze({ dup: true, retain: true })],
];
const flagsOf = (dup: boolean, retain: boolean): Readonly<ValueMap> =>
  FLAGS[dup ? 1 : 0]![retain ? 1 : 0]!;
const ALL_EVENTS = ['message.publish', ...Object.keys(EVENT_TOPICS)] as EventName[];

function topicOf(name: Exclude<EventName, 'message.publish'>): string {
  return EVENT_TOPICS[name][0];
}

export function createBroker(deps: BrokerDeps, input: BrokerConfigInput | BrokerConfig): Broker {
  const config = resolveBrokerConfig(input);
  const logger = deps.logger.child({ component: 'broker' });
  const now = deps.now ?? Date.now;
  const node = config.node ?? deps.node ?? 'sluice@127.0.0.1';
  const ignoreSys = config.ignore_sys_message;
  /** Message id = random 64-bit prefix (once per broker) + Aedes counter (columns.ts). */
  const idOf = messageIdFormatter(randomBytes(8).toString('hex'));
  const authnChain: Authenticator[] = [
    createBuiltinAuthenticator(config.users),
    ...(deps.authenticators ?? []),
  ];
  const authzChain: Authorizer[] = [
    ...(config.authorization.deny_sys_publish ? [sysPublishAuthorizer] : []),
    ...(deps.authorizers ?? []),
  ];
  const noMatchAllow = config.authorization.no_match === 'allow';

  /** Event listeners and, per event name, whether anyone listens (columns are built only then). */
  let listeners: Array<{ fn: (e: BrokerEvent) => void; names: ReadonlySet<EventName> | null }> = [];
  const wants = Object.fromEntries(ALL_EVENTS.map((n) => [n, false])) as Record<EventName, boolean>;
  /** Publish columns are the source of publish, delivered, acked and dropped columns. */
  let wantsMessageColumns = false;
  function recomputeInterest(): void {
    for (const n of ALL_EVENTS)
      wants[n] = listeners.some((l) => l.names === null || l.names.has(n));
    wantsMessageColumns =
      wants['message.publish'] ||
      wants['message.delivered'] ||
      wants['message.acked'] ||
      wants['message.dropped'];
  }
  /**
   * Per-connection records, kept on the Aedes client object under a private symbol (they live
   * and die with it, like a WeakMap entry, but a property read costs less than a WeakMap lookup
   * on the per-publish path).
   */
  const records = {
    get: (c: Client): ClientRecord | undefined => (c as RecordHolder)[RECORD],
    set: (c: Client, rec: ClientRecord): void => {
      (c as RecordHolder)[RECORD] = rec;
    },
  };
  /** Messages being routed: copies reached (no_subscribers detection) and publish columns. */
  const routing = new RouteTable();
  const metrics: BrokerMetrics = {
    connections: 0,
    connections_total: 0,
    connections_refused: 0,
    messages_in: 0,
    messages_out: 0,
    messages_dropped: 0,
    messages_acked: 0,
    clients_paused: 0,
    publishes_held: 0,
  };
  let aedes: AedesInternals | undefined;
  let running: RunningListener[] = [];
  let addresses: BoundAddress[] = [];
  let state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new';
  /** True while Aedes runs a subscriber's QoS 0 delivery function (see authorizeForward). */
  let deliveringQos0 = false;
  /** Connections paused by back-pressure now. */
  const pausedClients = new Set<ClientRecord>();
  /** Held messages of paused clients that disconnected, by client id (released on resume). */
  const orphans = new Map<string, PublishGate[]>();

  function emit(name: EventName, matchTopic: string, columns: ValueMap): void {
    const ev: BrokerEvent = Object.freeze({ name, matchTopic, columns: Object.freeze(columns) });
    for (const l of listeners) {
      if (l.names !== null && !l.names.has(name)) continue;
      try {
        l.fn(ev);
      } catch (err) {
        logger.error({ err, event: name }, 'event listener threw');
      }
    }
  }

  // ---------------------------------------------------------------- column builders
  function publishColumns(
    packet: PublishPacket,
    rec: ClientRecord | undefined,
    from: PublishRequest['from'],
    id: string,
    ts: number,
  ): ValueMap {
    const cols = publishColumnsOf(packet, rec, from, id, ts);
    const extra = (packet as { [EXTRA]?: Readonly<ValueMap> })[EXTRA];
    return extra ? Object.assign(cols, extra) : cols;
  }

  function publishColumnsOf(
    packet: PublishPacket,
    rec: ClientRecord | undefined,
    from: PublishRequest['from'],
    id: string,
    ts: number,
  ): ValueMap {
    const clientid = rec ? rec.clientid : from?.clientid;
    const username = rec ? rec.username : from?.username;
    const peerhost = rec?.peerhost;
    return {
      id,
      clientid,
      username,
      payload: packet.payload as Buffer,
      peerhost,
      peername: rec?.peername,
      topic: packet.topic,
      qos: packet.qos,
      flags: flagsOf(packet.dup === true, packet.retain === true),
      headers: rec
        ? (rec.headers ??= Object.freeze({
            username,
            peerhost,
            proto_ver: rec.proto_ver,
            protocol: 'mqtt',
          }))
        : Object.freeze({ username, peerhost, proto_ver: undefined, protocol: 'mqtt' }),
      pub_props: propsToColumns(packet.properties as Record<string, unknown> | undefined),
      publish_received_at: ts,
      client_attrs: rec ? rec.client_attrs : EMPTY_MAP,
      event: 'message.publish',
      timestamp: ts,
      node,
    };
  }

  function clientBase(rec: ClientRecord): ValueMap {
    return {
      clientid: rec.clientid,
      username: rec.username,
      peername: rec.peername,
      sockname: rec.sockname,
      proto_name: protoName(rec.proto_ver),
      proto_ver: rec.proto_ver,
    };
  }

  // ---------------------------------------------------------------- Aedes hooks
  function newRecord(meta: ConnMeta): ClientRecord {
    return {
      meta,
      clientid: '',
      username: undefined,
      peerhost: meta.peerhost,
      peername: peername(meta.peerhost, meta.peerport),
      sockname: peername(meta.sockhost, meta.sockport),
      proto_ver: 4,
      keepalive: 0,
      clean_start: true,
      is_bridge: false,
      expiry_interval: 0,
      conn_props: EMPTY_MAP,
      connected_at: 0,
      is_superuser: false,
      client_attrs: EMPTY_MAP,
      subs: new Map(),
      inflight: undefined,
      reason: undefined,
    };
  }

  function preConnect(
    client: Client,
    packet: ConnectPacket,
    cb: (err: Error | null, ok: boolean) => void,
  ): void {
    const rec = records.get(client);
    if (!rec) return cb(null, true);
    rec.clientid = packet.clientId;
    rec.username = packet.username;
    rec.proto_ver = packet.protocolVersion ?? 4;
    rec.keepalive = packet.keepalive ?? 0;
    rec.clean_start = packet.clean !== false;
    rec.is_bridge = (packet as { bridgeMode?: boolean }).bridgeMode === true;
    rec.conn_props = propsToColumns(packet.properties as Record<string, unknown> | undefined);
    // expiry_interval in seconds (spec §10). MQTT 3.1.1: clean → 0; persistent sessions are kept
    // by Aedes until the client returns, reported as 0xFFFFFFFF ("never expires" in MQTT 5 terms).
    const sei = (packet.properties as { sessionExpiryInterval?: number } | undefined)
      ?.sessionExpiryInterval;
    rec.expiry_interval = sei ?? (rec.clean_start ? 0 : 0xffffffff);
    rec.connected_at = now();
    // Wrap the per-client delivery functions before any subscription captures them, so
    // authorizeForward can tell a QoS 0 delivery (Aedes picks deliver0 for QoS 0 subscriptions).
    const c = client as ClientInternals;
    const d0 = c.deliver0;
    c.deliver0 = (p, done) => {
      deliveringQos0 = true;
      try {
        d0(p, done);
      } finally {
        deliveringQos0 = false;
      }
    };
    cb(null, true);
  }

  function authenticate(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
    done: (err: (Error & { returnCode: number }) | null, ok: boolean | null) => void,
  ): void {
    const rec = records.get(client);
    if (!rec) return done(null, true);
    rec.clientid = client.id;
    runAuthnChain(
      authnChain,
      {
        clientid: client.id,
        username,
        password,
        peerhost: rec.peerhost,
        listener: rec.meta.listener,
        peerCertCN: rec.meta.peerCertCN,
      },
      config.allow_anonymous,
    ).then(
      (outcome) => {
        if (wants['client.check_authn_complete'])
          emit('client.check_authn_complete', topicOf('client.check_authn_complete'), {
            clientid: rec.clientid,
            username: rec.username,
            peername: rec.peername,
            reason_code: outcome.reason_code,
            is_superuser: outcome.is_superuser,
            is_anonymous: outcome.is_anonymous,
            client_attrs: outcome.client_attrs,
            event: 'client.check_authn_complete',
            timestamp: now(),
            node,
          });
        if (!outcome.ok) {
          const code =
            outcome.reason_code === 'bad_username_or_password'
              ? 4
              : outcome.reason_code === 'server_unavailable'
                ? 3
                : 5;
          return done(Object.assign(new Error(outcome.reason_code), { returnCode: code }), false);
        }
        rec.is_superuser = outcome.is_superuser;
        rec.client_attrs = outcome.client_attrs;
        // Session takeover [MQTT-3.1.4-2]: Aedes closes the previous connection with this id.
        const prev = aedes?.clients[client.id];
        if (prev && prev !== client) {
          const prevRec = records.get(prev);
          if (prevRec) prevRec.reason = rec.clean_start ? 'discarded' : 'takenover';
        }
        done(null, true);
      },
      (err: unknown) => {
        logger.error({ err, clientid: client.id }, 'authentication backend failed');
        done(
          Object.assign(
            BrokerErrors.broker_auth_backend_failed('authentication backend failed', {
              cause: err,
            }),
            { returnCode: 3 },
          ),
          false,
        );
      },
    );
  }

  function authzDone(
    rec: ClientRecord,
    action: 'publish' | 'subscribe',
    topic: string,
    outcome: AuthzOutcome,
  ): void {
    if (wants['client.check_authz_complete'])
      emit('client.check_authz_complete', topicOf('client.check_authz_complete'), {
        clientid: rec.clientid,
        username: rec.username,
        peerhost: rec.peerhost,
        peername: rec.peername,
        topic,
        action,
        authz_source: outcome.source,
        result: outcome.allow ? 'allow' : 'deny',
        client_attrs: rec.client_attrs,
        event: 'client.check_authz_complete',
        timestamp: now(),
        node,
      });
  }

  const SUPERUSER: AuthzOutcome = Object.freeze({ allow: true, source: 'superuser' });
  const SYS_DENY: AuthzOutcome = Object.freeze({ allow: false, source: sysPublishAuthorizer.name });
  const NO_MATCH: AuthzOutcome = Object.freeze({ allow: noMatchAllow, source: 'default' });
  /** True when the chain is empty or only the built-in $SYS guard (the default config). */
  const builtinAuthzOnly = authzChain.every((a) => a === sysPublishAuthorizer);
  const authzError = (err: unknown, source: string) =>
    logger.error({ err, source }, 'authorizer failed');

  function authorize(
    rec: ClientRecord,
    action: 'publish' | 'subscribe',
    topic: string,
    qos: number,
    retain: boolean,
    cb: (o: AuthzOutcome) => void,
  ): void {
    if (rec.is_superuser) {
      authzDone(rec, action, topic, SUPERUSER);
      return cb(SUPERUSER);
    }
    if (builtinAuthzOnly) {
      // Fast path for the default chain (at most the $SYS guard): no request object, no closure.
      const o =
        authzChain.length === 1 && action === 'publish' && topic.startsWith(SYS)
          ? SYS_DENY
          : NO_MATCH;
      authzDone(rec, action, topic, o);
      return cb(o);
    }
    runAuthzChain(
      authzChain,
      {
        clientid: rec.clientid,
        username: rec.username,
        peerhost: rec.peerhost,
        client_attrs: rec.client_attrs as Record<string, string>,
        action,
        topic,
        qos,
        retain,
      },
      noMatchAllow,
      (o) => {
        authzDone(rec, action, topic, o);
        cb(o);
      },
      authzError,
    );
  }

  function authorizePublish(
    client: Client | null,
    packet: PublishPacket,
    cb: (err?: Error | null) => void,
  ): void {
    const rec = client ? records.get(client) : undefined;
    // Wills re-published by Aedes after a restart may come without a live client.
    if (!rec) return cb(packet.topic.startsWith(SYS) ? new Error('$SYS topic is reserved') : null);
    // A denied publish closes the connection (Aedes 1.x / MQTT 3.1.1 has no negative PUBACK;
    // EMQX's authorization.deny_action = disconnect).
    if (builtinAuthzOnly && !rec.is_superuser) {
      // Per-publish fast path for the default chain: same outcome as authorize(), no closure.
      const o = authzChain.length === 1 && packet.topic.startsWith(SYS) ? SYS_DENY : NO_MATCH;
      if (wants['client.check_authz_complete']) authzDone(rec, 'publish', packet.topic, o);
      return cb(o.allow ? null : new Error('not authorized'));
    }
    authorize(rec, 'publish', packet.topic, packet.qos, packet.retain === true, (o) =>
      cb(o.allow ? null : new Error('not authorized')),
    );
  }

  function authorizeSubscribe(
    client: Client,
    sub: Subscription,
    cb: (err: Error | null, sub?: Subscription | null) => void,
  ): void {
    const rec = records.get(client);
    if (!rec) return cb(null, sub);
    // Denied → SUBACK 0x80 for that filter [MQTT-3.9.3-2]; the connection stays up.
    authorize(rec, 'subscribe', sub.topic, sub.qos, false, (o) => cb(null, o.allow ? sub : null));
  }

  /** Called by Aedes for every copy it is about to forward to a subscribed client. */
  function authorizeForward(client: Client, packet: AedesPublishPacket): AedesPublishPacket | null {
    const c = client as ClientInternals;
    const ours = packet.brokerId === aedes?.id && routing.hit(packet.brokerCounter, 1);
    metrics.messages_out++;
    if (!wants['message.delivered'] && !wants['message.acked']) return packet;
    const rec = records.get(client);
    if (!rec) return packet;
    let qos: number = packet.qos;
    if (deliveringQos0) qos = 0;
    else {
      // Aedes downgrades to the subscription's QoS only for an exact-topic subscription.
      const sub = c.subscriptions[packet.topic];
      if (sub && sub.qos < qos) qos = sub.qos;
    }
    const src = ours ? routing.columns(packet.brokerCounter) : undefined;
    const ts = now();
    const cols: ValueMap = {
      id: src ? src['id'] : idOf(packet.brokerCounter),
      from_clientid: src ? src['clientid'] : (packet as { clientId?: string }).clientId,
      from_username: src ? src['username'] : undefined,
      clientid: rec.clientid,
      username: rec.username,
      payload: packet.payload as Buffer,
      peerhost: rec.peerhost,
      peername: rec.peername,
      topic: packet.topic,
      qos,
      flags: src ? src['flags'] : flagsOf(packet.dup === true, packet.retain === true),
      pub_props: src
        ? src['pub_props']
        : propsToColumns(packet.properties as Record<string, unknown> | undefined),
      publish_received_at: src ? src['publish_received_at'] : ts,
      event: 'message.delivered',
      timestamp: ts,
      node,
    };
    if (wants['message.delivered']) emit('message.delivered', topicOf('message.delivered'), cols);
    if (qos === 0 || !wants['message.acked']) return packet;
    // Remember the copy by its packet identifier so PUBACK/PUBCOMP can raise message.acked.
    // Aedes assigns the identifier later (QoSPacket, from client._nextId) unless the packet
    // already carries one; we assign it here, from the same counter, so we know it.
    let out = packet;
    let mid = packet.messageId;
    if (mid === undefined) {
      mid = c._nextId;
      c._nextId = mid >= 65535 ? 1 : mid + 1;
      out = { ...packet, messageId: mid };
    }
    (rec.inflight ??= new Map()).set(mid, cols);
    return out;
  }

  function onAck(client: Client, mid: number | undefined): void {
    metrics.messages_acked++;
    const rec = records.get(client);
    const delivered = mid === undefined ? undefined : rec?.inflight?.get(mid);
    if (!rec || !delivered || mid === undefined) return;
    rec.inflight!.delete(mid);
    if (!wants['message.acked']) return;
    const ts = now();
    emit('message.acked', topicOf('message.acked'), {
      ...delivered,
      puback_props: EMPTY_MAP,
      event: 'message.acked',
      timestamp: ts,
      node,
    });
  }

  // ---------------------------------------------------------------- Aedes events
  function wireEvents(a: AedesInternals): void {
    a.on('connackSent', (packet, client) => {
      const rec = records.get(client);
      const code = packet.returnCode ?? 0;
      if (code !== 0) metrics.connections_refused++;
      if (!rec || !wants['client.connack']) return;
      emit('client.connack', topicOf('client.connack'), {
        reason_code: connackReason(code),
        ...clientBase(rec),
        clean_start: rec.clean_start,
        keepalive: rec.keepalive,
        expiry_interval: rec.expiry_interval,
        connected_at: rec.connected_at,
        conn_props: rec.conn_props,
        event: 'client.connack',
        timestamp: now(),
        node,
      });
    });
    a.on('clientReady', (client) => {
      metrics.connections_total++;
      const rec = records.get(client);
      if (!rec || !wants['client.connected']) return;
      emit('client.connected', topicOf('client.connected'), {
        ...clientBase(rec),
        mountpoint: undefined,
        keepalive: rec.keepalive,
        clean_start: rec.clean_start,
        // MQTT 5 default when the client sets none: 65535 [MQTT-3.1.2.11.3]; Aedes 1.x has no limit.
        receive_maximum: (rec.conn_props['Receive-Maximum'] as number | undefined) ?? 65535,
        expiry_interval: rec.expiry_interval,
        is_bridge: rec.is_bridge,
        conn_props: rec.conn_props,
        connected_at: rec.connected_at,
        client_attrs: rec.client_attrs,
        event: 'client.connected',
        timestamp: now(),
        node,
      });
    });
    a.on('clientDisconnect', (client) => {
      const rec = records.get(client);
      if (!rec) return;
      rec.inflight = undefined;
      // Messages the broker read before the close are not lost: a paused gate keeps them
      // until the pressure that paused the client lifts (resumeClient with its id).
      if (rec.gate?.paused) {
        pausedClients.delete(rec);
        if (rec.gate.size > 0) {
          const list = orphans.get(rec.clientid) ?? [];
          list.push(rec.gate);
          orphans.set(rec.clientid, list);
        }
      } else rec.gate?.flush();
      if (!wants['client.disconnected']) return;
      const ts = now();
      const reason =
        rec.reason ??
        ((client as ClientInternals)._disconnected
          ? 'normal'
          : state === 'stopping'
            ? 'shutdown'
            : rec.meta.transport === 'tls' || rec.meta.transport === 'wss'
              ? 'ssl_closed'
              : 'tcp_closed');
      emit('client.disconnected', topicOf('client.disconnected'), {
        reason,
        ...clientBase(rec),
        disconn_props: EMPTY_MAP,
        disconnected_at: ts,
        connected_at: rec.connected_at,
        client_attrs: rec.client_attrs,
        event: 'client.disconnected',
        timestamp: ts,
        node,
      });
    });
    a.on('ping', (_packet, client) => {
      const rec = records.get(client);
      if (!rec || !wants['client.ping']) return;
      emit('client.ping', topicOf('client.ping'), {
        clientid: rec.clientid,
        clean_start: rec.clean_start,
        username: rec.username,
        peername: rec.peername,
        sockname: rec.sockname,
        proto_name: protoName(rec.proto_ver),
        proto_ver: rec.proto_ver,
        keepalive: rec.keepalive,
        expiry_interval: rec.expiry_interval,
        conn_props: rec.conn_props,
        event: 'client.ping',
        timestamp: now(),
        node,
      });
    });
    a.on('keepaliveTimeout', (client) => {
      const rec = records.get(client);
      if (rec) rec.reason ??= 'keepalive_timeout';
    });
    a.on('clientError', (client, err) => {
      const rec = records.get(client);
      // Socket errors (ECONNRESET, EPIPE, …) carry a code: the default *_closed reason fits.
      if (rec && !(err as NodeJS.ErrnoException).code && !client.closed)
        rec.reason ??= 'protocol_error';
      logger.debug({ clientid: client.id, err: err.message }, 'client error');
    });
    a.on('connectionError', (_client, err) =>
      logger.debug({ err: err.message }, 'connection error before CONNECT'),
    );
    a.on('subscribe', (subs, client) => {
      const rec = records.get(client);
      if (!rec) return;
      for (const s of subs) {
        if ((s.qos as number) === 128) continue;
        rec.subs.set(s.topic, s.qos);
        if (wants['session.subscribed'])
          emit('session.subscribed', topicOf('session.subscribed'), {
            clientid: rec.clientid,
            username: rec.username,
            peerhost: rec.peerhost,
            peername: rec.peername,
            topic: s.topic,
            qos: s.qos,
            sub_props: propsToColumns((s as { properties?: Record<string, unknown> }).properties),
            client_attrs: rec.client_attrs,
            event: 'session.subscribed',
            timestamp: now(),
            node,
          });
      }
    });
    a.on('unsubscribe', (topics, client) => {
      const rec = records.get(client);
      if (!rec) return;
      // Aedes also reports the clean-up of a closing clean session; EMQX raises no
      // session.unsubscribed for that, so neither do we.
      const explicit = !client.closed;
      for (const t of topics) {
        const qos = rec.subs.get(t);
        rec.subs.delete(t);
        if (explicit && qos !== undefined && wants['session.unsubscribed'])
          emit('session.unsubscribed', topicOf('session.unsubscribed'), {
            clientid: rec.clientid,
            username: rec.username,
            peerhost: rec.peerhost,
            peername: rec.peername,
            topic: t,
            qos,
            unsub_props: EMPTY_MAP,
            client_attrs: rec.client_attrs,
            event: 'session.unsubscribed',
            timestamp: now(),
            node,
          });
      }
    });
    (a as unknown as NodeJS.EventEmitter).on('error', (err: Error) =>
      logger.error({ err }, 'aedes error'),
    );
  }

  /**
   * Wrap aedes.publish: assign the broker counter ourselves (Aedes keeps an existing one, see
   * aedes-packet) so the message id is known before routing, raise message.publish first,
   * and raise message.dropped when routing reached no subscriber.
   */
  function wrapPublish(a: AedesInternals): void {
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
      const gate = client ? records.get(client)?.gate : undefined;
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
      const from = (packet as { [FROM]?: PublishRequest['from'] })[FROM];
      if (packet.brokerCounter === undefined) packet.brokerCounter = ++a.counter;
      const counter = packet.brokerCounter;
      if (ignoreSys && packet.topic.startsWith(SYS))
        return orig(packet, client ?? null, done ?? noop);
      metrics.messages_in++;
      let columns: ValueMap | null = null;
      if (wantsMessageColumns) {
        const rec = client ? records.get(client) : undefined;
        columns = publishColumns(packet, rec, from, idOf(counter), now());
        if (wants['message.publish']) emit('message.publish', packet.topic, columns);
      }
      routing.open(counter, columns);
      orig(packet, client ?? null, (err) => {
        const deliveries = routing.close(counter);
        if (!err && deliveries === 0) {
          metrics.messages_dropped++;
          if (wants['message.dropped']) {
            const src =
              columns ??
              publishColumns(
                packet,
                client ? records.get(client as Client) : undefined,
                from,
                idOf(counter),
                now(),
              );
            const ts = now();
            emit('message.dropped', topicOf('message.dropped'), {
              id: src['id'],
              reason: 'no_subscribers',
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
              event: 'message.dropped',
              timestamp: ts,
              node,
            });
          }
        }
        (done ?? noop)(err);
      });
    };
    (a as unknown as { publish: typeof wrapped }).publish = wrapped;
  }

  /** PUBACK/PUBCOMP → message.acked; offline enqueues count as deliveries (not dropped). */
  function wrapPersistence(a: AedesInternals): void {
    const p = a.persistence as {
      outgoingClearMessageId: (
        c: Client,
        packet: { cmd?: string; messageId?: number },
      ) => Promise<unknown>;
      outgoingEnqueueCombi: (
        subs: unknown[],
        packet: { brokerId?: string; brokerCounter?: number },
      ) => Promise<void>;
    };
    const clear = p.outgoingClearMessageId.bind(p);
    p.outgoingClearMessageId = (c, packet) => {
      if (packet.cmd === 'puback' || packet.cmd === 'pubcomp') onAck(c, packet.messageId);
      return clear(c, packet);
    };
    const enqueue = p.outgoingEnqueueCombi.bind(p);
    p.outgoingEnqueueCombi = (subs, packet) => {
      if (subs.length > 0 && packet.brokerId === a.id && packet.brokerCounter !== undefined) {
        routing.hit(packet.brokerCounter, subs.length);
      }
      return enqueue(subs, packet);
    };
  }

  /**
   * Break mqemitter's synchronous drain (the QoS 0 flood stack overflow). When routing backs up
   * (messages queued behind the `concurrency` limit, e.g. while a stalled subscriber holds
   * delivery slots), a message whose subscribers all answer synchronously — or that has none
   * left, because the last subscriber just disconnected — completes inside the call that
   * released it and releases the next queued message from there: one recursion level per
   * queued message, "Maximum call stack size exceeded" after a few thousand. This listener
   * matches every topic and, only while messages are queued, completes on the next turn of
   * the event loop, so each queued message starts from a fresh stack. With an empty queue it
   * answers synchronously (no cost on the normal path). Reproduced by
   * test/integration/broker-soak.test.ts.
   */
  function guardSynchronousDrain(a: AedesInternals): void {
    const mq = (a as unknown as { mq: MqEmitterLike }).mq;
    mq.on('#', (_packet, cb) => (mq.length > 0 ? setImmediate(cb) : cb()));
  }

  function handleConnection(stream: Duplex, meta: ConnMeta, req?: IncomingMessage): void {
    if (!aedes || state !== 'running') {
      stream.destroy();
      return;
    }
    const client = aedes.handle(stream, req);
    records.set(client, newRecord(meta));
  }

  async function closeAedes(): Promise<void> {
    const a = aedes;
    if (!a) return;
    await new Promise<void>((resolve) => a.close(() => resolve()));
  }

  return {
    get addresses() {
      return addresses;
    },
    async start() {
      if (state !== 'new')
        throw BrokerErrors.broker_not_started(`broker cannot start: it is ${state}`);
      state = 'starting';
      const a = new Aedes({
        concurrency: config.concurrency,
        connectTimeout: config.connect_timeout,
        maxClientsIdLength: config.max_clientid_len,
        preConnect,
        authenticate,
        authorizePublish,
        authorizeSubscribe,
        authorizeForward,
      }) as AedesInternals;
      aedes = a;
      wrapPublish(a);
      wireEvents(a);
      await a.listen();
      wrapPersistence(a);
      guardSynchronousDrain(a);
      state = 'running';
      try {
        for (const [name, l] of Object.entries(config.listeners)) {
          if (!l.enabled) continue;
          running.push(await startListener(name, l, handleConnection, logger));
        }
      } catch (err) {
        state = 'stopping';
        await Promise.all(running.map((r) => r.close()));
        await closeAedes();
        running = [];
        state = 'stopped';
        throw err;
      }
      addresses = running.map((r) => r.address);
      return addresses;
    },
    async stop() {
      if (state === 'stopped' || state === 'new') {
        state = 'stopped';
        return;
      }
      state = 'stopping';
      await closeAedes();
      await Promise.all(running.map((r) => r.close()));
      running = [];
      routing.clear();
      state = 'stopped';
      logger.info({}, 'broker stopped');
    },
    publish(msg) {
      const a = aedes;
      if (!a || state !== 'running')
        return Promise.reject(BrokerErrors.broker_not_started('broker is not running'));
      const topic = msg.topic;
      if (
        typeof topic !== 'string' ||
        topic.length === 0 ||
        topic.includes('+') ||
        topic.includes('#')
      )
        return Promise.reject(
          BrokerErrors.broker_publish_failed(
            `invalid topic ${JSON.stringify(topic)}: must be non-empty without + or #`,
            { context: { topic } },
          ),
        );
      const qos = msg.qos ?? 0;
      if (qos !== 0 && qos !== 1 && qos !== 2)
        return Promise.reject(
          BrokerErrors.broker_publish_failed(`invalid qos ${String(qos)}`, { context: { topic } }),
        );
      const payload = Buffer.isBuffer(msg.payload)
        ? msg.payload
        : typeof msg.payload === 'string'
          ? Buffer.from(msg.payload)
          : Buffer.from(msg.payload.buffer, msg.payload.byteOffset, msg.payload.byteLength);
      const packet: PublishPacket & { [FROM]?: PublishRequest['from'] } = {
        cmd: 'publish',
        topic,
        payload,
        qos,
        retain: msg.retain === true,
        dup: false,
        ...(msg.properties ? { properties: msg.properties } : {}),
      };
      if (msg.from) packet[FROM] = msg.from;
      if (msg.columns) (packet as { [EXTRA]?: unknown })[EXTRA] = msg.columns;
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
      const a = aedes;
      if (!a || state !== 'running')
        return Promise.reject(BrokerErrors.broker_not_started('broker is not running'));
      const dollarGuard = filter.startsWith('#') || filter.startsWith('+');
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
          logger.error({ err, filter }, 'subscribe handler threw');
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
    },
    onEvent(listener, filter) {
      const entry = { fn: listener, names: filter?.names ? new Set(filter.names) : null };
      listeners = [...listeners, entry];
      recomputeInterest();
      return () => {
        listeners = listeners.filter((l) => l !== entry);
        recomputeInterest();
      };
    },
    pauseClient(clientid) {
      const c = aedes?.clients[clientid];
      const rec = c && !c.closed ? records.get(c) : undefined;
      if (!rec) return false;
      const gate = (rec.gate ??= new PublishGate());
      if (!gate.paused) {
        gate.pause();
        pausedClients.add(rec);
        logger.debug({ clientid }, 'client paused (back-pressure)');
      }
      return true;
    },
    resumeClient(clientid) {
      const left = orphans.get(clientid);
      if (left) {
        orphans.delete(clientid);
        for (const g of left) g.flush();
      }
      const c = aedes?.clients[clientid];
      const rec = c ? records.get(c) : undefined;
      if (!rec?.gate?.paused) return;
      pausedClients.delete(rec);
      logger.debug({ clientid, held: rec.gate.size }, 'client resumed');
      rec.gate.resume();
      if (rec.gate.paused) pausedClients.add(rec); // a released message paused it again
    },
    metrics() {
      let held = 0;
      for (const r of pausedClients) held += r.gate?.size ?? 0;
      for (const list of orphans.values()) for (const g of list) held += g.size;
      // Aedes counts registered (CONNACKed) clients itself; it is exact across takeovers.
      return {
        ...metrics,
        connections: state === 'running' ? (aedes?.connectedClients ?? 0) : 0,
        clients_paused: pausedClients.size,
        publishes_held: held,
      };
    },
  };
}

/** Symbol holding a client's ClientRecord on the Aedes client object. */
const RECORD = Symbol('sluice.record');
type RecordHolder = { [RECORD]?: ClientRecord };

/** Symbol carrying publish() caller identity through the wrapped aedes.publish. */
const FROM = Symbol('sluice.from');
/** Symbol carrying publish() callers' extra event columns through the wrapped aedes.publish. */
const EXTRA = Symbol('sluice.columns');

function noop(): void {}
