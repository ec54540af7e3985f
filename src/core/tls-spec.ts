/**
 * The revocation options every TLS server of Sluice shares (EMQX's `ssl_options` CRL and
 * `ocsp` fields): the broker's tls/wss listeners and the OCPP gateway's wss listeners. One
 * spec, so both sections read and default alike (docs/security.md).
 */
import { field, type FieldSpec } from './spec.js';

export interface OcspStaplingConfig {
  enable_ocsp_stapling: boolean;
  responder_url?: string;
  issuer_pem?: string;
  refresh_interval: number;
  refresh_http_timeout: number;
}

export const ocspStaplingFields: Readonly<Record<keyof OcspStaplingConfig, FieldSpec>> = {
  enable_ocsp_stapling: field.boolean({
    description:
      'Staple a verified OCSP response for the server certificate (fetched and refreshed in the background; never on the handshake path).',
    default: false,
  }),
  responder_url: field.string({
    description:
      "OCSP responder URL for the server certificate. Defaults to the certificate's AIA OCSP URL.",
    optional: true,
    example: 'http://ocsp.example.com/',
  }),
  issuer_pem: field.string({
    description:
      'Path of the PEM certificate of the CA that issued the server certificate. Defaults to the second certificate of `certfile`, else the CA bundle.',
    optional: true,
  }),
  refresh_interval: field.duration({
    description:
      'How often the stapled response is refreshed (sooner when it nears nextUpdate; 5s after a failure).',
    default: 300_000,
  }),
  refresh_http_timeout: field.duration({
    description: 'Timeout of one OCSP fetch.',
    default: 15_000,
  }),
};

export interface OcspConfig extends OcspStaplingConfig {
  client_check: 'off' | 'soft' | 'hard';
  client_responder_url?: string;
}

/** CRL and OCSP options of one TLS listener (spread into its `ssl_options`). */
export interface TlsRevocationConfig {
  /** CRL checks of client certificates (broker tls-crl.ts). */
  enable_crl_check: boolean;
  crl_urls: string[];
  crl_files: string[];
  crl_refresh_interval: number;
  crl_http_timeout: number;
  crl_drop_revoked: boolean;
  /** OCSP stapling of our certificate and OCSP checks of client certificates (tls-ocsp.ts). */
  ocsp: OcspConfig;
}

export const tlsRevocationFields: Readonly<Record<keyof TlsRevocationConfig, FieldSpec>> = {
  enable_crl_check: field.boolean({
    description:
      'Check client certificates against CRLs (needs `verify_peer`). Node checks the whole chain, root included: every CA needs a current CRL. See docs/security.md.',
    default: false,
  }),
  crl_urls: field.array(
    field.string({ description: 'An http(s) URL serving a CRL (PEM or DER).' }),
    {
      description:
        'CRLs to fetch besides the distribution points of the CA certificates and those learned from rejected clients.',
      default: [],
    },
  ),
  crl_files: field.array(field.string({ description: 'Path of a CRL file (PEM or DER).' }), {
    description: 'Local CRL files, re-read at every refresh.',
    default: [],
  }),
  crl_refresh_interval: field.duration({
    description:
      'CRL refresh period (sooner when a CRL nears its nextUpdate). New CRLs are swapped in without a restart.',
    default: 900_000,
  }),
  crl_http_timeout: field.duration({ description: 'Timeout of one CRL fetch.', default: 15_000 }),
  crl_drop_revoked: field.boolean({
    description:
      'Close open connections whose client certificate a newly fetched CRL revokes (Node only checks new handshakes).',
    default: false,
  }),
  ocsp: field.object(
    {
      ...ocspStaplingFields,
      client_check: field.string({
        description:
          'OCSP check of client certificates (needs `verify_peer`): `off`; `soft` rejects only a verified `revoked`; `hard` also rejects when no verified `good` answer can be had.',
        enum: ['off', 'soft', 'hard'],
        default: 'off',
      }),
      client_responder_url: field.string({
        description:
          "Responder for client certificates. Defaults to each certificate's AIA OCSP URL.",
        optional: true,
      }),
    },
    { description: 'OCSP stapling and client-certificate OCSP checks (docs/security.md).' },
  ),
};

/** True when `ssl` asks for any revocation feature (CRL, stapling, client OCSP). */
export function wantsRevocation(ssl: TlsRevocationConfig | undefined): boolean {
  return (
    ssl !== undefined &&
    (ssl.enable_crl_check ||
      ssl.ocsp?.enable_ocsp_stapling === true ||
      (ssl.ocsp?.client_check ?? 'off') !== 'off')
  );
}
