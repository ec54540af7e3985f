/**
 * `createOcppGateway`: the OCPP 1.6J WebSocket gateway (README.md; docs/ocpp.md).
 *
 *   http(s) server ── upgrade ── path/identity → subprotocol → TLS cert → Basic auth
 *        → takeover of an older connection with the same id → subscribe the downstream topic
 *        → ws handshake → OcppConnection (frames, downstream discipline, keep-alive)
 *
 * The gateway talks to the rest of Sluice only through the ports of src/core/ports.ts it is
 * given (publish, subscribe, authenticate) and is itself an `EventProducer`
 * (client.connected / client.disconnected with `protocol: 'ocpp'`).
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, STATUS_CODES } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { SecureContextOptions, Server as TlsServer, TLSSocket } from 'node:tls';

import { WebSocketServer } from 'ws';

import { EVENT_TOPICS, wantsRevocation } from '../core/index.js';
import type {
  BrokerEvent,
  ClientAuthenticator,
  EventName,
  EventProducer,
  Logger,
  MessagePublisher,
  MessageSubscriber,
  TlsRevocationHandle,
  TlsRevocationPort,
  TlsRevocationStatus,
  ValueMap,
} from '../core/index.js';
import { resolveOcppConfig, type OcppConfig, type OcppListenerConfig } from './config.js';
import { OcppConnection, type ConnectionStats, type ConnectionTopics } from './connection.js';
import { compileTopic } from './envelope.js';
import { OcppErrors } from './errors.js';
import { basicCredentials, chooseProtocol, identityOf, offeredProtocols } from './handshake.js';
import { createMetrics, type GatewayMetrics } from './metrics.js';
import { createPayloadValidator, type PayloadValidator } from './validation.js';

export interface OcppGatewayDeps {
  readonly logger: Logger;
  /** Wall clock in ms for event columns. */
  readonly now?: () => number;
  /** The `node` column. */
  readonly node?: string;
  /** Publish into the message stream (the broker's publish). */
  readonly publish: MessagePublisher;
  /** In-process subscribe (the broker's subscribe), for the downstream topics. */
  readonly subscribe: MessageSubscriber;
  /** The platform's authentication; absent = everyone is let in. */
  readonly authenticate?: ClientAuthenticator;
  /** CRL checks and OCSP (stapling, client checks) for wss listeners that configure them. */
  readonly tlsRevocation?: TlsRevocationPort;
}

export interface OcppBoundAddress {
  readonly name: string;
  readonly type: 'ws' | 'wss';
  readonly host: string;
  readonly port: number;
  readonly path: string;
}

export interface OcppGateway {
  /** Bind every enabled listener; resolves with the bound addresses (port 0 → the real port). */
  start(): Promise<OcppBoundAddress[]>;
  /** Close every connection (reason `shutdown`) and every listener. */
  stop(): Promise<void>;
  /** client.connected / client.disconnected of charge points, for the rule engine. */
  readonly producer: EventProducer;
  /** Per-connection stats of the connected charge points. */
  clients(): ConnectionStats[];
  /** Close the connection of `clientid` (reason `kicked`); false when it is not connected. */
  kick(clientid: string): boolean;
  metrics(): GatewayMetrics & { tls?: readonly TlsRevocationStatus[] };
  readonly addresses: readonly OcppBoundAddress[];
}

interface Listener {
  readonly push: (e: BrokerEvent) => void;
  readonly names: ReadonlySet<EventName> | null;
}

const readTls = (file?: string, text?: string): string | undefined =>
  text ?? (file ? readFileSync(file, 'utf8') : undefined);

