/**
 * Listener sockets: MQTT over TCP, WebSocket, TLS and secure WebSocket. Each accepted
 * connection is handed to `onConnection(stream, meta, req)` — the broker passes it to Aedes.
 *
 * TLS client verification follows EMQX's `ssl_options` (spec tls-auth.md §1):
 *  - verify_none: no client certificate is requested;
 *  - verify_peer: a certificate is requested; one that does not verify is rejected; a client
 *    that sends none is accepted unless fail_if_no_peer_cert is true.
 * The check runs on 'secureConnection', before any byte reaches Aedes (tls-auth.md §4.7).
 * Revocation (CRL, OCSP stapling, client OCSP) is attached by tls-security.ts; with CRL or
 * client OCSP on, Node's own rejection is off so that `checkPeer` can log the reason
 * (`CERT_REVOKED`, `UNABLE_TO_GET_CRL`, …) of every rejected client (tls-auth.md §4.7).
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { WebSocketServer, createWebSocketStream, type WebSocket } from 'ws';
import type { Logger } from '../core/index.js';
import { DEFAULT_PORTS, type ListenerConfig, type ListenerType } from './config.js';
import { BrokerErrors } from './errors.js';
import { attachTlsSecurity, needsOwnChecks, type TlsSecurity } from './tls-security.js';
import type { TlsListenerSecurityMetrics } from './types.js';

/** Where a listener actually bound (port resolved when 0 was asked for). */
export interface BoundAddress {
  name: string;
  type: ListenerType;
  host: string;
  port: number;
}

/** Facts about one accepted connection, copied into event columns. */
export interface ConnMeta {
  listener: string;
  transport: ListenerType;
  peerhost: string | undefined;
  peerport: number | undefined;
  sockhost: string | undefined;
  sockport: number | undefined;
  /** Subject CN of a verified client certificate (tls/wss with verify_peer). */
  peerCertCN?: string;
}

export interface RunningListener {
  readonly address: BoundAddress;
  /** Stop accepting, destroy every open socket, resolve when the server has closed. */
  close(): Promise<void>;
  /** Revocation counters of a tls/wss listener with `ssl_options`. */
  security(): TlsListenerSecurityMetrics | undefined;
}

export type ConnectionHandler = (
  stream: Duplex,
  meta: ConnMeta,
  req?: http.IncomingMessage,
) => void;

