/**
 * Server URLs (hstream-protocol.md §1): `hstream://` and `http://` are plaintext, `hstreams://`
 * and `https://` are TLS; the port defaults to 6570; one URL may list several hosts
 * (`hstream://h1:6570,h2,h3:6580`, scheme taken from the first entry), as hstreamdb_erl accepts.
 */
import { HStreamErrors } from './errors.js';

export interface Endpoint {
  host: string;
  port: number;
  tls: boolean;
}

export const DEFAULT_PORT = 6570;

/** "host:port" with IPv6 hosts bracketed, as grpc-js targets expect. */
export function endpointAddress(e: { host: string; port: number }): string {
  return e.host.includes(':') && !e.host.startsWith('[')
    ? `[${e.host}]:${e.port}`
    : `${e.host}:${e.port}`;
}

export function parseServerUrls(urls: readonly string[]): Endpoint[] {
  const out: Endpoint[] = [];
  for (const url of urls) {
    const m = /^(hstreams?|https?):\/\/(.+)$/i.exec(url.trim());
    if (!m) {
      throw HStreamErrors.hstream_config_invalid(
        `server URL ${JSON.stringify(url)} must start with hstream://, hstreams://, http:// or https://`,
      );
    }
    const scheme = m[1]!.toLowerCase();
    const tls = scheme === 'hstreams' || scheme === 'https';
    for (const part of m[2]!.replace(/\/+$/, '').split(',')) {
      const hp = /^(\[[^\]]+\]|[^:/\s]+)(?::(\d+))?$/.exec(part.trim());
      if (!hp)
        throw HStreamErrors.hstream_config_invalid(
          `bad host in server URL ${JSON.stringify(url)}: ${JSON.stringify(part)}`,
        );
      const port = hp[2] ? Number(hp[2]) : DEFAULT_PORT;
      if (port < 1 || port > 65535)
        throw HStreamErrors.hstream_config_invalid(`bad port in server URL ${JSON.stringify(url)}`);
      out.push({ host: hp[1]!.replace(/^\[|\]$/g, ''), port, tls });
    }
  }
  if (out.length === 0)
    throw HStreamErrors.hstream_config_invalid('at least one server URL is required');
  return out;
}
