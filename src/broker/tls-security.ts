/**
 * Revocation add-ons of one tls/wss listener (docs/security.md): CRL manager (tls-crl.ts),
 * OCSP stapling and client-certificate OCSP checks (tls-ocsp.ts), built from `ssl_options`
 * and attached to the listener's server. listeners.ts calls `admit` after its own `checkPeer`
 * and before any byte reaches Aedes.
 */
import { readFileSync } from 'node:fs';
import type tls from 'node:tls';
import type {
  Logger,
  OcspStaplingConfig,
  TlsRevocationConfig,
  TlsRevocationPort,
} from '../core/index.js';
import type { ListenerConfig } from './config.js';
import type { OcspStapleMetrics, TlsListenerSecurityMetrics } from './types.js';
import { BrokerErrors } from './errors.js';
import { splitPemCerts } from './pki.js';
import { createCrlManager, type CrlManager } from './tls-crl.js';
import {
  attachOcspStapling,
  createOcspClientChecker,
  type OcspClientChecker,
  type OcspStapler,
} from './tls-ocsp.js';

export interface TlsSecurity {
  readonly crl: CrlManager | undefined;
  readonly stapler: OcspStapler | undefined;
  /** Resolve true to hand the socket on; false means it was destroyed (reason logged). */
  admit(s: tls.TLSSocket): Promise<boolean> | true;
  /** checkPeer rejected the socket with this verification error. */
  rejected(s: tls.TLSSocket, reason: string): void;
  close(): void;
  /** Counters for /metrics (docs/security.md "Metrics"). */
  metrics(): TlsListenerSecurityMetrics;
}

/** True when the listener needs its own post-handshake checks (rejectUnauthorized off). */
export function needsOwnChecks(cfg: ListenerConfig): boolean {
  const o = cfg.ssl_options;
  return o?.enable_crl_check === true || (o?.ocsp?.client_check ?? 'off') !== 'off';
}

export async function attachTlsSecurity(
  name: string,
  o: TlsRevocationConfig & { readonly verify: 'verify_none' | 'verify_peer' },
  server: tls.Server,
  options: tls.SecureContextOptions,
  logger: Logger,
): Promise<TlsSecurity> {
  const log = logger.child({ listener: name });
  const fail = (msg: string, cause?: unknown) =>
    BrokerErrors.broker_tls_material_invalid(`listener ${name}: ${msg}`, {
      ...(cause ? { cause } : {}),
      context: { listener: name },
    });
  const ownChecks = o.enable_crl_check || (o.ocsp?.client_check ?? 'off') !== 'off';
  if (ownChecks && o.verify !== 'verify_peer')
    throw fail('enable_crl_check / ocsp.client_check need ssl_options.verify = verify_peer');
  const caPem = typeof options.ca === 'string' ? options.ca : '';
  const deps = { logger: log, now: Date.now };

  let crl: CrlManager | undefined;
  if (o.enable_crl_check) {
    crl = createCrlManager(
      name,
      server,
      options,
      caPem,
      {
        urls: o.crl_urls ?? [],
        files: o.crl_files ?? [],
        refreshInterval: Math.max(1000, o.crl_refresh_interval ?? 900_000),
        httpTimeout: o.crl_http_timeout ?? 15_000,
        dropRevoked: o.crl_drop_revoked === true,
      },
      deps,
    );
    await crl.ready;
  }

  let stapler: OcspStapler | undefined;
  const ocsp = o.ocsp;
  if (ocsp?.enable_ocsp_stapling)
    stapler = await createStapler(
      server,
      { cert: String(options.cert), ca: caPem, ocsp },
      log,
      fail,
    );

  /** Rejected client certificates by reason (verification error, OCSP answer, no CRL). */
  const rejections: Record<string, number> = Object.create(null) as Record<string, number>;
  const reject = (reason: string) => {
    rejections[reason] = (rejections[reason] ?? 0) + 1;
  };

  let clientCheck: OcspClientChecker | undefined;
  if (ocsp && ocsp.client_check !== 'off')
    clientCheck = createOcspClientChecker(
      {
        mode: ocsp.client_check,
        ca: caPem,
        ...(ocsp.client_responder_url ? { responderUrl: ocsp.client_responder_url } : {}),
        httpTimeout: ocsp.refresh_http_timeout,
      },
      deps,
    );

  return {
    crl,
    stapler,
    admit(s) {
      if (crl && crl.metrics.crls === 0) {
        // No CRL installed means Node checks nothing: keep CRL checking hard-fail ourselves.
        log.info(
          { peer: s.remoteAddress, reason: 'UNABLE_TO_GET_CRL', detail: 'no CRL loaded yet' },
          'TLS client certificate rejected',
        );
        crl.rejected(s, 'UNABLE_TO_GET_CRL');
        reject('UNABLE_TO_GET_CRL');
        s.destroy();
        return Promise.resolve(false);
      }
      crl?.track(s);
      if (!clientCheck) return true;
      return clientCheck(s).then(
        (reason) => {
          if (reason === undefined) return !s.destroyed;
          log.info({ peer: s.remoteAddress, reason }, 'TLS client certificate rejected');
          reject(reason);
          s.destroy();
          return false;
        },
        (err: unknown) => {
          log.error({ code: 'broker_ocsp_client_check_failed', err }, 'OCSP client check failed');
          reject('ocsp_check_failed');
          s.destroy();
          return false;
        },
      );
    },
    rejected(s, reason) {
      reject(reason);
      crl?.rejected(s, reason);
    },
    close() {
      crl?.close();
      stapler?.close();
    },
    metrics: () => ({
      listener: name,
      ...(crl
        ? {
            crl: {
              refresh_ok: crl.metrics.crl_refresh_ok,
              refresh_failed: crl.metrics.crl_refresh_failed,
              crls: crl.metrics.crls,
              dropped: crl.metrics.dropped,
            },
          }
        : {}),
      ...(stapler ? { ocsp: stapleMetrics(stapler) } : {}),
      rejected: { ...rejections },
    }),
  };
}