/** `::ffff:127.0.0.1` → `127.0.0.1` (EMQX reports plain IPv4 text). */
export function normalizeIp(ip: string | undefined): string | undefined {
  return ip !== undefined && ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

function metaOf(listener: string, transport: ListenerType, s: net.Socket): ConnMeta {
  return {
    listener,
    transport,
    peerhost: normalizeIp(s.remoteAddress),
    peerport: s.remotePort,
    sockhost: normalizeIp(s.localAddress),
    sockport: s.localPort,
  };
}

function pem(name: string, file: string | undefined, text: string | undefined): string | undefined {
  if (text !== undefined) return text;
  if (file === undefined) return undefined;
  try {
    return readFileSync(file, 'utf8');
  } catch (cause) {
    throw BrokerErrors.broker_tls_material_invalid(
      `listener ${name}: cannot read ${file}: ${(cause as Error).message}`,
      { cause, context: { listener: name, file } },
    );
  }
}

/** Build Node TLS server options from `ssl_options`; validates the material eagerly. */
export function tlsServerOptions(name: string, cfg: ListenerConfig): tls.TlsOptions {
  const o = cfg.ssl_options;
  const cert = pem(name, o?.certfile, o?.cert);
  const key = pem(name, o?.keyfile, o?.key);
  const ca = pem(name, o?.cacertfile, o?.ca);
  if (!cert || !key)
    throw BrokerErrors.broker_tls_material_invalid(
      `listener ${name}: a ${cfg.type} listener needs ssl_options.certfile/keyfile (or cert/key)`,
      { context: { listener: name } },
    );
  const verifyPeer = o?.verify === 'verify_peer';
  if (verifyPeer && !ca)
    throw BrokerErrors.broker_tls_material_invalid(
      `listener ${name}: verify_peer needs ssl_options.cacertfile (or ca) to verify client certificates`,
      { context: { listener: name } },
    );
  const options: tls.TlsOptions = {
    cert,
    key,
    ...(ca ? { ca } : {}),
    ...(o?.passphrase ? { passphrase: o.passphrase } : {}),
    requestCert: verifyPeer,
    rejectUnauthorized: verifyPeer && o?.fail_if_no_peer_cert === true && !needsOwnChecks(cfg),
  };
  try {
    tls.createSecureContext(options);
  } catch (cause) {
    throw BrokerErrors.broker_tls_material_invalid(
      `listener ${name}: invalid TLS material: ${(cause as Error).message}`,
      { cause, context: { listener: name } },
    );
  }
  return options;
}

/**
 * verify_peer without fail_if_no_peer_cert: Node cannot express "optional but verified", so
 * the server runs with rejectUnauthorized=false and this check drops a socket that presented
 * a certificate which failed verification. Returns false when the socket was destroyed.
 */
function checkPeer(
  s: tls.TLSSocket,
  cfg: ListenerConfig,
  logger: Logger,
  sec?: TlsSecurity,
): boolean {
  if (cfg.ssl_options?.verify !== 'verify_peer' || s.authorized) return true;
  const cert = s.getPeerCertificate();
  const presented = cert !== null && Object.keys(cert).length > 0;
  if (!presented && cfg.ssl_options.fail_if_no_peer_cert !== true) return true;
  const reason = String(s.authorizationError ?? 'no certificate');
  const subject = presented ? s.getPeerCertificate()?.subject?.CN : undefined;
  logger.info(
    { listener: cfg.type, peer: normalizeIp(s.remoteAddress), subject, reason },
    'TLS client certificate rejected',
  );
  sec?.rejected(s, reason);
  s.destroy();
  return false;
}

function peerCN(s: tls.TLSSocket): string | undefined {
  if (!s.authorized) return undefined;
  const cn = s.getPeerCertificate()?.subject?.CN;
  return Array.isArray(cn) ? cn[0] : cn;
}

/**
 * [MQTT-6.0.0-1] MQTT packets travel in binary WebSocket frames only; any other data frame
 * closes the connection. ws' stream would hand a text frame's bytes on as MQTT data (a valid
 * packet in a text frame would be acted on), so the stream's 'message' handler is put behind a
 * check: binary frames go through unchanged (a frame may hold several packets or part of one,
 * the parser does not care [MQTT-6.0.0-2]); the first text frame is dropped unread, the socket
 * is closed with 1003 (unsupported data) and the stream destroyed with an error (Aedes: the
 * client.disconnected reason is protocol_error).
 */
function binaryFramesOnly(
  ws: WebSocket,
  stream: Duplex,
  where: { listener: string; peer: string | undefined },
  logger: Logger,
  onRefused: () => void,
): void {
  const forward = ws.listeners('message') as ((data: Buffer, isBinary: boolean) => void)[];
  ws.removeAllListeners('message');
  let refused = false;
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (refused) return;
    if (isBinary) {
      for (const f of forward) f.call(ws, data, isBinary);
      return;
    }
    refused = true;
    onRefused();
    logger.info(
      { ...where, code: 'broker_ws_text_frame', bytes: data.length },
      'connection closed: WebSocket text frame, MQTT needs binary frames [MQTT-6.0.0-1]',
    );
    ws.close(1003, 'MQTT needs binary frames');
    stream.destroy(new Error('WebSocket text frame [MQTT-6.0.0-1]'));
  });
}

