/**
 * X.509 helpers for revocation (spec tls-auth.md §2.3/§2.4), on pkijs 4 + node:crypto:
 * PEM/DER conversion, CRL distribution points and OCSP URLs of a certificate, CRL parsing with
 * signature and time checks, and OCSP request building / strict response verification.
 *
 * `verifyOcspResponse` is the strict check of §3.4: outer status successful, basic response,
 * signature + responder authorisation by pkijs (the issuing CA itself or a certificate issued
 * directly by it carrying id-kp-OCSPSigning, RFC 6960 §4.2.2.2: merely chaining to the CA is
 * not enough), a SingleResponse whose CertID matches *this* certificate, thisUpdate not in the
 * future and nextUpdate not past (5 min skew), and a maximum age when nextUpdate is absent.
 * Non-successful outer statuses are unsigned and are never trusted.
 */
import { X509Certificate } from 'node:crypto';
import * as pkijs from 'pkijs';

const SKEW = 5 * 60_000;
const ID_PKIX_OCSP_BASIC = '1.3.6.1.5.5.7.48.1.1';

export function pemToDer(pemOrDer: string | Buffer): Buffer {
  const text = Buffer.isBuffer(pemOrDer) ? pemOrDer.toString('latin1') : pemOrDer;
  const m = /-----BEGIN [^-]+-----([\s\S]*?)-----END [^-]+-----/.exec(text);
  if (!m) {
    if (Buffer.isBuffer(pemOrDer)) return pemOrDer;
    throw new Error('not PEM');
  }
  return Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64');
}

