/**
 * TLS and mTLS towards the stand-in HStreamDB server (a test double of the wire protocol) with
 * certificates made by openssl for this run: `hstreams://` URL + `tls.ca_file`, client
 * certificates for a server that verifies clients, and clear failures when TLS is misconfigured.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SluiceError } from '../../src/core/index.js';
import { HStreamClient } from '../../src/sinks/hstream/index.js';
import { startStandInServer, type StandInServer } from '../hstream-server/server.js';
import { createPipeline, record, uniqueStream } from '../hstream-server/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-hstream-tls-'));
const f = (name: string) => join(dir, name);
const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });

let tlsServer: StandInServer;
let mtlsServer: StandInServer;

beforeAll(async () => {
  ssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '1',
    '-subj',
    '/CN=sluice-test-ca',
  );
  writeFileSync(f('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  for (const who of ['server', 'client']) {
    ssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      `${who}.key`,
      '-out',
      `${who}.csr`,
      '-subj',
      `/CN=${who === 'server' ? 'localhost' : 'sluice-client'}`,
    );
    ssl(
      'x509',
      '-req',
      '-in',
      `${who}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${who}.pem`,
      '-days',
      '1',
      ...(who === 'server' ? ['-extfile', 'server.ext'] : []),
    );
  }
  const cert = readFileSync(f('server.pem'));
  const key = readFileSync(f('server.key'));
  tlsServer = await startStandInServer({ tls: { cert, key } });
  mtlsServer = await startStandInServer({
    tls: { cert, key, clientCa: readFileSync(f('ca.pem')) },
  });
});
afterAll(async () => {
  await tlsServer?.stop();
  await mtlsServer?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function readAll(
  port: number,
  stream: string,
  tls: { ca: Buffer; cert?: Buffer; key?: Buffer },
) {
  const c = new HStreamClient({
    endpoints: [{ host: '127.0.0.1', port, tls: true }],
    tls,
    timeoutMs: 5000,
    appendTimeoutMs: 5000,
  });
  try {
    await c.connect();
    const out: string[] = [];
    for (const s of await c.listShards(stream))
      for (const r of await c.readShard(s.shardId)) out.push(r.payload.toString());
    return out;
  } finally {
    c.close();
  }
}

describe('hstreamdb sink over TLS', () => {
  it('writes over TLS verified with tls.ca_file', async () => {
    const stream = uniqueStream('tls');
    const { runner } = createPipeline({
      url: `hstreams://127.0.0.1:${tlsServer.port}`,
      stream,
      record_template: '${v}',
      tls: { enable: true, ca_file: f('ca.pem') },
      auto_create: { enable: true },
    });
    await runner.start();
    for (let i = 0; i < 10; i++) runner.enqueue(record({ v: `r${i}` }));
    await runner.drain(10_000);
    expect(runner.metrics().success).toBe(10);
    expect(await readAll(tlsServer.port, stream, { ca: readFileSync(f('ca.pem')) })).toEqual(
      Array.from({ length: 10 }, (_, i) => `r${i}`),
    );
  });

  it('presents a client certificate to a server that requires one (mTLS)', async () => {
    const stream = uniqueStream('mtls');
    const { runner } = createPipeline({
      url: `hstreams://127.0.0.1:${mtlsServer.port}`,
      stream,
      tls: {
        enable: true,
        ca_file: f('ca.pem'),
        cert_file: f('client.pem'),
        key_file: f('client.key'),
      },
      auto_create: { enable: true },
    });
    await runner.start();
    runner.enqueue(record({ v: 1 }));
    await runner.drain(10_000);
    expect(runner.metrics().success).toBe(1);
    // Without a client certificate the handshake is refused.
    const { sink } = createPipeline({
      url: `hstreams://127.0.0.1:${mtlsServer.port}`,
      stream,
      tls: { enable: true, ca_file: f('ca.pem') },
      grpc_timeout: '2s',
    });
    await expect(sink.connect()).rejects.toMatchObject({ retriable: true });
    await sink.close();
  });

  it('rejects misconfigured TLS at creation with hstream_config_invalid', () => {
    const bad = (cfg: Record<string, unknown>) => {
      try {
        createPipeline({ url: `hstream://127.0.0.1:${tlsServer.port}`, stream: 's', ...cfg });
      } catch (e) {
        return e as SluiceError;
      }
      throw new Error('expected a config error');
    };
    expect(bad({ tls: { enable: true } }).message).toContain('hstreams://');
    expect(
      bad({ url: `hstreams://127.0.0.1:1`, tls: { enable: true, ca_file: f('missing.pem') } }).code,
    ).toBe('hstream_config_invalid');
    expect(
      bad({ url: `hstreams://127.0.0.1:1`, tls: { enable: true, cert_file: f('client.pem') } })
        .message,
    ).toContain('together');
  });

  it('a plaintext client cannot talk to a TLS server: retriable, clear error', async () => {
    const { sink } = createPipeline({
      url: `hstream://127.0.0.1:${tlsServer.port}`,
      stream: 's',
      grpc_timeout: '2s',
    });
    const err = await sink.connect().catch((e: unknown) => e as SluiceError);
    expect(err).toBeInstanceOf(SluiceError);
    expect((err as SluiceError).retriable).toBe(true);
    await sink.close();
  });
});
