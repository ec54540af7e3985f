/**
 * Client-family events from Aedes' event emitter (spec rule-sql §7.2):
 *
 *   client.connack        'connackSent' (also counts refused CONNECTs)
 *   client.connected      'clientReady'
 *   client.disconnected   'clientDisconnect' (reason decided earlier when known: takenover,
 *                         discarded, keepalive_timeout, protocol_error, frame_too_large (limits.ts);
 *                         else from the close)
 *   client.ping           'ping' (PINGREQ)
 *
 * A disconnect also releases the client's back-pressure gate (publish-path.ts).
 */
import type { Client } from 'aedes';
import type { ValueMap } from '../../core/index.js';
import { recordOf, type ClientRecord } from '../client-records.js';
import { EMPTY_MAP, connackReason, propsToColumns, protoName } from '../columns.js';
import type {
  AedesInternals,
  BrokerContext,
  ClientInternals,
  ClientV5Internals,
} from '../context.js';
import { clientDisconnectReason, reasonName } from '../mqtt5.js';
import { topicOf } from '../event-feed.js';
import { releaseOnDisconnect } from '../publish-path.js';

/** The columns every client.connack / connected / disconnected event starts with. */
export function clientBase(rec: ClientRecord): ValueMap {
  return {
    clientid: rec.clientid,
    username: rec.username,
    peername: rec.peername,
    sockname: rec.sockname,
    proto_name: protoName(rec.proto_ver),
    proto_ver: rec.proto_ver,
  };
}

export function wireClientEvents(ctx: BrokerContext, a: AedesInternals): void {
  const { logger, now, node, feed, metrics } = ctx;
  const wants = feed.wants;
  const emit = feed.emit;

  a.on('connackSent', (packet, client) => {
    const rec = recordOf(client);
    // An MQTT 5 CONNACK carries a reason code (Aedes maps our 3.1.1 return codes: 4 → 0x86…).
    const v5 = (packet as { reasonCode?: number }).reasonCode;
    const code = v5 ?? packet.returnCode ?? 0;
    if (code !== 0) metrics.connections_refused++;
    if (!rec || !wants['client.connack']) return;
    emit('client.connack', topicOf('client.connack'), {
      reason_code: v5 === undefined ? connackReason(code) : reasonName(code),
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
    const rec = recordOf(client);
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
    const rec = recordOf(client);
    if (!rec) return;
    rec.inflight = undefined;
    rec.cancelExpiry?.();
    releaseOnDisconnect(ctx, rec);
    ctx.ackAfter.closed(rec);
    if (!wants['client.disconnected']) return;
    const ts = now();
    const sent = rec.disconnect;
    const serverCode = (client as ClientV5Internals).disconnectReasonCode;
    // Aedes reports a v5 protocol violation (bad topic alias, receive maximum) as a clientError
    // and then sends its DISCONNECT reason code: the code is the more precise reason.
    const decided = rec.reason === 'protocol_error' && serverCode ? undefined : rec.reason;
    const reason =
      decided ??
      (sent
        ? clientDisconnectReason(sent.code)
        : serverCode
          ? serverCode === 0x8b
            ? 'shutdown'
            : reasonName(serverCode)
          : undefined) ??
      ((client as ClientInternals)._disconnected
        ? 'normal'
        : ctx.state === 'stopping'
          ? 'shutdown'
          : rec.meta.transport === 'tls' || rec.meta.transport === 'wss'
            ? 'ssl_closed'
            : 'tcp_closed');
    emit('client.disconnected', topicOf('client.disconnected'), {
      reason,
      ...clientBase(rec),
      disconn_props: sent ? propsToColumns(sent.props) : EMPTY_MAP,
      disconnected_at: ts,
      connected_at: rec.connected_at,
      client_attrs: rec.client_attrs,
      event: 'client.disconnected',
      timestamp: ts,
      node,
    });
  });
  a.on('ping', (_packet, client) => {
    const rec = recordOf(client);
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
    const rec = recordOf(client);
    if (rec) rec.reason ??= 'keepalive_timeout';
    // MQTT 5: say why before Aedes closes the connection (DISCONNECT 0x8D keep alive timeout).
    const c = client as ClientV5Internals;
    if (c.version === 5 && c.connected) {
      c.disconnect({ reasonCode: 0x8d });
      // mqtt-packet corks the socket until next tick, and Aedes destroys it right after this
      // event: flush the DISCONNECT now.
      (client.conn as { uncork?: () => void }).uncork?.();
    }
  });
  a.on('clientError', (client, err) => {
    const rec = recordOf(client);
    // Socket errors (ECONNRESET, EPIPE, …) carry a code: the default *_closed reason fits.
    if (rec && !(err as NodeJS.ErrnoException).code && !client.closed)
      rec.reason ??= 'protocol_error';
    logger.debug({ clientid: client.id, err: err.message }, 'client error');
  });
  a.on('connectionError', (_client, err) =>
    logger.debug({ err: err.message }, 'connection error before CONNECT'),
  );
}

/**
 * Keep the client's DISCONNECT (MQTT 5 reason code, properties) and each SUBSCRIBE's properties
 * on its record, from the parser's 'packet' event (installed at accept, so packets read in the
 * same chunk as CONNECT are seen; 3.1.1 packets carry neither, and cost one call each).
 */
export function tapPackets(client: Client, rec: ClientRecord): void {
  const parser = (client as unknown as { _parser: NodeJS.EventEmitter })._parser;
  parser.on(
    'packet',
    (p: {
      cmd: string;
      reasonCode?: number;
      properties?: Record<string, unknown>;
      subscriptions?: { topic: string }[];
    }) => {
      if (p.cmd === 'disconnect') rec.disconnect = { code: p.reasonCode, props: p.properties };
      else if (p.cmd === 'subscribe' && p.properties && p.subscriptions) {
        const m = (rec.subProps ??= new Map());
        for (const s of p.subscriptions) m.set(s.topic, p.properties);
      }
    },
  );
}
