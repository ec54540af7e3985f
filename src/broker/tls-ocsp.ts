/**
 * OCSP for TLS listeners (spec tls-auth.md §1.1, §2.1, §4.1–4.5).
 *
 * `attachOcspStapling(server, opts, deps)` — reusable by any Node `tls.Server` (MQTT/TLS, WSS,
 * the OCPP wss gateway): fetches the response for our certificate from the responder (URL
 * from the certificate's AIA or configured), verifies it fully before caching (pki.ts
 * `verifyOcspResponse`: signature, responder authorisation, CertID, time window), refreshes in
 * the background at min(refresh_interval, half the time to nextUpdate), retries 5 s after a
 * failure, and answers `'OCSPRequest'` from memory only: the handshake never waits on the
 * network. A still-valid cached response is stapled while the responder is down; once it is
 * past its validity nothing is stapled (soft-fail: the handshake goes on). The cache is keyed
 * by the certificate's SHA-256 fingerprint. Every state change is logged and counted.
 *
 * `createOcspClientChecker(opts, deps)` — OCSP checks of *client* certificates on mTLS
 * listeners (beyond EMQX): `soft` rejects only a verified `revoked`; `hard` also rejects when
 * no verified `good` can be had (responder down, unknown, bad response). Verified answers are
 * cached per certificate until they expire.
 */
import { X509Certificate } from 'node:crypto';
import type tls from 'node:tls';
import type { Logger } from '../core/index.js';
import {
  buildOcspRequest,
  fetchOcsp,
  ocspUrl,
  verifyOcspResponse,
  type VerifiedOcsp,
} from './pki.js';

export interface OcspStaplingOptions {
  /** Our certificate (PEM; the first certificate of a chain is used). */
  cert: string;
  /** The PEM of the CA that issued it. */
  issuer: string;
  /** Defaults to the certificate's AIA OCSP URL. */
  responderUrl?: string;
  refreshInterval: number;
  httpTimeout: number;
}

export interface OcspStaplingDeps {
  logger: Logger;
  now?: () => number;
  fetch?: typeof fetch;
}

export type StapleState = 'empty' | 'good' | 'revoked' | 'unknown' | 'expired';

export interface OcspStapler {
  /** Resolves after the first fetch attempt (stapling may still be empty). */
  readonly ready: Promise<void>;
  readonly state: StapleState;
  /** Fetch now. Resolves true when a verified response was cached. */
  refresh(): Promise<boolean>;
  close(): void;
  readonly metrics: {
    ocsp_refresh_ok: number;
    ocsp_refresh_failed: number;
    ocsp_stapled: number;
    ocsp_not_stapled: number;
  };
}

const RETRY = 5000;