export function derToPem(der: Buffer, label: string): string {
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN ${label}-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END ${label}-----\n`;
}

/** Every certificate in a PEM bundle. */
export function splitPemCerts(bundle: string): X509Certificate[] {
  return (bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []).map(
    (p) => new X509Certificate(p),
  );
}

function toArrayBuffer(b: Buffer): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

export function pkiCert(x: X509Certificate | Buffer): pkijs.Certificate {
  return pkijs.Certificate.fromBER(toArrayBuffer(Buffer.isBuffer(x) ? x : x.raw));
}

/** http(s) URIs of the CRL Distribution Points extension (2.5.29.31). */
export function crlDistributionPoints(cert: X509Certificate | Buffer): string[] {
  const ext = pkiCert(cert).extensions?.find((e) => e.extnID === '2.5.29.31');
  const parsed = ext?.parsedValue as pkijs.CRLDistributionPoints | undefined;
  const out: string[] = [];
  for (const dp of parsed?.distributionPoints ?? []) {
    const names = dp.distributionPoint;
    if (!Array.isArray(names)) continue;
    for (const n of names)
      if (n.type === 6 && typeof n.value === 'string' && /^https?:\/\//.test(n.value))
        out.push(n.value);
  }
  return out;
}

/** The OCSP responder URL of the Authority Information Access extension. */
export function ocspUrl(cert: X509Certificate): string | undefined {
  const m = /OCSP - URI:(\S+)/.exec(cert.infoAccess ?? '');
  return m?.[1];
}

export interface ParsedCrl {
  /** The configured CA that signed it. */
  issuer: X509Certificate;
  pem: string;
  thisUpdate: Date;
  nextUpdate: Date | undefined;
  /** Revoked serial numbers, upper-case hex without leading zeros. */
  serials: Set<string>;
}

export const normSerial = (hex: string): string => hex.toUpperCase().replace(/^0+(?=.)/, '');

/**
 * Parse a CRL (PEM or DER), find its issuer among `cas` and verify its signature; refuse one
 * whose nextUpdate has passed (Node would then lock every client out with CRL_HAS_EXPIRED).
 */
export async function parseAndVerifyCrl(
  body: Buffer,
  cas: readonly X509Certificate[],
  now: number,
): Promise<ParsedCrl> {
  const der = pemToDer(body);
  const crl = pkijs.CertificateRevocationList.fromBER(toArrayBuffer(der));
  let issuer: X509Certificate | undefined;
  for (const ca of cas) {
    try {
      if (await crl.verify({ issuerCertificate: pkiCert(ca) })) {
        issuer = ca;
        break;
      }
    } catch {
      /* not this CA */
    }
  }
  if (!issuer) throw new Error('CRL is not signed by any configured CA');
  const nextUpdate = crl.nextUpdate?.value;
  if (nextUpdate && nextUpdate.getTime() < now)
    throw new Error(`CRL expired at ${nextUpdate.toISOString()}`);
  const serials = new Set<string>();
  for (const r of crl.revokedCertificates ?? [])
    serials.add(normSerial(Buffer.from(r.userCertificate.valueBlock.valueHexView).toString('hex')));
  return {
    issuer,
    pem: derToPem(der, 'X509 CRL'),
    thisUpdate: crl.thisUpdate.value,
    nextUpdate,
    serials,
  };
}

/** DER OCSPRequest for one certificate (SHA-1 CertID, no nonce: what stapling servers send). */
export async function buildOcspRequest(
  cert: X509Certificate,
  issuer: X509Certificate,
): Promise<Buffer> {
  const req = new pkijs.OCSPRequest();
  await req.createForCertificate(pkiCert(cert), {
    hashAlgorithm: 'SHA-1',
    issuerCertificate: pkiCert(issuer),
  });
  return Buffer.from(req.toSchema(true).toBER(false));
}

export type OcspCertStatus = 'good' | 'revoked' | 'unknown';

export interface VerifiedOcsp {
  status: OcspCertStatus;
  thisUpdate: number;
  /** ms; absent when the responder gave no nextUpdate (then `maxAge` bounds it). */
  nextUpdate: number | undefined;
  /** When this response stops being usable (nextUpdate, or thisUpdate + maxAge). */
  validUntil: number;
}

/** Strict verification of a DER OCSPResponse for `cert` issued by `issuer` (see top). */
export async function verifyOcspResponse(
  der: Buffer,
  cert: X509Certificate,
  issuer: X509Certificate,
  now: number,
  maxAge = 24 * 3600_000,
): Promise<VerifiedOcsp> {
  let resp: pkijs.OCSPResponse;
  try {
    resp = pkijs.OCSPResponse.fromBER(toArrayBuffer(der));
  } catch (e) {
    throw new Error(`not an OCSP response: ${(e as Error).message}`, { cause: e });
  }
  const outer = resp.responseStatus.valueBlock.valueDec;
  if (outer !== 0) throw new Error(`OCSP responseStatus ${outer} (not successful)`);
  if (!resp.responseBytes || resp.responseBytes.responseType !== ID_PKIX_OCSP_BASIC)
    throw new Error('OCSP response is not id-pkix-ocsp-basic');
  const basic = pkijs.BasicOCSPResponse.fromBER(
    resp.responseBytes.response.valueBlock.valueHexView.slice().buffer as ArrayBuffer,
  );
  const issuerPki = pkiCert(issuer);
  let ok: boolean;
  try {
    ok = await basic.verify({ trustedCerts: [issuerPki], issuerCerts: [issuerPki] });
  } catch (e) {
    throw new Error(`OCSP responder not authorised: ${(e as Error).message}`, { cause: e });
  }
  if (!ok) throw new Error('OCSP response signature does not verify');
  const certPki = pkiCert(cert);
  for (const single of basic.tbsResponseData.responses) {
    const id = new pkijs.CertID();
    await id.createForCertificate(certPki, {
      hashAlgorithm: hashName(single.certID.hashAlgorithm.algorithmId),
      issuerCertificate: issuerPki,
    });
    if (!id.isEqual(single.certID)) continue;
    const thisUpdate = single.thisUpdate.getTime();
    const nextUpdate = single.nextUpdate?.getTime();
    if (thisUpdate > now + SKEW) throw new Error('OCSP thisUpdate is in the future');
    const validUntil = nextUpdate ?? thisUpdate + maxAge;
    if (validUntil < now - (nextUpdate !== undefined ? SKEW : 0))
      throw new Error('OCSP response has expired');
    const tag = single.certStatus.idBlock.tagNumber;
    const status: OcspCertStatus = tag === 0 ? 'good' : tag === 1 ? 'revoked' : 'unknown';
    return { status, thisUpdate, nextUpdate, validUntil };
  }
  throw new Error('OCSP response is for a different certificate');
}

function hashName(oid: string): string {
  switch (oid) {
    case '1.3.14.3.2.26':
      return 'SHA-1';
    case '2.16.840.1.101.3.4.2.1':
      return 'SHA-256';
    case '2.16.840.1.101.3.4.2.2':
      return 'SHA-384';
    case '2.16.840.1.101.3.4.2.3':
      return 'SHA-512';
    default:
      throw new Error(`unsupported CertID hash ${oid}`);
  }
}

/** POST an OCSP request (application/ocsp-request); resolves with the body of a 200. */
export async function fetchOcsp(
  url: string,
  request: Buffer,
  timeout: number,
  doFetch: typeof fetch = fetch,
): Promise<Buffer> {
  const res = await doFetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/ocsp-request', accept: 'application/ocsp-response' },
    body: new Uint8Array(request),
    signal: AbortSignal.timeout(timeout),
    redirect: 'error',
  });
  if (!res.ok) throw new Error(`OCSP responder answered HTTP ${res.status}`);
  return Buffer.from(await res.arrayBuffer());
}
