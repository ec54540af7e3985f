/**
 * Revocation add-ons of one tls/wss listener (docs/security.md): CRL manager (tls-crl.ts),
 * OCSP stapling and client-certificate OCSP checks (tls-ocsp.ts), built from `ssl_options`
 * and attached to the listener's server. listeners.ts calls `admit` after its own `checkPeer`
 * and before any byte reaches Aedes.
 */
import { readFileSync } from 'node:fs';
import type tls from 'node:tls';
import type { Logger } from '../core/index.js';
import type { ListenerConfig } from './config.js';
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
}

/** True when the listener needs its own post-handshake checks (rejectUnauthorized off). */
export function needsOwnChecks(cfg: ListenerConfig): boolean {
  const o = cfg.ssl_options;
  return o?.enable_crl_check === true || (o?.ocsp?.client_check ?? 'off') !== 'off';
}

export async function attachTlsSecurity(
  name: string,
  cfg: ListenerConfig,
  server: tls.Server,
  options: tls.SecureContextOptions,
  logger: Logger,
): Promise<TlsSecurity> {
  const o = cfg.ssl_options!;
  const log = logger.child({ listener: name });
  const fail = (msg: string, cause?: unknown) =>
    BrokerErrors.broker_tls_material_invalid(`listener ${name}: ${msg}`, {
      ...(cause ? { cause } : {}),
      context: { listener: name },
    });
  if (needsOwnChecks(cfg) && o.verify !== 'verify_peer')
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
  if (ocsp?.enable_ocsp_stapling) {
    const certPem = String(options.cert);
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
        deps,
      );
    } catch (cause) {
      throw fail(`OCSP stapling: ${(cause as Error).message}`, cause);
    }
    await stapler.ready;
  }

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
        s.destroy();
        return Promise.resolve(false);
      }
      crl?.track(s);
      if (!clientCheck) return true;
      return clientCheck(s).then(
        (reason) => {
          if (reason === undefined) return !s.destroyed;
          log.info({ peer: s.remoteAddress, reason }, 'TLS client certificate rejected');
          s.destroy();
          return false;
        },
        (err: unknown) => {
          log.error({ code: 'broker_ocsp_client_check_failed', err }, 'OCSP client check failed');
          s.destroy();
          return false;
        },
      );
    },
    rejected(s, reason) {
      crl?.rejected(s, reason);
    },
    close() {
      crl?.close();
      stapler?.close();
    },
  };
}