export function attachOcspStapling(
  server: tls.Server,
  opts: OcspStaplingOptions,
  deps: OcspStaplingDeps,
): OcspStapler {
  const now = deps.now ?? Date.now;
  const cert = new X509Certificate(opts.cert);
  const issuer = new X509Certificate(opts.issuer);
  if (!cert.checkIssued(issuer))
    throw new Error(`OCSP issuer ${issuer.subject} did not issue ${cert.subject}`);
  const url = opts.responderUrl ?? ocspUrl(cert);
  if (!url)
    throw new Error('no OCSP responder URL: set responder_url or give the certificate an AIA');
  const logger = deps.logger.child({ component: 'broker.tls.ocsp', responder: url });
  const metrics = {
    ocsp_refresh_ok: 0,
    ocsp_refresh_failed: 0,
    ocsp_stapled: 0,
    ocsp_not_stapled: 0,
  };
  const cache = new Map<string, { der: Buffer; info: VerifiedOcsp }>();
  let state: StapleState = 'empty';
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let request: Buffer | undefined;

  const setState = (s: StapleState, extra: Record<string, unknown> = {}) => {
    if (s === state) return;
    const was = state;
    state = s;
    (s === 'good' ? logger.info : logger.warn).call(
      logger,
      { from: was, to: s, ...extra },
      'OCSP staple state changed',
    );
  };

  function current(fp: string): Buffer | null {
    const e = cache.get(fp);
    if (!e) return null;
    if (e.info.validUntil < now()) {
      cache.delete(fp);
      setState('expired');
      return null;
    }
    return e.der;
  }

  const onRequest = (
    certificate: Buffer,
    _issuer: Buffer | null,
    cb: (err: Error | null, resp: Buffer | null) => void,
  ) => {
    // Never pass an error: callback(err) destroys the socket (§2.1).
    const der = current(new X509Certificate(certificate).fingerprint256);
    if (der) metrics.ocsp_stapled++;
    else metrics.ocsp_not_stapled++;
    cb(null, der);
  };
  server.on('OCSPRequest', onRequest);

  async function refresh(): Promise<boolean> {
    try {
      request ??= await buildOcspRequest(cert, issuer);
      const der = await fetchOcsp(url!, request, opts.httpTimeout, deps.fetch);
      const info = await verifyOcspResponse(der, cert, issuer, now());
      cache.set(cert.fingerprint256, { der, info });
      metrics.ocsp_refresh_ok++;
      setState(info.status, {
        next_update: info.nextUpdate ? new Date(info.nextUpdate).toISOString() : undefined,
      });
      return true;
    } catch (err) {
      metrics.ocsp_refresh_failed++;
      const kept = current(cert.fingerprint256) !== null;
      logger.warn(
        {
          code: 'broker_ocsp_refresh_failed',
          reason: (err as Error).message,
          keeping_cached: kept,
        },
        'OCSP refresh failed',
      );
      return false;
    }
  }

  function schedule(ok: boolean): void {
    if (closed) return;
    let next = ok ? opts.refreshInterval : RETRY;
    const e = cache.get(cert.fingerprint256);
    if (ok && e) next = Math.min(next, Math.max(1000, (e.info.validUntil - now()) / 2));
    // Also wake at expiry so the state change is logged even without handshakes.
    if (e && e.info.validUntil > now()) next = Math.min(next, e.info.validUntil - now() + 1);
    timer = setTimeout(() => {
      current(cert.fingerprint256);
      void refresh().then(schedule);
    }, next);
    timer.unref();
  }

  const ready = refresh().then(schedule);
  return {
    ready,
    get state() {
      current(cert.fingerprint256);
      return state;
    },
    metrics,
    refresh,
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      server.off('OCSPRequest', onRequest);
    },
  };
}

export interface OcspClientCheckOptions {
  mode: 'soft' | 'hard';
  /** PEM bundle of the CAs that issue client certificates. */
  ca: string;
  responderUrl?: string;
  httpTimeout: number;
}

/** Returns undefined to accept, or the reason to reject. */
export type OcspClientChecker = (s: tls.TLSSocket) => Promise<string | undefined>;

export function createOcspClientChecker(
  opts: OcspClientCheckOptions,
  deps: OcspStaplingDeps,
): OcspClientChecker {
  const now = deps.now ?? Date.now;
  const cas = (
    opts.ca.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []
  ).map((p) => new X509Certificate(p));
  const cache = new Map<string, VerifiedOcsp>();
  const fail = (reason: string) => (opts.mode === 'hard' ? reason : undefined);
  return async (s) => {
    const peer = s.getPeerX509Certificate();
    if (!peer) return undefined; // no certificate: fail_if_no_peer_cert decides
    const fp = peer.fingerprint256;
    let info = cache.get(fp);
    if (info && info.validUntil < now()) {
      cache.delete(fp);
      info = undefined;
    }
    if (!info) {
      const issuer = cas.find((ca) => peer.checkIssued(ca) && peer.verify(ca.publicKey));
      if (!issuer) return fail('OCSP: issuer of the client certificate is not a configured CA');
      const url = opts.responderUrl ?? ocspUrl(peer);
      if (!url) return fail('OCSP: client certificate has no responder URL');
      try {
        const der = await fetchOcsp(
          url,
          await buildOcspRequest(peer, issuer),
          opts.httpTimeout,
          deps.fetch,
        );
        info = await verifyOcspResponse(der, peer, issuer, now());
        cache.set(fp, info);
        if (cache.size > 10_000) cache.delete(cache.keys().next().value!);
      } catch (err) {
        return fail(`OCSP: ${(err as Error).message}`);
      }
    }
    if (info.status === 'revoked') return 'OCSP: certificate revoked';
    if (info.status === 'unknown') return fail('OCSP: responder does not know the certificate');
    return undefined;
  };
}
