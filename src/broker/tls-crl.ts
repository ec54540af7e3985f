/**
 * CRL checks for client certificates on mTLS listeners (`ssl_options.enable_crl_check`;
 * spec tls-auth.md §1.2, §2.4, §4.6).
 *
 * Node's `crl` option checks the **whole chain, root included**, as soon as it is set: every CA
 * in the chain needs a current CRL (else `UNABLE_TO_GET_CRL`), an expired one rejects everyone
 * (`CRL_HAS_EXPIRED`), and a root CRL with an Issuing Distribution Point extension rejects
 * everyone too. So this manager:
 *  - fetches the CRLs of `crl_urls` and `crl_files` plus the distribution points of the
 *    configured CA certificates, at listener start and every `crl_refresh_interval`;
 *  - verifies each (signature by one of the configured CAs, nextUpdate not passed) before it
 *    is used, and keeps the last good CRL of a URL through fetch failures (hard-fail: never
 *    installs nothing in place of something);
 *  - hot-swaps them with `server.setSecureContext` (no restart; new handshakes only);
 *  - learns CDP URLs from rejected clients: a client refused with `UNABLE_TO_GET_CRL` adds the
 *    distribution points of its certificate and chain (capacity 100 URLs) and triggers a
 *    background fetch; only CRLs signed by a configured CA are ever installed, so a client
 *    cannot smuggle in its own. The client's retry then succeeds. Nothing is fetched on the
 *    handshake path;
 *  - with `crl_drop_revoked`, closes open connections whose leaf certificate a new CRL
 *    revokes (Node leaves them open).
 * The rejected client's reason (`CERT_REVOKED`, …) is logged by listeners.ts `checkPeer`.
 */
