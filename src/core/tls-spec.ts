/**
 * The OCSP stapling options every TLS server of Sluice shares (EMQX's `ssl_options.ocsp`):
 * the broker's tls/wss listeners and the OCPP gateway's wss listeners. One spec, so both
 * sections read and default alike (docs/security.md "OCSP stapling").
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