export function createOcppGateway(deps: OcppGatewayDeps, input: unknown): OcppGateway {
  const config: OcppConfig = resolveOcppConfig(input);
  const logger = deps.logger;
  const now = deps.now ?? Date.now;
  const node = deps.node ?? 'sluice@localhost';
  const metrics = createMetrics();
  const conns = new Map<string, OcppConnection>();
  const perListener = new Map<string, number>();
  const servers: Server[] = [];
  /** Revocation checks per wss listener name (tlsRevocation port). */
  const revocations = new Map<string, TlsRevocationHandle>();
  const addresses: OcppBoundAddress[] = [];
  const eventListeners = new Set<Listener>();
  let validator: PayloadValidator | undefined;
  const getValidator = (): PayloadValidator =>
    (validator ??= createPayloadValidator(config.validation_error_codes, {
      acceptDateTimeWithoutZone: config.accept_date_time_without_zone,
      ...(config.json_schema_dir ? { schemaDir: config.json_schema_dir } : {}),
      schemaIdPrefix: config.json_schema_id_prefix,
    }));
  let stopping = false;

  const topics: ConnectionTopics = {
    call: compileTopic(config.upstream.topic),
    overrides: new Map(
      Object.entries(config.upstream.topic_override_mapping).map(([a, t]) => [a, compileTopic(t)]),
    ),
    reply: compileTopic(config.upstream.reply_topic),
    error: compileTopic(config.upstream.error_topic),
  };
  const dnTopic = compileTopic(config.dnstream.topic);

  // ---- events --------------------------------------------------------------------------------

  function wants(name: EventName): boolean {
    for (const l of eventListeners) if (!l.names || l.names.has(name)) return true;
    return false;
  }
  function emit(name: Exclude<EventName, 'message.publish'>, columns: ValueMap): void {
    const e: BrokerEvent = Object.freeze({
      name,
      matchTopic: EVENT_TOPICS[name][0],
      columns: Object.freeze(columns),
    });
    for (const l of eventListeners) {
      if (l.names && !l.names.has(name)) continue;
      try {
        l.push(e);
      } catch (err) {
        logger.error(
          { code: 'ocpp_event_listener_failed', err, event: name },
          'event listener threw',
        );
      }
    }
  }
  const producer: EventProducer = {
    name: 'ocpp',
    listen(push, names) {
      const l: Listener = { push, names: names ? new Set(names) : null };
      eventListeners.add(l);
      return () => eventListeners.delete(l);
    },
  };

  function base(c: {
    cid: string;
    username: string | undefined;
    peername: string;
    sockname: string;
    mountpoint: string;
  }): ValueMap {
    return {
      clientid: c.cid,
      username: c.username,
      peername: c.peername,
      sockname: c.sockname,
      proto_name: 'OCPP',
      proto_ver: '1.6',
      protocol: 'ocpp',
      mountpoint: c.mountpoint,
    };
  }

  // ---- upgrade -------------------------------------------------------------------------------

  function refuse(
    socket: Socket,
    status: number,
    reason: string,
    headers: Record<string, string> = {},
  ): void {
    metrics.refused[reason] = (metrics.refused[reason] ?? 0) + 1;
    logger.debug({ status, reason, peer: socket.remoteAddress }, 'upgrade refused');
    if (socket.writable) {
      const extra = Object.entries(headers)
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('');
      socket.write(
        `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nConnection: close\r\n` +
          `Content-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(reason)}\r\n${extra}\r\n${reason}`,
      );
    }
    socket.destroy();
  }

  function peerOf(s: Socket): string {
    return `${s.remoteAddress ?? ''}:${s.remotePort ?? 0}`;
  }

  async function upgrade(
    name: string,
    l: OcppListenerConfig,
    wss: WebSocketServer,
    req: IncomingMessage,
    socket: Socket,
    head: Buffer,
  ): Promise<void> {
    if (stopping) return refuse(socket, 503, 'server_shutting_down');
    const lid = `ocpp:${l.type}:${name}`;
    if ((perListener.get(name) ?? 0) >= l.max_connections)
      return refuse(socket, 503, 'max_connections');
    const ident = identityOf(req.url, l.websocket.path);
    if (!ident.ok) return refuse(socket, ident.status, ident.reason);
    const cid = ident.cid;

    // Subprotocol (RFC 6455 §4.2.2): never answer one the client did not offer.
    const offered = offeredProtocols(req.headers['sec-websocket-protocol']);
    let subprotocol = '';
    if (offered === undefined) {
      if (l.websocket.fail_if_no_subprotocol) return refuse(socket, 400, 'no_subprotocol');
      delete req.headers['sec-websocket-protocol'];
    } else {
      const chosen = chooseProtocol(offered, l.websocket.supported_subprotocols);
      if (chosen === undefined) return refuse(socket, 400, 'no_supported_subprotocol');
      subprotocol = chosen;
      // ws echoes the first entry of the header: leave only the chosen one.
      req.headers['sec-websocket-protocol'] = chosen;
    }

    // Security profile 3: a client certificate, verified by TLS, named to the authenticator.
    let peerCertCN: string | undefined;
    const tls = socket as TLSSocket;
    if (typeof tls.getPeerCertificate === 'function') {
      const revocation = revocations.get(name);
      const cert = tls.getPeerCertificate();
      if (cert && Object.keys(cert).length > 0) {
        if (!tls.authorized) {
          revocation?.rejected(tls, String(tls.authorizationError ?? 'not trusted'));
          return refuse(socket, 403, 'certificate_not_trusted');
        }
        const cn = cert.subject?.CN;
        peerCertCN = Array.isArray(cn) ? cn[0] : cn;
      } else if (l.ssl_options?.verify === 'verify_peer' && l.ssl_options.fail_if_no_peer_cert) {
        revocation?.rejected(tls, 'no certificate');
        return refuse(socket, 403, 'no_certificate');
      }
      // CRL bookkeeping and the client certificate's OCSP check (destroys a refused socket).
      if (revocation) {
        const admitted = revocation.admit(tls);
        if (admitted !== true && !(await admitted)) {
          metrics.refused['certificate_revoked'] =
            (metrics.refused['certificate_revoked'] ?? 0) + 1;
          return;
        }
      }
    }

    const { username, password } = basicCredentials(req.headers['authorization'], cid);
    const unauthorized = { 'WWW-Authenticate': 'Basic realm="sluice-ocpp"' };
    if (config.username_must_equal_cid && username !== cid)
      return refuse(socket, 401, 'username_not_cid', unauthorized);
    if (l.enable_authn && deps.authenticate) {
      let r;
      try {
        r = await deps.authenticate({
          clientid: cid,
          username,
          password,
          peerhost: socket.remoteAddress,
          listener: lid,
          peerCertCN,
        });
      } catch (err) {
        logger.error(
          { code: 'ocpp_auth_backend_failed', err, clientid: cid },
          'authentication backend failed',
        );
        return refuse(socket, 503, 'server_unavailable');
      }
      if (!r.ok) {
        if (r.reason === 'banned') return refuse(socket, 403, 'banned');
        if (r.reason === 'server_unavailable') return refuse(socket, 503, 'server_unavailable');
        return refuse(socket, 401, r.reason, unauthorized);
      }
    }
    if (socket.destroyed || stopping) return;

    // Newest connection wins (EMQX clean-start takeover).
    const old = conns.get(cid);
    if (old) {
      metrics.takeovers++;
      old.close('discarded');
    }

    const mountpoint = l.mountpoint ?? config.mountpoint;
    let conn: OcppConnection | undefined;
    const early: Buffer[] = [];
    let unsubscribe: () => Promise<void>;
    try {
      unsubscribe = await deps.subscribe(mountpoint + dnTopic({ cid }), (m) => {
        if (conn) conn.deliver(m.payload);
        else early.push(m.payload);
      });
    } catch (err) {
      logger.error(
        { code: 'ocpp_subscribe_failed', err, clientid: cid },
        'cannot subscribe the downstream topic',
      );
      return refuse(socket, 503, 'server_unavailable');
    }
    if (socket.destroyed || stopping) {
      void unsubscribe();
      return;
    }
    // ws answers a broken handshake (bad key/version) itself and never calls back: release
    // the subscription when the socket goes away before a connection exists.
    socket.once('close', () => {
      if (!conn) void unsubscribe().catch(() => undefined);
    });
    wss.handleUpgrade(req, socket, head, (ws) => {
      const peername = peerOf(socket);
      const sockname = `${socket.localAddress ?? ''}:${socket.localPort ?? 0}`;
      const c = new OcppConnection({
        ws,
        cid,
        username,
        listener: lid,
        peername,
        subprotocol,
        mountpoint,
        config,
        topics,
        publish: deps.publish,
        validator: getValidator,
        metrics,
        logger,
        now,
      });
      conn = c;
      const prev = conns.get(cid);
      if (prev && prev !== c) prev.close('discarded');
      conns.set(cid, c);
      perListener.set(name, (perListener.get(name) ?? 0) + 1);
      metrics.connections++;
      metrics.connections_total++;
      const facts = { cid, username, peername, sockname, mountpoint };
      ws.on('error', (err) => logger.debug({ err, clientid: cid }, 'socket error'));
      ws.on('close', (code) => {
        c.dispose();
        void unsubscribe().catch(() => undefined);
        if (conns.get(cid) === c) conns.delete(cid);
        perListener.set(name, (perListener.get(name) ?? 1) - 1);
        metrics.connections--;
        if (!wants('client.disconnected')) return;
        const ts = now();
        emit('client.disconnected', {
          // A close handshake by the CP is `normal`; 1006 = the socket went away without one.
          reason: c.reason ?? (code === 1006 ? 'sock_closed' : 'normal'),
          ...base(facts),
          disconn_props: {},
          connected_at: c.connectedAt,
          disconnected_at: ts,
          client_attrs: {},
          event: 'client.disconnected',
          timestamp: ts,
          node,
        });
      });
      logger.debug({ clientid: cid, listener: lid, subprotocol }, 'charge point connected');
      if (wants('client.connected'))
        emit('client.connected', {
          ...base(facts),
          keepalive: Math.round(config.default_heartbeat_interval / 1000),
          clean_start: true,
          receive_maximum: 1,
          expiry_interval: 0,
          is_bridge: false,
          conn_props: {},
          connected_at: c.connectedAt,
          client_attrs: {},
          event: 'client.connected',
          timestamp: now(),
          node,
        });
      for (const p of early.splice(0)) c.deliver(p);
    });
  }

  // ---- listeners -----------------------------------------------------------------------------

  async function startRevocation(
    name: string,
    l: OcppListenerConfig,
    server: TlsServer,
    secureOptions: SecureContextOptions,
  ) {
    if (!deps.tlsRevocation)
      throw OcppErrors.ocpp_listen_failed(
        `OCPP listener ${name}: CRL/OCSP options need the platform's TLS revocation checks (run the gateway through the engine)`,
        { context: { listener: name } },
      );
    try {
      revocations.set(
        name,
        await deps.tlsRevocation(name, server, { secureOptions, ssl: l.ssl_options! }),
      );
    } catch (err) {
      throw OcppErrors.ocpp_listen_failed(`OCPP listener ${name}: ${(err as Error).message}`, {
        cause: err,
        context: { listener: name },
      });
    }
  }

  function createListener(
    name: string,
    l: OcppListenerConfig,
  ): { server: Server; secureOptions?: SecureContextOptions } {
    const plain = (_req: IncomingMessage, res: ServerResponse) => {
      res.writeHead(426, { 'Content-Type': 'text/plain', Upgrade: 'websocket' });
      res.end('OCPP-J: connect with a WebSocket upgrade to <path>/<ChargePointId>');
    };
    let server: Server;
    let secureOptions: SecureContextOptions | undefined;
    if (l.type === 'wss') {
      const t = l.ssl_options;
      const read = readTls;
      // With CRL or client OCSP checks the handshake must not fail on its own: the upgrade
      // refuses the client itself, so every rejection is counted with its reason.
      const ownChecks =
        t !== undefined && (t.enable_crl_check || (t.ocsp?.client_check ?? 'off') !== 'off');
      try {
        secureOptions = {
          cert: read(t?.certfile, t?.cert),
          key: read(t?.keyfile, t?.key),
          ca: read(t?.cacertfile, t?.ca),
          passphrase: t?.passphrase,
          minVersion: 'TLSv1.2',
        };
        server = createHttpsServer(
          {
            ...secureOptions,
            requestCert: t?.verify === 'verify_peer',
            rejectUnauthorized: t?.verify === 'verify_peer' && t.fail_if_no_peer_cert && !ownChecks,
          },
          plain,
        );
      } catch (err) {
        throw OcppErrors.ocpp_listen_failed(
          `OCPP listener ${name}: cannot load TLS material: ${(err as Error).message}`,
          { cause: err, context: { listener: name } },
        );
      }
    } else server = createHttpServer(plain);
    const wss = new WebSocketServer({
      noServer: true,
      maxPayload: l.websocket.max_frame_size,
      perMessageDeflate: false,
      clientTracking: false,
    });
    server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      socket.on('error', () => undefined);
      upgrade(name, l, wss, req, socket, head).catch((err: unknown) => {
        logger.error({ code: 'ocpp_upgrade_failed', err }, 'upgrade failed');
        refuse(socket, 500, 'internal_error');
      });
    });
    server.on('clientError', (_err, socket) => socket.destroy());
    return secureOptions ? { server, secureOptions } : { server };
  }

  return {
    producer,
    async start() {
      if (config.message_format_checking !== 'disable') getValidator();
      for (const [name, l] of Object.entries(config.listeners)) {
        if (!l.enabled) continue;
        const { server, secureOptions } = createListener(name, l);
        if (l.type === 'wss' && secureOptions && wantsRevocation(l.ssl_options))
          await startRevocation(name, l, server as unknown as TlsServer, secureOptions);
        await new Promise<void>((resolve, reject) => {
          server.once('error', (err: NodeJS.ErrnoException) =>
            reject(
              OcppErrors.ocpp_listen_failed(
                `OCPP listener ${name} cannot listen on ${l.bind}:${l.port}: ${err.code ?? err.message}`,
                { cause: err, context: { listener: name, host: l.bind, port: l.port } },
              ),
            ),
          );
          server.listen(l.port, l.bind, () => resolve());
        });
        servers.push(server);
        const a = server.address() as AddressInfo;
        addresses.push({ name, type: l.type, host: l.bind, port: a.port, path: l.websocket.path });
      }
      return [...addresses];
    },
    async stop() {
      stopping = true;
      const closing = [...conns.values()];
      for (const c of closing) c.close('shutdown', 1001);
      await Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.close(() => resolve());
              s.closeAllConnections();
            }),
        ),
      );
      // Wait (briefly) for the close handshakes so client.disconnected is emitted.
      const deadline = Date.now() + 2500;
      while (conns.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      servers.length = 0;
      for (const h of revocations.values()) h.close();
      revocations.clear();
    },
    clients: () => [...conns.values()].map((c) => c.stats()),
    kick(clientid) {
      const c = conns.get(clientid);
      if (!c) return false;
      c.close('kicked');
      return true;
    },
    metrics: () => ({
      ...metrics,
      refused: { ...metrics.refused },
      ...(revocations.size > 0
        ? { tls: [...revocations.values()].map((h) => ({ ...h.status() })) }
        : {}),
    }),
    get addresses() {
      return addresses;
    },
  };
}
