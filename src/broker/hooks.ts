/**
 * The Aedes hooks (AedesOptions): connect, authentication, authorization and forwarding.
 *
 *   preConnect          CONNECT facts into the ClientRecord; wraps deliver0 (QoS 0 detection)
 *   authenticate        authn chain (auth.ts) → client.check_authn_complete, CONNACK code,
 *                       takeover / discard reason of the connection being replaced
 *   authenticate        (also) a CONNECT with Authentication-Method runs the AUTH exchange
 *                       (enhanced-auth.ts) instead of the password chain
 *   authorizePublish    listener messages_quota (PUBACK / PUBREC 0x97, 3.1.1 closed), then the
 *                       authz chain → client.check_authz_complete; a deny closes a 3.1.1
 *                       connection, an MQTT 5 client gets PUBACK / PUBREC 0x87 (Aedes 2)
 *   authorizeSubscribe  authz chain → client.check_authz_complete; a deny, or a `+` that does not
 *                       fill its level [MQTT-4.7.1-3], is SUBACK 0x80;
 *                       a `$share/…` / `$queue/…` filter is validated and joins its group
 *   authorizeForward    once per forwarded copy: messages_out, message.delivered, and the packet
 *                       id of QoS 1/2 copies so PUBACK/PUBCOMP can raise message.acked (and a
 *                       shared copy can be redelivered if its member leaves unacked)
 *
 * Per-publish fast path: with the default chain (at most the built-in $SYS guard) and no
 * superuser, authorizePublish builds no request object and no closure.
 */
import type { AedesPublishPacket, Client, ConnectPacket, PublishPacket, Subscription } from 'aedes';
import {
  createBuiltinAuthenticator,
  runAuthnChain,
  runAuthzChain,
  sysPublishAuthorizer,
  type Authenticator,
  type Authorizer,
  type AuthzOutcome,
} from './auth.js';
import { recordOf, type ClientRecord } from './client-records.js';
import { propsToColumns } from './columns.js';
import {
  SUBSCRIPTION_RESERVED,
  type BrokerContext,
  type ClientInternals,
  type ClientV5Internals,
  type SubCounting,
} from './context.js';
import { BrokerErrors } from './errors.js';
import { topicOf } from './event-feed.js';
import { deliveredColumns } from './events/message.js';
import {
  betterGrantFollows,
  deliveryQos,
  deliveryQosFromMatches,
  subscriptionIds,
  subscriptionIdsFromMatches,
} from './granted-qos.js';
import { timerAt } from './authn-jwt.js';
import { topicLevels } from './limits.js';
import { isShareTopic, parseShare } from './shared-subscriptions.js';
import { createV5Forwarding } from './mqtt5-forward.js';
import { createMessageQuota } from './rate-limits.js';
import type { BrokerSecurity } from './security.js';
import type { EnhancedAuth, EnhancedOutcome } from './enhanced-auth.js';
import type { BrokerDeps } from './types.js';

const SYS = '$SYS/';

/** True when a `+` in the filter shares its level with other characters [MQTT-4.7.1-3]. */
export function misplacedPlus(filter: string): boolean {
  for (let i = filter.indexOf('+'); i >= 0; i = filter.indexOf('+', i + 1)) {
    if ((i > 0 && filter[i - 1] !== '/') || (i + 1 < filter.length && filter[i + 1] !== '/'))
      return true;
  }
  return false;
}

export interface BrokerHooks {
  preConnect(
    client: Client,
    packet: ConnectPacket,
    cb: (err: Error | null, ok: boolean) => void,
  ): void;
  authenticate(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
    done: (err: (Error & { returnCode: number }) | null, ok: boolean | null) => void,
  ): void;
  authorizePublish(
    client: Client | null,
    packet: PublishPacket,
    cb: (err?: Error | null) => void,
  ): void;
  authorizeSubscribe(
    client: Client,
    sub: Subscription,
    cb: (err: Error | null, sub?: Subscription | null) => void,
  ): void;
  authorizeForward(client: Client, packet: AedesPublishPacket): AedesPublishPacket | null;
}