/** A stapler's counters in the shape /metrics reports (shared with the OCPP wss listeners). */
export function stapleMetrics(st: OcspStapler): OcspStapleMetrics {
  return {
    state: st.state,
    refresh_ok: st.metrics.ocsp_refresh_ok,
    refresh_failed: st.metrics.ocsp_refresh_failed,
    stapled: st.metrics.ocsp_stapled,
    not_stapled: st.metrics.ocsp_not_stapled,
  };
}

type Fail = (msg: string, cause?: unknown) => Error;

/** Issuer resolution + attachOcspStapling + the first fetch. */
async function createStapler(
  server: tls.Server,
  material: { readonly cert: string; readonly ca?: string; readonly ocsp: OcspStaplingConfig },
  log: Logger,
  fail: Fail,
): Promise<OcspStapler> {
  const { cert: certPem, ocsp } = material;
  const caPem = material.ca ?? '';
  const chain = splitPemCerts(certPem);
  let issuer: string | undefined;
  try {
    issuer = ocsp.issuer_pem
      ? readFileSync(ocsp.issuer_pem, 'utf8')
      : chain[1]
        ? chain[1].toString()
        : splitPemCerts(caPem)
            .find((c) => chain[0] && chain[0].checkIssued(c))
            ?.toString();
  } catch (cause) {
    throw fail(`cannot read ocsp.issuer_pem: ${(cause as Error).message}`, cause);
  }
  if (!issuer)
    throw fail('OCSP stapling needs ocsp.issuer_pem (the CA that issued the certificate)');
  let stapler: OcspStapler;
  try {
    stapler = attachOcspStapling(
      server,
      {
        cert: certPem,
        issuer,
        ...(ocsp.responder_url ? { responderUrl: ocsp.responder_url } : {}),
        refreshInterval: Math.max(1000, ocsp.refresh_interval),
        httpTimeout: ocsp.refresh_http_timeout,
      },
      { logger: log, now: Date.now },
    );
  } catch (cause) {
    throw fail(`OCSP stapling: ${(cause as Error).message}`, cause);
  }
  await stapler.ready;
  return stapler;
}

/**
 * The broker's `TlsRevocationPort` (src/core/ports.ts): CRL checks, OCSP stapling and client
 * OCSP checks for a TLS server another module owns — the OCPP gateway's wss listeners.
 */
export function createTlsRevocationPort(logger: Logger): TlsRevocationPort {
  return async (listener, server, { secureOptions, ssl }) => {
    const sec = await attachTlsSecurity(listener, ssl, server, secureOptions, logger);
    return {
      status: () => sec.metrics(),
      admit: (s) => sec.admit(s),
      rejected: (s, reason) => sec.rejected(s, reason),
      close: () => sec.close(),
    };
  };
}