import type { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type tls from 'node:tls';
import type { Logger } from '../core/index.js';
import {
  crlDistributionPoints,
  normSerial,
  parseAndVerifyCrl,
  splitPemCerts,
  type ParsedCrl,
} from './pki.js';

export interface CrlOptions {
  urls: readonly string[];
  files: readonly string[];
  refreshInterval: number;
  httpTimeout: number;
  dropRevoked: boolean;
}

export interface CrlManager {
  /** Resolves after the first load (success or not). */
  readonly ready: Promise<void>;
  /** Remember an accepted TLS socket (for crl_drop_revoked). */
  track(s: tls.TLSSocket): void;
  /** A client was rejected: learn its distribution points when the reason is a missing CRL. */
  rejected(s: tls.TLSSocket, reason: string): void;
  /** Fetch every source now and swap the context when anything changed. */
  refresh(): Promise<void>;
  close(): void;
  readonly metrics: {
    crl_refresh_ok: number;
    crl_refresh_failed: number;
    crls: number;
    dropped: number;
  };
}

const CAPACITY = 100;

export function createCrlManager(
  listener: string,
  server: tls.Server,
  baseOptions: tls.SecureContextOptions,
  caPem: string,
  opts: CrlOptions,
  deps: { logger: Logger; now: () => number; fetch?: typeof fetch },
): CrlManager {
  const logger = deps.logger.child({ component: 'broker.tls.crl', listener });
  const doFetch = deps.fetch ?? fetch;
  const cas = splitPemCerts(caPem);
  const urls = new Set<string>(opts.urls);
  for (const ca of cas) for (const u of crlDistributionPoints(ca)) urls.add(u);
  /** Last good CRL per source (URL or file). */
  const good = new Map<string, ParsedCrl>();
  const sockets = new Set<tls.TLSSocket>();
  const metrics = { crl_refresh_ok: 0, crl_refresh_failed: 0, crls: 0, dropped: 0 };
  let installed = '';
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let running: Promise<void> | undefined;
  let again = false;

  async function load(source: string, isFile: boolean): Promise<void> {
    try {
      const body = isFile
        ? await readFile(source)
        : await (async () => {
            const res = await doFetch(source, {
              signal: AbortSignal.timeout(opts.httpTimeout),
              redirect: 'error',
            });
            if (!res.ok) throw new Error(`HTTP ${res.status}`);
            return Buffer.from(await res.arrayBuffer());
          })();
      const crl = await parseAndVerifyCrl(body, cas, deps.now());
      const prev = good.get(source);
      if (prev && crl.thisUpdate < prev.thisUpdate)
        throw new Error('CRL is older than the one in use');
      good.set(source, crl);
      metrics.crl_refresh_ok++;
    } catch (err) {
      metrics.crl_refresh_failed++;
      logger.warn(
        {
          code: 'broker_crl_refresh_failed',
          source,
          reason: (err as Error).message,
          keeping: good.has(source),
        },
        'CRL refresh failed',
      );
    }
  }

  function install(): void {
    // A CRL past nextUpdate would lock everyone out: drop it from the set (its clients then see
    // UNABLE_TO_GET_CRL, which is logged) and say so loudly.
    const now = deps.now();
    const usable = [...good.entries()].filter(([source, c]) => {
      if (c.nextUpdate && c.nextUpdate.getTime() < now) {
        logger.error(
          { code: 'broker_crl_expired', source },
          'CRL expired and no newer one could be fetched',
        );
        return false;
      }
      return true;
    });
    const pems = [...new Set(usable.map(([, c]) => c.pem))];
    const key = pems.join('');
    if (key === installed) return;
    server.setSecureContext({ ...baseOptions, ...(pems.length ? { crl: pems } : {}) });
    installed = key;
    metrics.crls = pems.length;
    logger.info({ crls: pems.length }, 'CRLs installed');
    if (opts.dropRevoked) dropRevoked(usable.map(([, c]) => c));
  }

  function dropRevoked(crls: ParsedCrl[]): void {
    for (const s of sockets) {
      const peer = s.getPeerX509Certificate();
      if (!peer) continue;
      const serial = normSerial(peer.serialNumber);
      const hit = crls.find((c) => c.serials.has(serial) && peer.checkIssued(c.issuer));
      if (!hit) continue;
      metrics.dropped++;
      logger.info(
        { peer: s.remoteAddress, subject: peer.subject.replace(/\n/g, ', '), serial },
        'connection closed: client certificate revoked by a new CRL',
      );
      s.destroy();
    }
  }

  function refresh(): Promise<void> {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await Promise.all([
          ...[...urls].map((u) => load(u, false)),
          ...opts.files.map((f) => load(f, true)),
        ]);
        if (!closed) install();
      } while (again && !closed);
    })().finally(() => {
      running = undefined;
    });
    return running;
  }

  function schedule(): void {
    if (closed) return;
    // Refresh well before the earliest nextUpdate, so a CRL never expires in place.
    const now = deps.now();
    let next = opts.refreshInterval;
    for (const c of good.values())
      if (c.nextUpdate) next = Math.min(next, Math.max(1000, (c.nextUpdate.getTime() - now) / 2));
    timer = setTimeout(() => void refresh().then(schedule), next);
    timer.unref();
  }

  const ready = refresh().then(schedule);

  return {
    ready,
    metrics,
    refresh,
    track(s) {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
    },
    rejected(s, reason) {
      if (reason !== 'UNABLE_TO_GET_CRL') return;
      let added = false;
      let cert: X509Certificate | undefined = s.getPeerX509Certificate();
      for (let depth = 0; cert && depth < 5; depth++) {
        for (const u of crlDistributionPoints(cert))
          if (!urls.has(u) && urls.size < CAPACITY) {
            urls.add(u);
            added = true;
            logger.info({ url: u }, 'CRL distribution point learned from a client certificate');
          }
        const up: X509Certificate | undefined = cert.issuerCertificate;
        cert = up && up.fingerprint256 !== cert.fingerprint256 ? up : undefined;
      }
      if (added) void refresh();
    },
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      sockets.clear();
    },
  };
}