/** `onTextFrame` counts ws / wss connections closed for a text frame. */
export async function startListener(
  name: string,
  cfg: ListenerConfig,
  onConnection: ConnectionHandler,
  logger: Logger,
  onTextFrame: () => void = () => {},
): Promise<RunningListener> {
  const sockets = new Set<net.Socket>();
  const track = (s: net.Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  };
  let server: net.Server;
  let wss: WebSocketServer | undefined;
  let sec: TlsSecurity | undefined;
  const tlsOptions = cfg.type === 'tls' || cfg.type === 'wss' ? tlsServerOptions(name, cfg) : {};
  /** Own post-handshake checks (tls-security.ts) before anything reaches Aedes. */
  const admitted = new WeakMap<tls.TLSSocket, Promise<boolean> | true>();

  switch (cfg.type) {
    case 'tcp':
      server = net.createServer((s) => {
        s.setNoDelay(true);
        onConnection(s, metaOf(name, 'tcp', s));
      });
      break;
    case 'tls':
      server = tls.createServer(tlsOptions, (s) => {
        if (!checkPeer(s, cfg, logger, sec)) return;
        s.setNoDelay(true);
        const meta = metaOf(name, 'tls', s);
        const cn = peerCN(s);
        if (cn !== undefined) meta.peerCertCN = cn;
        const ok = sec ? sec.admit(s) : true;
        if (ok === true) onConnection(s, meta);
        else void ok.then((pass) => pass && onConnection(s, meta));
      });
      break;
    case 'ws':
    case 'wss': {
      const web = cfg.type === 'ws' ? http.createServer() : https.createServer(tlsOptions);
      if (cfg.type === 'wss')
        web.on('secureConnection', (s: tls.TLSSocket) => {
          if (checkPeer(s, cfg, logger, sec) && sec) admitted.set(s, sec.admit(s));
        });
      // Plain HTTP requests that are not upgrades get a short 426 answer.
      web.on('request', (_req, res) => {
        res.writeHead(426, { 'content-type': 'text/plain' });
        res.end('MQTT over WebSocket only\n');
      });
      // [MQTT-6.0.0-4] the subprotocol selected is `mqtt` whenever the client offers it (ws would
      // take the first offered, e.g. `mqttv3.1`); a client offering only others gets its first.
      const wsServer = new WebSocketServer({
        server: web,
        path: cfg.path,
        handleProtocols: (offered: Set<string>) =>
          offered.has('mqtt') ? 'mqtt' : (offered.values().next().value ?? false),
      });
      wsServer.on('connection', (ws, req) => {
        const s = req.socket;
        const stream = createWebSocketStream(ws);
        const meta = metaOf(name, cfg.type, s);
        binaryFramesOnly(ws, stream, { listener: name, peer: meta.peerhost }, logger, onTextFrame);
        if (s instanceof tls.TLSSocket) {
          const cn = peerCN(s);
          if (cn !== undefined) meta.peerCertCN = cn;
        }
        const ok = s instanceof tls.TLSSocket ? (admitted.get(s) ?? true) : true;
        if (ok === true) onConnection(stream, meta, req);
        else void ok.then((pass) => (pass ? onConnection(stream, meta, req) : stream.destroy()));
      });
      wsServer.on('error', (err) =>
        logger.warn(
          { code: 'broker_listener_error', err, listener: name },
          'websocket server error',
        ),
      );
      wss = wsServer;
      server = web;
      break;
    }
  }

  server.on('connection', track);
  if ((cfg.type === 'tls' || cfg.type === 'wss') && cfg.ssl_options)
    sec = await attachTlsSecurity(name, cfg.ssl_options, server as tls.Server, tlsOptions, logger);
  // Handshake failures (incl. rejected client certificates under fail_if_no_peer_cert) never
  // reach our handlers; log them so an operator can tell why a device cannot connect.
  if (cfg.type === 'tls' || cfg.type === 'wss')
    server.on('tlsClientError', (err: Error, s: tls.TLSSocket) =>
      logger.info(
        { listener: name, peer: normalizeIp(s.remoteAddress), reason: err.message },
        'TLS handshake failed',
      ),
    );
  const port = cfg.port ?? DEFAULT_PORTS[cfg.type];
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      sec?.close();
      reject(
        BrokerErrors.broker_listen_failed(
          `listener ${name} (${cfg.type}) cannot bind ${cfg.bind}:${port}: ${
            err.code === 'EADDRINUSE' ? 'address already in use' : err.message
          }`,
          { cause: err, context: { listener: name, host: cfg.bind, port, code: err.code } },
        ),
      );
    };
    server.once('error', onError);
    server.listen(port, cfg.bind, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (err) =>
    logger.error({ code: 'broker_listener_error', err, listener: name }, 'listener error'),
  );
  const addr = server.address() as net.AddressInfo;
  const address: BoundAddress = { name, type: cfg.type, host: addr.address, port: addr.port };
  logger.info({ ...address }, 'listener started');

  let closing: Promise<void> | undefined;
  return {
    address,
    security: () => sec?.metrics(),
    close() {
      closing ??= new Promise<void>((resolve) => {
        sec?.close();
        wss?.close();
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
        sockets.clear();
      });
      return closing;
    },
  };
}
