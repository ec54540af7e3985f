/**
 * wss listeners: TLS 1.2+ with a server certificate (security profile 2) and client
 * certificates (profile 3: verify_peer + fail_if_no_peer_cert), the certificate CN handed to
 * the authenticator. Certificates are made with the system openssl in a temp directory.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ClientAuthRequest } from '../../src/core/index.js';
import type { OcppGateway } from '../../src/ocpp/index.js';
import { connectRaw, refusal, startGateway, waitFor } from './ocpp-helpers.js';

let dir: string;
const pem = (f: string) => readFileSync(path.join(dir, f), 'utf8');

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'ocpp-tls-'));
  writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=test-ca',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
  );
  for (const [name, cn] of [
    ['server', 'localhost'],
    ['client', 'CP-TLS-1'],
  ] as const) {
    openssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      `/CN=${cn}`,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
    );
    openssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '2',
      '-out',
      `${name}.crt`,
      ...(name === 'server' ? ['-extfile', 'san.ext'] : []),
    );
  }
  // A client certificate no trusted CA signed.
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=rogue',
    '-keyout',
    'rogue.key',
    '-out',
    'rogue.crt',
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function wssGateway(ssl: Record<string, unknown>, seen: ClientAuthRequest[]) {
  const g = await startGateway(
    {
      listeners: {
        secure: {
          type: 'wss',
          bind: '127.0.0.1',
          port: 0,
          ssl_options: {
            cert: pem('server.crt'),
            key: pem('server.key'),
            ca: pem('ca.crt'),
            ...ssl,
          },
        },
      },
    },
    {
      authenticate: async (req) => {
        seen.push(req);
        return { ok: true, is_superuser: false };
      },
    },
  );
  return { ...g, url: g.url.replace('ws://', 'wss://') };
}

describe('wss', () => {
  const gws: OcppGateway[] = [];
  afterAll(async () => {
    await Promise.all(gws.map((g) => g.stop()));
  });

  it('security profile 2: server certificate, TLS 1.2 or newer', async () => {
    const seen: ClientAuthRequest[] = [];
    const g = await wssGateway({}, seen);
    gws.push(g.gw);
    const cp = await connectRaw(`${g.url}/CP-S2`, ['ocpp1.6'], { ca: pem('ca.crt') });
    expect(cp.headers['sec-websocket-protocol']).toBe('ocpp1.6');
    expect(seen[0]).toMatchObject({
      clientid: 'CP-S2',
      listener: 'ocpp:wss:secure',
      peerCertCN: undefined,
    });
    await expect(
      connectRaw(`${g.url}/CP-OLD`, ['ocpp1.6'], {
        ca: pem('ca.crt'),
        maxVersion: 'TLSv1.1',
        minVersion: 'TLSv1',
      }),
    ).rejects.toThrow();
    await cp.close();
  });

  it('security profile 3: a client certificate is required and its CN reaches the authenticator', async () => {
    const seen: ClientAuthRequest[] = [];
    const g = await wssGateway({ verify: 'verify_peer', fail_if_no_peer_cert: true }, seen);
    gws.push(g.gw);
    const cp = await connectRaw(`${g.url}/CP-TLS-1`, ['ocpp1.6'], {
      ca: pem('ca.crt'),
      cert: pem('client.crt'),
      key: pem('client.key'),
    });
    await waitFor(() => g.gw.clients().length === 1, 'connected');
    expect(seen[0]).toMatchObject({ clientid: 'CP-TLS-1', peerCertCN: 'CP-TLS-1' });
    await expect(
      connectRaw(`${g.url}/CP-NOCERT`, ['ocpp1.6'], { ca: pem('ca.crt') }),
    ).rejects.toThrow();
    expect(seen).toHaveLength(1);
    await cp.close();
  });

  it('verify_peer without fail_if_no_peer_cert: no certificate is let in, an untrusted one gets 403', async () => {
    const seen: ClientAuthRequest[] = [];
    const g = await wssGateway({ verify: 'verify_peer' }, seen);
    gws.push(g.gw);
    const plain = await connectRaw(`${g.url}/CP-NOCERT`, ['ocpp1.6'], { ca: pem('ca.crt') });
    expect(seen[0]).toMatchObject({ clientid: 'CP-NOCERT', peerCertCN: undefined });
    const rogue = await refusal(`${g.url}/CP-ROGUE`, ['ocpp1.6'], {
      ca: pem('ca.crt'),
      cert: pem('rogue.crt'),
      key: pem('rogue.key'),
    });
    expect(rogue).toMatchObject({ status: 403, body: 'certificate_not_trusted' });
    expect(seen).toHaveLength(1);
    await plain.close();
  });
});