/**
 * `packet` with a packet identifier. Aedes assigns it later (QoSPacket, from client._nextId)
 * unless the packet already carries one; we assign it here, from the same counter, so we know it.
 */
function withPacketId(c: ClientInternals, packet: AedesPublishPacket): AedesPublishPacket {
  if (packet.messageId !== undefined) return packet;
  const mid = c._nextId;
  c._nextId = mid >= 65535 ? 1 : mid + 1;
  return { ...packet, messageId: mid };
}

/** Build the hooks of one broker (once; they are handed to `new Aedes(...)`). */
export function createHooks(
  ctx: BrokerContext,
  deps: Pick<BrokerDeps, 'authenticators' | 'authorizers'>,
  security?: Pick<BrokerSecurity, 'authenticators' | 'authorizers'>,
  enhanced?: EnhancedAuth,
): BrokerHooks {
  const { config, logger, now, node, idOf, feed, routing, metrics, limits } = ctx;
  const wants = feed.wants;
  const emit = feed.emit;
  const authnChain: Authenticator[] = [
    createBuiltinAuthenticator(config.users),
    ...(security?.authenticators ?? []),
    ...(deps.authenticators ?? []),
  ];
  const authzChain: Authorizer[] = [
    ...(config.authorization.deny_sys_publish ? [sysPublishAuthorizer] : []),
    ...(security?.authorizers ?? []),
    ...(deps.authorizers ?? []),
  ];
  const noMatchAllow = config.authorization.no_match === 'allow';
  // The topic-level limit Aedes itself enforces (broker.ts); stricter listeners are checked here.
  const aedesMaxLevels = 100;
  const v5 = createV5Forwarding(ctx);
  const overQuota = createMessageQuota(now);

  function preConnect(
    client: Client,
    packet: ConnectPacket,
    cb: (err: Error | null, ok: boolean) => void,
  ): void {
    const rec = recordOf(client);
    if (!rec) return cb(null, true);
    limits.connected(rec);
    rec.clientid = packet.clientId;
    rec.username = packet.username;
    rec.proto_ver = packet.protocolVersion ?? 4;
    rec.keepalive = packet.keepalive ?? 0;
    rec.clean_start = packet.clean !== false;
    rec.is_bridge = (packet as { bridgeMode?: boolean }).bridgeMode === true;
    rec.conn_props = propsToColumns(packet.properties as Record<string, unknown> | undefined);
    // MQTT 5 enhanced authentication (enhanced-auth.ts): the exchange runs in authenticate.
    const props5 = packet.properties as
      { authenticationMethod?: string; authenticationData?: Buffer } | undefined;
    rec.auth_method = props5?.authenticationMethod;
    rec.auth_data = props5?.authenticationData;
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
      ctx.deliveringQos0 = true;
      try {
        d0(p, done);
      } finally {
        ctx.deliveringQos0 = false;
      }
    };
    if (rec.proto_ver === 5) {
      v5.watchNoLocal(client, rec);
      const rm = (packet.properties as { receiveMaximum?: number } | undefined)?.receiveMaximum;
      if (rm !== undefined) ctx.windows?.receiveMaximum(rec, rm);
      // The client's Topic Alias Maximum: how many aliases we may use towards it (mqtt5-forward.ts).
      (c as { _topicAliasMaximumOut?: number })._topicAliasMaximumOut = (
        packet.properties as { topicAliasMaximum?: number } | undefined
      )?.topicAliasMaximum;
    }
    cb(null, true);
  }

  function authenticate(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
    done: (err: (Error & { returnCode: number }) | null, ok: boolean | null) => void,
  ): void {
    const rec = recordOf(client);
    if (!rec) return done(null, true);
    // preConnect kept the client id as sent. A zero-length id is allowed only with clean
    // session [MQTT-3.1.3-7]; the server then assigns a unique id (Aedes: `aedes_<uuid>`)
    // [MQTT-3.1.3-6]. With clean session false it answers CONNACK 2 (identifier rejected) and
    // closes the connection [MQTT-3.1.3-8]. Aedes 1.x accepted both.
    if (rec.clientid === '' && !rec.clean_start) {
      logger.info({ peer: rec.peername }, 'zero-length client id without clean session refused');
      return done(Object.assign(new Error('identifier rejected'), { returnCode: 2 }), false);
    }
    rec.clientid = client.id;
    // A CONNECT with Authentication-Method (Aedes let it through: enhanced.supports) runs the
    // AUTH exchange instead of the password chain; a refusal carries its v5 reason code.
    const run: Promise<EnhancedOutcome> =
      rec.auth_method !== undefined && enhanced
        ? enhanced.connect(client, rec, username)
        : runAuthnChain(
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
          ).then((outcome) => ({ outcome }));
    run.then(
      ({ outcome, reasonCode }) => {
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
          return done(
            Object.assign(new Error(outcome.reason_code), {
              returnCode: code,
              ...(reasonCode !== undefined ? { reasonCode } : {}),
            }),
            false,
          );
        }
        rec.is_superuser = outcome.is_superuser;
        rec.client_attrs = outcome.client_attrs;
        rec.acl = outcome.acl;
        rec.expires_at = outcome.expires_at;
        // JWT disconnect_after_expire: close when the credential expires (security.md).
        if (outcome.disconnect_after_expire && outcome.expires_at !== undefined)
          rec.cancelExpiry = timerAt(outcome.expires_at, now, () => {
            if ((client as ClientInternals)._disconnected) return;
            rec.reason ??= 'not_authorized';
            logger.info({ clientid: rec.clientid }, 'connection closed: credential expired');
            client.close();
          });
        // Session takeover [MQTT-3.1.4-2]: Aedes closes the previous connection with this id.
        const prev = ctx.aedes?.clients[client.id];
        if (prev && prev !== client) {
          const prevRec = recordOf(prev);
          if (prevRec) prevRec.reason = rec.clean_start ? 'discarded' : 'takenover';
        }
        done(null, true);
      },
      (err: unknown) => {
        logger.error(
          { code: 'broker_auth_backend_failed', err, clientid: client.id },
          'authentication backend failed',
        );
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
  const authzError = (err: unknown, source: string, clientid: string) =>
    logger.error(
      { code: 'broker_auth_backend_failed', err, source, clientid },
      'authorizer failed',
    );

  function authorize(
    rec: ClientRecord,
    action: 'publish' | 'subscribe',
    topic: string,
    qos: number,
    retain: boolean,
    cb: (o: AuthzOutcome, failed?: boolean) => void,
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
    let failed = false;
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
        acl: rec.acl,
        expires_at: rec.expires_at,
      },
      noMatchAllow,
      (o) => {
        authzDone(rec, action, topic, o);
        cb(o, failed);
      },
      (err, source) => {
        failed = true;
        authzError(err, source, rec.clientid);
      },
    );
  }

  /**
   * [MQTT-4.8.0-2] An authorizer that throws or rejects (its backend is down: a transient error)
   * while a client's PUBLISH or SUBSCRIBE is processed closes that client's connection, and
   * only that one; the packet is not acted on (denied). MQTT 5 clients get DISCONNECT 0x80
   * first, and Aedes hears of the error only once the connection is closed, so that nothing
   * (no PUBACK 0x87) follows the DISCONNECT [MQTT-3.14.4-1]. Decision 0018.
   */
  function closeOnTransientError(
    client: Client,
    rec: ClientRecord,
    then: (err: Error) => void,
  ): void {
    closeWith(client, rec, 'authz_backend_failed', 0x80, new Error('authorizer failed'), then);
  }

  /** Close `client`: MQTT 5 gets DISCONNECT `code` first; Aedes is told (`then(err)`) after. */
  function closeWith(
    client: Client,
    rec: ClientRecord,
    reason: string,
    code: number,
    err: Error,
    then: (err: Error) => void,
  ): void {
    rec.reason ??= reason;
    const c = client as ClientV5Internals;
    if (c.version === 5 && c.connected) c.disconnect({ reasonCode: code }, () => then(err));
    else then(err); // Aedes closes a 3.1.1 connection on the error
  }

  function authorizePublish(
    client: Client | null,
    packet: PublishPacket,
    cb: (err?: Error | null) => void,
  ): void {
    const rec = client ? recordOf(client) : undefined;
    // Wills re-published by Aedes after a restart may come without a live client.
    if (!rec) return cb(packet.topic.startsWith(SYS) ? new Error('$SYS topic is reserved') : null);
    // A denied publish closes a 3.1.1 connection (no negative PUBACK; EMQX's
    // authorization.deny_action = disconnect), and so does one over max_topic_levels (Aedes
    // checks its ceiling of 100; a stricter listener's limit is checked here). Aedes answers an
    // MQTT 5 client PUBACK / PUBREC 0x87 instead and keeps the connection.
    // MQTT 5 [MQTT-3.3.4-6]: a client's PUBLISH must not carry a Subscription Identifier; one
    // that does is a protocol error (Aedes would pass it on to subscribers): DISCONNECT 0x82.
    if (packet.properties?.subscriptionIdentifier !== undefined) {
      logger.info(
        {
          clientid: rec.clientid,
          code: 'broker_malformed_packet',
          fault: 'subscription_identifier',
        },
        'connection closed: PUBLISH from a client with a Subscription Identifier [MQTT-3.3.4-6]',
      );
      return closeWith(client!, rec, 'protocol_error', 0x82, new Error('protocol error'), cb);
    }
    const lim = rec.limits ?? limits.of(rec.meta.listener);
    // messages_quota (rate-limits.ts): refused, not slowed down. MQTT 5: PUBACK / PUBREC 0x97
    // (QoS 0: dropped), the connection stays (EMQX 4 quota.conn.messages.routing); 3.1.1 has no
    // reason code, so the connection is closed and the unacknowledged message resent later.
    if (lim.messages_quota !== 'infinity' && overQuota(rec, lim.messages_quota)) {
      metrics.quota_exceeded++;
      if (!rec.quotaLogged) {
        rec.quotaLogged = true;
        logger.info(
          { clientid: rec.clientid, listener: rec.meta.listener, quota: lim.messages_quota },
          'PUBLISH refused: messages_quota exceeded (logged once per connection)',
        );
      }
      if (rec.proto_ver !== 5) rec.reason ??= 'quota_exceeded';
      // `code` keeps the clientError listener from calling it a protocol error.
      return cb(
        Object.assign(new Error('quota exceeded'), { reasonCode: 0x97, code: 'quota_exceeded' }),
      );
    }
    const maxLevels = lim.max_topic_levels;
    if (maxLevels < aedesMaxLevels && topicLevels(packet.topic) > maxLevels) {
      metrics.refused_topic_levels++;
      logger.info(
        { clientid: rec.clientid, listener: rec.meta.listener, max_topic_levels: maxLevels },
        'connection closed: PUBLISH topic over max_topic_levels',
      );
      return cb(new Error('topic has too many levels'));
    }
    if (builtinAuthzOnly && !rec.is_superuser) {
      // Per-publish fast path for the default chain: same outcome as authorize(), no closure.
      const o = authzChain.length === 1 && packet.topic.startsWith(SYS) ? SYS_DENY : NO_MATCH;
      if (wants['client.check_authz_complete']) authzDone(rec, 'publish', packet.topic, o);
      return cb(o.allow ? null : new Error('not authorized'));
    }
    authorize(rec, 'publish', packet.topic, packet.qos, packet.retain === true, (o, failed) =>
      failed
        ? closeOnTransientError(client!, rec, cb)
        : cb(o.allow ? null : new Error('not authorized')),
    );
  }

  function authorizeSubscribe(
    client: Client,
    sub: Subscription,
    cb: (err: Error | null, sub?: Subscription | null) => void,
  ): void {
    const rec = recordOf(client);
    if (!rec) return cb(null, sub);
    // Denied or over a limit → SUBACK 0x80 for that filter [MQTT-3.9.3-2]; the connection stays.
    const lim = rec.limits ?? limits.of(rec.meta.listener);
    // A shared subscription (shared-subscriptions.ts): a malformed one is refused, and the
    // limits apply to its real filter, as in EMQX.
    const share = parseShare(sub.topic);
    if (share === 'invalid') {
      logger.info(
        { clientid: rec.clientid, filter: sub.topic },
        'SUBSCRIBE refused: malformed shared subscription filter',
      );
      return cb(null, null);
    }
    if (share && (sub as { nl?: boolean }).nl) {
      // MQTT 5 [MQTT-3.8.3-4]: No Local on a shared subscription is a protocol error; the
      // error makes Aedes close the connection (no SUBACK) [MQTT-4.13.1-1].
      logger.info(
        { clientid: rec.clientid, filter: sub.topic },
        'connection closed: No Local on a shared subscription [MQTT-3.8.3-4]',
      );
      rec.reason ??= 'protocol_error';
      return cb(new Error('No Local on a shared subscription'));
    }
    const filter = share ? share.filter : sub.topic;
    if ((sub as { subscriptionIdentifier?: number }).subscriptionIdentifier !== undefined)
      rec.subIds = true;
    // [MQTT-4.7.1-3] `+` occupies a whole level; Aedes checks only `#` (a misplaced `#` closes
    // the connection there), so `a+/b` would otherwise be granted and matched literally.
    if (misplacedPlus(filter)) {
      logger.info(
        { clientid: rec.clientid, filter: sub.topic },
        'SUBSCRIBE refused: + must occupy a whole topic level',
      );
      return cb(null, null);
    }
    if (topicLevels(filter) > lim.max_topic_levels) {
      metrics.refused_topic_levels++;
      logger.info(
        {
          clientid: rec.clientid,
          listener: rec.meta.listener,
          max_topic_levels: lim.max_topic_levels,
        },
        'SUBSCRIBE filter over max_topic_levels refused',
      );
      return cb(null, null);
    }
    authorize(rec, 'subscribe', sub.topic, sub.qos, false, (o, failed) => {
      if (failed) return closeOnTransientError(client, rec, (err) => cb(err));
      if (!o.allow) return cb(null, null);
      const max = lim.max_subscriptions;
      // Counted from what Aedes holds (issue #19, decision 0025): a filter the client already
      // holds is not counted again; a new one counts against the filters held
      // (`_subCount`, our subscribe.js / unsubscribe.js hunks) plus those granted and not yet
      // added (`_subReserved`, released by addSubs).
      if (max > 0) {
        const c = client as SubCounting;
        if (c.subscriptions[sub.topic] === undefined) {
          if ((c._subCount ?? 0) + (c._subReserved ?? 0) >= max) {
            metrics.refused_max_subscriptions++;
            // Logged once per connection: a client asking for 100k filters is one event.
            if (!rec.refusedSubsLogged) {
              rec.refusedSubsLogged = true;
              logger.info(
                { clientid: rec.clientid, listener: rec.meta.listener, max_subscriptions: max },
                'SUBSCRIBE refused: client holds max_subscriptions (logged once per connection)',
              );
            }
            return cb(null, null);
          }
          c._subReserved = (c._subReserved ?? 0) + 1;
          (sub as unknown as Record<symbol, boolean>)[SUBSCRIPTION_RESERVED] = true;
        }
      }
      if (share) ctx.shared?.join(client, sub.topic, share);
      // `$`: `$SYS/…`, or a shared group whose filter may be one (decision 0025).
      if (sub.topic.charCodeAt(0) === 36) ctx.sysListened = true;
      cb(null, sub);
    });
  }

  /** Called by Aedes for every copy it is about to forward to a subscribed client. */
  function authorizeForward(client: Client, packet: AedesPublishPacket): AedesPublishPacket | null {
    const c = client as ClientInternals;
    // A PUBLISH to a `$share/…` / `$queue/…` topic name would reach the members' filters as a
    // literal topic in Aedes; shared subscriptions receive by their real filter only.
    if (packet.topic.charCodeAt(0) === 36 && isShareTopic(packet.topic)) return null;
    const ours = packet.brokerId === ctx.aedes?.id && routing.hit(packet.brokerCounter, 1);
    metrics.messages_out++;
    // [MQTT-3.8.4-6] min(published, granted) for every filter kind. Aedes downgrades only for an
    // exact-topic subscription, so the copy is downgraded here: live copies (a fresh Packet per
    // subscription), retained copies and queued ones (a fresh QoSPacket each) are ours to change,
    // and Aedes builds the outgoing packet (and its stored in-flight copy) from this one.
    // deliver0 sets QoS 0 itself.
    // A live copy of a client without shared subscriptions: its grants and identifiers are on
    // the listeners the route matched (match-context.ts), O(matched) instead of O(filters held).
    const rec = recordOf(client);
    // Looked up only for a QoS 1/2 message or a client using identifiers (not per QoS 0 copy).
    const matched =
      (packet.qos === 0 && !rec?.subIds) || ctx.sharing || ctx.shared?.holds(client)
        ? undefined
        : ctx.matches?.matchesOf(packet);
    let qos: number = packet.qos;
    if (ctx.deliveringQos0) {
      if (
        qos > 0 &&
        matched &&
        betterGrantFollows(
          matched,
          client,
          packet.topic,
          (packet as { clientId?: string }).clientId,
        )
      ) {
        // Not this QoS 0 copy but the better subscription's, later in this route: let it past
        // Aedes' dedupe, which has just recorded this message for the client.
        if (packet.brokerId) c.duplicates[packet.brokerId] = packet.brokerCounter - 1;
        metrics.messages_out--;
        return null;
      }
      qos = 0;
    } else if (qos > 0) {
      const known = (packet as { grantedQos?: number }).grantedQos;
      qos =
        known !== undefined && known >= qos
          ? qos
          : matched
            ? deliveryQosFromMatches(matched, client, packet.topic, qos)
            : deliveryQos(c.subscriptions, packet.topic, qos, known);
      if (qos !== packet.qos) packet.qos = qos as 0 | 1 | 2;
    }
    let out = packet;
    // [MQTT-3.3.4-4] One copy for overlapping subscriptions carries the identifiers of all of
    // them; Aedes puts on only the one of the subscription whose delivery ran (maybe none).
    // The copy is this subscription's own Packet: replace its properties, never mutate them.
    if (rec?.subIds && !ctx.sharing) {
      const ids = matched
        ? subscriptionIdsFromMatches(matched, client, packet.topic)
        : subscriptionIds(c.subscriptions as Record<string, { si?: number }>, packet.topic);
      const props = packet.properties;
      if (ids !== undefined || props?.subscriptionIdentifier !== undefined)
        packet.properties = { ...props, subscriptionIdentifier: ids };
    }
    // MQTT 5: expiry, the client's Maximum Packet Size, outbound topic aliases (mqtt5-forward.ts).
    if (
      rec &&
      (rec.proto_ver === 5 || (packet as { messageExpiry?: number }).messageExpiry !== undefined)
    ) {
      const f = v5.forward(client, rec, packet, qos);
      if (!f) {
        metrics.messages_out--;
        return null;
      }
      out = f;
    }
    if (qos > 0 && rec && (ctx.sharing || rec.windowed)) {
      // A shared QoS 1/2 copy is remembered by packet id until acked, for redelivery; a copy
      // to a client with a max_inflight window takes a slot until acked.
      out = withPacketId(c, out);
      if (ctx.sharing) ctx.shared?.forwarded(rec, out.messageId!);
      if (rec.windowed) ctx.windows?.sent(rec, out.messageId!);
    }
    if (!wants['message.delivered'] && !wants['message.acked']) return out;
    if (!rec) return out;
    const src = ours ? routing.columns(packet.brokerCounter) : undefined;
    const id = src ? src['id'] : idOf(packet.brokerCounter);
    const cols = deliveredColumns(rec, packet, qos, src, id, now(), node);
    if (wants['message.delivered']) emit('message.delivered', topicOf('message.delivered'), cols);
    if (qos === 0 || !wants['message.acked']) return out;
    // Remember the copy by its packet identifier so PUBACK/PUBCOMP can raise message.acked.
    out = withPacketId(c, out);
    (rec.inflight ??= new Map()).set(out.messageId!, cols);
    return out;
  }

  return { preConnect, authenticate, authorizePublish, authorizeSubscribe, authorizeForward };
}
